"""Multiple choice: pair features per choice, (batch, choices, width) batches, a tiny model that
learns, and the errors a user can cause."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from harness.config import ModelParams, TrainParams
from harness.data.cache import featurize
from harness.errors import HarnessError
from harness.kinds.multiple_choice import ChoiceFeature
from harness.model.encoders import new_mlm_model, save_encoder
from harness.model.heads import head_class, head_model
from harness.model.predict import predict_and_score
from harness.model.train import train
from harness.tasks import TaskSpec
from tests.conftest import collate_for


def _spec(kind: str = "multiple_choice", labels: list[str] | None = None) -> TaskSpec:
    return TaskSpec.model_validate(
        {
            "name": "t_choice",
            "role": "target",
            "kind": kind,
            "xtreme_group": "multi_choice" if kind == "multiple_choice" else "retrieval",
            "source": {
                "type": "local",
                "path": "d",
                "files": {"train": "a", "dev": "b", "test": "c"},
            },
            "labels": ["0", "1", "2"] if labels is None and kind == "multiple_choice" else [],
        }
    )


def _encoder(tokenizer: Any, folder: Path) -> Path:
    torch.manual_seed(0)
    params = ModelParams(
        name="t", source="pretrain", vocab_size=len(tokenizer), hidden_size=32, num_layers=2,
        num_heads=2, intermediate_size=64, max_position=64, dropout=0.0,
    )  # fmt: skip
    save_encoder(new_mlm_model(params, tokenizer), tokenizer, folder)
    return folder


def test_each_choice_is_a_pair_and_only_the_first_segment_is_truncated(tokenizer: Any) -> None:
    example = {
        "id": "x",
        "context": "the dog saw the cat near the river",
        "question": "who saw ?",
        "choices": ["the dog", "a big red cat", "Anna"],
        "label": "1",
    }
    (feature,) = featurize(_spec(), [example], tokenizer, max_length=64)
    assert isinstance(feature, ChoiceFeature) and feature.label == 1
    assert len(feature.input_ids) == 3
    for ids, choice in zip(feature.input_ids, example["choices"], strict=True):
        expected = tokenizer(
            "the dog saw the cat near the river who saw ?", choice, truncation=True, max_length=64
        )["input_ids"]
        assert ids == expected
        assert ids.count(tokenizer.sep_token_id) == 3  # <s> A </s></s> B </s>
    (cut,) = featurize(_spec(), [example], tokenizer, max_length=12)
    for ids, choice in zip(cut.input_ids, example["choices"], strict=True):
        assert len(ids) <= 12
        tail = tokenizer(choice, add_special_tokens=False)["input_ids"]
        assert ids[-len(tail) - 1 : -1] == tail  # the choice is kept whole
    # an empty context and question: the choice alone in segment 2; an index label works too
    (bare,) = featurize(
        _spec(), [{"context": "", "question": "", "choices": ["a", "b", "c"], "label": 2}],
        tokenizer, max_length=64,
    )  # fmt: skip
    assert bare.label == 2 and all(len(ids) > 4 for ids in bare.input_ids)


def test_collate_pads_to_batch_choices_width(tokenizer: Any) -> None:
    features = [
        ChoiceFeature(input_ids=[[0, 5, 2], [0, 5, 6, 7, 2]], label=1),
        ChoiceFeature(input_ids=[[0, 8, 2], [0, 2]], label=0),
    ]
    batch = collate_for("multiple_choice", 1)(features)
    assert batch["input_ids"].shape == (2, 2, 5)
    assert batch["input_ids"][0, 1].tolist() == [0, 5, 6, 7, 2]
    assert batch["input_ids"][1, 1].tolist() == [0, 2, 1, 1, 1]
    assert batch["attention_mask"][1].tolist() == [[1, 1, 1, 0, 0], [1, 1, 0, 0, 0]]
    assert batch["labels"].tolist() == [1, 0]
    with pytest.raises(HarnessError, match="same number of choices"):
        collate_for("multiple_choice", 1)([features[0], ChoiceFeature([[0, 2]] * 3, 0)])


def test_bad_multiple_choice_examples_are_refused(tokenizer: Any) -> None:
    with pytest.raises(HarnessError, match="has no choices"):
        featurize(_spec(), [{"context": "a", "question": "", "choices": [], "label": "0"}],
                  tokenizer, 32)  # fmt: skip
    with pytest.raises(HarnessError, match="only 2 choices"):
        featurize(_spec(), [{"context": "a", "question": "", "choices": ["a", "b"], "label": "2"}],
                  tokenizer, 32)  # fmt: skip
    with pytest.raises(HarnessError, match="neither one of the spec's labels"):
        featurize(_spec(), [{"context": "a", "question": "", "choices": ["a", "b"], "label": "z"}],
                  tokenizer, 32)  # fmt: skip


def test_a_kind_without_a_head_is_refused(tokenizer: Any) -> None:
    spec = _spec("retrieval")
    with pytest.raises(HarnessError, match="no task head"):
        head_class(spec)
    with pytest.raises(HarnessError, match="cannot be trained"):
        featurize(spec, [{"query": "a", "target": "b"}], tokenizer, 32)


def _examples(n: int, seed: int) -> list[dict[str, Any]]:
    """The right choice is the one that mentions 'red'; its position varies."""
    g = torch.Generator().manual_seed(seed)
    out = []
    fillers = ["the big dog", "a small cat", "the teacher", "Anna Berg", "the river"]
    for i in range(n):
        right = int(torch.randint(3, (1,), generator=g))
        wrong = torch.randperm(len(fillers), generator=g)[:3].tolist()
        choices = [fillers[k] for k in wrong]
        choices[right] = f"the red {fillers[wrong[right]].split()[-1]}"
        out.append(
            {"id": str(i), "context": "the dog saw", "question": "what ?", "choices": choices,
             "label": str(right)}
        )  # fmt: skip
    return out


def test_a_tiny_model_learns_a_learnable_choice(tokenizer: Any, tmp_path: Path) -> None:
    spec = _spec()
    encoder = _encoder(tokenizer, tmp_path / "enc")
    model = head_model(encoder, spec, seed=1)
    assert type(model).__name__ == "XLMRobertaForMultipleChoice"
    features = featurize(spec, _examples(48, 0), tokenizer, 48)
    params = TrainParams(epochs=12, learning_rate=3e-3, batch_size=8, max_length=48, warmup_ratio=0)
    train(model, features, collate_for("multiple_choice", tokenizer.pad_token_id), params,
          torch.Generator().manual_seed(0), "mc", device=torch.device("cpu"))  # fmt: skip
    stats: dict[str, list[list[float]]] = {}
    predictions: list[Any] = []
    test = _examples(30, 1)
    scores = predict_and_score(
        model, tokenizer, spec, test, 16, 48, "eval", per_example=stats,
        predictions_out=predictions,
    )  # fmt: skip
    assert scores["accuracy"] >= 0.9
    assert sum(row[0] for row in stats["accuracy"]) / 30 == pytest.approx(scores["accuracy"])
    # the predictions are XCOPA's labels (the choice index): scorable in the submission layout
    from harness.results.xtreme import score_files, write_predictions

    written = write_predictions(tmp_path / "submission", "xcopa", "et", predictions)
    gold = tmp_path / "gold.jsonl"  # XCOPA's test file: the label as an index
    gold.write_text("".join(f'{{"label": {ex["label"]}}}\n' for ex in test), encoding="utf-8")
    official = score_files("xcopa", "et", written, gold)
    assert official["accuracy"] == pytest.approx(100 * scores["accuracy"])
