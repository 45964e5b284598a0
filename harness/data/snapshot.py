"""The raw-data snapshot pinned by ``data.dvc``: generating the toy benchmark and verifying it."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from harness.config import ToyDataParams
from harness.errors import HarnessError


def generate_toy(settings: ToyDataParams, out_dir: Path) -> Path:
    """(Re)generate the toy benchmark into ``out_dir``; atomic: built aside, then moved in."""
    from harness.data.toy import ToyConfig, generate

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    # built beside the data folder, not inside it, so a crash leaves nothing under data/
    staging = Path(tempfile.mkdtemp(dir=out_dir.parent.parent, prefix=".toy-data-"))
    try:
        generate(staging / "toy", ToyConfig(**settings.model_dump()))
        if out_dir.exists():
            shutil.rmtree(out_dir)
        (staging / "toy").rename(out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir


def verify_pinned(dvc_file: Path) -> None:
    """Raise unless the workspace data equal what ``dvc_file`` pins (same content hash)."""
    if not dvc_file.is_file():
        raise HarnessError(
            f"'{dvc_file}' is missing, so there is no pinned snapshot to check against. Run "
            "from the repository root, or pass --no-verify."
        )
    from dvc.repo import Repo

    with Repo(str(dvc_file.resolve().parent)) as repo:
        status = repo.status(targets=[str(dvc_file.resolve())])
    if status:
        raise HarnessError(
            f"The data on disk do not match the snapshot pinned in '{dvc_file}' ({status}). "
            "If you changed the toy generator or its settings on purpose, pin the new snapshot "
            "with `dvc add data` and commit data.dvc; otherwise regenerate with `harness data` "
            "or `dvc checkout data.dvc`."
        )
