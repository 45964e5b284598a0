from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.config import load_params, stable_hash
from harness.errors import HarnessError
from tests.conftest import REPO


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _base() -> dict:
    return yaml.safe_load((REPO / "params.yaml").read_text())


def test_repository_params_load() -> None:
    params = load_params(REPO / "params.yaml")
    assert params.profile == "toy"
    assert params.grid.intermediate[0] == "none"
    assert set(params.phase1) == set(params.grid.intermediate) - {"none"}
    assert params.phase2_params("toy_nli").epochs > 0


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda p: p.pop("seed"), "seed"),
        (lambda p: p["phase1"].pop("toy_lexical"), "phase1 has no entry"),
        (lambda p: p["grid"]["intermediate"].remove("none"), "must include 'none'"),
        (lambda p: p["grid"]["target"].append("toy_nli"), "twice"),
        (lambda p: p["grid"]["retrieval"].append("toy_nli"), "grid.retrieval only"),
        (lambda p: p["compute"].__setitem__("threads", 0), "compute.threads"),
        (lambda p: p["phase1"].__setitem__("none", p["phase1"]["toy_lexical"]), "baseline"),
        (lambda p: p["phase2"]["toy_nli"].__setitem__("epochs", -1), "phase2.toy_nli.epochs"),
        (lambda p: p.__setitem__("unexpected", 1), "unexpected"),
        (lambda p: p["model"].__setitem__("source", "hub"), "needs model.hub_id"),
        (lambda p: p["model"].update(source="hub", hub_id="o/m", revision="main"), "40-hex commit"),
        (lambda p: p["model"].__setitem__("num_heads", 3), "divisible"),
    ],
)
def test_invalid_params_name_the_problem(tmp_path: Path, mutate, needle: str) -> None:
    data = _base()
    mutate(data)
    with pytest.raises(HarnessError, match=needle):
        load_params(_write(tmp_path, data))


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match="not found"):
        load_params(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: [1,\n", encoding="utf-8")
    with pytest.raises(HarnessError, match="not valid YAML"):
        load_params(bad)
    with pytest.raises(HarnessError, match="mapping"):
        load_params(_write(tmp_path, [1, 2]))


def test_stable_hash_ignores_key_order() -> None:
    assert stable_hash({"a": 1, "b": [1, 2]}) == stable_hash({"b": [1, 2], "a": 1})
    assert stable_hash({"a": 1}) != stable_hash({"a": 2})
