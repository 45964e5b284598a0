"""Commands over result files and the results database: ingest, validate, leaderboard,
export, score."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from harness.cli.app import DEFAULT_PARAMS, ParamsOpt, app, registry
from harness.config import load_params


@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(help="Result files (JSON) or folders of them.")],
    db: Annotated[Path | None, typer.Option(help="Database (default: paths.database).")] = None,
    replace: Annotated[
        bool, typer.Option(help="Overwrite stored runs whose scores or configuration changed.")
    ] = False,
    quarantine: Annotated[
        Path | None,
        typer.Option(
            help="Where files that fail validation are moved, each beside a report "
            "(default: <paths.results>/quarantine)."
        ),
    ] = None,
    params_path: ParamsOpt = DEFAULT_PARAMS,
    difficulty: Annotated[
        list[Path] | None,
        typer.Option(help="Difficulty files (JSON) or folders of them to load too (repeatable)."),
    ] = None,
) -> None:
    """Validate result files (great-expectations) and load the valid ones into the DuckDB
    results database in one transaction. Invalid files are quarantined with a report and the
    command exits with status 2; nothing already stored changes."""
    from harness.stages.ingest import ingest_files

    params = load_params(params_path)
    counts = ingest_files(
        params, registry(params), files, db, replace, quarantine, difficulty or ()
    )
    typer.echo(json.dumps(counts), err=True)


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="Result files (JSON) or folders of them.")],
    params_path: ParamsOpt = DEFAULT_PARAMS,
) -> None:
    """Check result files as `ingest` would, without writing or moving anything."""
    from harness.stages.ingest import validate_paths

    params = load_params(params_path)
    report = validate_paths(params, registry(params), files)
    for path in sorted(report.problems):
        typer.echo(report.as_text(path))
    typer.echo(f"{len(report.valid)} valid, {len(report.problems)} invalid", err=True)
    if not report.ok:
        raise typer.Exit(2)


@app.command()
def leaderboard(
    db: Annotated[Path | None, typer.Option(help="Database (default: paths.database).")] = None,
    split: Annotated[str, typer.Option(help="Split to show.")] = "test",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON records instead.")] = False,
    exclude_version: Annotated[
        list[str] | None,
        typer.Option(help="Leave out runs made by this harness version (repeatable)."),
    ] = None,
    params_path: ParamsOpt = DEFAULT_PARAMS,
) -> None:
    """Print the leaderboard: zero-shot mean over non-English languages and gain over baseline."""
    from harness.results.tables import print_leaderboard

    database = db or load_params(params_path).paths.database
    print_leaderboard(database, split, exclude_version or (), as_json)


@app.command()
def export(
    out: Annotated[Path, typer.Option(help="Folder to write one file per table or view into.")],
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="parquet, csv or json (a JSON array per file).")
    ] = "parquet",
    db: Annotated[Path | None, typer.Option(help="Database (default: paths.database).")] = None,
    params_path: ParamsOpt = DEFAULT_PARAMS,
    predictions: Annotated[
        Path | None,
        typer.Option(help="--format xtreme: folder of {task}/{language}.jsonl predictions."),
    ] = None,
) -> None:
    """Export languages, tasks, runs, scores, gains and cell means (read-only, atomic files).
    With --format xtreme: write per-example predictions in the XTREME submission layout."""
    from harness.results.export import export_command

    # the xtreme layout reads prediction files only: no parameters file needed for it
    database = db or (Path() if fmt == "xtreme" else load_params(params_path).paths.database)
    for path in export_command(database, out, fmt, predictions):
        typer.echo(str(path))


@app.command()
def score(
    predictions: Annotated[
        Path, typer.Option(help="Prediction file, or a submission folder {task}/test-{lang}.*")
    ],
    labels: Annotated[Path, typer.Option(help="Label file, or a label folder in that layout.")],
    task: Annotated[
        str | None, typer.Option(help="XTREME task name (xnli, panx, mlqa, ...); none: all.")
    ] = None,
    language: Annotated[str | None, typer.Option(help="Language code (with --task).")] = None,
    benchmark: Annotated[
        str, typer.Option(help="xtreme or xtreme_r: languages and groups of the version.")
    ] = "xtreme",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Score predictions in the XTREME submission layout as the official evaluation does
    (0-100 scale). With --task and --language: one file pair; without --task: every task
    folder present under both folders, with group and overall scores."""
    from harness.results.xtreme import score_lines, score_submission

    result = score_submission(predictions, labels, task, language, benchmark)
    if as_json:
        typer.echo(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        typer.echo("\n".join(score_lines(result, one_task=task is not None)))
