"""The ``harness sweep`` command: the pipeline's pending stages, wave by wave."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from harness.cli.app import DEFAULT_PARAMS, ParamsOpt, app


@app.command()
def sweep(
    executor: Annotated[
        str, typer.Option(help="slurm: one job array per wave (submitit); local: this machine.")
    ] = "local",
    jobs: Annotated[
        int | None,
        typer.Option(
            help="--executor local: at most this many stages at the same time (default: as "
            "many as the cores allow; 1 where a GPU is visible).",
            min=1,
        ),
    ] = None,
    cores: Annotated[
        int | None,
        typer.Option(
            help="--executor local: the CPU threads the running stages may hold together "
            "(default: the cores available to this process: its CPU affinity within its "
            "cgroup's CPU quota). A stage's own threads are compute.threads (pretrain.threads) "
            "whatever this is; a stage needing more than this runs alone.",
            min=1,
        ),
    ] = None,
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
        cores=cores,
    )


@app.command()
def plan(
    params_path: ParamsOpt = DEFAULT_PARAMS,
    measured: Annotated[
        Path | None,
        typer.Option(
            help="Measured training rates instead of the profile's `cost` assumptions: a "
            "results database (the median tokens/s of its runs of this model, per task) or "
            "the JSON of `benchmarks/bench_gpu.py --json` (its fastest XNLI- and QA-shaped "
            "configurations)."
        ),
    ] = None,
) -> None:
    """The cost plan of the active profile's whole grid: stages per type, the device-hours of
    its training stages (from the profile's `cost` assumptions, or rates measured on the
    device with --measured) and the disk of its checkpoints. Reads the parameters only:
    nothing needs to be fetched first."""
    from harness.config import load_params
    from harness.launch.cost import cost_plan, format_plan

    params = load_params(params_path)
    rates, source = _measured_rates(params, measured) if measured else ({}, "")
    typer.echo(format_plan(params, cost_plan(params, rates), source))


def _measured_rates(params: Any, path: Path) -> tuple[dict[str, float], str]:
    """Training tokens/s by task from a results database or a bench_gpu.py JSON file."""
    import json

    from harness.errors import HarnessError
    from harness.launch.cost import LONG_WINDOW, rates_from_benchmark

    if not path.is_file():
        raise HarnessError(f"--measured: no file at '{path}'.")
    if path.suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise HarnessError(f"--measured: '{path}' is not JSON ({exc}).") from exc
        # the shape decides the rate: long windows (QA) run at the QA-shaped rate
        lengths = {task: train.max_length for task, train in params.phase1.items()}
        lengths.update({t: params.phase2_params(t).max_length for t in params.grid.target})
        for setting in params.multitask.values():
            lengths.update({t: max(setting.max_length, lengths.get(t, 0)) for t in setting.tasks})
        names = set(lengths)
        qa = {task for task, length in lengths.items() if length >= LONG_WINDOW}
        rates = rates_from_benchmark(data, qa, names - qa)
        batches = sorted(
            {
                int(r["batch"])
                for r in data.get("rows", [])
                if r.get("batch") and "xtreme" not in str(r.get("name"))
            }
        )
        at = f", at micro-batch {'/'.join(map(str, batches))}" if batches else ""
        return rates, f"{path.name}, {data.get('device', 'unknown device')}{at}"
    from harness.results.queries import measured_training_rates
    from harness.results.store import connect_readonly

    con = connect_readonly(path)
    try:
        frame = measured_training_rates(con, params.model.name)
    finally:
        con.close()
    rates = {str(r.task): float(r.rate) for r in frame.itertuples()}
    devices = sorted({str(d) for d in frame["device"] if d})
    return rates, f"{path.name}, medians of stored runs on {', '.join(devices) or 'unknown'}"
