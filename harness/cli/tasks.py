"""Commands of the task registry: tasks list / show / import-ccg, and submit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.cli.app import DEFAULT_PARAMS, ParamsOpt, app, registry, tasks_app
from harness.config import load_params


@tasks_app.command("list")
def tasks_list(params_path: ParamsOpt = DEFAULT_PARAMS) -> None:
    """List every known task (the profile's and every other built-in one): role, kind,
    languages, its place in the active grid, and its file."""
    from harness.tasks.listing import task_lines

    params = load_params(params_path)
    typer.echo("\n".join(task_lines(params, registry(params), Path.cwd().resolve())))


@tasks_app.command("show")
def tasks_show(
    name: str,
    as_json: Annotated[bool, typer.Option("--json", help="Print the spec only, as JSON.")] = False,
    params_path: ParamsOpt = DEFAULT_PARAMS,
) -> None:
    """Show one task: its spec, the file it comes from, and where it sits in the grid."""
    from harness.tasks.listing import show_task

    params = load_params(params_path)
    typer.echo(show_task(params, registry(params), name, as_json))


@tasks_app.command("import-ccg")
def tasks_import_ccg(
    ccgbank: Annotated[Path, typer.Argument(help="The CCGbank release folder (licensed).")],
    out: Annotated[Path, typer.Option(help="Folder (in the repository) for data + spec.")] = Path(
        "data/ccg"
    ),
    min_count: Annotated[int, typer.Option(help="Rarer categories become UNK.")] = 1,
) -> None:
    """Convert CCGbank's AUTO files to the CCG supertagging task (JSONL + spec); then register
    it with `harness submit <out>/ccg.yaml`."""
    from harness.data.ccg import prepare_ccg

    typer.echo(str(prepare_ccg(ccgbank, out, min_count)))


@app.command()
def submit(
    spec: Annotated[Path, typer.Argument(help="The new intermediate task's spec (YAML).")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and print the changes; write nothing.")
    ] = False,
    epochs: Annotated[float | None, typer.Option(help="Phase-1 epochs.")] = None,
    lr: Annotated[float | None, typer.Option("--lr", help="Phase-1 learning rate.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Phase-1 batch size.")] = None,
    max_length: Annotated[int | None, typer.Option(help="Phase-1 max. tokens.")] = None,
    params_path: ParamsOpt = DEFAULT_PARAMS,
) -> None:
    """Add an intermediate task: validate the spec, probe its data, copy it into the first
    task_dirs folder and add it to grid.intermediate, phase1 and intermediate_inputs in
    params.yaml (all or nothing). Then `dvc repro` runs only the new task's stages.
    Phase-1 hyperparameters default to the first phase1 entry's."""
    from harness.stages.submit import submit as do_submit

    params = load_params(params_path)
    overrides = {
        "epochs": epochs,
        "learning_rate": lr,
        "batch_size": batch_size,
        "max_length": max_length,
    }
    root = params_path.resolve().parent
    result = do_submit(spec, params_path, params, registry(params), overrides, dry_run, root)
    typer.echo(("dry run: would register " if dry_run else "registered ") + result.describe(root))
