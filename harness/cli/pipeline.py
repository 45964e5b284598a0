"""Commands of the pipeline stages: data, pretrain, intermediate, target, evaluate, retrieve,
difficulty, analyze."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from harness.cli.app import DEFAULT_PARAMS, ParamsOpt, SeedOpt, app, registry, stage_params
from harness.config import BASELINE, load_params


@app.command()
def data(
    params_path: ParamsOpt = DEFAULT_PARAMS,
    verify: Annotated[
        bool, typer.Option(help="Check the result against the hash pinned in data.dvc.")
    ] = True,
) -> None:
    """Generate the toy benchmark under <paths.data>/toy (deterministic), and check it against
    the snapshot pinned in data.dvc."""
    from harness.data.snapshot import prepare_data

    prepare_data(load_params(params_path), verify)


@app.command()
def pretrain(
    out: Annotated[Path, typer.Option(help="Output folder for tokenizer + encoder.")] = Path(
        "models/encoders/none"
    ),
    params_path: ParamsOpt = DEFAULT_PARAMS,
) -> None:
    """Phase 0: the pretrained encoder. Toy: train a tokenizer and a small XLM-R-style encoder
    with MLM on the toy corpus. Paper: snapshot the Hub checkpoint at its pinned revision."""
    from harness.stages.pretrain import run_pretrain

    info = run_pretrain(stage_params(params_path, stage="pretrain"), out)
    typer.echo(json.dumps(info.get("train", {})), err=True)


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
    from harness.stages.phase1 import run_phase1

    params = stage_params(params_path)
    run_phase1(params, registry(params), task, pretrained, out)


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
    seed: SeedOpt = None,
) -> None:
    """Phase 2: fine-tune the phase-1 encoder with a fresh head on the target's English data."""
    from harness.stages.phase2 import run_target

    params = stage_params(params_path, seed)
    encoder = encoder or params.paths.models / "encoders" / intermediate
    run_target(params, registry(params), intermediate, task, encoder, out)


@app.command()
def evaluate(
    task: Annotated[str, typer.Option(help="Target task.")],
    intermediate: Annotated[str, typer.Option(help="The phase-1 setting of this cell.")],
    model: Annotated[Path, typer.Option(help="The phase-2 model folder.")],
    out: Annotated[Path, typer.Option(help="Result file (JSON) to write.")],
    params_path: ParamsOpt = DEFAULT_PARAMS,
    seed: SeedOpt = None,
    predictions: Annotated[
        Path | None,
        typer.Option(
            help="Also write every test prediction to PREDICTIONS/<task>/<language>.jsonl "
            "(the input of `harness export --format xtreme`)."
        ),
    ] = None,
) -> None:
    """Zero-shot evaluation of one grid cell on every language; writes its result file."""
    from harness.stages.evaluate import evaluate_cell

    params = stage_params(params_path, seed)
    evaluate_cell(params, registry(params), intermediate, task, model, out, predictions)


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
    from harness.stages.retrieve import retrieve_cell

    params = stage_params(params_path)
    retrieve_cell(params, registry(params), intermediate, task, encoder, out)


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
    from harness.stages.difficulty import measure_task

    params = stage_params(params_path)
    phase1 = phase1 or params.paths.models / "encoders" / task
    result = measure_task(params, registry(params), task, pretrained, phase1, out)
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
    from harness.results.tables import print_analysis
    from harness.stages.analyze import run_analysis

    params = load_params(params_path)
    tables = run_analysis(params, registry(params), cells, difficulty, out)
    print_analysis(tables, params.analysis.confidence)
