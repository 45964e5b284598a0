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
    from harness.modeling import train_tokenizer

    lines = [" ".join(WORDS.split()[i:] + WORDS.split()[:i]) for i in range(len(WORDS.split()))]
    return train_tokenizer(lines * 20, vocab_size=120)
