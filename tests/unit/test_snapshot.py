"""The data snapshot check agrees with `dvc add` and needs no DVC cache (a fresh clone)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness.data.snapshot import directory_md5, verify_pinned
from harness.errors import HarnessError


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    for args in (["git", "init", "-q"], [sys.executable, "-m", "dvc", "init", "-q"]):
        subprocess.run(args, cwd=tmp_path, check=True, capture_output=True)
    data = tmp_path / "data" / "toy"
    (data / "tasks" / "a").mkdir(parents=True)
    (data / "README.md").write_text("# toy\n", encoding="utf-8")
    (data / "tasks" / "a" / "train.jsonl").write_text('{"x": "é"}\n', encoding="utf-8")
    (data / "tasks" / "a" / "dev.en.jsonl").write_bytes(b"")
    (data / "tasks" / "b.txt").write_bytes(bytes(range(256)))
    subprocess.run(
        [sys.executable, "-m", "dvc", "add", "-q", "data"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    return tmp_path


def test_hash_equals_what_dvc_add_pinned(repo: Path) -> None:
    pinned = yaml.safe_load((repo / "data.dvc").read_text())["outs"][0]
    assert directory_md5(repo / "data") == (pinned["md5"], pinned["nfiles"], pinned["size"])
    verify_pinned(repo / "data.dvc")


def test_verifies_without_a_dvc_cache(repo: Path) -> None:
    shutil.rmtree(repo / ".dvc" / "cache")
    verify_pinned(repo / "data.dvc")


@pytest.mark.parametrize("change", ["edit", "add", "remove", "rename"])
def test_any_change_is_caught(repo: Path, change: str) -> None:
    data = repo / "data" / "toy"
    if change == "edit":
        (data / "README.md").write_text("# toy!\n", encoding="utf-8")
    elif change == "add":
        (data / "extra.txt").write_text("x", encoding="utf-8")
    elif change == "remove":
        (data / "tasks" / "a" / "dev.en.jsonl").unlink()
    else:
        (data / "tasks" / "b.txt").rename(data / "tasks" / "c.txt")
    with pytest.raises(HarnessError, match=r"do not match the snapshot pinned.*dvc add data"):
        verify_pinned(repo / "data.dvc")


def test_bad_dvc_files_are_clear_errors(repo: Path) -> None:
    with pytest.raises(HarnessError, match="no pinned snapshot"):
        verify_pinned(repo / "absent.dvc")
    (repo / "data.dvc").write_text("outs: []\n", encoding="utf-8")
    with pytest.raises(HarnessError, match="not a DVC file pinning one folder"):
        verify_pinned(repo / "data.dvc")
    (repo / "data.dvc").write_text("outs:\n- md5: abc.dir\n  path: gone\n", encoding="utf-8")
    with pytest.raises(HarnessError, match=r"gone', pinned by .* does not exist"):
        verify_pinned(repo / "data.dvc")
