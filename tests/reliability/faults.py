"""Real write faults for subprocesses: a full disk (the file-size limit, so every write past a
few bytes fails with EFBIG in Python, Rust and C++ code alike) and permission denied (a read-only
folder; as root, with the capabilities that bypass file permissions dropped by ``setpriv``)."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import pytest

SETPRIV = [
    "setpriv",
    "--inh-caps=-dac_override,-dac_read_search,-fowner",
    "--bounding-set=-dac_override,-dac_read_search,-fowner",
]


def file_size_limit(limit: int) -> Callable[[], None]:
    """A ``preexec_fn``: no file this process writes may grow past ``limit`` bytes."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write (EFBIG), do not kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def permission_prefix() -> list[str]:
    """What to run a command under so that file permissions apply (root bypasses them)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        if os.environ.get("CI"):
            pytest.fail("setpriv (util-linux) is needed to test permission faults as root")
        pytest.skip("setpriv (util-linux) is needed to test permission faults as root")
    return SETPRIV


@contextmanager
def read_only(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    mode = folder.stat().st_mode
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)
    try:
        yield
    finally:
        folder.chmod(mode)


def run(
    args: list[str],
    cwd: Path,
    fault: str | None = None,
    limit: int = 0,
) -> subprocess.CompletedProcess[str]:
    """Run ``harness ARGS`` in ``cwd`` under ``fault``: None, ``"disk full"`` (file-size limit
    ``limit``) or ``"permission"`` (file permissions enforced even for root)."""
    prefix = permission_prefix() if fault == "permission" else []
    return subprocess.run(
        [*prefix, sys.executable, "-m", "harness", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        preexec_fn=file_size_limit(limit) if fault == "disk full" else None,
    )


def leftovers(folder: Path) -> list[str]:
    """Temporary or partial artefacts anywhere under ``folder``."""
    marks = (".tmp", ".partial", ".ingest-", ".toy-data-", ".old")
    return sorted(str(p) for p in folder.rglob("*") if any(m in p.name for m in marks))


@cache
def tmpfs_available() -> bool:
    """Whether this process may mount a tmpfs (root, or the capability, and a ``mount``)."""
    if sys.platform != "linux" or shutil.which("mount") is None:
        return False
    with tempfile.TemporaryDirectory() as folder:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", folder], capture_output=True
        )
        if mounted.returncode != 0:
            return False
        return subprocess.run(["umount", folder], capture_output=True).returncode == 0


@contextmanager
def tmpfs(folder: Path, size: int) -> Iterator[Path]:
    """A real full disk: a tmpfs of ``size`` bytes mounted on ``folder``, holding a copy of the
    folder's files. On exit its files are copied back into the folder underneath (so the folder
    shows what the filesystem held) and it is unmounted."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as aside:
        saved = Path(aside) / "saved"
        shutil.copytree(folder, saved)
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
            check=True,
            capture_output=True,
        )
        try:
            shutil.copytree(saved, folder, dirs_exist_ok=True)
            yield folder
        finally:
            shutil.rmtree(saved)
            shutil.copytree(folder, saved)
            subprocess.run(["umount", str(folder)], check=True, capture_output=True)
            shutil.rmtree(folder)
            shutil.copytree(saved, folder)
