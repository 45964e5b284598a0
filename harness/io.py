"""Small file helpers: atomic writes, staged output folders with checksum manifests, validated
YAML.

Every artefact is written under a temporary name and renamed into place, so a crash or a failed
write (disk full, permission denied) never leaves a partial file under the final name; a failed
write raises :class:`ArtefactWriteError` (a :class:`HarnessError`) that names the file and what to
do. Output folders carry a sha256 manifest written last (:func:`write_manifest`), which readers
check (:func:`verify_manifest`) so that a truncated or altered artefact is never used.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from harness.errors import HarnessError
from harness.strict import field_problems, load_yaml

M = TypeVar("M", bound=BaseModel)

MANIFEST = "MANIFEST.sha256"
"""Checksum manifest of an output folder: ``<sha256>  <relative path>`` per file, sorted."""

_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_DENIED = {errno.EACCES, errno.EPERM, errno.EROFS}


class ArtefactWriteError(HarnessError):
    """Writing an artefact failed; nothing partial was left under its name."""


class ManifestError(HarnessError):
    """An output folder does not match its checksum manifest (truncated, altered, incomplete)."""


def write_error(path: Path, exc: OSError) -> ArtefactWriteError:
    """A user-facing error for a failed write of ``path``, with a hint by cause."""
    if exc.errno in _FULL:
        hint = "The disk (or your quota, or the file-size limit) is full: free space and rerun."
    elif exc.errno in _DENIED:
        hint = "Permission denied: make the folder writable (or choose another) and rerun."
    else:
        hint = "Check the folder and rerun."
    return ArtefactWriteError(
        f"Could not write '{path}': {exc.strerror or exc}. Nothing partial was left under that "
        f"name. {hint}"
    )


def as_os_error(exc: BaseException) -> OSError:
    """``exc`` as an :class:`OSError`: writers in Rust or C++ (safetensors, torch.save) report
    I/O failures as their own exception types, with ``(os error N)`` (Rust) or ``"errno":"N"``
    (DuckDB) in the message."""
    if isinstance(exc, OSError):
        return exc
    found = re.search(r"os error (\d+)|\"errno\": ?\"?(\d+)", str(exc))
    if found:
        number = int(found.group(1) or found.group(2))
        return OSError(number, os.strerror(number))
    for number in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EACCES, errno.EROFS):
        if os.strerror(number) in str(exc):  # DuckDB's own messages quote the C library's text
            return OSError(number, os.strerror(number))
    return OSError(0, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (best effort where directories cannot be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename: never a partial file.

    Raises :class:`ArtefactWriteError` if the write fails (the previous content of ``path``, if
    any, is left as it was, and the temporary file is removed).
    """
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise write_error(path, exc) from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                Path(tmp).unlink(missing_ok=True)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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


def _files(folder: Path) -> list[str]:
    return sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.relative_to(folder).as_posix() != MANIFEST
    )


def write_manifest(folder: Path) -> None:
    """Write ``folder/MANIFEST.sha256`` over every other file in ``folder`` (call it last)."""
    lines = [f"{sha256_file(folder / rel)}  {rel}\n" for rel in _files(folder)]
    atomic_write_text(folder / MANIFEST, "".join(lines))


def verify_manifest(folder: Path, required: bool = True, what: str = "Output folder") -> bool:
    """Check every file of ``folder`` against its manifest.

    Returns True if the folder verified, False if it has no manifest and ``required`` is False
    (folders written before manifests existed). Raises :class:`ManifestError` naming each
    missing, changed or unlisted file otherwise.
    """
    manifest = folder / MANIFEST
    advice = (
        f"Do not use it: delete '{folder}' and rerun the stage that writes it (`dvc repro`), "
        "or restore it (`dvc checkout`)."
    )
    try:
        text = manifest.read_text(encoding="utf-8")
    except FileNotFoundError:
        if required:
            raise ManifestError(
                f"{what} '{folder}' has no checksum manifest ({MANIFEST}): it is incomplete. "
                + advice
            ) from None
        return False
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{what} '{folder}': unreadable {MANIFEST} ({exc}). {advice}") from exc
    expected: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        digest, sep, rel = line.partition("  ")
        if not sep or len(digest) != 64 or not rel:
            raise ManifestError(
                f"{what} '{folder}': {MANIFEST} line {number} is malformed. {advice}"
            )
        expected[rel] = digest
    problems: list[str] = []
    present = set(_files(folder))
    for rel, digest in expected.items():
        if rel not in present:
            problems.append(f"'{rel}' is missing")
        elif sha256_file(folder / rel) != digest:
            problems.append(f"'{rel}' does not match its checksum (truncated or altered)")
    problems += [f"'{rel}' is not in the manifest" for rel in sorted(present - set(expected))]
    if problems:
        raise ManifestError(f"{what} '{folder}' is corrupt: {'; '.join(problems)}. {advice}")
    return True


def require_output_folder(out_dir: Path) -> Path:
    """``out_dir`` if it can be an output folder: a stage replaces its output folder whole, so
    the current folder (``--out ''``, ``--out .``) or one above it (``..``) is refused."""
    resolved = out_dir.resolve()
    here = Path.cwd().resolve()
    if not out_dir.name or resolved == here or resolved in here.parents:
        raise HarnessError(
            f"'{out_dir}' names the current folder or one above it, which a stage would "
            "replace whole; give the output a folder of its own (--out), e.g. "
            "results/models/my-model."
        )
    return out_dir


def staging_dir(out_dir: Path) -> Path:
    """An empty sibling folder to build an output in before :func:`publish_dir`."""
    require_output_folder(out_dir)
    staging = out_dir.with_name(out_dir.name + ".partial")
    try:
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
    except OSError as exc:
        raise write_error(staging, exc) from exc
    return staging


def publish_dir(staging: Path, out_dir: Path) -> None:
    """Close ``staging`` with its checksum manifest and move it into place as ``out_dir``, so an
    interrupted stage never leaves a half folder (a previous ``out_dir`` is replaced only once
    the new one is complete)."""
    old = out_dir.with_name(out_dir.name + ".old")
    try:
        write_manifest(staging)
        shutil.rmtree(old, ignore_errors=True)
        if out_dir.exists():
            out_dir.rename(old)
        staging.rename(out_dir)
        fsync_dir(out_dir.parent)
    except OSError as exc:
        raise write_error(out_dir, exc) from exc
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def staged_output(out_dir: Path) -> Iterator[Path]:
    """Build an output folder in a staging folder and publish it (with its manifest) when the
    block ends without error. On any error the staging folder is removed, ``out_dir`` keeps its
    previous content, and a failed write becomes an :class:`ArtefactWriteError`."""
    staging = staging_dir(out_dir)
    try:
        yield staging
        publish_dir(staging, out_dir)
    except HarnessError:
        raise
    except Exception as exc:  # the block only writes files: any failure is a failed write
        raise write_error(out_dir, as_os_error(exc)) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def load_yaml_model(path: Path, model: type[M], what: str, expected: str) -> M:
    """Read a YAML mapping from ``path`` and validate it as ``model``.

    Every problem (missing file, bad YAML, not a mapping, invalid fields) is a
    :class:`HarnessError` that names ``what`` the file is and each offending field.
    """
    raw = load_yaml(path, what)  # strict: no duplicate keys, NaN, deep nesting, huge files
    if not isinstance(raw, dict):
        raise HarnessError(
            f"{what} '{path}' must be a mapping of {expected}, not a {type(raw).__name__}."
        )
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise HarnessError(
            f"{what} '{path}' has invalid {expected}: {field_problems(exc)}"
        ) from exc
