"""Export the results database to Parquet, CSV or JSON, one file per table or view (or test
predictions in the XTREME submission layout, :mod:`harness.results.xtreme`)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Literal

import duckdb

from harness.errors import HarnessError
from harness.io import as_os_error, write_error
from harness.results.store import connect_readonly, require_current_schema

Format = Literal["parquet", "csv", "json"]
FORMATS: tuple[Format, ...] = ("parquet", "csv", "json")

# What a reader of the results needs; the order is the order of the files written.
EXPORTED: dict[str, str] = {
    "languages": "ORDER BY code",
    "tasks": "ORDER BY name",
    "runs": "ORDER BY run_id",
    "scores": "ORDER BY run_id, language, split, metric",
    "gains": "ORDER BY run_id, language, split, metric",
    "cell_means": "ORDER BY ALL",
}

_OPTIONS: dict[Format, str] = {
    "parquet": "FORMAT parquet",
    "csv": "FORMAT csv, HEADER true",
    "json": "FORMAT json, ARRAY true",
}


def export(db_path: Path, out_dir: Path, fmt: Format) -> list[Path]:
    """Write every exported table and view of ``db_path`` to ``out_dir/<name>.<fmt>``.

    Each file is written under a temporary name and renamed, so a reader never sees a partial
    file; the database is opened read-only.
    """
    if fmt not in _OPTIONS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {FORMATS}")
    con = connect_readonly(db_path)
    try:
        require_current_schema(con, db_path)
    except BaseException:
        con.close()
        raise
    written: list[Path] = []
    try:
        for name, order in EXPORTED.items():
            final = out_dir / f"{name}.{fmt}"
            tmp: str | None = None
            try:
                out_dir.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=f".{final.name}.", suffix=".tmp")
                os.close(fd)
                # names and options come from the constants above, the path is a parameter
                con.execute(
                    f"COPY (SELECT * FROM {name} {order}) TO $path ({_OPTIONS[fmt]})", {"path": tmp}
                )
                os.replace(tmp, final)
            except OSError as exc:  # disk full, permission denied
                raise write_error(final, exc) from exc
            except duckdb.IOException as exc:
                raise write_error(final, as_os_error(exc)) from exc
            finally:
                if tmp is not None:
                    Path(tmp).unlink(missing_ok=True)
            written.append(final)
    finally:
        con.close()
    return written


def export_command(
    db_path: Path, out_dir: Path, fmt: str, predictions: Path | None = None
) -> list[Path]:
    """``harness export``: every table and view in ``fmt`` (parquet, csv, json), or with
    ``fmt`` xtreme the per-example predictions in ``predictions`` in the XTREME submission
    layout. Returns the files written."""
    if fmt == "xtreme":
        from harness.results.xtreme import export_xtreme

        if predictions is None:
            raise HarnessError(
                "--format xtreme needs --predictions: the folder of {task}/{language}.jsonl "
                "per-example predictions."
            )
        return export_xtreme(predictions, out_dir)
    if fmt not in FORMATS:
        raise HarnessError(
            f"Unknown export format '{fmt}'; choose one of {', '.join(FORMATS)} or xtreme."
        )
    return export(db_path, out_dir, fmt)
