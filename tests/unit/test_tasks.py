from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from harness.data.toy.config import INTERMEDIATE_TASKS
from harness.errors import HarnessError
from harness.tasks import Registry, load_spec

GOOD = {
    "name": "my_task",
    "role": "intermediate",
    "kind": "pair_classification",
    "source": {"type": "local", "path": "data/x", "files": {"train": "t.jsonl", "dev": "d.jsonl"}},
    "labels": ["yes", "no"],
}


def _spec(tmp_path: Path, data: dict, name: str = "my_task") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_builtin_registry() -> None:
    registry = Registry.load()
    assert {"toy_nli", "toy_ner", "toy_lexical", "toy_relational", "toy_compositional"} <= set(
        registry.names()
    )
    # the builtin specs declare the ranks the toy generator constructs (and writes to task.json)
    ranks = {t: registry.get(t).difficulty.rank for t in INTERMEDIATE_TASKS}  # type: ignore[union-attr]
    assert ranks == INTERMEDIATE_TASKS
    assert registry.get("toy_ner").primary_metric == "f1"
    assert registry.get("toy_nli", role="target").xtreme_group == "classification"
    with pytest.raises(HarnessError, match="not a intermediate"):
        registry.get("toy_nli", role="intermediate")
    with pytest.raises(HarnessError, match=r"Unknown task 'nope'.*toy_nli"):
        registry.get("nope")


def test_good_spec_loads(tmp_path: Path) -> None:
    spec = load_spec(_spec(tmp_path, GOOD))
    assert spec.primary_metric == "accuracy"
    assert spec.column("sentence1") == "sentence1"


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"kind": "regression"}, "kind"),
        ({"name": "../evil"}, "name must be"),
        ({"labels": ["yes"]}, "labels"),
        ({"labels": ["yes", "yes"]}, "twice"),
        ({"metric": "f1"}, "not available"),
        ({"columns": {"question": "q"}}, "unknown fields"),
        ({"role": "target"}, "xtreme_group"),
        ({"surprise": 1}, "surprise"),
        (
            {"source": {"type": "hub", "id": "x", "splits": {"train": "train", "dev": "dev"}}},
            "revision",
        ),
        ({"source": {"type": "local", "path": "p", "files": {"train": "t"}}}, "split"),
        ({"kind": "extractive_qa", "metric": None}, "remove labels"),
        ({"kind": "multiple_choice", "labels": ["0"]}, "at least 2 labels"),
        ({"columns": {"sentence1": ["a", "b"]}}, "only 'choices' takes a list"),
    ],
)
def test_bad_specs_are_refused_with_the_field(tmp_path: Path, change: dict, needle: str) -> None:
    with pytest.raises(HarnessError, match=needle):
        load_spec(_spec(tmp_path, {**GOOD, **change}))


def test_registry_refuses_duplicates_and_misnamed_files(tmp_path: Path) -> None:
    _spec(tmp_path, {**GOOD, "name": "toy_nli"}, name="toy_nli")
    with pytest.raises(HarnessError, match="defined twice"):
        Registry.load([tmp_path])
    other = tmp_path / "other"
    other.mkdir()
    _spec(other, GOOD, name="wrong_file_name")
    with pytest.raises(HarnessError, match=re.escape("must be called 'my_task.yaml'")):
        Registry.load([other])
    # a task folder that is not there yet (written by `harness fetch`) is reported, not fatal
    missing = Registry.load([tmp_path / "missing"])
    assert missing.missing == (tmp_path / "missing",)
    with pytest.raises(HarnessError, match=r"'.*missing' of task_dirs do not exist yet"):
        missing.get("ccg")
    (tmp_path / "afile").write_text("x")
    with pytest.raises(HarnessError, match="is not a folder"):
        Registry.load([tmp_path / "afile"])
