"""Small file helpers: atomic writes, staged output folders, validated YAML."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from harness.errors import HarnessError

M = TypeVar("M", bound=BaseModel)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename: never a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def staging_dir(out_dir: Path) -> Path:
    """An empty sibling folder to build an output in before :func:`publish_dir`."""
    staging = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    return staging


def publish_dir(staging: Path, out_dir: Path) -> None:
    """Move a completed output into place, so an interrupted stage never leaves a half folder."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    staging.rename(out_dir)


def load_yaml_model(path: Path, model: type[M], what: str, expected: str) -> M:
    """Read a YAML mapping from ``path`` and validate it as ``model``.

    Every problem (missing file, bad YAML, not a mapping, invalid fields) is a
    :class:`HarnessError` that names ``what`` the file is and each offending field.
    """
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise HarnessError(f"{what} '{path}' does not exist.") from exc
    except yaml.YAMLError as exc:
        raise HarnessError(f"{what} '{path}' is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise HarnessError(
            f"{what} '{path}' must be a mapping of {expected}, not a {type(raw).__name__}."
        )
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise HarnessError(f"{what} '{path}' has invalid {expected}: {problems}") from exc
