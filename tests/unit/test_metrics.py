from __future__ import annotations

import pytest

from harness.metrics import accuracy, span_f1, token_accuracy
from tests.conftest import kind_score as score


def test_accuracy() -> None:
    assert accuracy(["a", "b", "c", "a"], ["a", "b", "a", "a"]) == 0.75
    with pytest.raises(ValueError):
        accuracy(["a"], [])


def test_span_f1_is_entity_level() -> None:
    gold = [["B-PER", "I-PER", "O", "B-LOC"]]
    # one of two entities right; a partial PER span counts as wrong
    pred = [["B-PER", "O", "O", "B-LOC"]]
    assert span_f1(pred, gold) == pytest.approx(0.5)
    assert token_accuracy(pred, gold) == 0.75
    assert span_f1(gold, gold) == 1.0


def test_score_by_kind() -> None:
    assert score("tagging", [["O", "B-ORG"]], [["O", "B-ORG"]]) == {
        "f1": 1.0,
        "token_accuracy": 1.0,
    }
    assert score("pair_classification", ["x", "y"], ["x", "x"]) == {"accuracy": 0.5}
