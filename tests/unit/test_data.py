from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from harness.data.cache import featurize
from harness.data.sources import load_examples
from harness.errors import HarnessError
from harness.kinds.base import IGNORE_INDEX, FeatureSettings
from harness.kinds.base import pad_sequences as collate
from harness.tasks import TaskSpec
from tests.conftest import write_jsonl


def _spec(kind: str, labels: list[str], **extra: Any) -> TaskSpec:
    return TaskSpec.model_validate(
        {
            "name": "t_task",
            "role": "target",
            "kind": kind,
            "xtreme_group": "tagging" if kind == "tagging" else "classification",
            "source": {
                "type": "local",
                "path": "d",
                "files": {
                    "train": "train.jsonl",
                    "dev": "dev.{language}.jsonl",
                    "test": "test.{language}.jsonl",
                },
            },
            "languages": ["en", "xa"],
            "labels": labels,
            **extra,
        }
    )


def test_local_pair_examples_and_column_mapping(tmp_path: Path) -> None:
    spec = _spec("pair_classification", ["yes", "no"], columns={"sentence1": "premise"})
    write_jsonl(
        tmp_path / "d/test.xa.jsonl",
        [
            {"id": "1", "premise": "the dog", "sentence2": "a cat", "label": "yes"},
            {"premise": "a", "sentence2": "b", "label": 1},  # class index, as Hub datasets store it
        ],
    )
    rows = load_examples(spec, "test", "xa", root=tmp_path)
    assert rows[0] == {"id": "1", "sentence1": "the dog", "sentence2": "a cat", "label": "yes"}
    assert rows[1]["label"] == "no" and rows[1]["id"] == "test-xa-1"


@pytest.mark.parametrize(
    ("rows", "needle"),
    [
        ([{"sentence2": "b", "label": "yes"}], "no column 'sentence1'"),
        ([{"sentence1": "a", "sentence2": "b", "label": "maybe"}], "label 'maybe'"),
    ],
)
def test_bad_rows_are_named(tmp_path: Path, rows: list[dict[str, Any]], needle: str) -> None:
    spec = _spec("pair_classification", ["yes", "no"])
    write_jsonl(tmp_path / "d/test.en.jsonl", rows)
    with pytest.raises(HarnessError, match=needle):
        load_examples(spec, "test", "en", root=tmp_path)


def test_missing_file_and_bad_json(tmp_path: Path) -> None:
    spec = _spec("pair_classification", ["yes", "no"])
    with pytest.raises(HarnessError, match=r"missing.*harness data"):
        load_examples(spec, "test", "en", root=tmp_path)
    path = tmp_path / "d/test.en.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text('{"sentence1": "a"}\n{broken\n', encoding="utf-8")
    with pytest.raises(HarnessError, match="line 2 is not valid JSON"):
        load_examples(spec, "test", "en", root=tmp_path)


def test_tagging_rows_checked(tmp_path: Path) -> None:
    spec = _spec("tagging", ["O", "B-PER", "I-PER"])
    write_jsonl(tmp_path / "d/test.en.jsonl", [{"tokens": ["a", "b"], "tags": ["O"]}])
    with pytest.raises(HarnessError, match="same length"):
        load_examples(spec, "test", "en", root=tmp_path)
    write_jsonl(tmp_path / "d/test.en.jsonl", [{"tokens": ["a"], "tags": ["B-LOC"]}])
    with pytest.raises(HarnessError, match="B-LOC"):
        load_examples(spec, "test", "en", root=tmp_path)


