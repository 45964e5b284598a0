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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
