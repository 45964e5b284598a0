"""Ingest killed mid-transaction: SIGKILL `harness ingest` at random moments of its write; the
database is always whole (the old batch or old + new, never part of a batch) and the rerun
completes."""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.conftest import REPO
from tests.reliability.conftest import harness
from tests.unit.test_store import LANGS, result

KILLS = 6


def _batch(folder: Path, prefix: str, n: int) -> set[str]:
    folder.mkdir(parents=True)
    keys = set()
    for i in range(n):
        data = result("toy_lexical" if i % 2 else None, base=0.3 + (i % 7) / 20)
        data["model"] = f"{prefix}{i // 2}"
        (folder / f"{prefix}{i}.json").write_text(json.dumps(data), encoding="utf-8")
        keys.add(f"{prefix}{i // 2}/{'toy_lexical' if i % 2 else 'none'}/toy_nli/s1")
    return keys


def _runs(db: Path) -> set[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        runs = {row[0] for row in con.execute("SELECT run_id FROM runs").fetchall()}
        scores = con.execute("SELECT count(*), count(DISTINCT run_id) FROM scores").fetchone()
        assert scores == (len(runs) * len(LANGS), len(runs))  # no run without all its scores
        return runs
    finally:
        con.close()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[str], set[str]]:
    root = tmp_path_factory.mktemp("ingest")
    (root / "data" / "toy").mkdir(parents=True)
    (root / "data" / "toy" / "languages.json").write_text(json.dumps(LANGS), encoding="utf-8")
    shutil.copy(REPO / "params.yaml", root / "params.yaml")
    old = _batch(root / "old", "a", 6)
    new = _batch(root / "new", "b", 120)
    done = harness("ingest", "old", "--db", "r.duckdb", cwd=root)
    assert done.returncode == 0, done.stderr
    assert _runs(root / "r.duckdb") == old
    return root, old, new


def test_sigkill_during_ingest_leaves_the_database_whole(
    project: tuple[Path, set[str], set[str]], tmp_path: Path
) -> None:
    root, old, new = project
    # how long the write phase lasts: from the private working copy appearing to its rename
    # over the database
    timing = tmp_path / "timing"
    shutil.copytree(root, timing)
    window = _write_window(timing)
    rng = random.Random(77)
    outcomes = []
    for attempt in range(KILLS):
        work = tmp_path / f"k{attempt}"
        shutil.copytree(root, work)
        delay = rng.uniform(0, 1.2 * window)
        process = subprocess.Popen(
            [sys.executable, "-m", "harness", "ingest", "new", "--db", "r.duckdb"],
            cwd=work,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_working_copy(work, process)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        runs = _runs(work / "r.duckdb")  # opens, and every run has all its scores
        assert runs in (old, old | new), f"partial batch after a kill at +{delay:.3f}s"
        outcomes.append("committed" if runs == old | new else "untouched")
        rerun = harness("ingest", "new", "--db", "r.duckdb", cwd=work)
        assert rerun.returncode == 0, rerun.stderr
        assert _runs(work / "r.duckdb") == old | new
        assert not list(work.glob(".r.duckdb.ingest-*"))  # the killed run's copy is cleaned up
    print(f"write window {window:.3f}s; outcomes: {outcomes}")
    assert "untouched" in outcomes  # at least one kill really landed inside the transaction


def _wait_for_working_copy(work: Path, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while not list(work.glob(".r.duckdb.ingest-*")):
        assert process.poll() is None, "ingest ended before it began writing"
        assert time.monotonic() < deadline
        time.sleep(0.002)


def _write_window(work: Path) -> float:
    process = subprocess.Popen(
        [sys.executable, "-m", "harness", "ingest", "new", "--db", "r.duckdb"],
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    inode = (work / "r.duckdb").stat().st_ino
    _wait_for_working_copy(work, process)
    start = time.monotonic()
    while (work / "r.duckdb").stat().st_ino == inode:
        assert time.monotonic() - start < 120
        time.sleep(0.001)
    window = time.monotonic() - start
    assert process.wait(timeout=120) == 0
    return window
