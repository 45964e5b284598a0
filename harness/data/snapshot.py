"""The raw-data snapshot pinned by ``data.dvc``: generating the toy benchmark and verifying it."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path

import yaml

from harness.config import ToyDataParams
from harness.errors import HarnessError
from harness.io import write_error


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


def directory_md5(root: Path) -> tuple[str, int, int]:
    """DVC's content hash of a folder (``<md5>.dir``, as ``dvc add`` records it with
    ``hash: md5``), its file count and total size.

    DVC hashes the JSON list of ``{"md5", "relpath"}`` of every file, sorted by path. Computed
    here from the files alone, so checking a snapshot needs no DVC cache: a fresh clone, whose
    cache is empty, can verify regenerated data.
    """
    files = sorted(
        (p for p in root.rglob("*") if p.is_file()), key=lambda p: p.relative_to(root).as_posix()
    )
    entries = []
    size = 0
    for path in files:
        data = path.read_bytes()
        size += len(data)
        entries.append(
            {"md5": hashlib.md5(data).hexdigest(), "relpath": path.relative_to(root).as_posix()}
        )
    listing = json.dumps(entries, sort_keys=True).encode("utf-8")
    return hashlib.md5(listing).hexdigest() + ".dir", len(files), size


def verify_pinned(dvc_file: Path) -> None:
    """Raise unless the folder that ``dvc_file`` pins has exactly the pinned content hash."""
    if not dvc_file.is_file():
        raise HarnessError(
            f"'{dvc_file}' is missing, so there is no pinned snapshot to check against. Run "
            "from the repository root, or pass --no-verify."
        )
    try:
        pinned = yaml.safe_load(dvc_file.read_text(encoding="utf-8"))["outs"][0]
        expected, folder = str(pinned["md5"]), dvc_file.parent / str(pinned["path"])
    except (yaml.YAMLError, KeyError, IndexError, TypeError) as exc:
        raise HarnessError(
            f"'{dvc_file}' is not a DVC file pinning one folder ({exc!r}); restore it from git."
        ) from exc
    if pinned.get("hash", "md5") != "md5" or not expected.endswith(".dir"):
        raise HarnessError(
            f"'{dvc_file}' does not pin a folder with DVC 3 md5 hashes; re-pin with `dvc add "
            f"{pinned['path']}` (DVC >= 3)."
        )
    if not folder.is_dir():
        raise HarnessError(
            f"'{folder}', pinned by '{dvc_file}', does not exist: run `harness data`."
        )
    actual, nfiles, size = directory_md5(folder)
    if actual != expected:
        raise HarnessError(
            f"The data in '{folder}' do not match the snapshot pinned in '{dvc_file}': hash "
            f"{actual} ({nfiles} files, {size} bytes), pinned {expected} "
            f"({pinned.get('nfiles')} files, {pinned.get('size')} bytes). If you changed the "
            "toy generator or its settings on purpose, pin the new snapshot with `dvc add "
            f"{pinned['path']}` and commit '{dvc_file.name}'; otherwise regenerate with "
            "`harness data` or `dvc checkout`."
        )
