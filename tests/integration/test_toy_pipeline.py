"""The toy pipeline end to end, in a fresh copy of the repository, as the README's quickstart
runs it: `harness data` + `harness sweep --executor local --jobs 2` (+ `dvc repro`, a no-op).

Runs for a few minutes; every assertion here is one of the foundation's acceptance criteria.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml

from harness.data.toy.config import INTERMEDIATE_TASKS as TOY_TASKS
from harness.results.store import SCHEMA_VERSION
from tests.conftest import REPO

pytestmark = pytest.mark.integration


def run(args: list[str], cwd: Path, timeout: int = 1500) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    out = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise AssertionError(
            f"{args} failed ({out.returncode}):\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
        )
    return out


def copy_repository(dest: Path) -> None:
    """The files git would check out (tracked, plus untracked ones it does not ignore)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    for args in (
        ["init", "-q"],
        ["add", "-A"],
        ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "copy"],
    ):
        subprocess.run(["git", *args], cwd=dest, check=True, capture_output=True)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = tmp_path_factory.mktemp("ws")
    copy_repository(ws)
    run([sys.executable, "-m", "harness", "data"], ws)  # verifies the hash pinned in data.dvc
    run([sys.executable, "-m", "harness", "sweep", "--executor", "local", "--jobs", "2"], ws)
    return ws


SEED = 13  # the first of grid.seeds
INTERMEDIATE_TASKS = tuple(TOY_TASKS)  # grid.intermediate of the toy profile, 'none' aside


def cell_scores(ws: Path, cell: str, seed: int = SEED) -> list[dict]:
    return json.loads((ws / "results" / "cells" / f"{cell}-s{seed}.json").read_text())["scores"]


