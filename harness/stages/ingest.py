"""Stage ``ingest`` (and ``harness validate``): result files and difficulty files, checked and
loaded into the results database (:mod:`harness.results.store`)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from harness.config import Params
from harness.errors import HarnessError
from harness.results.languages import profile_language_rows
from harness.results.schema import RESULT_BYTES, read_difficulty_file
from harness.results.store import ingest
from harness.results.validate import Report, validate_files
from harness.tasks import Registry


def result_paths(items: Sequence[Path], what: str = "result") -> list[Path]:
    """The ``what`` files named by ``items``: files as given, folders by their ``*.json``; each
    file once, however often it is named (twice, through a folder and by name, through a
    symlink) and however many copies of the same content are given (the first is kept)."""
    paths: list[Path] = []
    seen_paths: set[Path] = set()
    seen_content: set[str] = set()
    for item in items:
        if not item.exists():
            raise HarnessError(f"{what.capitalize()} file or folder '{item}' does not exist.")
        for path in sorted(item.glob("*.json")) if item.is_dir() else [item]:
            real = path.resolve()
            if real in seen_paths:
                continue
            seen_paths.add(real)
            digest = _content_digest(path)
            if digest is not None and digest in seen_content:
                continue
            if digest is not None:
                seen_content.add(digest)
            paths.append(path)
    if not paths:
        named = ", ".join(f"'{item}'" for item in items)
        raise HarnessError(f"No {what} files (*.json) in {named}: the folders are empty.")
    return paths


def _content_digest(path: Path) -> str | None:
    """sha256 of a regular file's bytes; None for anything else (the reader reports it)."""
    try:
        if not path.is_file() or path.stat().st_size > RESULT_BYTES:
            return None
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def ingest_files(
    params: Params,
    registry: Registry,
    files: Sequence[Path],
    db: Path | None = None,
    replace: bool = False,
    quarantine: Path | None = None,
    difficulty: Sequence[Path] = (),
) -> dict[str, int]:
    """Validate the result files (and difficulty files) named by ``files`` (``difficulty``)
    and load the valid ones into ``db`` (default ``paths.database``) in one transaction.
    Invalid result files are moved to ``quarantine`` (default ``<paths.results>/quarantine``)
    beside a report, and a :class:`HarnessError` says so after the valid ones are stored."""
    paths = result_paths(files)
    folder = quarantine or params.paths.results / "quarantine"
    difficulty_paths = result_paths(difficulty, "difficulty") if difficulty else []
    rows = [row for path in difficulty_paths for row in read_difficulty_file(path)]
    known = set(registry.names())
    for task, *_ in rows:
        if task not in known:
            raise HarnessError(f"Difficulty file names an unknown task '{task}'.")
    counts = ingest(
        db or params.paths.database,
        paths,
        profile_language_rows(params),
        registry.specs(),
        replace,
        folder,
        rows,
        params.difficulty.tiers,
    )
    if counts["quarantined"]:
        raise HarnessError(
            f"{counts['quarantined']} result file(s) failed validation and were moved to "
            f"'{folder}', each beside a .report.txt naming the failed checks and rows; the "
            "valid files were ingested. Fix or regenerate them (`dvc repro` reruns the "
            "evaluate stages whose result files are gone)."
        )
    return counts


def validate_paths(params: Params, registry: Registry, files: Sequence[Path]) -> Report:
    """Check result files as :func:`ingest_files` would, writing and moving nothing."""
    languages = [lang["code"] for lang in profile_language_rows(params)]
    return validate_files(result_paths(files), languages, registry.specs())
