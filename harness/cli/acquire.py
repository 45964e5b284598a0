"""Commands that set up a workspace: profile list / use, and fetch."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.cli.app import DEFAULT_PARAMS, ParamsOpt, app
from harness.config import load_params

profile_app = typer.Typer(
    help="The profiles in profiles/ and the active one (params.yaml).", no_args_is_help=True
)
app.add_typer(profile_app, name="profile")


@profile_app.command("list")
def profile_list() -> None:
    """Every profile in profiles/, the active one marked with *."""
    from harness import profiles

    current = profiles.active()
    for profile in profiles.available():
        mark = "*" if profile.name == current else " "
        typer.echo(f"{mark} {profile.name:14} {profile.summary}")
    if current is None:
        typer.echo("(params.yaml equals no profile: it was edited, or is missing)")


@profile_app.command("use")
def profile_use(
    name: Annotated[str, typer.Argument(help="A profile of profiles/ (toy, paper, ...).")],
    force: Annotated[
        bool, typer.Option(help="Replace an edited params.yaml (a copy is kept beside it).")
    ] = False,
) -> None:
    """Make profile NAME active: write params.yaml from profiles/NAME.yaml. `dvc repro` and
    every command then run that profile."""
    from harness import profiles

    typer.echo(profiles.use(name, force=force))


@app.command()
def fetch(
    task: Annotated[
        list[str] | None,
        typer.Option("--task", "-t", help="A task of fetch.datasets (repeatable; default: all)."),
    ] = None,
    source: Annotated[
        Path | None,
        typer.Option(
            "--from",
            help="A folder of official release files (and hub/<owner>__<name>@<rev>/ "
            "snapshots), looked in before the network; default: fetch.mirror.",
        ),
    ] = None,
    force: Annotated[bool, typer.Option(help="Fetch again even if already fetched.")] = False,
    pin: Annotated[
        bool,
        typer.Option(help="Record each fetched folder in dvc.lock (stage fetch@<task>)."),
    ] = True,
    params_path: ParamsOpt = DEFAULT_PARAMS,
) -> None:
    """Acquire the active profile's datasets: official files at their digests (or Hub datasets
    at their revisions), converted into each task's data folder, and pinned with DVC. An
    interrupted fetch resumes; a corrupt or partial download is refused and never pinned."""
    from harness.fetch.core import fetch_profile

    params = load_params(params_path)
    outcomes = fetch_profile(params, list(task or []), source, force)
    for outcome in outcomes:
        state = "already fetched" if outcome.skipped else "fetched"
        typer.echo(f"{outcome.task}: {state} into {outcome.out}")
    if pin:
        from harness.dvclock import dvc_commit

        dvc_commit(Path.cwd(), [f"fetch@{o.task}" for o in outcomes])
        typer.echo(f"pinned in dvc.lock: {', '.join(f'fetch@{o.task}' for o in outcomes)}")
