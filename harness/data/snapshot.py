"""The raw-data snapshot pinned by ``data.dvc``: generating the toy benchmark and verifying it."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from harness.config import Params, ToyDataParams
from harness.errors import HarnessError
from harness.io import directory_md5, write_error
from harness.provenance import verify_pinned

__all__ = ["directory_md5", "generate_toy", "prepare_data", "verify_pinned"]


def generate_toy(settings: ToyDataParams, out_dir: Path) -> Path:
    """(Re)generate the toy benchmark into ``out_dir``; atomic: built aside, then moved in."""
    from harness.data.toy import ToyConfig, generate

    staging: Path | None = None
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        # built beside the data folder, not inside it, so a crash leaves nothing under data/
        staging = Path(tempfile.mkdtemp(dir=out_dir.parent.parent, prefix=".toy-data-"))
        generate(staging / "toy", ToyConfig(**settings.model_dump()))
        if out_dir.exists():
            shutil.rmtree(out_dir)
        (staging / "toy").rename(out_dir)
    except OSError as exc:  # disk full, permission denied
        raise write_error(out_dir, exc) from exc
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    return out_dir


def prepare_data(params: Params, verify: bool = True, pin_file: Path = Path("data.dvc")) -> Path:
    """``harness data``: generate the toy benchmark under ``<paths.data>/toy`` and, with
    ``verify``, check it against the snapshot ``pin_file`` pins. Returns the data folder."""
    if params.profile != "toy":
        raise HarnessError(
            "`harness data` generates the toy benchmark only. The paper profile reads each task "
            "from the Hugging Face Hub at the revision pinned in its spec."
        )
    out = generate_toy(params.toy_data, params.paths.data / "toy")
    print(f"toy benchmark written to {out}", file=sys.stderr)
    if verify:
        verify_pinned(pin_file)
        print(f"data matches the snapshot pinned in {pin_file}", file=sys.stderr)
    return out
