"""Dual encoders of the fine-tuned retrieval targets (LAReQA, Mewsli-X; ``retrieval.fine_tune``):
the in-batch softmax loss, that training learns the pairs, the LAReQA candidate text, and the
retrieve stage training one before scoring."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from harness.config import Params, TrainParams, load_params
from harness.data.readers import answer_sentence, lareqa_candidate, read_squad_json
from harness.errors import HarnessError
from harness.model.dual import (
    DualEncoder,
    DualTextEncoder,
    collate_pairs,
    featurize_pairs,
)
from harness.model.encoders import load_encoder
from harness.model.train import train
from harness.seeding import seed_everything
from harness.stages.retrieve import retrieve_cell
from harness.tasks import Registry
from tests.conftest import REPO
from tests.unit.test_retrieval import encoder_dir  # noqa: F401  (module fixture)

PAIRS = [
    ("the dog saw", "a big red dog chased the small cat"),
    ("Anna Berg", "Anna Berg saw New Harbor"),
    ("the teacher", "the teacher did not see the dog"),
    ("near the river", "the cat near the river"),
    ("small cat", "a small cat saw the teacher"),
    ("New Harbor", "New Harbor near the river"),
]


def _dual(encoder_dir: Path) -> tuple[DualEncoder, Any]:  # noqa: F811
    model, tokenizer, _ = load_encoder(encoder_dir)
    return DualEncoder(model, seed=3), tokenizer


def test_the_loss_is_the_in_batch_softmax_over_scaled_cosines(encoder_dir: Path) -> None:  # noqa: F811
    dual, tokenizer = _dual(encoder_dir)
    dual.eval()
    features = featurize_pairs(PAIRS[:4], tokenizer, max_query_length=6, max_length=32)
    assert all(len(f.query_ids) <= 6 for f in features)  # queries cut to their own length
    batch = collate_pairs(features, tokenizer.pad_token_id)
    out = dual(**batch)
    q = dual.embed(batch["input_ids"], batch["attention_mask"])
    c = dual.embed(batch["candidate_ids"], batch["candidate_mask"])
    assert torch.allclose(q.norm(dim=1), torch.ones(4), atol=1e-5)  # unit vectors
    expected = torch.nn.functional.cross_entropy(100.0 * q @ c.T, torch.arange(4))
    assert torch.isclose(out.loss, expected, atol=1e-5)
    out.loss.backward()
    assert dual.logit_scale.grad is not None  # the scale is learned, as the reference's


def test_training_learns_to_retrieve_the_pairs(encoder_dir: Path) -> None:  # noqa: F811
    def recall(dual: DualEncoder, tokenizer: Any) -> float:
        encoder = DualTextEncoder(dual, tokenizer, 8, 32, "encode")
        q = encoder.encode([p for p, _ in PAIRS])
        c = encoder.encode([t for _, t in PAIRS])
        return float(((q @ c.T).argmax(dim=1) == torch.arange(len(PAIRS))).float().mean())

    seed_everything(0)
    dual, tokenizer = _dual(encoder_dir)
    before = recall(dual, tokenizer)
    features = featurize_pairs(PAIRS, tokenizer, 16, 32)
    params = TrainParams(
        epochs=60, learning_rate=3e-3, batch_size=6, max_length=32, group_by_length=0,
        warmup_ratio=0.0, weight_decay=0.0,
    )  # fmt: skip
    summary = train(
        dual, features, lambda fs: collate_pairs(fs, tokenizer.pad_token_id), params,
        seed_everything(0), "dual", torch.device("cpu"),
    )  # fmt: skip
    after = recall(dual, tokenizer)
    assert summary.steps == 60 and summary.final_loss < 0.5
    assert after == 1.0 and after > before


def test_a_lareqa_candidate_is_its_sentence_and_paragraph(tmp_path: Path) -> None:
    context = "Anna saw it. The dog ran home!\nThen it slept."
    assert answer_sentence(context, context.index("dog")) == "The dog ran home!"
    assert answer_sentence(context, context.index("slept")) == "Then it slept."
    assert lareqa_candidate("The dog ran home!", context) == (
        "The dog ran home!Anna saw it. The dog ran home!Then it slept."
    )
    doc = {"data": [{"title": "t", "paragraphs": [{"context": context, "qas": [
        {"id": "q", "question": "Who ran?", "answers": [{"text": "dog", "answer_start": 17}]}
    ]}]}]}  # fmt: skip
    (tmp_path / "train.json").write_text(json.dumps(doc), encoding="utf-8")
    (row,) = read_squad_json(tmp_path / "train.json", "t")
    assert row["candidate"] == lareqa_candidate("The dog ran home!", context)


def _lareqa_workspace(root: Path, english_training: bool = True) -> Registry:
    sentences = [
        ("the dog saw a cat.", "who saw a cat", "dog"),
        ("the teacher did not see the dog.", "who did not see", "teacher"),
        ("Anna Berg saw New Harbor.", "what did Anna see", "New Harbor"),
    ]
    context = " ".join(s for s, _, _ in sentences)
    breaks, at = [], 0
    for sentence, _, _ in sentences:
        breaks.append([at, at + len(sentence)])
        at += len(sentence) + 1
    qas = [
        {"id": f"q{i}", "question": q, "answers": [{"text": a, "answer_start": context.index(a)}]}
        for i, (_, q, a) in enumerate(sentences)
    ]
    doc = {"data": [{"title": "t", "paragraphs": [
        {"context": context, "qas": qas, "sentence_breaks": breaks}
    ]}]}  # fmt: skip
    (root / "xquad-r").mkdir(parents=True)
    for lang in ("en", "de"):
        (root / "xquad-r" / f"{lang}.json").write_text(json.dumps(doc), encoding="utf-8")
    (root / "squad").mkdir()
    train = {"data": [{"title": "t", "paragraphs": [{"context": context, "qas": qas}]}]}
    (root / "squad" / "train.json").write_text(json.dumps(train), encoding="utf-8")
    spec: dict[str, Any] = {
        "name": "tiny_lareqa", "role": "target", "kind": "retrieval", "metric": "map@20",
        "xtreme_group": "retrieval", "languages": ["en", "de"],
        "source": {"type": "local", "path": str(root / "xquad-r"), "format": "squad_json",
                   "files": {"test": "{language}.json"}},
    }  # fmt: skip
    if english_training:
        spec["english_training"] = [{
            "name": "squad", "columns": {"target": "candidate"},
            "source": {"type": "local", "path": str(root / "squad"), "format": "squad_json",
                       "files": {"train": "train.json"}},
        }]  # fmt: skip
    (root / "specs").mkdir()
    (root / "specs" / "tiny_lareqa.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    return Registry.load([root / "specs"])


def _params(tmp_path: Path) -> Params:
    raw = yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8"))
    raw["retrieval"] = {
        "fine_tune": {"tiny_lareqa": {
            "epochs": 2, "learning_rate": 1e-3, "batch_size": 3, "max_length": 48,
            "max_query_length": 12, "group_by_length": 0,
        }},
    }  # fmt: skip
    raw["paths"] = {**raw.get("paths", {}), "models": str(tmp_path / "models")}
    raw["evaluation"] = {**raw.get("evaluation", {}), "splits": ["test"]}
    return Params.model_validate(raw)


def test_retrieve_trains_a_listed_task_as_a_dual_encoder_then_scores_it(
    tmp_path: Path,
    encoder_dir: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import harness.stages.retrieve as stage

    registry = _lareqa_workspace(tmp_path)
    params = _params(tmp_path)
    trained: list[int] = []
    real = stage.train

    def counting(model: Any, features: Any, *args: Any, **kwargs: Any) -> Any:
        trained.append(len(features))
        return real(model, features, *args, **kwargs)

    monkeypatch.setattr(stage, "train", counting)
    out = tmp_path / "results" / "cells" / "none-tiny_lareqa-s13.json"
    result = retrieve_cell(params, registry, "none", "tiny_lareqa", encoder_dir, out)
    assert trained == [3]  # the three English training pairs
    assert {(s["language"], s["metric"]) for s in result["scores"]} == {
        ("en", "map@20"), ("de", "map@20")
    }  # fmt: skip
    assert all(0 <= s["value"] <= 1 for s in result["scores"])
    prov = result["provenance"]
    assert prov["timings"]["phase2_train"] > 0
    assert prov["params"]["layer"] is None  # scored with the dual encoder's vectors
    assert prov["params"]["retrieval"]["fine_tune"]["tiny_lareqa"]["max_query_length"] == 12
    assert not (tmp_path / "models" / "retrieval").exists() or not any(
        (tmp_path / "models" / "retrieval").iterdir()
    )  # no checkpoints left behind

    # a task without English training pairs cannot be fine-tuned: a clear error
    bare = tmp_path / "bare"
    registry = _lareqa_workspace(bare, english_training=False)
    with pytest.raises(HarnessError, match="no english_training data"):
        retrieve_cell(params, registry, "none", "tiny_lareqa", encoder_dir, bare / "r.json")


def test_unlisted_retrieval_targets_are_scored_untrained(tmp_path: Path) -> None:
    """The toy profile's params: no retrieval.fine_tune, and its parameter hash unchanged by
    the setting's existence (it is left out of the dump while empty)."""
    params = load_params(REPO / "params.yaml")
    assert params.retrieval.fine_tune == {}
    assert "fine_tune" not in params.retrieval.model_dump()
