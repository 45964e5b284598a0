from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

COMMANDS = [
    "data",
    "pretrain",
    "intermediate",
    "target",
    "evaluate",
    "retrieve",
    "validate",
    "ingest",
    "leaderboard",
    "export",
    "sweep",
    "difficulty",
    "analyze",
]


def harness(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_help_lists_every_stage() -> None:
    out = harness("--help")
    assert out.returncode == 0
    for command in COMMANDS:
        assert command in out.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    out = harness(command, "--help")
    assert out.returncode == 0
    assert "--params" in out.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["intermediate", "--task", "nope", "--out", "x", "--pretrained", "."], "no phase.json"),
        (["leaderboard", "--db", "missing.duckdb"], "No results database"),
        (["tasks", "show", "nope"], "Unknown task 'nope'"),
        (["intermediate", "--task", "none", "--out", "x"], "baseline"),
        (["ingest", "no-such-file.json"], "does not exist"),
    ],
)
def test_user_errors_print_a_message_not_a_traceback(
    tmp_path: Path, args: list[str], needle: str
) -> None:
    out = harness(*args, "--params", str(REPO / "params.yaml"), cwd=tmp_path)
    assert out.returncode == 2
    assert needle in " ".join(out.stderr.split())
    assert "Traceback" not in out.stderr


