"""`harness replicate`: re-run stored cells here and now, and say whether their numbers held."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.cli.app import DEFAULT_PARAMS, ParamsOpt, app, registry
from harness.config import load_params


@app.command()
def replicate(
    cells: Annotated[
        Path | None,
        typer.Option(help="Folder of the stored result files (default: <paths.results>/cells)."),
    ] = None,
    intermediate: Annotated[
        list[str] | None,
        typer.Option(
            "--intermediate", "-i", help="Only this setting ('none': the baseline; repeatable)."
        ),
    ] = None,
    target: Annotated[
        list[str] | None, typer.Option("--target", "-t", help="Only this target task (repeatable).")
    ] = None,
    cell_seed: Annotated[
        list[int] | None, typer.Option(help="Only the cells of this seed (repeatable).")
    ] = None,
    sample: Annotated[
        int | None, typer.Option(min=1, help="Re-run N of the chosen cells, drawn at random.")
    ] = None,
    seed: Annotated[
        int, typer.Option(help="Seed of the --sample draw (the same seed draws the same cells).")
    ] = 0,
    start: Annotated[
        str,
        typer.Option(
            "--from",
            help="First stage re-run: 'evaluate' (the stored phase-2 model scored again), "
            "'target' (phase 2 from the stored phase-1 encoder, then evaluate), 'intermediate' "
            "(phase 1 from the stored pretrained encoder too). Retrieval cells re-run retrieve "
            "(after phase 1 with 'intermediate').",
        ),
    ] = "target",
    tolerance: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="Largest absolute score difference (0-1 scale) still a replication: 1e-6 "
            "admits the rounding of a mean, not one changed prediction.",
        ),
    ] = 1e-6,
    overrides: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="KEY=VALUE: change a parameter for the re-runs (dotted key, YAML value), e.g. "
            "phase2.toy_nli.learning_rate=1e-3 (repeatable).",
        ),
    ] = None,
    scratch: Annotated[
        Path | None,
        typer.Option(
            help="New or empty folder for the re-runs' outputs (default: "
            "<paths.results>/replications/<UTC time>)."
        ),
    ] = None,
    report: Annotated[
        Path | None, typer.Option(help="JSON report (default: <scratch>/report.json).")
    ] = None,
    db: Annotated[Path | None, typer.Option(help="Database (default: paths.database).")] = None,
    record: Annotated[
        bool,
        typer.Option(
            help="Record each cell's outcome in the database (if it exists; never with --set)."
        ),
    ] = True,
    lock_timeout: Annotated[
        float, typer.Option(min=0.0, help="Seconds to wait for another database writer.")
    ] = 600.0,
    keep_models: Annotated[
        bool, typer.Option(help="Keep the re-trained checkpoints in the scratch folder.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option(help="List the chosen cells and the stages they re-run; run nothing.")
    ] = False,
    params_path: ParamsOpt = DEFAULT_PARAMS,
) -> None:
    """Drift check: re-run stored cells in this checkout and environment, into a scratch folder
    (stored results, models and DVC outputs are only read), and compare each new result file
    with the stored one: exact (every score bit-equal), within tolerance, or drifted, with the
    provenance differences that explain a drift. Prints a table, writes a JSON report, records
    the outcomes in the database (the leaderboard marks drifted cells). Exit status 1 when a
    cell drifted or could not be re-run."""
    from harness.results import replications
    from harness.stages import replicate as stage

    params = stage.override(load_params(params_path), overrides or [])
    tasks = registry(params)
    cells_dir = cells or params.paths.results / "cells"
    stored = stage.stored_cells(cells_dir)
    chosen = stage.choose(stored, intermediate or [], target or [], cell_seed or [], sample, seed)
    planned = stage.plans(params, tasks, chosen, start)
    if dry_run:
        for p in planned:
            typer.echo(f"{p.cell.name}: {' -> '.join(p.stages)}")
        return
    folder = stage.scratch_folder(params, cells_dir, scratch)
    report_path = report or folder / "report.json"
    outcome = stage.replicate(
        params, tasks, planned, start, tolerance, folder, report_path, keep_models, overrides or []
    )
    replications.print_report(outcome)
    database = db or params.paths.database
    if record and overrides:
        # a what-if under other parameters says nothing about the stored numbers
        typer.echo("With --set the outcomes are not recorded in the database.", err=True)
    elif record and database.is_file():
        count = replications.record(database, outcome, lock_timeout)
        typer.echo(f"Recorded {count} replications in '{database}'.", err=True)
    elif record:
        typer.echo(f"No database at '{database}': the outcomes were not recorded.", err=True)
    if stage.drifted(outcome):
        raise typer.Exit(1)
