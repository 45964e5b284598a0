"""The ``harness`` command line: one thin command per pipeline stage.

Every command reads ``params.yaml`` (``--params``) through :mod:`harness.config` and delegates
to one module. User errors (:class:`HarnessError`) print a message and exit with status 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from harness.config import BASELINE, Params, load_params
from harness.errors import HarnessError

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


def _load(params_path: Path) -> Params:
    return load_params(params_path)


def _threads(params: Params, threads: int | None = None) -> None:
    """Set the stage's CPU threads (``compute.threads``, or a stage's own override) and TF32."""
    from harness.seeding import configure_compute

    configure_compute(threads or params.compute.threads, params.compute.tf32)


def _registry(params: Params) -> Any:
    from harness.multitask import with_settings
    from harness.tasks import Registry

    return with_settings(Registry.load(params.task_dirs), params)


def _toy_languages(params: Params) -> list[dict[str, Any]]:
    """The toy profile's languages (English and the pseudo-languages), from the generated data."""
    path = params.paths.data / "toy" / "languages.json"
    if not path.is_file():
        raise HarnessError(f"'{path}' is missing: run `harness data` first.")
    toy: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return toy


def _languages(params: Params) -> list[dict[str, Any]]:
    """Language metadata for the results database: every XTREME / XTREME-R language, plus the
    toy profile's pseudo-languages when it is active."""
    from harness.results.languages import language_rows

    return language_rows(_toy_languages(params) if params.profile == "toy" else ())


@app.command()
def data(
    params_path: ParamsOpt = DEFAULT_PARAMS,
    verify: Annotated[
        bool, typer.Option(help="Check the result against the hash pinned in data.dvc.")
    ] = True,
) -> None:
    """Generate the toy benchmark under <paths.data>/toy (deterministic), and check it against
    the snapshot pinned in data.dvc."""
    from harness.data.snapshot import generate_toy, verify_pinned

    params = _load(params_path)
    if params.profile != "toy":
        raise HarnessError(
            "`harness data` generates the toy benchmark only. The paper profile reads each task "
            "from the Hugging Face Hub at the revision pinned in its spec."
        )
    out = generate_toy(params.toy_data, params.paths.data / "toy")
    typer.echo(f"toy benchmark written to {out}", err=True)
    if verify:
        verify_pinned(Path("data.dvc"))
        typer.echo("data matches the snapshot pinned in data.dvc", err=True)


@app.command()
def pretrain(
    out: Annotated[Path, typer.Option(help="Output folder for tokenizer + encoder.")] = Path(
        "models/encoders/none"
    ),
    params_path: ParamsOpt = DEFAULT_PARAMS,
) -> None:
    """Phase 0: the pretrained encoder. Toy: train a tokenizer and a small XLM-R-style encoder
    with MLM on the toy corpus. Paper: snapshot the Hub checkpoint at its pinned revision."""
    from harness.phases import checkpointing
    from harness.pretrain import pretrain_toy, snapshot_hub

    params = _load(params_path)
    if params.model.source == "hub":
        snapshot_hub(params.model, out)
        return
    assert params.pretrain is not None
    _threads(params, params.pretrain.threads)
    languages = [lang["code"] for lang in _toy_languages(params)]
    info = pretrain_toy(
        params.paths.data / "toy" / "corpus",
        languages,
        params.model,
        params.pretrain,
        params.seed,
        out,
        checkpointing(params, out),
    )
    typer.echo(json.dumps(info["train"]), err=True)


@app.command()
def intermediate(
    task: Annotated[str, typer.Option(help="Intermediate task (English).")],
    out: Annotated[Path, typer.Option(help="Output folder of the phase-1 encoder.")],
    pretrained: Annotated[Path, typer.Option(help="The pretrained encoder.")] = Path(
        "models/encoders/none"
    ),
    params_path: ParamsOpt = DEFAULT_PARAMS,
) -> None:
    """Phase 1: train the pretrained encoder on an English intermediate task, or on several at
    once when TASK names a multi-task setting (params.yaml `multitask`)."""
    from harness.phases import run_intermediate

    params = _load(params_path)
    _threads(params)
    if task in params.multitask:
        from harness.multitask import run_multitask

        run_multitask(params, _registry(params), task, pretrained, out)
        return
    run_intermediate(params, _registry(params), task, pretrained, out)