def test_tagging_labels_first_subtoken_only(tokenizer: Any) -> None:
    spec = _spec("tagging", ["O", "B-PER", "I-PER"])
    examples = [
        {"id": "0", "tokens": ["Anna", "Berg", "sawdogcat"], "tags": ["B-PER", "I-PER", "O"]}
    ]
    (feature,) = featurize(spec, examples, tokenizer, max_length=32)
    assert isinstance(feature.label, list) and feature.word_ids is not None
    labelled = [
        (w, lab)
        for w, lab in zip(feature.word_ids, feature.label, strict=True)
        if lab != IGNORE_INDEX
    ]
    assert labelled == [(0, 1), (1, 2), (2, 0)]
    # the long word is split into several sub-tokens; only the first carries the label
    assert feature.word_ids.count(2) > 1
    # too long for one window: several windows of whole words, every word labelled in one
    windows = featurize(spec, examples, tokenizer, max_length=4)
    assert len(windows) > 1
    seen = {
        word
        for f in windows
        for word, lab in zip(f.word_ids or [], f.label, strict=True)  # type: ignore[arg-type]
        if lab != IGNORE_INDEX
    }
    assert seen == {0, 1, 2}


def test_collate_pads_to_longest_in_batch(tokenizer: Any) -> None:
    spec = _spec("pair_classification", ["yes", "no"])
    examples = [
        {"id": "0", "sentence1": "the dog", "sentence2": "a cat", "label": "no"},
        {
            "id": "1",
            "sentence1": "the big red dog chased a small cat",
            "sentence2": "a cat",
            "label": "yes",
        },
    ]
    features = featurize(spec, examples, tokenizer, max_length=64)
    batch = collate(features, tokenizer.pad_token_id)
    longest = max(len(f.input_ids) for f in features)
    assert batch["input_ids"].shape == (2, longest)
    assert batch["attention_mask"].sum(1).tolist() == [len(f.input_ids) for f in features]
    assert batch["labels"].tolist() == [1, 0]
    assert torch.all(batch["input_ids"][0, len(features[0].input_ids) :] == tokenizer.pad_token_id)
    # XLM-R pair format: <s> A </s></s> B </s>
    ids = features[0].input_ids
    assert ids[0] == tokenizer.bos_token_id and ids[-1] == tokenizer.eos_token_id
    assert ids.count(tokenizer.eos_token_id) == 3


def test_multiple_choice_from_one_column_per_choice(tmp_path: Path) -> None:
    spec = _spec(
        "multiple_choice",
        ["0", "1"],
        columns={"context": "premise", "choices": ["choice1", "choice2"]},
        xtreme_group="multi_choice",
    )
    row = {"premise": "The glass fell.", "question": "effect", "choice1": "It broke."}
    write_jsonl(tmp_path / "d" / "train.jsonl", [{**row, "choice2": "It sang.", "label": 0}])
    (example,) = load_examples(spec, "train", "en", root=tmp_path)
    assert example["choices"] == ["It broke.", "It sang."]
    assert example["label"] == "0"  # the index, named by the spec's labels
    write_jsonl(tmp_path / "d" / "dev.en.jsonl", [{**row, "label": 1}])
    with pytest.raises(HarnessError, match="no column 'choice2'"):
        load_examples(spec, "dev", "en", root=tmp_path)


def test_extractive_qa_answers_are_checked_and_featurised(tmp_path: Path, tokenizer: Any) -> None:
    spec = _spec("extractive_qa", [], xtreme_group="qa")
    good = {"context": "Anna saw a dog.", "question": "Who saw a dog?"}
    write_jsonl(
        tmp_path / "d" / "train.jsonl",
        [{**good, "answers": {"text": ["Anna"], "answer_start": [0]}}],
    )
    examples = load_examples(spec, "train", "en", root=tmp_path)
    assert examples[0]["answers"]["text"] == ["Anna"]
    with pytest.raises(HarnessError, match="raise max_length above 69"):
        featurize(spec, examples, tokenizer, 32)  # default max_query_length 64
    settings = FeatureSettings(doc_stride=8, max_query_length=12)
    features = featurize(spec, examples, tokenizer, 32, settings)
    assert features and all(len(f.input_ids) <= 32 for f in features)
    write_jsonl(tmp_path / "d" / "dev.en.jsonl", [{**good, "answers": {"text": ["Anna"]}}])
    with pytest.raises(HarnessError, match="SQuAD format"):
        load_examples(spec, "dev", "en", root=tmp_path)
