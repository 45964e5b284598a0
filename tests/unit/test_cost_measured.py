"""The cost plan from measured training rates (`harness plan --measured`): a results database's
throughput records, or a GPU benchmark's JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from harness.cli import app
from harness.config import Params
from harness.errors import HarnessError
from harness.launch.cost import cost_plan, format_plan, rates_from_benchmark
from harness.results.store import ingest
from tests.conftest import REPO
from tests.unit.test_store import LANGS, SPECS, result, write

TOY = REPO / "profiles" / "toy.yaml"


def _toy() -> Params:
    return Params.model_validate(yaml.safe_load(TOY.read_text(encoding="utf-8")))


def test_a_measured_rate_replaces_the_assumed_one() -> None:
    toy = _toy()
    assumed = {row.stage: row for row in cost_plan(toy)}
    rows = {row.stage: row for row in cost_plan(toy, {"toy_nli": 100.0})}
    train = toy.phase2_params("toy_nli")
    examples = toy.cost.train_examples["toy_nli"]
    length = toy.cost.tokens_per_example.get("toy_nli", float(train.max_length))
    cells = len(toy.grid.intermediate) * len(toy.cell_seeds())
    others = assumed["target"].hours
    assert others is not None and rows["target"].hours is not None
    nli_assumed = (
        -(-examples // train.batch_size)
        * train.epochs
        * max(toy.cost.step_floor_s, train.batch_size * length / toy.cost.tokens_per_second)
        / 3600
        * cells
    )
    nli_measured = examples * train.epochs * length / 100.0 / 3600 * cells
    assert rows["target"].hours == pytest.approx(others - nli_assumed + nli_measured)
    assert rows["target"].measured == ["toy_nli"] and not assumed["target"].measured
    text = format_plan(toy, list(rows.values()), "bench.json, NVIDIA H200")
    assert "measured training rates (bench.json, NVIDIA H200) for: toy_nli" in text


def test_benchmark_rows_give_the_fastest_rate_per_shape_but_never_the_reference() -> None:
    data = {
        "rows": [
            {"name": "xnli-b32 [harness]", "real_tokens": 1000, "seconds": 1.0},
            {"name": "xnli-b32-packed256 [harness]", "real_tokens": 3000, "seconds": 1.0},
            {"name": "xnli-xtreme-padded [harness]", "real_tokens": 9000, "seconds": 1.0},
            {"name": "qa-b32 [harness]", "real_tokens": 5000, "seconds": 2.0},
            {"name": "broken", "real_tokens": 1, "seconds": 0},
        ]
    }
    rates = rates_from_benchmark(data, ["squad"], ["mnli", "xnli"])
    assert rates == {"squad": 2500.0, "mnli": 3000.0, "xnli": 3000.0}
    assert rates_from_benchmark({"rows": []}, ["squad"], ["mnli"]) == {}


def test_plan_reads_rates_from_a_results_database(tmp_path: Path) -> None:
    files = []
    for i, rate in enumerate((400.0, 600.0, 500.0)):
        data = result("toy_lexical")
        data["model"] = "toy-xlmr-tiny"
        data["seed"] = i + 1
        data["run_id"] = f"toy-xlmr-tiny/toy_lexical/toy_nli/s{i + 1}"
        data["provenance"]["throughput"] = {
            "phase1": {"tokens_per_s": 10.0 * (i + 1), "device": "cpu"},
            "phase2": {"tokens_per_s": rate, "device": "cpu"},
        }
        files.append(write(tmp_path, f"r{i}", data))
    db = tmp_path / "r.duckdb"
    ingest(db, files, LANGS, SPECS)
    runner = CliRunner()
    out = runner.invoke(app, ["plan", "--params", str(TOY), "--measured", str(db)])
    assert out.exit_code == 0, out.output
    assert "measured training rates (r.duckdb, medians of stored runs on cpu)" in out.output
    assert "toy_lexical, toy_nli" in out.output  # phase 1's and phase 2's rates
    toy = _toy()
    rows = {r.stage: r for r in cost_plan(toy, {"toy_nli": 500.0, "toy_lexical": 20.0})}
    total = sum(r.hours or 0.0 for r in rows.values())
    assert f"{total:,.1f}" in out.output.split("total")[1]


def test_plan_reads_a_benchmark_json_and_refuses_a_bad_file(tmp_path: Path) -> None:
    bench = tmp_path / "gpu.json"
    bench.write_text(
        json.dumps(
            {
                "device": "NVIDIA H200",
                "rows": [{"name": "xnli-b32", "real_tokens": 9, "seconds": 1}],
            }
        ),
        encoding="utf-8",
    )
    runner = CliRunner()
    out = runner.invoke(app, ["plan", "--params", str(TOY), "--measured", str(bench)])
    assert out.exit_code == 0, out.output
    assert "gpu.json, NVIDIA H200" in out.output and "toy_nli" in out.output
    bench.write_text("{not json", encoding="utf-8")
    out = runner.invoke(app, ["plan", "--params", str(TOY), "--measured", str(bench)])
    assert isinstance(out.exception, HarnessError) and "is not JSON" in str(out.exception)
    out = runner.invoke(app, ["plan", "--measured", str(tmp_path / "none.duckdb")])
    assert isinstance(out.exception, HarnessError) and "no file" in str(out.exception)
