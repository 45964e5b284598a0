"""Shared fixtures: a tiny tokenizer and tiny task data written in the real schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]

WORDS = "the a dog cat teacher saw chased big small red river near did not Anna Berg New Harbor ."


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture(scope="session")
def tokenizer() -> Any:
    from harness.model.encoders import train_tokenizer

    lines = [" ".join(WORDS.split()[i:] + WORDS.split()[:i]) for i in range(len(WORDS.split()))]
    return train_tokenizer(lines * 20, vocab_size=120)


def tiny_pretrained(folder: Path, tokenizer: Any) -> Any:
    """A seeded tiny XLM-R-style encoder (2 layers, hidden 32) saved as the pretrained encoder
    ``folder/encoders/none`` of a stage test; returns its ModelParams."""
    import torch

    from harness.config import ModelParams
    from harness.model.encoders import new_mlm_model, save_encoder, write_phase

    torch.manual_seed(0)
    model_params = ModelParams(
        name="t", source="pretrain", vocab_size=len(tokenizer), hidden_size=32, num_layers=2,
        num_heads=2, intermediate_size=64, max_position=60,
    )  # fmt: skip
    encoder = folder / "encoders" / "none"
    encoder.mkdir(parents=True)
    save_encoder(new_mlm_model(model_params, tokenizer), tokenizer, encoder)
    write_phase(encoder, {"phase": 0})
    return model_params


# --- the kind protocol, called as the tests of one kind call it ------------------------------


def kind_spec(kind: str, name: str = "t", labels: list[str] | None = None) -> Any:
    """A throwaway spec of ``kind`` (its kind's methods read the name and labels only)."""
    from harness.tasks import TaskSpec

    return TaskSpec.model_construct(name=name, kind=kind, labels=labels or [])


def collate_for(kind: str, pad_id: int) -> Any:
    """The training collate function of ``kind``."""
    from harness import kinds

    return lambda features: kinds.get(kind).collate(features, pad_id)


def kind_score(
    kind: str,
    predictions: Any,
    golds: Any,
    normalisation: str = "squad",
    language: str | None = None,
) -> dict[str, float]:
    """Every metric of ``kind`` (extractive QA: MLQA's normalisation for a task named mlqa)."""
    from harness import kinds

    spec = kind_spec(kind, "mlqa" if normalisation == "mlqa" else "t")
    return kinds.get(kind).score(spec, predictions, golds, language)


def kind_example_stats(
    kind: str,
    predictions: Any,
    golds: Any,
    normalisation: str = "squad",
    language: str | None = None,
) -> dict[str, list[list[float]]]:
    """Per-example sufficient statistics of ``kind``."""
    from harness import kinds

    spec = kind_spec(kind, "mlqa" if normalisation == "mlqa" else "t")
    return kinds.get(kind).example_stats(spec, predictions, golds, language)