def test_bad_params_file(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text("profile: toy\n", encoding="utf-8")
    out = harness("tasks", "list", cwd=tmp_path)
    assert out.returncode == 2
    assert "invalid parameters" in out.stderr and "seed" in out.stderr


def test_tasks_list_shows_every_built_in_task_and_the_active_grid() -> None:
    out = harness("tasks", "list")
    assert out.returncode == 0, out.stderr
    rows = {line.split()[0]: line.split() for line in out.stdout.splitlines()[1:]}
    builtin = {p.stem for folder in ("builtin", "xtreme", "paper")
               for p in (REPO / "harness" / "tasks" / folder).glob("*.yaml")}  # fmt: skip
    assert set(rows) == builtin and {"xnli", "tatoeba", "mnli", "squad_v2"} <= builtin
    # the toy profile's grid: every toy task (the retrieval target too) runs; XTREME and the
    # paper's intermediate tasks belong to another profile
    assert all(rows[t][4:6] == ["in", "grid"] for t in ("toy_nli", "toy_lexical", "toy_retrieval"))
    assert rows["xnli"][4:7] == ["not", "in", "profile"] and rows["mnli"][1] == "intermediate"
    assert rows["xnli"][-1] == "harness/tasks/xtreme/xnli.yaml"


def test_validate_and_ingest_quarantine_bad_files(tmp_path: Path) -> None:
    import json

    from tests.unit.test_store import LANGS, result, write

    (tmp_path / "data" / "toy").mkdir(parents=True)
    (tmp_path / "data" / "toy" / "languages.json").write_text(json.dumps(LANGS), encoding="utf-8")
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    cells = tmp_path / "cells"
    cells.mkdir()
    good = write(cells, "good", result(None))
    bad_data = result("toy_lexical")
    bad_data["scores"][1]["value"] = 7.0
    bad = write(cells, "bad", bad_data)

    checked = harness("validate", "cells", cwd=tmp_path)
    assert checked.returncode == 2, checked.stderr
    assert f"{bad}" in checked.stdout or "cells/bad.json" in checked.stdout
    assert "column='value'" in checked.stdout and "1 valid, 1 invalid" in checked.stderr
    assert bad.exists()  # validate moves nothing

    loaded = harness("ingest", "cells", "--db", "r.duckdb", cwd=tmp_path)
    assert loaded.returncode == 2 and "Traceback" not in loaded.stderr
    assert "moved to" in " ".join(loaded.stderr.split())
    assert not bad.exists() and good.exists()
    reports = list((tmp_path / "results" / "quarantine").glob("bad.*.report.txt"))
    assert len(reports) == 1 and "column='value'" in reports[0].read_text(encoding="utf-8")
    board = harness("leaderboard", "--db", "r.duckdb", "--json", cwd=tmp_path)
    assert [row["intermediate"] for row in json.loads(board.stdout)] == ["none"]


def test_data_and_pretrain_on_a_tiny_profile(tmp_path: Path) -> None:
    """`harness data` then `harness pretrain` in a fresh folder: the encoder is pretrained on the
    toy languages only (the benchmark language table is not a corpus list)."""
    import json

    import yaml

    params = yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8"))
    params["toy_data"].update(
        corpus_sentences=300, intermediate_train=20, intermediate_dev=10, target_train=20,
        target_dev=5, target_test=5,
    )  # fmt: skip
    params["model"].update(vocab_size=400, hidden_size=32, intermediate_size=64, num_layers=1)
    params["pretrain"].update(epochs=1, batch_size=64)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    made = harness("data", "--no-verify", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    trained = harness("pretrain", "--out", "enc", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    info = json.loads((tmp_path / "enc" / "phase.json").read_text(encoding="utf-8"))
    assert info["languages"] == ["en", "xa", "xb", "xc", "xd"]
    assert (tmp_path / "enc" / "model.safetensors").is_file()


def test_ingest_difficulty_files_and_analyze(tmp_path: Path) -> None:
    """`harness ingest --difficulty` loads difficulty files beside the results; `harness analyze`
    prints its tables and writes its files; an unknown task in a difficulty file is refused."""
    import json

    import numpy as np

    from tests.unit.test_analysis import _cell
    from tests.unit.test_store import LANGS

    (tmp_path / "data" / "toy").mkdir(parents=True)
    (tmp_path / "data" / "toy" / "languages.json").write_text(json.dumps(LANGS), encoding="utf-8")
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    cells, difficulty = tmp_path / "cells", tmp_path / "difficulty"
    cells.mkdir()
    difficulty.mkdir()
    rng = np.random.default_rng(0)
    for setting, p in (("none", 0.5), ("toy_lexical", 0.6), ("toy_relational", 0.55)):
        _cell(cells, setting, 13, {lang["code"]: rng.random(200) < p for lang in LANGS})
    for value, task in ((-0.5, "toy_lexical"), (-0.1, "toy_relational")):
        row = {"task": task, "model": "m", "seed": 13, "measures": {"neg_mean_pvi": value}}
        (difficulty / f"{task}.json").write_text(json.dumps(row), encoding="utf-8")
    loaded = harness(
        "ingest", "cells", "--db", "r.duckdb", "--difficulty", "difficulty", cwd=tmp_path
    )
    assert loaded.returncode == 0, loaded.stderr
    assert json.loads(loaded.stderr.strip().splitlines()[-1])["difficulty"] == 2
    analyzed = harness(
        "analyze", "--cells", "cells", "--difficulty", "difficulty", "--out", "a", cwd=tmp_path
    )
    assert analyzed.returncode == 0, analyzed.stderr
    assert "Gain over the baseline" in analyzed.stdout and "neg_mean_pvi" in analyzed.stdout
    assert (tmp_path / "a" / "metrics.json").is_file()
    bad = {"task": "nope", "model": "m", "seed": 13, "measures": {"neg_mean_pvi": 0.1}}
    (difficulty / "nope.json").write_text(json.dumps(bad), encoding="utf-8")
    refused = harness(
        "ingest", "cells", "--db", "r.duckdb", "--difficulty", "difficulty", cwd=tmp_path
    )
    assert refused.returncode == 2 and "unknown task 'nope'" in refused.stderr


def test_tasks_show_a_built_in_task_of_another_profile() -> None:
    out = harness("tasks", "show", "xnli")
    assert out.returncode == 0, out.stderr
    assert "not in this profile" in out.stdout and "kind: pair_classification" in out.stdout
    retrieval = harness("tasks", "show", "toy_retrieval")
    assert "grid.retrieval: scored from the encoders of none" in retrieval.stdout
