"""`harness replicate`, the drift check, on a tiny project built once: a 2-layer encoder, one
intermediate task and one target, three stored cells made by the pipeline's stage functions in
dvc.yaml's layout, ingested. Each test re-runs cells from a private copy of it: every sampled
cell is exact on CPU, a changed parameter or a stored result made under another package version
is a drift with its cause (exit 1), outcomes land in the database's replications table through
the store's safe write path, and the leaderboard marks the drifted cell."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import torch
import yaml
from typer.testing import CliRunner

from harness.config import Params
from harness.errors import HarnessError
from harness.results.replications import (
    compare_scores,
    provenance_differences,
    record,
    sidecar,
)
from harness.results.schema import ResultFile, content_checksum, read_result
from harness.results.store import ingest
from harness.results.views import drift_marks, load_replications
from harness.seeding import configure_compute
from harness.stages.replicate import choose, override, plans, scratch_folder, stored_cells
from harness.tasks import Registry
from tests.conftest import REPO, tiny_pretrained, write_jsonl
from tests.reliability.conftest import git_commit
from tests.unit.test_store import LANGS
from tests.unit.test_store import result as stored_result

CELLS = ("none-t_tgt-s1", "none-t_tgt-s2", "t_inter-t_tgt-s1")


def _rows(n: int, offset: int = 0) -> list[dict[str, Any]]:
    words = ["red", "blue", "green"]
    return [
        {"sentence1": f"the {words[(i + offset) % 3]} thing", "label": words[(i + offset) % 3]}
        for i in range(n)
    ]


def _files(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (what must not change)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(autouse=True)
def _threads() -> Iterator[None]:
    """The stages set torch's thread count for the process: give it back."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, tokenizer: Any) -> Path:
    """The stored project: data, specs, params.yaml, models/ and results/ as `dvc repro`
    leaves them (stage functions run with relative paths from the project's root)."""
    from harness.stages.evaluate import evaluate_cell
    from harness.stages.phase1 import run_phase1
    from harness.stages.phase2 import run_target

    root = tmp_path_factory.mktemp("replicate")
    write_jsonl(root / "data/inter/train.jsonl", _rows(16))
    write_jsonl(root / "data/inter/dev.jsonl", _rows(6, 1))
    write_jsonl(root / "data/tgt/train.jsonl", _rows(12))
    for language in ("en", "xa"):
        write_jsonl(root / f"data/tgt/dev.{language}.jsonl", _rows(5, 2))
        write_jsonl(root / f"data/tgt/test.{language}.jsonl", _rows(7))
    local = {"type": "local", "format": "jsonl"}
    specs = {
        "t_inter": {
            "name": "t_inter", "role": "intermediate", "kind": "classification",
            "source": {**local, "path": "data/inter",
                       "files": {"train": "train.jsonl", "dev": "dev.jsonl"}},
            "labels": ["red", "blue", "green"],
        },
        "t_tgt": {
            "name": "t_tgt", "role": "target", "kind": "classification",
            "xtreme_group": "classification", "languages": ["en", "xa"],
            "source": {**local, "path": "data/tgt", "files": {
                "train": "train.jsonl", "dev": "dev.{language}.jsonl",
                "test": "test.{language}.jsonl"}},
            "labels": ["red", "blue", "green"],
        },
    }  # fmt: skip
    (root / "specs").mkdir()
    for name, spec in specs.items():
        (root / "specs" / f"{name}.yaml").write_text(yaml.safe_dump(spec))
    model_params = tiny_pretrained(root / "models", tokenizer)
    train = {"epochs": 1, "learning_rate": 1e-3, "batch_size": 4, "max_length": 32}
    raw = {
        "profile": "toy", "seed": 3, "model": model_params.model_dump(), "pretrain": train,
        "grid": {"intermediate": ["none", "t_inter"], "target": ["t_tgt"], "retrieval": [],
                 "seeds": [1, 2]},
        "phase1": {"t_inter": train}, "phase2": {"t_tgt": train},
        "evaluation": {"max_length": 32, "splits": ["dev", "test"]}, "task_dirs": ["specs"],
        "checkpoint": {"every_steps": 0, "every_minutes": 0},
    }  # fmt: skip
    (root / "params.yaml").write_text(yaml.safe_dump(raw))
    git_commit(root, ["params.yaml", "specs"])  # results record the commit
    params = Params.model_validate(raw)
    threads = torch.get_num_threads()
    with contextlib.chdir(root):
        registry = Registry.for_params(params)  # task_dirs: relative to the project
        configure_compute(1, True)  # as each stage process does (compute.threads)
        encoders = Path("models/encoders")
        run_phase1(params, registry, "t_inter", encoders / "none", encoders / "t_inter")
        for name in CELLS:
            setting, _, seed = name.split("-")
            cell = params.with_seed(int(seed[1:]))
            model = Path(f"models/phase2/{name}")
            run_target(cell, registry, setting, "t_tgt", encoders / setting, model)
            evaluate_cell(
                cell, registry, setting, "t_tgt", model, Path(f"results/cells/{name}.json")
            )
        ingest(
            Path("results/xtransfer.duckdb"),
            sorted(Path("results/cells").glob("*.json")),
            LANGS,
            [registry.get(n) for n in ("t_inter", "t_tgt")],
        )
    torch.set_num_threads(threads)
    return root


