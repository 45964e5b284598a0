from __future__ import annotations

import subprocess
from pathlib import Path

import harness
from harness.provenance import collect, git_state, hardware


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def test_git_commit_and_dirty_flag(tmp_path: Path) -> None:
    assert git_state(tmp_path) == {"git_commit": None, "git_dirty": None}  # not a repository
    _git(tmp_path, "init", "-q")
    (tmp_path / "f.txt").write_text("a", encoding="utf-8")
    _git(tmp_path, "add", "f.txt")
    _git(tmp_path, "commit", "-qm", "one")
    head = _git(tmp_path, "rev-parse", "HEAD")
    assert git_state(tmp_path) == {"git_commit": head, "git_dirty": False}
    (tmp_path / "f.txt").write_text("b", encoding="utf-8")
    assert git_state(tmp_path) == {"git_commit": head, "git_dirty": True}


def test_collect_has_every_field(tmp_path: Path) -> None:
    info = collect("abc", "2026-01-01T00:00:00+00:00", tmp_path)
    assert info["params_hash"] == "abc" and info["harness_version"] == harness.__version__
    assert {"torch", "transformers", "dvc"} <= set(info["packages"])
    assert info["started_at"] <= info["finished_at"]
    hw = hardware()
    assert hw["cpu_count"] and hw["cpu"] and hw["python"].startswith("3.")
    assert ("gpu" in hw) and ("cuda" in hw)
