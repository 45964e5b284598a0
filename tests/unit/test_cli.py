from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

COMMANDS = ["data", "pretrain", "intermediate", "target", "evaluate", "ingest", "leaderboard"]


def harness(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_help_lists_every_stage() -> None:
    out = harness("--help")
    assert out.returncode == 0
    for command in COMMANDS:
        assert command in out.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    out = harness(command, "--help")
    assert out.returncode == 0
    assert "--params" in out.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["intermediate", "--task", "nope", "--out", "x", "--pretrained", "."], "no phase.json"),
        (["leaderboard", "--db", "missing.duckdb"], "No results database"),
        (["tasks", "show", "nope"], "Unknown task 'nope'"),
        (["intermediate", "--task", "none", "--out", "x"], "baseline"),
        (["ingest", "no-such-file.json"], "does not exist"),
    ],
)
def test_user_errors_print_a_message_not_a_traceback(
    tmp_path: Path, args: list[str], needle: str
) -> None:
    out = harness(*args, "--params", str(REPO / "params.yaml"), cwd=tmp_path)
    assert out.returncode == 2
    assert needle in " ".join(out.stderr.split())
    assert "Traceback" not in out.stderr


def test_bad_params_file(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text("profile: toy\n", encoding="utf-8")
    out = harness("tasks", "list", cwd=tmp_path)
    assert out.returncode == 2
    assert "invalid parameters" in out.stderr and "seed" in out.stderr


def test_tasks_list() -> None:
    out = harness("tasks", "list")
    assert out.returncode == 0
    assert "toy_nli" in out.stdout and "intermediate" in out.stdout