@pytest.fixture
def ws(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the project, the working directory of the test."""
    copy = tmp_path / "ws"
    shutil.copytree(project, copy)
    monkeypatch.chdir(copy)
    return copy


def _replicate(*args: str) -> tuple[int, dict[str, Any] | None, str]:
    from harness.cli import app

    done = CliRunner().invoke(app, ["replicate", "--scratch", "scratch", *args])
    if done.exception is not None and not isinstance(done.exception, SystemExit):
        raise done.exception
    report = Path("scratch/report.json")
    loaded = json.loads(report.read_text()) if report.is_file() else None
    return done.exit_code, loaded, done.output


def _stored_replications(db: Path) -> list[tuple[Any, ...]]:
    """The replications recorded for ``db`` (in its sidecar database)."""
    if not sidecar(db).is_file():
        return []
    con = duckdb.connect(str(sidecar(db)), read_only=True)
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        if "replications" not in tables:
            return []
        return con.execute(
            "SELECT run_id, status, rerun, cause FROM replications ORDER BY run_id"
        ).fetchall()
    finally:
        con.close()


# ---------------------------------------------------------------------------------------------
# the acceptance: exact on CPU, drift with its cause, exit status


@pytest.mark.parametrize("start", ["target", "evaluate"])
def test_sampled_cells_replicate_exactly_and_stored_outputs_are_untouched(
    ws: Path, start: str
) -> None:
    before = {folder: _files(ws / folder) for folder in ("models", "results", "data")}
    code, report, output = _replicate("--sample", "2", "--seed", "5", "--from", start)
    assert code == 0, output
    assert report is not None and len(report["cells"]) == 2
    assert {c["status"] for c in report["cells"]} == {"exact"}, output
    assert all(c["max_abs_diff"] == 0.0 and c["n_scores"] == 4 for c in report["cells"])
    stages = ["target", "evaluate"] if start == "target" else ["evaluate"]
    assert all(c["stages"] == stages for c in report["cells"])
    if start == "target":  # phase 2 was recomputed, to the same bits
        assert all(c["checkpoints"] == {"phase-2 model": "identical"} for c in report["cells"])
    # a genuine recomputation in the scratch folder: new result files, checkpoints removed
    for cell in report["cells"]:
        rerun = Path(cell["rerun_file"])
        assert rerun.parent.parent == Path("scratch") and rerun.is_file()
        assert rerun.read_bytes() != Path(cell["stored_file"]).read_bytes()  # new timestamps
        assert [p.name for p in rerun.parent.iterdir() if p.is_dir()] == []
    # the same seed draws the same cells
    cells = [c["cell"] for c in report["cells"]]
    again = choose(stored_cells(Path("results/cells")), sample=2, sample_seed=5)
    assert cells == [c.name for c in again]
    after = {folder: _files(ws / folder) for folder in ("models", "results", "data")}
    db = "results/xtransfer.duckdb"
    # every stored file unchanged, the results database (a DVC output) included: the outcomes
    # went to its sidecar
    side = sidecar(Path(db)).name
    assert {k: v for k, v in after["results"].items() if k != side} == before["results"]
    assert side in after["results"] and side not in before["results"]
    assert after["models"] == before["models"] and after["data"] == before["data"]
    recorded = _stored_replications(ws / db)
    assert [(r[1], r[2]) for r in recorded] == [("exact", "+".join(stages))] * 2
    assert "exact" in output and "Report:" in output


def test_a_changed_parameter_is_a_drift_with_its_cause(ws: Path) -> None:
    code, report, output = _replicate(
        "-i", "none", "--cell-seed", "1", "--set", "phase2.t_tgt.learning_rate=0.05"
    )
    assert code == 1, output
    assert report is not None
    (cell,) = report["cells"]
    assert cell["cell"] == "none-t_tgt-s1" and cell["status"] == "drifted"
    assert cell["max_abs_diff"] > 1e-6 and cell["checkpoints"] == {"phase-2 model": "differ"}
    assert {"what": "params", "field": "phase2.learning_rate", "stored": 0.001, "now": 0.05} in (
        cell["differences"]
    )
    assert cell["cause"].startswith("params phase2.learning_rate: 0.001 -> 0.05")
    assert cell["rerun_run_id"] != cell["result_run_id"]  # another configuration
    assert "drifted" in output
    # a what-if under other parameters is not recorded as a replication of the stored numbers
    assert _stored_replications(ws / "results/xtransfer.duckdb") == []


def _restore(path: Path, edit: Any) -> None:
    """Rewrite a stored result file with ``edit`` applied and a valid checksum, as if another
    environment had written it."""
    content = json.loads(path.read_text())
    edit(content)
    content["checksum"] = content_checksum(content)
    path.write_text(json.dumps(content, indent=2, sort_keys=True))


def test_stored_numbers_from_another_package_version_drift_and_the_leaderboard_marks_it(
    ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    def older_torch(content: dict[str, Any]) -> None:
        content["provenance"]["packages"]["torch"] = "1.13.0"
        content["scores"][0]["value"] += 1 / 7  # one test example predicted otherwise

    stored = Path("results/cells/t_inter-t_tgt-s1.json")
    _restore(stored, older_torch)
    now = read_result(stored)
    code, report, output = _replicate("-i", "t_inter", "--from", "evaluate")
    assert code == 1, output
    assert report is not None
    (cell,) = report["cells"]
    assert cell["status"] == "drifted" and cell["max_abs_diff"] == pytest.approx(1 / 7)
    torch_now = report["environment"]["packages"]["torch"]
    assert cell["differences"][0] == {
        "what": "packages", "field": "torch", "stored": "1.13.0", "now": torch_now
    }  # fmt: skip
    assert cell["cause"].startswith(f"packages torch: 1.13.0 -> {torch_now}")
    assert cell["config_hash"] == now.provenance.params_hash
    # recorded, and the leaderboard's views and pages mark the cell
    db = ws / "results/xtransfer.duckdb"
    assert [r[:3] for r in _stored_replications(db)] == [
        ("t/t_inter/t_tgt/s1", "drifted", "evaluate")
    ]
    con = duckdb.connect(str(db), read_only=True)
    try:
        marks = drift_marks(load_replications(con, db)).set_index("intermediate")
    finally:
        con.close()
    assert marks.loc["t_inter", "drift_check"].startswith("⚠ drifted on ")
    assert "packages torch: 1.13.0" in marks.loc["t_inter", "drift_check"]
    monkeypatch.setattr(sys, "argv", ["app.py", "--db", str(db)])
    app = AppTest.from_file(str(REPO / "leaderboard" / "app.py"), default_timeout=60)
    app.run()
    assert not app.exception, app.exception
    (table,) = [d.value for d in app.dataframe if "drift_check" in d.value.columns]
    checks = table.set_index("intermediate")["drift_check"]
    assert checks["t_inter"].startswith("⚠ drifted on") and checks["none"] == ""
    assert any("drifted" in w.value for w in app.warning)
    app = AppTest.from_file(str(REPO / "leaderboard" / "app.py"), default_timeout=60)
    app.query_params["page"] = "Run details"
    app.query_params["run"] = "t/t_inter/t_tgt/s1"
    app.run()
    assert not app.exception, app.exception
    # (Streamlit shows a leading emoji as the warning's icon)
    assert any(w.value.startswith("drifted on 20") for w in app.warning)


def test_a_faked_package_version_with_the_same_numbers_is_exact_and_named(
    ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import harness.provenance

    real = harness.provenance.packages
    monkeypatch.setattr(harness.provenance, "packages", lambda: {**real(), "torch": "99.0"})
    code, report, output = _replicate("-i", "none", "--cell-seed", "2", "--from", "evaluate")
    assert code == 0, output
    assert report is not None
    (cell,) = report["cells"]
    assert cell["status"] == "exact"
    assert {"what": "packages", "field": "torch", "stored": real()["torch"], "now": "99.0"} in (
        cell["differences"]
    )


def test_phase_one_reruns_for_a_setting_and_not_for_the_baseline(ws: Path) -> None:
    code, report, output = _replicate("--cell-seed", "1", "--from", "intermediate", "--no-record")
    assert code == 0, output
    assert report is not None
    by_cell = {c["cell"]: c for c in report["cells"]}
    assert by_cell["t_inter-t_tgt-s1"]["stages"] == ["intermediate", "target", "evaluate"]
    assert by_cell["t_inter-t_tgt-s1"]["checkpoints"] == {
        "phase-1 encoder": "identical", "phase-2 model": "identical"
    }  # fmt: skip
    assert by_cell["none-t_tgt-s1"]["stages"] == ["target", "evaluate"]
    assert {c["status"] for c in report["cells"]} == {"exact"}
    assert _stored_replications(ws / "results/xtransfer.duckdb") == []


def test_a_cell_that_cannot_be_rerun_is_failed_and_the_others_go_on(
    ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import harness.stages.evaluate

    real = harness.stages.evaluate.evaluate_cell

    def broken(params: Params, registry: Registry, setting: str, *args: Any) -> Any:
        if setting == "t_inter":
            raise HarnessError("Task 't_tgt' has no test examples for 'xa'.")
        return real(params, registry, setting, *args)

    monkeypatch.setattr(harness.stages.evaluate, "evaluate_cell", broken)
    code, report, output = _replicate("--cell-seed", "1", "--from", "evaluate")
    assert code == 1, output
    assert report is not None
    by_cell = {c["cell"]: c for c in report["cells"]}
    assert by_cell["t_inter-t_tgt-s1"]["status"] == "failed"
    assert "no test examples" in by_cell["t_inter-t_tgt-s1"]["cause"]
    assert by_cell["none-t_tgt-s1"]["status"] == "exact"
    assert report["summary"] == {"exact": 1, "within tolerance": 0, "drifted": 0, "failed": 1}
    # only what was compared is recorded
    assert [r[:2] for r in _stored_replications(ws / "results/xtransfer.duckdb")] == [
        ("t/none/t_tgt/s1", "exact")
    ]


# ---------------------------------------------------------------------------------------------
# refusals, before anything runs


def test_missing_stored_checkpoints_and_unsafe_scratch_folders_are_refused(ws: Path) -> None:
    params = Params.model_validate(yaml.safe_load(Path("params.yaml").read_text()))
    registry = Registry.for_params(params)
    cells = stored_cells(Path("results/cells"))
    shutil.rmtree("models/phase2/none-t_tgt-s2")
    with pytest.raises(HarnessError, match=r"none-t_tgt-s2.*--from target"):
        plans(params, registry, cells, "evaluate")
    assert len(plans(params, registry, cells, "target")) == 3  # phase 2 is re-run: not needed
    with pytest.raises(HarnessError, match="not one of"):
        plans(params, registry, cells, "phase2")
    for inside in ("models/x", "results/cells", "data"):
        with pytest.raises(HarnessError, match="holds stored outputs"):
            scratch_folder(params, Path("results/cells"), Path(inside))
    Path("busy").mkdir()
    Path("busy/file").write_text("x")
    with pytest.raises(HarnessError, match="not empty"):
        scratch_folder(params, Path("results/cells"), Path("busy"))
    default = scratch_folder(params, Path("results/cells"), None)
    assert default.parent == Path("results/replications")


def test_cells_are_chosen_by_setting_target_seed_and_sample(ws: Path) -> None:
    cells = stored_cells(Path("results/cells"))
    assert [c.name for c in choose(cells, intermediates=["none"])] == list(CELLS[:2])
    assert [c.name for c in choose(cells, seeds=[1], targets=["t_tgt"])] == [CELLS[0], CELLS[2]]
    drawn = [c.name for c in choose(cells, sample=2, sample_seed=1)]
    assert len(drawn) == 2 and drawn == [c.name for c in choose(cells, sample=2, sample_seed=1)]
    assert len(choose(cells, sample=9)) == 3
    with pytest.raises(HarnessError, match=r"No stored cell has setting t_lexical.*none, t_inter"):
        choose(cells, intermediates=["t_lexical"])
    with pytest.raises(HarnessError, match="matches"):
        choose(cells, intermediates=["t_inter"], seeds=[2])


def test_parameter_overrides_are_validated() -> None:
    params = Params.model_validate(
        {
            "profile": "toy", "seed": 1, "model": {"name": "m", "source": "hub", "hub_id": "x"},
            "grid": {"intermediate": ["none"], "target": ["a"]}, "phase1": {},
            "phase2": {"a": {"epochs": 1, "learning_rate": 1e-3, "batch_size": 2, "max_length": 8}},
        }
    )  # fmt: skip
    changed = override(params, ["phase2.a.learning_rate=1e-2", "compute.threads=2"])
    assert changed.phase2["a"].learning_rate == 0.01 and changed.compute.threads == 2
    for bad, needle in [
        ("phase2.a.nope=1", "nope"),
        ("phase2.b.epochs=1", "'phase2.b' is not a section"),
        ("compute.threads", "KEY=VALUE"),
        ("compute.threads=[", "not YAML"),
        ("compute.threads=0", "threads"),
    ]:
        with pytest.raises(HarnessError, match=needle):
            override(params, [bad])


# ---------------------------------------------------------------------------------------------
# the comparison, and the database's write path


def _result(**changes: Any) -> ResultFile:
    data = stored_result(None)
    data["provenance"]["params"] = {"phase2": {"learning_rate": 3e-4}, "seed": 1}
    for key, value in changes.items():
        data["provenance"][key] = value
    return ResultFile.model_validate(data)


def test_statuses_and_differences_of_two_result_files() -> None:
    stored = _result()
    assert compare_scores(stored, _result())["status"] == "exact"
    nudged = _result()
    nudged.scores[1].value = (stored.scores[1].value or 0.0) + 1e-9
    within = compare_scores(stored, nudged)
    assert within["status"] == "within tolerance" and within["max_abs_diff"] < 1e-8
    assert compare_scores(stored, nudged, tolerance=0.0)["status"] == "drifted"
    counted = _result()
    counted.scores[0].n_examples = 11
    assert compare_scores(stored, counted)["n_examples"][0]["now"] == 11
    assert compare_scores(stored, counted)["status"] == "drifted"
    fewer = _result()
    fewer.scores.pop()
    assert compare_scores(stored, fewer)["missing"] == ["xd/test/accuracy"]
    moved = _result(
        params_hash="p2",
        params={"phase2": {"learning_rate": 1e-3}, "seed": 1},
        packages={"torch": "3"},
        hardware={"cpu": 2, "torch_threads": 4},
    )
    assert [(d["what"], d["field"]) for d in provenance_differences(stored, moved)] == [
        ("params", "phase2.learning_rate"),
        ("packages", "torch"),
        ("hardware", "torch_threads"),
    ]


def test_a_database_held_by_another_writer_is_a_clear_error(tmp_path: Path) -> None:
    from tests.unit.test_store import SPECS, write

    db = tmp_path / "r.duckdb"
    ingest(db, [write(tmp_path, "base", stored_result(None))], LANGS, SPECS)
    report = {
        "tolerance": 1e-6,
        "report": str(tmp_path / "report.json"),
        "environment": {"git_commit": None, "packages": {}, "hardware": {}},
        "cells": [
            {
                "run_id": "m/none/toy_nli/s1", "config_hash": "p1",
                "stored_finished_at": "2026-01-01T00:01:00+00:00",
                "replicated_at": "2026-12-08T10:00:00+00:00", "status": "drifted",
                "max_abs_diff": 0.1, "stages": ["evaluate"], "cause": "packages torch: 2 -> 3",
                "differences": [],
            }
        ],
    }  # fmt: skip
    before = db.read_bytes()
    with (tmp_path / "r.duckdb.lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(HarnessError) as caught:
            record(db, report, lock_timeout_s=0.2)
    message = str(caught.value)
    assert "not recorded" in message and "nothing in it changed" in message
    assert "Another writer" in message and "report.json" in message
    assert db.read_bytes() == before and not sidecar(db).exists()
    assert not [p for p in os.listdir(tmp_path) if ".ingest-" in p]
    assert record(db, report) == 1
    # recorded beside the results database, which stays byte for byte what ingest wrote (a DVC
    # output: `dvc status` stays clean, and a re-ingest cannot lose the replications)
    assert db.read_bytes() == before and sidecar(db).is_file()
    con = duckdb.connect(str(db), read_only=True)
    try:
        marks = drift_marks(load_replications(con, db))
    finally:
        con.close()
    assert marks["drift_check"].tolist() == ["⚠ drifted on 2026-12-08: packages torch: 2 -> 3"]
