"""The tokenised-feature cache: exact hits, misses on any change, damaged entries recomputed."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

import harness.data.cache as cache
from harness.data.cache import cached_featurize, featurize
from tests.unit.test_data import _spec

PAIRS = [
    {"sentence1": "the big dog saw the cat .", "sentence2": "a dog saw a cat .", "label": "yes"},
    {"sentence1": "Anna Berg did not chase a dog .", "sentence2": "Anna chased .", "label": "no"},
]


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []

    def counting(*args: Any) -> Any:
        calls.append(1)
        return featurize(*args)

    monkeypatch.setattr(cache, "featurize", counting)
    return calls


def test_hit_returns_identical_features(tmp_path: Path, tokenizer: Any, counted: list[int]) -> None:
    spec = _spec("pair_classification", ["yes", "no"])
    first = cached_featurize(spec, PAIRS, tokenizer, 32, tmp_path)
    again = cached_featurize(spec, PAIRS, tokenizer, 32, tmp_path)
    assert counted == [1]  # the second call was served from the cache
    assert again == first == featurize(spec, PAIRS, tokenizer, 32)
    assert len(list(tmp_path.glob("*.pkl"))) == 1 and not list(tmp_path.glob(".*.tmp"))


def test_any_change_misses(tmp_path: Path, tokenizer: Any, counted: list[int]) -> None:
    spec = _spec("pair_classification", ["yes", "no"])
    cached_featurize(spec, PAIRS, tokenizer, 32, tmp_path)
    cached_featurize(spec, PAIRS, tokenizer, 16, tmp_path)  # max_length
    changed = [dict(PAIRS[0], sentence2="a cat saw a dog ."), PAIRS[1]]
    cached_featurize(spec, changed, tokenizer, 32, tmp_path)  # data
    cached_featurize(_spec("pair_classification", ["no", "yes"]), PAIRS, tokenizer, 32, tmp_path)
    other = copy.deepcopy(tokenizer)  # the session's tokenizer stays as it is
    other.add_tokens(["zebra"])  # the tokenizer's definition
    cached_featurize(spec, PAIRS, other, 32, tmp_path)
    assert len(counted) == 5
    assert len(list(tmp_path.glob("*.pkl"))) == 5


def test_damaged_entry_is_recomputed(tmp_path: Path, tokenizer: Any, counted: list[int]) -> None:
    spec = _spec("pair_classification", ["yes", "no"])
    expected = cached_featurize(spec, PAIRS, tokenizer, 32, tmp_path)
    (entry,) = tmp_path.glob("*.pkl")
    entry.write_bytes(entry.read_bytes()[:20])  # truncated
    assert cached_featurize(spec, PAIRS, tokenizer, 32, tmp_path) == expected
    assert len(counted) == 2
    assert cached_featurize(spec, PAIRS, tokenizer, 32, tmp_path) == expected
    assert len(counted) == 2  # the rewritten entry is good again


def test_off_and_unwritable_cache_still_featurize(
    tmp_path: Path, tokenizer: Any, counted: list[int]
) -> None:
    spec = _spec("pair_classification", ["yes", "no"])
    assert cached_featurize(spec, PAIRS, tokenizer, 32, None) == featurize(
        spec, PAIRS, tokenizer, 32
    )
    blocked = tmp_path / "file"
    blocked.write_text("not a folder", encoding="utf-8")
    assert len(cached_featurize(spec, PAIRS, tokenizer, 32, blocked / "sub")) == 2
