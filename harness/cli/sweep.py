"""The ``harness sweep`` command: the pipeline's pending stages, wave by wave."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.cli.app import DEFAULT_PARAMS, ParamsOpt, app


@app.command()
def sweep(
    executor: Annotated[
        str, typer.Option(help="slurm: one job array per wave (submitit); local: this machine.")
    ] = "local",
    jobs: Annotated[
        int, typer.Option(help="Stages run at the same time (--executor local).", min=1)
    ] = 1,
    stage: Annotated[
        list[str] | None,
        typer.Option(help="Only this stage and what it needs (repeatable; default: all)."),
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Print the plan (JSON) and run nothing.")] = False,
    summary: Annotated[
        Path | None, typer.Option(help="Write the sweep's summary (JSON) to this file.")
    ] = None,
    params_path: ParamsOpt = DEFAULT_PARAMS,
    fork: Annotated[
        bool,
        typer.Option(
            help="--executor local: run each `harness` stage in a child forked from one process "
            "that imported torch once (Linux, no usable GPU); --no-fork: a new process each."
        ),
    ] = True,
) -> None:
    """Run the pipeline's pending stages wave by wave (pretrain, intermediate, target, evaluate,
    ingest) as SLURM job arrays or local processes, in the container image when `launch` says
    so; then `dvc commit` them, so `dvc status` is clean and `dvc repro` has nothing to do."""
    from harness.launch.sweep import sweep_command

    sweep_command(
        params_path,
        executor,
        jobs,
        stage or (),
        dry_run,
        summary,
        fork,
        log=lambda line: typer.echo(line, err=True),
    )


@app.command()
def plan(params_path: ParamsOpt = DEFAULT_PARAMS) -> None:
    """The cost plan of the active profile's whole grid: stages per type, the device-hours of
    its training stages (from the profile's `cost` assumptions) and the disk of its
    checkpoints. Reads the parameters only: nothing needs to be fetched first."""
    from harness.config import load_params
    from harness.launch.cost import cost_plan, format_plan

    params = load_params(params_path)
    typer.echo(format_plan(params, cost_plan(params)))