def scored_cells(db: Path) -> list[tuple[str, str, str]]:
    """(setting, target, language) of every test score of a target's primary metric."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(
            """SELECT coalesce(r.intermediate_task, 'none'), r.target_task, s.language
               FROM scores s JOIN runs r USING (run_id) JOIN tasks t ON t.name = r.target_task
               WHERE s.split = 'test' AND s.metric = t.primary_metric"""
        ).fetchall()
    finally:
        con.close()


def test_every_cell_and_language_is_in_the_database(workspace: Path) -> None:
    params = yaml.safe_load((workspace / "params.yaml").read_text())
    languages = [
        lang["code"] for lang in json.loads((workspace / "data/toy/languages.json").read_text())
    ]
    rows = scored_cells(workspace / "results/xtransfer.duckdb")
    trained = {
        (i, t, lang)
        for i in params["grid"]["intermediate"]
        for t in params["grid"]["target"]
        for lang in languages
    }
    # retrieval targets: straight from each phase-1 encoder, once; every language but English
    retrieved = {
        (i, t, lang)
        for i in params["grid"]["intermediate"]
        for t in params["grid"]["retrieval"]
        for lang in languages
        if lang != "en"
    }
    assert {t for _, t, _ in trained} == {"toy_nli", "toy_ner", "toy_mc", "toy_qa"}
    assert {t for _, t, _ in retrieved} == {"toy_retrieval"}
    assert set(rows) == trained | retrieved
    assert len(rows) == len(trained) * len(params["grid"]["seeds"]) + len(retrieved)


def test_pipeline_is_up_to_date_after_repro(workspace: Path) -> None:
    status = run(["dvc", "status", "--json"], workspace)
    assert json.loads(status.stdout) == {}
    again = run(["dvc", "repro"], workspace)
    assert "Running stage" not in again.stdout


def test_scores_are_meaningful(workspace: Path) -> None:
    for target in ("toy_nli", "toy_ner", "toy_qa"):
        base = {
            (s["language"], s["metric"]): s["value"]
            for s in cell_scores(workspace, f"none-{target}")
            if s["split"] == "test"
        }
        metric = "accuracy" if target == "toy_nli" else "f1"
        # the language closest to English transfers better than the most distant one
        assert base[("xa", metric)] > base[("xd", metric)], base
        # English, the training language, is learned well above chance (1/3 for toy_nli's
        # three balanced labels; a tagger that predicts only O scores an F1 of 0, and so does a
        # QA model that answers nothing)
        floor = {"toy_nli": 0.45, "toy_ner": 0.8, "toy_qa": 0.15}[target]
        assert base[("en", metric)] > floor, base
    # toy_mc: two balanced candidates (chance 0.5); its negated third alone is worth 0.67
    mc = {
        s["language"]: s["value"]
        for s in cell_scores(workspace, "none-toy_mc")
        if s["split"] == "test" and s["metric"] == "accuracy"
    }
    assert mc["en"] > 0.58, mc
    for target in ("toy_nli", "toy_ner", "toy_mc", "toy_qa"):
        base = cell_scores(workspace, f"none-{target}")
        for intermediate in INTERMEDIATE_TASKS:
            other = cell_scores(workspace, f"{intermediate}-{target}")
            assert other != base, f"{intermediate} gave the baseline's scores on {target}"
    # retrieval from the encoder alone: the language sharing 70 % of English words is found far
    # more often than the one sharing 10 % in another script
    retrieval = {
        s["language"]: s["value"]
        for s in cell_scores(workspace, "none-toy_retrieval")
        if s["split"] == "test"
    }
    assert set(retrieval) == {"xa", "xb", "xc", "xd"}
    assert retrieval["xa"] > 2 * retrieval["xd"], retrieval


def test_leaderboard_command(workspace: Path) -> None:
    out = run([sys.executable, "-m", "harness", "leaderboard", "--json"], workspace)
    board = json.loads(out.stdout)
    assert {row["intermediate"] for row in board} == {"none", *INTERMEDIATE_TASKS}
    assert all(row["n_languages"] == 4 for row in board)
    assert all((row["gain"] == 0) == (row["intermediate"] == "none") for row in board)


def test_same_seed_gives_bit_identical_results(workspace: Path) -> None:
    cell = "toy_lexical-toy_ner"
    before = cell_scores(workspace, cell)
    weights = workspace / "models/phase2" / f"{cell}-s{SEED}" / "model.safetensors"
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    run(
        [
            "dvc",
            "repro",
            "--force",
            "--single-item",
            f"target@{cell}-{SEED}",
            f"evaluate@{cell}-{SEED}",
        ],
        workspace,
    )
    assert hashlib.sha256(weights.read_bytes()).hexdigest() == digest
    assert cell_scores(workspace, cell) == before


def test_changing_one_task_reruns_only_its_stages(workspace: Path, tmp_path: Path) -> None:
    """In a copy of the finished workspace, change one intermediate task's learning rate: `dvc
    repro` reruns that task's phase 1, the cells built on it, and the ingest; nothing else."""
    copy = tmp_path / "ws"
    shutil.copytree(workspace, copy, symlinks=True)
    path = copy / "params.yaml"
    params = yaml.safe_load(path.read_text())
    params["phase1"]["toy_relational"]["learning_rate"] = 1.0e-4
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    out = run(["dvc", "repro"], copy).stdout
    ran = {line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage")}
    targets, seeds = params["grid"]["target"], params["grid"]["seeds"]
    assert ran == {
        "intermediate@toy_relational",
        "difficulty@toy_relational",
        *(f"target@toy_relational-{t}-{s}" for t in targets for s in seeds),
        *(f"evaluate@toy_relational-{t}-{s}" for t in targets for s in seeds),
        *(f"retrieve@toy_relational-{t}" for t in params["grid"]["retrieval"]),
        "ingest",
        "analyze",
    }
    name = f"results/cells/toy_lexical-toy_nli-s{SEED}.json"
    unchanged = json.loads((workspace / name).read_text())
    assert json.loads((copy / name).read_text()) == unchanged


def test_provenance_matches_the_dvc_lock(workspace: Path) -> None:
    """Each result names the DVC md5 of its checkpoint and data, exactly as dvc.lock pins them."""
    lock = yaml.safe_load((workspace / "dvc.lock").read_text())["stages"]
    params = yaml.safe_load((workspace / "params.yaml").read_text())
    for intermediate in params["grid"]["intermediate"]:
        for target in params["grid"]["target"]:
            cell = f"{intermediate}-{target}-s{SEED}"
            locked = {
                d["path"]: d["md5"]
                for d in lock[f"evaluate@{intermediate}-{target}-{SEED}"]["deps"]
            }
            provenance = json.loads((workspace / "results/cells" / f"{cell}.json").read_text())[
                "provenance"
            ]
            assert provenance["inputs"] == {
                f"models/phase2/{cell}": locked[f"models/phase2/{cell}"],
                f"data/toy/tasks/{target}": locked[f"data/toy/tasks/{target}"],
            }
            assert provenance["dvc_stage_hash"] and provenance["container_image"] is None
            assert provenance["timings"]["evaluate"] > 0
            assert ("phase1_train" in provenance["timings"]) == (intermediate != "none")
            # committed code, data as pinned in data.dvc: an exact replication
            assert provenance["replication"]["exact"], provenance["replication"]
        for target in params["grid"]["retrieval"]:
            locked = {
                d["path"]: d["md5"] for d in lock[f"retrieve@{intermediate}-{target}"]["deps"]
            }
            provenance = json.loads(
                (workspace / "results/cells" / f"{intermediate}-{target}-s{SEED}.json").read_text()
            )["provenance"]
            encoder, data = f"models/encoders/{intermediate}", f"data/toy/tasks/{target}"
            assert provenance["inputs"] == {encoder: locked[encoder], data: locked[data]}
            assert provenance["replication"]["exact"], provenance["replication"]


def test_database_schema_languages_and_export(workspace: Path, tmp_path: Path) -> None:
    con = duckdb.connect(str(workspace / "results/xtransfer.duckdb"), read_only=True)
    try:
        version = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        counts = con.execute(
            "SELECT count(*) FILTER (WHERE xtreme), count(*) FILTER (WHERE xtreme_r), "
            "count(*) FILTER (WHERE distance_rank IS NOT NULL) FROM languages"
        ).fetchone()
    finally:
        con.close()
    assert version == (str(SCHEMA_VERSION),)
    assert counts == (40, 50, 5)  # every benchmark language, and the five toy ones ranked
    out = run(
        [sys.executable, "-m", "harness", "export", "--out", str(tmp_path), "-f", "csv"],
        workspace,
    )
    assert (tmp_path / "scores.csv").is_file() and "scores.csv" in out.stdout


def _difficulty_rows(workspace: Path) -> list[tuple]:
    con = duckdb.connect(str(workspace / "results/xtransfer.duckdb"), read_only=True)
    try:
        return con.execute(
            "SELECT d.task, d.measure, d.value, t.difficulty_rank FROM difficulty d "
            "JOIN tasks t ON t.name = d.task"
        ).fetchall()
    finally:
        con.close()


def test_difficulty_measures_and_analysis(workspace: Path) -> None:
    """Every measure is stored for every intermediate task, with tiers, and the analysis wrote
    its tables and metrics."""
    rows = _difficulty_rows(workspace)
    con = duckdb.connect(str(workspace / "results/xtransfer.duckdb"), read_only=True)
    try:
        tiers = con.execute("SELECT count(*) FROM difficulty_tiers").fetchone()
    finally:
        con.close()
    measures = {(task, measure) for task, measure, _, _ in rows}
    assert measures == {
        (t, m)
        for t in INTERMEDIATE_TASKS
        for m in ("neg_mean_pvi", "baseline_error", "hard_to_learn")
    }
    assert tiers == (3 * len(INTERMEDIATE_TASKS),)
    metrics = json.loads((workspace / "results/analysis/metrics.json").read_text())
    assert set(metrics["difficulty_ranking"]) == {"neg_mean_pvi", "baseline_error", "hard_to_learn"}
    # intermediate x (trained target x language + retrieval target x non-English language)
    assert metrics["gains"]["cells"] == len(INTERMEDIATE_TASKS) * (4 * 5 + 1 * 4)
    for name in ("gains", "correlations", "difficulty", "difficulty_gain"):
        assert (workspace / "results/analysis" / f"{name}.csv").is_file()


def test_mean_pvi_ranks_the_toy_tasks_in_their_constructed_order(workspace: Path) -> None:
    """Acceptance of the difficulty issue: Spearman(constructed rank, -mean PVI) >= 0.9."""
    from scipy.stats import spearmanr

    pvi = [
        (rank, value) for _, m, value, rank in _difficulty_rows(workspace) if m == "neg_mean_pvi"
    ]
    rho = spearmanr([r for r, _ in pvi], [v for _, v in pvi]).statistic
    assert rho >= 0.9, pvi


def test_test_predictions_are_written_per_setting_and_seed(workspace: Path) -> None:
    """Every evaluated cell leaves its test predictions where `harness export --format xtreme`
    reads a submission: results/predictions/<setting>-s<seed>/<task>/<language>.jsonl."""
    params = yaml.safe_load((workspace / "params.yaml").read_text())
    for target in params["grid"]["target"]:
        tested = {
            s["language"]: s["n_examples"]
            for s in cell_scores(workspace, f"toy_lexical-{target}")
            if s["split"] == "test"
        }
        folder = workspace / f"results/predictions/toy_lexical-s{SEED}/{target}"
        for language, n in tested.items():
            rows = [json.loads(line) for line in (folder / f"{language}.jsonl").open()]
            assert len(rows) == n and all("prediction" in row for row in rows)
