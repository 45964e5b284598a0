"""The Typer application, the options every command shares, and loading a stage's parameters.

Commands only parse their arguments and call one function; they live in the modules of
:mod:`harness.cli` by what they touch (pipeline stages, results, the task registry, sweeps).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.config import Params, load_params
from harness.tasks import Registry

app = typer.Typer(
    name="harness",
    help=(
        "xtransfer: English intermediate-task training and zero-shot cross-lingual transfer. "
        "Each command is one pipeline stage; `dvc repro` runs them all in order."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
tasks_app = typer.Typer(help="Inspect the task registry.", no_args_is_help=True)
app.add_typer(tasks_app, name="tasks")

ParamsOpt = Annotated[
    Path, typer.Option("--params", "-p", help="Parameters file (the active profile).")
]
DEFAULT_PARAMS = Path("params.yaml")
SeedOpt = Annotated[int | None, typer.Option(help="The cell's seed (default: the top-level seed).")]


def stage_params(path: Path, seed: int | None = None, stage: str = "") -> Params:
    """The parameters of a computing stage (with the cell's ``seed``), with its CPU threads
    (:meth:`harness.config.Params.stage_threads`) and TF32 set for this process."""
    from harness.seeding import configure_compute

    params = load_params(path).with_seed(seed)
    configure_compute(params.stage_threads(stage), params.compute.tf32)
    return params


def registry(params: Params) -> Registry:
    """The profile's task registry (built-in tasks, task_dirs, multi-task settings)."""
    return Registry.for_params(params)
