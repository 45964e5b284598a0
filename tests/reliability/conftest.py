"""Shared pieces of the reliability suite: a tiny toy profile built once per session (data and a
pretrained encoder, through the real CLI), and a helper to run the CLI in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO


def harness(
    *args: str, cwd: Path, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONHASHSEED": "0", **(env or {})},
    )


def tiny_params(**checkpoint: Any) -> dict[str, Any]:
    """The toy profile shrunk to seconds: a few hundred sentences, a one-layer encoder."""
    params: dict[str, Any] = yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8"))
    params["toy_data"].update(
        corpus_sentences=300, intermediate_train=40, intermediate_dev=10, target_train=160,
        target_dev=10, target_test=10,
    )  # fmt: skip
    params["model"].update(vocab_size=400, hidden_size=32, intermediate_size=64, num_layers=1)
    params["pretrain"].update(epochs=1, batch_size=64)
    params["phase2"]["toy_nli"].update(epochs=3, batch_size=8, max_length=48)
    params["checkpoint"] = {"every_steps": 0, "every_minutes": 0, **checkpoint}
    params["paths"]["cache"] = None
    return params


def git_commit(root: Path, files: list[str]) -> None:
    """Make ``root`` a git repository with ``files`` committed (results record the commit)."""
    for args in (
        ["init", "-q"],
        ["add", *files],
        ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "fixture"],
    ):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def write_params(folder: Path, params: dict[str, Any]) -> None:
    (folder / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")


@pytest.fixture(scope="session")
def tiny_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the tiny profile's data and pretrained encoder (models/encoders/none)."""
    root = tmp_path_factory.mktemp("tiny")
    write_params(root, tiny_params())
    git_commit(root, ["params.yaml"])
    made = harness("data", "--no-verify", cwd=root)
    assert made.returncode == 0, made.stderr
    trained = harness("pretrain", "--out", "models/encoders/none", cwd=root)
    assert trained.returncode == 0, trained.stderr
    return root


def copy_project(source: Path, dest: Path, **checkpoint: Any) -> Path:
    """A private copy of the tiny project (data, encoder) with its own checkpoint settings."""
    shutil.copytree(source, dest)
    write_params(dest, tiny_params(**checkpoint))
    return dest