@app.command()
def target(
    task: Annotated[str, typer.Option(help="Target task.")],
    intermediate: Annotated[
        str, typer.Option(help=f"The phase-1 setting: an intermediate task or '{BASELINE}'.")
    ],
    out: Annotated[Path, typer.Option(help="Output folder of the phase-2 model.")],
    encoder: Annotated[
        Path | None,
        typer.Option(help="Phase-1 encoder folder (default: models/encoders/<intermediate>)."),
    ] = None,
    params_path: ParamsOpt = DEFAULT_PARAMS,
    seed: Annotated[
        int | None, typer.Option(help="The cell's seed (default: the top-level seed).")
    ] = None,
) -> None:
    """Phase 2: fine-tune the phase-1 encoder with a fresh head on the target's English data."""
    from harness.phases import run_target

    params = _load(params_path).with_seed(seed)
    _threads(params)
    encoder = encoder or params.paths.models / "encoders" / intermediate
    run_target(params, _registry(params), intermediate, task, encoder, out)


@app.command()
def evaluate(
    task: Annotated[str, typer.Option(help="Target task.")],
    intermediate: Annotated[str, typer.Option(help="The phase-1 setting of this cell.")],
    model: Annotated[Path, typer.Option(help="The phase-2 model folder.")],
    out: Annotated[Path, typer.Option(help="Result file (JSON) to write.")],
    params_path: ParamsOpt = DEFAULT_PARAMS,
    seed: Annotated[
        int | None, typer.Option(help="The cell's seed (default: the top-level seed).")
    ] = None,
    predictions: Annotated[
        Path | None,
        typer.Option(
            help="Also write every test prediction to PREDICTIONS/<task>/<language>.jsonl "
            "(the input of `harness export --format xtreme`)."
        ),
    ] = None,
) -> None:
    """Zero-shot evaluation of one grid cell on every language; writes its result file."""
    from harness.evaluate import evaluate_cell

    params = _load(params_path).with_seed(seed)
    _threads(params)
    evaluate_cell(params, _registry(params), intermediate, task, model, out, predictions)


@app.command()
def retrieve(
    task: Annotated[str, typer.Option(help="Retrieval target task (BUCC, Tatoeba, ...).")],
    intermediate: Annotated[str, typer.Option(help="The phase-1 setting of this cell.")],
    encoder: Annotated[Path, typer.Option(help="The phase-1 encoder folder.")],
    out: Annotated[Path, typer.Option(help="Result file (JSON) to write.")],
    params_path: ParamsOpt = DEFAULT_PARAMS,
) -> None:
    """Score a retrieval target straight from a phase-1 encoder (mean-pooled layer states) on
    every language; writes its result file."""
    from harness.retrieval import retrieve_cell

    params = _load(params_path)
    _threads(params)
    retrieve_cell(params, _registry(params), intermediate, task, encoder, out)


@app.command("difficulty")
def difficulty_cmd(
    task: Annotated[str, typer.Option(help="Intermediate task (English).")],
    out: Annotated[Path, typer.Option(help="Difficulty file (JSON) to write.")],
    pretrained: Annotated[Path, typer.Option(help="The pretrained encoder.")] = Path(
        "models/encoders/none"
    ),
    phase1: Annotated[
        Path | None,
        typer.Option(help="The task's phase-1 encoder (default: models/encoders/<task>)."),
    ] = None,
    params_path: ParamsOpt = DEFAULT_PARAMS,
) -> None:
    """Difficulty measures of an intermediate task: mean pointwise V-information, baseline
    error after phase 1, and the dataset-cartography share of hard-to-learn examples."""
    from harness.difficulty import measure_task

    params = _load(params_path)
    _threads(params)
    result = measure_task(
        params,
        _registry(params),
        task,
        pretrained,
        phase1 or params.paths.models / "encoders" / task,
        out,
    )
    typer.echo(json.dumps(result["measures"]), err=True)


