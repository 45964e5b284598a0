"""`harness sweep` on a real SLURM cluster (see conftest.py) against the local executor.

A reduced toy grid (2 intermediate settings x 1 target, tiny data and model, one epoch) keeps the
module at a few minutes on two cores.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from tests.integration.test_toy_pipeline import copy_repository

pytestmark = pytest.mark.cluster

SEED = 13
CELLS = (f"none-toy_nli-{SEED}", f"toy_lexical-toy_nli-{SEED}")  # as in dvc.yaml's stage names
VICTIM = CELLS[1]  # its training process is SIGKILLed
PREEMPTED = CELLS[0]  # its job gets the time-limit / preemption signal (SIGUSR2)


def out_name(cell: str) -> str:
    """The output name of a cell's stages: ``none-toy_nli-13`` -> ``none-toy_nli-s13``."""
    base, seed = cell.rsplit("-", 1)
    return f"{base}-s{seed}"


def run(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 900
) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ)
    full["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{full.get('PATH', '')}"
    full.update(env or {})
    out = subprocess.run(args, cwd=cwd, env=full, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise AssertionError(
            f"{args} failed ({out.returncode}):\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
        )
    return out


def harness(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    return run([sys.executable, "-m", "harness", *args], cwd, env).stdout


def reduce_params(path: Path) -> None:
    params = yaml.safe_load(path.read_text())
    params["toy_data"].update(
        corpus_sentences=1500,
        intermediate_train=300,
        intermediate_dev=50,
        target_train=400,
        target_dev=50,
        target_test=80,
    )
    params["model"].update(
        vocab_size=800, hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64
    )
    params["pretrain"]["epochs"] = 1
    params["grid"] = {
        "intermediate": ["none", "toy_lexical"],
        "target": ["toy_nli"],
        "retrieval": [],
        "seeds": [SEED],
    }
    params["phase1"] = {"toy_lexical": {**params["phase1"]["toy_lexical"], "epochs": 1}}
    params["intermediate_inputs"] = {"toy_lexical": params["intermediate_inputs"]["toy_lexical"]}
    # long enough (about 250 steps of this tiny model) that the interruption test below catches
    # every phase-2 job mid-training
    params["phase2"] = {"toy_nli": {**params["phase2"]["toy_nli"], "epochs": 20}}
    params["cluster"]["poll_s"] = 1.0
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def commit_all(ws: Path, message: str) -> None:
    for args in (["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm"]):
        subprocess.run(
            ["git", *args, *([message] if "commit" in args else [])],
            cwd=ws,
            check=True,
            capture_output=True,
        )


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository copy with the reduced grid, its toy data generated and pinned."""
    ws = tmp_path_factory.mktemp("template")
    copy_repository(ws)
    reduce_params(ws / "params.yaml")
    harness("data", "--no-verify", cwd=ws)
    run(["dvc", "add", "-q", "data"], ws)
    commit_all(ws, "reduced grid")
    return ws


def clone(template: Path, dest: Path) -> Path:
    shutil.copytree(template, dest, symlinks=True)
    return dest


@pytest.fixture(scope="module")
def local_run(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = clone(template, tmp_path_factory.mktemp("local") / "ws")
    harness("sweep", "--executor", "local", "--jobs", "2", cwd=ws)
    return ws


@pytest.fixture(scope="module")
def slurm_run(
    template: Path, tmp_path_factory: pytest.TempPathFactory, slurm_cluster: dict[str, str]
) -> Path:
    ws = clone(template, tmp_path_factory.mktemp("slurm") / "ws")
    summary = ws / "sweep.json"
    harness("sweep", "--executor", "slurm", "--summary", str(summary), cwd=ws, env=slurm_cluster)
    return ws


def scores(ws: Path, cell: str) -> list[dict]:
    return json.loads((ws / "results" / "cells" / f"{out_name(cell)}.json").read_text())["scores"]


def assert_consistent(ws: Path) -> None:
    """dvc.lock pins every output: `dvc status` is clean and `dvc repro` runs nothing."""
    assert json.loads(run(["dvc", "status", "--json"], ws).stdout) == {}
    assert "Running stage" not in run(["dvc", "repro"], ws).stdout


def test_plan_follows_the_pipeline_order(template: Path) -> None:
    waves = json.loads(harness("sweep", "--dry-run", cwd=template))
    order = {stage["stage"]: number for number, wave in enumerate(waves) for stage in wave}
    assert set(order) == {
        "pretrain",
        "intermediate@toy_lexical",
        *(f"target@{c}" for c in CELLS),
        *(f"evaluate@{c}" for c in CELLS),
        "difficulty@toy_lexical",
        "ingest",
        "analyze",
    }
    assert order["pretrain"] == 0 and order["ingest"] >= order["difficulty@toy_lexical"]
    assert order["intermediate@toy_lexical"] < order[f"target@{VICTIM}"]
    for cell in CELLS:
        assert order[f"target@{cell}"] < order[f"evaluate@{cell}"] < order["ingest"]
        assert order[f"evaluate@{cell}"] < order["analyze"]


def test_local_sweep_leaves_the_workspace_consistent(local_run: Path) -> None:
    assert_consistent(local_run)
    assert json.loads(harness("sweep", "--dry-run", cwd=local_run)) == []


def test_slurm_sweep_matches_the_local_run(local_run: Path, slurm_run: Path) -> None:
    for cell in CELLS:
        assert scores(slurm_run, cell) == scores(local_run, cell)
    summary = json.loads((slurm_run / "sweep.json").read_text())
    assert summary["executor"] == "slurm"
    assert len(summary["stages"]) == 9
    assert all(stage["attempts"] == 1 for stage in summary["stages"])
    # every stage ran under SLURM: submitit left one job folder per stage
    assert len(list((slurm_run / ".sweep" / "slurm").glob("*/*_submitted.pkl"))) == 9
    assert_consistent(slurm_run)


def _stage_processes(ws: Path, needle: str) -> list[int]:
    """Pids of the processes running in ``ws`` whose command line contains ``needle``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if needle in cmdline and Path(cwd) == ws and "/bin/sh" not in cmdline.split(" ")[0]:
            found.append(int(entry.name))
    return found


def _training(ws: Path, cell: str) -> tuple[list[int], str]:
    """The training processes of ``target@cell`` once its model is loaded, and the stage log."""
    log = ws / ".sweep" / "logs" / f"target@{cell}.log"
    text = log.read_text(errors="replace") if log.exists() else ""
    pids = _stage_processes(ws, f"--out models/phase2/{out_name(cell)}")
    # transformers' load report is printed when the model is loaded, right before training
    started = "LOAD REPORT" in text or (ws / f"models/phase2/{out_name(cell)}.ckpt").exists()
    return (pids if started else []), text


def test_killed_and_preempted_jobs_are_requeued_with_identical_scores(
    local_run: Path, slurm_cluster: dict[str, str], tmp_path: Path
) -> None:
    """Rerun both phase-2 cells on SLURM. Mid-training, SIGKILL one cell's training process and
    send the other cell's job SLURM's time-limit / preemption warning (``scancel --signal=USR2``,
    what ``--signal=USR2@90`` delivers before the limit): both jobs are requeued, their stages
    rerun (resuming from whatever they checkpointed), and the final scores are the local run's."""
    ws = clone(local_run, tmp_path / "ws")
    shutil.rmtree(ws / ".sweep", ignore_errors=True)
    for cell in CELLS:
        shutil.rmtree(ws / "models" / "phase2" / out_name(cell))
    planned = {s["stage"] for w in json.loads(harness("sweep", "--dry-run", cwd=ws)) for s in w}
    reruns = {*(f"target@{c}" for c in CELLS), *(f"evaluate@{c}" for c in CELLS)}
    assert planned == {*reruns, "ingest", "analyze"}

    done: dict[str, str] = {}

    def interrupt() -> None:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and len(done) < 2:
            if VICTIM not in done:
                pids, _ = _training(ws, VICTIM)
                if pids:
                    time.sleep(1.0)
                    for pid in pids:
                        os.kill(pid, signal.SIGKILL)
                    done[VICTIM] = f"killed {pids}"
            if PREEMPTED not in done:
                pids, text = _training(ws, PREEMPTED)
                job = re.search(r"attempt 1, SLURM job (\S+),", text)
                if pids and job:
                    time.sleep(1.0)
                    subprocess.run(
                        ["scancel", "--signal=USR2", job.group(1)],
                        env={**os.environ, **slurm_cluster},
                        check=True,
                    )
                    done[PREEMPTED] = f"signalled job {job.group(1)}"
            time.sleep(0.2)

    interrupter = threading.Thread(target=interrupt)
    interrupter.start()
    try:
        harness(
            "sweep", "--executor", "slurm", "--summary", "sweep.json", cwd=ws, env=slurm_cluster
        )
    finally:
        interrupter.join()
    assert set(done) == {VICTIM, PREEMPTED}, f"not every stage was seen training: {done}"

    killed = (ws / ".sweep" / "logs" / f"target@{VICTIM}.log").read_text()
    assert re.search(r"exit status (-9|137)\n", killed), killed
    assert "requeueing SLURM job" in killed, killed
    preempted = (ws / ".sweep" / "logs" / f"target@{PREEMPTED}.log").read_text()
    assert "time limit or preemption, requeued by submitit" in preempted, preempted
    for text in (killed, preempted):
        assert "attempt 2, SLURM job" in text and text.rstrip().endswith("exit status 0"), text
    summary = json.loads((ws / "sweep.json").read_text())
    attempts = {stage["stage"]: stage["attempts"] for stage in summary["stages"]}
    assert attempts == {
        f"target@{VICTIM}": 2,
        f"target@{PREEMPTED}": 2,
        f"evaluate@{VICTIM}": 1,
        f"evaluate@{PREEMPTED}": 1,
        "ingest": 1,
        "analyze": 1,
    }
    for cell in CELLS:
        assert scores(ws, cell) == scores(local_run, cell)
    assert_consistent(ws)
