"""``harness fetch`` of every Hub dataset the paper and XTREME specs snapshot, from a mirror of
the Hub repositories in their real layouts (tests/fetch_fixtures/hub.py), then read by the
stages' loader (:func:`harness.data.sources.load_examples`) through ``datasets.load_dataset``
on the snapshot folder, for every split and language the specs name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.config import DatasetInputs
from harness.data.sources import load_examples
from harness.fetch.core import RECORD, fetch_task, hub_sources
from harness.tasks.registry import load_spec
from harness.tasks.spec import HubSource, TaskSpec, training_spec
from tests.fetch_fixtures import hub
from tests.fetch_fixtures import squad_v1_1 as squad_fixture

TASKS = Path(__file__).resolve().parents[2] / "harness" / "tasks"
SPECS = [*sorted((TASKS / "paper").glob("*.yaml")), TASKS / "xtreme/xnli.yaml",
         TASKS / "xtreme/xquad.yaml"]  # fmt: skip


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict]]:
    root = tmp_path_factory.mktemp("mirror")
    described = hub.build_hub_mirror(root)
    squad_fixture.build(root / "squad_v1_1")  # XQuAD's English training release files
    return root, described


@pytest.fixture(autouse=True)
def _datasets_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``datasets`` keeps its Arrow cache of each snapshot under this test's folder."""
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-datasets")


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_the_mirror_holds_exactly_the_repositories_the_specs_pin() -> None:
    pinned = {(s.id, s.revision) for path in SPECS for s in hub_sources(load_spec(path))}
    assert pinned == set(hub.repositories())


def test_the_mirror_is_deterministic(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    first, second = tmp_path / "a", tmp_path / "b"
    described = hub.build_hub_mirror(first)
    assert hub.build_hub_mirror(second) == described
    for key, repo in described.items():
        for name in repo["files"]:
            a, b = first / repo["folder"] / name, second / repo["folder"] / name
            if name.endswith(".parquet"):
                assert pq.read_table(a).to_pylist() == pq.read_table(b).to_pylist(), key
            else:
                assert a.read_bytes() == b.read_bytes(), key


def _raw_labels(root: Path, stage: TaskSpec, split: str, language: str) -> list[Any]:
    """The label column of one snapshot split as stored (ClassLabel indices, -1 included)."""
    import datasets

    source = stage.source
    assert isinstance(source, HubSource) and source.snapshot is not None
    config = source.config.format(language=language) if source.config else None
    data = datasets.load_dataset(str(root / source.snapshot), config, split=source.splits[split])
    column = stage.column("label")
    assert isinstance(column, str)
    return list(data[column])


def _check_examples(
    stage: TaskSpec, examples: list[dict[str, Any]], where: str, expected: int
) -> None:
    assert examples, f"{where}: no examples"
    assert len(examples) == expected, where
    assert len({ex["id"] for ex in examples}) == len(examples), f"{where}: ids not unique"
    if stage.labels:
        labels = [ex["label"] for ex in examples]
        assert set(labels) <= set(stage.labels), where
        assert set(labels) == set(stage.labels), f"{where}: not every class is present"
    if stage.kind == "pair_classification":
        assert all(ex["sentence1"] and ex["sentence2"] for ex in examples), where
    if stage.kind == "multiple_choice":
        for ex in examples:
            assert len(ex["choices"]) == len(stage.labels), where
            assert all(isinstance(c, str) and c for c in ex["choices"]), where
            assert isinstance(ex["context"], str) and ex["question"], where
    if stage.kind == "extractive_qa":
        answered = 0
        for ex in examples:
            answers = ex["answers"]
            for text, start in zip(answers["text"], answers["answer_start"], strict=True):
                assert text and ex["context"][start : start + len(text)] == text, where
            answered += bool(answers["text"])
        assert answered, f"{where}: no answerable question"


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_fetched_hub_snapshots_are_read_by_the_stages(
    path: Path,
    mirror: tuple[Path, dict[str, dict]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, described = mirror
    monkeypatch.chdir(tmp_path)  # fetch works on paths relative to the repository
    spec = load_spec(path)
    out = Path("data") / path.parent.name / spec.name
    outcome = fetch_task(spec.name, DatasetInputs(spec=path, out=out), root)
    assert not outcome.skipped

    sources = list(hub_sources(spec))
    assert sources
    expected = [{"id": s.id, "revision": s.revision, "snapshot": str(s.snapshot)} for s in sources]
    assert outcome.record["hub"] == expected
    assert json.loads((tmp_path / out / RECORD).read_text(encoding="utf-8"))["hub"] == expected
    for source in sources:  # the repository at its revision, copied whole
        assert source.snapshot is not None
        key = f"{source.id}@{source.revision}"
        copy = root / described[key]["folder"]
        assert _files(tmp_path / source.snapshot) == _files(copy) == described[key]["files"]

    stages = [spec, *(training_spec(spec, i) for i in range(len(spec.english_training)))]
    for stage in stages:
        source = stage.source
        per_language = isinstance(source, HubSource) and "{language}" in (source.config or "")
        languages = spec.languages if per_language else [spec.train_language]
        splits = source.splits if isinstance(source, HubSource) else source.files
        for split in splits:
            for language in languages:
                where = f"{stage.name}/{split}/{language}"
                examples = load_examples(stage, split, language, root=tmp_path)
                if not isinstance(source, HubSource):  # XQuAD's SQuAD v1.1, converted
                    _check_examples(stage, examples, where, len(examples))
                    continue
                raw = _raw_labels(tmp_path, stage, split, language) if stage.labels else None
                if raw is None:
                    config = source.config.format(language=language) if source.config else None
                    rows = described[f"{source.id}@{source.revision}"]["configs"]
                    count = rows[config or "default"][source.splits[split]]
                else:
                    count = sum(label not in stage.skip_labels for label in raw)
                    if stage.name == "snli":  # pairs without a gold label, dropped
                        assert count < len(raw), where
                _check_examples(stage, examples, where, count)