@app.command()
def analyze(
    cells: Annotated[Path, typer.Option(help="Folder of result files and per-example files.")] = (
        Path("results/cells")
    ),
    difficulty: Annotated[Path, typer.Option(help="Folder of difficulty files.")] = Path(
        "results/difficulty"
    ),
    out: Annotated[Path, typer.Option(help="Folder for the analysis tables and metrics.")] = Path(
        "results/analysis"
    ),
    params_path: ParamsOpt = DEFAULT_PARAMS,
) -> None:
    """Gains over the baseline with bootstrap intervals and paired-bootstrap tests, difficulty
    tiers, and Spearman / Kendall correlations of difficulty with gain; prints the tables."""
    from harness.analysis import analyze as run_analysis
    from harness.analysis import print_tables

    params = _load(params_path)
    a = params.analysis
    registry = _registry(params)
    train_languages = {name: registry.get(name).train_language for name in registry.names()}
    tables = run_analysis(
        cells,
        difficulty,
        _languages(params),
        out,
        split=a.split,
        samples=a.bootstrap_samples,
        confidence=a.confidence,
        seed=a.bootstrap_seed,
        n_tiers=params.difficulty.tiers,
        train_languages=train_languages,
    )
    print_tables(tables, a.confidence)


def _result_paths(items: list[Path]) -> list[Path]:
    paths: list[Path] = []
    for item in items:
        if not item.exists():
            raise HarnessError(f"Result file or folder '{item}' does not exist.")
        paths += sorted(item.glob("*.json")) if item.is_dir() else [item]
    if not paths:
        raise HarnessError("No result files given (folders were empty).")
    return paths


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
    from harness.difficulty import read_difficulty_file
    from harness.results.store import ingest as do_ingest

    params = _load(params_path)
    paths = _result_paths(files)
    registry = _registry(params)
    specs = [registry.get(name) for name in registry.names()]
    folder = quarantine or params.paths.results / "quarantine"
    difficulty_files = _result_paths(difficulty) if difficulty else []
    rows = [row for path in difficulty_files for row in read_difficulty_file(path)]
    known = set(registry.names())
    for task, *_ in rows:
        if task not in known:
            raise HarnessError(f"Difficulty file names an unknown task '{task}'.")
    counts = do_ingest(
        db or params.paths.database, paths, _languages(params), specs, replace, folder, rows
    )
    typer.echo(json.dumps(counts), err=True)
    if counts["quarantined"]:
        raise HarnessError(
            f"{counts['quarantined']} result file(s) failed validation and were moved to "
            f"'{folder}', each beside a .report.txt naming the failed checks and rows; the "
            "valid files were ingested. Fix or regenerate them (`dvc repro` reruns the "
            "evaluate stages whose result files are gone)."
        )


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="Result files (JSON) or folders of them.")],
    params_path: ParamsOpt = DEFAULT_PARAMS,
) -> None:
    """Check result files as `ingest` would, without writing or moving anything."""
    from harness.results.validate import validate_files

    params = _load(params_path)
    paths = _result_paths(files)
    registry = _registry(params)
    specs = [registry.get(name) for name in registry.names()]
    report = validate_files(paths, [lang["code"] for lang in _languages(params)], specs)
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
    from harness.results.queries import leaderboard as query
    from harness.results.store import connect_readonly, require_current_schema

    params = _load(params_path)
    path = db or params.paths.database
    con = connect_readonly(path)
    try:
        require_current_schema(con, path)
        frame = query(con, split, exclude_version or ())
    finally:
        con.close()
    if as_json:
        typer.echo(frame.to_json(orient="records", indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Zero-shot transfer ({split}; mean over non-English languages)")
    for column in ("model", "intermediate", "target", "metric", "zero-shot", "English", "gain"):
        table.add_column(
            column, justify="right" if column in ("zero-shot", "English", "gain") else "left"
        )
    for row in frame.itertuples():
        gain = "" if row.intermediate == BASELINE else f"{100 * row.gain:+.2f}"
        table.add_row(
            row.model,
            row.intermediate,
            row.target,
            row.metric,
            f"{100 * row.zero_shot:.2f}",
            f"{100 * row.english:.2f}",
            gain,
        )
    Console().print(table)


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
    from harness.results.export import FORMATS
    from harness.results.export import export as do_export

    if fmt == "xtreme":
        from harness.scoring import export_xtreme

        if predictions is None:
            raise HarnessError(
                "--format xtreme needs --predictions: the folder of {task}/{language}.jsonl "
                "per-example predictions."
            )
        for path in export_xtreme(predictions, out):
            typer.echo(str(path))
        return
    if fmt not in FORMATS:
        raise HarnessError(
            f"Unknown export format '{fmt}'; choose one of {', '.join(FORMATS)} or xtreme."
        )
    params = _load(params_path)
    for path in do_export(db or params.paths.database, out, fmt):
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
    from harness.metrics.benchmark import VERSIONS
    from harness.scoring import resolve, score_files, score_folder

    if benchmark not in VERSIONS:
        raise HarnessError(f"Unknown --benchmark '{benchmark}'; choose xtreme or xtreme_r.")
    if task is not None:
        if language is None:
            raise HarnessError("--task needs --language (the language code of the files).")
        result: dict[str, Any] = score_files(
            task, language, resolve(predictions, task, language), resolve(labels, task, language)
        )
    else:
        if not (predictions.is_dir() and labels.is_dir()):
            raise HarnessError(
                "Without --task, --predictions and --labels must be submission folders."
            )
        summary, detailed = score_folder(predictions, labels, benchmark)
        result = {"summary": summary, "tasks": detailed}
    if as_json:
        typer.echo(json.dumps(result, indent=2, ensure_ascii=False))
        return
    if task is not None:
        for metric, value in result.items():
            typer.echo(f"{metric}: {value:.2f}")
        return
    for name, table in result["tasks"].items():
        avgs = ", ".join(f"{k}={v:.2f}" for k, v in table.items() if k.startswith("avg"))
        typer.echo(f"{name}: {avgs}")
    for group, value in result["summary"].items():
        typer.echo(f"{group}: {value:.2f}")


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
    from harness.launch.plan import plan_sweep
    from harness.launch.sweep import run_sweep, write_summary

    if executor not in ("local", "slurm"):
        raise HarnessError(f"Unknown executor '{executor}': choose 'slurm' or 'local'.")
    params = _load(params_path)
    root = params_path.resolve().parent
    if dry_run:
        typer.echo(json.dumps(plan_sweep(root, stage or ()).as_dict(), indent=2))
        return
    result = run_sweep(
        root,
        params.launch,
        params.cluster,
        "slurm" if executor == "slurm" else "local",
        jobs,
        stage or (),
        log=lambda line: typer.echo(line, err=True),
        fork=fork,
    )
    if summary is not None:
        write_summary(summary, result)
    typer.echo(f"sweep done: {len(result['stages'])} stage(s) ran", err=True)


@tasks_app.command("list")
def tasks_list(params_path: ParamsOpt = DEFAULT_PARAMS) -> None:
    """List every known task: role, kind, languages, whether the grid runs it, and its file."""
    params = _load(params_path)
    registry = _registry(params)
    in_grid = set(params.grid.intermediate) | set(params.grid.target)
    for name in registry.names():
        spec = registry.get(name)
        typer.echo(
            f"{name:24} {spec.role:13} {spec.kind:20} {len(spec.languages)} language(s)  "
            f"{'in grid' if name in in_grid else 'not in grid':12} {registry.origins[name]}"
        )


@tasks_app.command("show")
def tasks_show(
    name: str,
    as_json: Annotated[bool, typer.Option("--json", help="Print the spec only, as JSON.")] = False,
    params_path: ParamsOpt = DEFAULT_PARAMS,
) -> None:
    """Show one task: its spec, the file it comes from, and where it sits in the grid."""
    from harness.submit import grid_placement

    params = _load(params_path)
    registry = _registry(params)
    spec = registry.get(name)
    if as_json:
        typer.echo(spec.model_dump_json(indent=2))
        return
    typer.echo(f"# origin: {registry.origins[name]}")
    for line in grid_placement(params, spec):
        typer.echo(f"# {line}")
    import yaml

    typer.echo(yaml.safe_dump(spec.model_dump(mode="json", exclude_defaults=True), sort_keys=False))


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
    from harness.tasks.ccg import prepare_ccg

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
    from harness.submit import submit as do_submit

    params = _load(params_path)
    overrides = {
        "epochs": epochs,
        "learning_rate": lr,
        "batch_size": batch_size,
        "max_length": max_length,
    }
    root = params_path.resolve().parent
    result = do_submit(spec, params_path, params, _registry(params), overrides, dry_run, root)
    typer.echo(("dry run: would register " if dry_run else "registered ") + result.describe(root))


def main() -> None:
    try:
        app()
    except HarnessError as exc:
        from rich.console import Console

        Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(2)
