"""The paper profile end to end in miniature (``profiles/paper-smoke.yaml``): its tasks, grid
settings and stages, on fixture files in every dataset's upstream format and a tiny XLM-R-shaped
model served from a local Hugging Face cache (:mod:`tests.smoke.build`).

In a fresh copy of the repository, as a user replicating the paper would: ``harness profile use
paper-smoke``, then ``harness sweep`` (the fetch@<task> stages convert the mirror's release
files and Hub snapshots, the pretrain stage loads the model by id and pinned revision, then
every phase-1, multi-task, phase-2, evaluation, retrieval, difficulty, ingest and analysis
stage), then ``dvc repro`` (nothing left to do) and the leaderboard.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb
import pytest
import yaml

from harness import kinds
from harness.tasks.registry import load_spec
from tests.integration.test_toy_pipeline import copy_repository, run, scored_cells

pytestmark = pytest.mark.integration

TARGETS = {"xnli", "pawsx", "xcopa", "udpos", "panx", "xquad", "mlqa", "tydiqa"}
RETRIEVAL = {"bucc2018", "tatoeba", "lareqa", "mewslix"}
SETTINGS = {"none", "anli_plus", "mnli", "qqp", "squad_v1", "squad_v2", "hellaswag",
            "commonsense_qa", "cosmos_qa", "ccg", "all_nine"}  # fmt: skip


def harness(ws: Path, *args: str) -> str:
    return run([sys.executable, "-m", "harness", *args], ws).stdout


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = tmp_path_factory.mktemp("paper-smoke")
    copy_repository(ws)
    harness(ws, "profile", "use", "paper-smoke")
    run([sys.executable, "-m", "tests.smoke.build", ".cache/paper-smoke"], ws)
    harness(ws, "sweep", "--executor", "local", "--jobs", "2", "--summary", "sweep.json")
    return ws


def test_the_profile_is_the_paper_grid(smoke: Path) -> None:
    """The smoke profile changes sizes and stand-ins, never the task list or the settings."""
    smoke_params = yaml.safe_load((smoke / "params.yaml").read_text())
    paper = yaml.safe_load((smoke / "profiles/paper.yaml").read_text())
    for key in ("intermediate", "target", "retrieval"):
        assert smoke_params["grid"][key] == paper["grid"][key]
    assert set(smoke_params["grid"]["intermediate"]) == SETTINGS
    assert set(smoke_params["grid"]["target"]) == TARGETS
    assert set(smoke_params["grid"]["retrieval"]) == RETRIEVAL
    assert smoke_params["fetch"]["datasets"] == paper["fetch"]["datasets"]
    assert smoke_params["multitask"]["all_nine"]["tasks"] == paper["multitask"]["all_nine"]["tasks"]
    assert smoke_params["model"]["source"] == "hub" and len(smoke_params["model"]["revision"]) == 40


def test_every_setting_target_and_language_is_in_the_database(smoke: Path) -> None:
    expected = set()
    for target in TARGETS | RETRIEVAL:
        spec = load_spec(smoke / f"harness/tasks/xtreme/{target}.yaml")
        languages = kinds.of(spec).scored_languages(spec)  # BUCC and Tatoeba: not English
        expected |= {(s, target, lang) for s in SETTINGS for lang in languages}
    rows = scored_cells(smoke / "results/xtransfer.duckdb")
    con = duckdb.connect(str(smoke / "results/xtransfer.duckdb"), read_only=True)
    try:
        models = con.execute("SELECT DISTINCT model FROM runs").fetchall()
    finally:
        con.close()
    assert {t for _, t, _ in rows} == TARGETS | RETRIEVAL  # all 12 targets
    assert {s for s, _, _ in rows} == SETTINGS  # every setting, the nine-task one included
    assert set(rows) == expected
    assert models == [("tiny-xlm-roberta",)]


def test_fetch_converted_the_mirror_and_pinned_every_dataset(smoke: Path) -> None:
    params = yaml.safe_load((smoke / "params.yaml").read_text())
    lock = yaml.safe_load((smoke / "dvc.lock").read_text())["stages"]
    for task, dataset in params["fetch"]["datasets"].items():
        out = lock[f"fetch@{task}"]["outs"]
        assert [o["path"] for o in out] == [dataset["out"]] and out[0]["md5"].endswith(".dir")
        record = json.loads((smoke / dataset["out"] / "FETCHED.json").read_text())
        if task != "ccg":  # CCGbank: converted from the licensed copy, no digests to check
            assert record["unverified_mirror"] is True, task  # fixtures, not the releases
    # the model was loaded by its id at the pinned revision, from the stand-in Hub cache
    phase = json.loads((smoke / "models/encoders/none/phase.json").read_text())
    assert (phase["hub_id"], phase["revision"]) == (
        params["model"]["hub_id"],
        params["model"]["revision"],
    )


def test_pipeline_is_up_to_date_after_repro(smoke: Path) -> None:
    # the pipeline's stages (data.dvc pins the toy snapshot, which this profile never makes)
    assert json.loads(run(["dvc", "status", "--json", "dvc.yaml"], smoke).stdout) == {}
    again = run(["dvc", "repro"], smoke)
    assert "Running stage" not in again.stdout


def test_leaderboard_shows_all_twelve_targets(smoke: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    board = json.loads(harness(smoke, "leaderboard", "--json"))
    assert {row["intermediate"] for row in board} == SETTINGS
    monkeypatch.setattr(sys, "argv", ["app.py", "--db", str(smoke / "results/xtransfer.duckdb")])
    app = AppTest.from_file(str(smoke / "leaderboard" / "app.py"), default_timeout=120)
    app.run()
    assert not app.exception, app.exception
    tables = [d.value for d in app.dataframe if "gain_low" in d.value.columns]
    assert len(tables) == 1
    overview = tables[0]
    assert set(overview["target"]) == TARGETS | RETRIEVAL
    assert set(overview["intermediate"]) == SETTINGS
    assert len(overview) == len(SETTINGS) * len(TARGETS | RETRIEVAL)
