"""`harness submit` and multi-task training in a real (shrunken) toy pipeline, in a fresh copy
of the repository: after a full `dvc repro`, submitting a new intermediate task makes the next
`dvc repro` run only that task's stages (and ingest), leaves every earlier result byte for byte
as it was, and the leaderboard lists the new task; the multi-task setting has its own scores.

The copy's params.yaml is shrunk (small toy data, one epoch, one target task) to keep CPU time
low; the code paths are the ones the full toy profile runs.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
import yaml

from tests.integration.test_toy_pipeline import copy_repository, run

pytestmark = pytest.mark.integration

TRAIN = {"epochs": 1, "learning_rate": 5.0e-4, "batch_size": 32, "max_length": 64}


def shrink(ws: Path) -> None:
    params = yaml.safe_load((ws / "params.yaml").read_text())
    params["toy_data"].update(
        corpus_sentences=1500,
        intermediate_train=300,
        intermediate_dev=60,
        target_train=200,
        target_dev=60,
        target_test=60,
    )
    params["pretrain"]["epochs"] = 1
    params["grid"] = {
        "intermediate": ["none", "toy_lexical", "toy_relational", "toy_multi"],
        "target": ["toy_nli"],
        "retrieval": [],
        "seeds": [13],
    }
    params["phase1"] = {"toy_lexical": TRAIN, "toy_relational": TRAIN}
    params["phase2"] = {"toy_nli": TRAIN}
    inputs = params["intermediate_inputs"]
    params["intermediate_inputs"] = {k: inputs[k] for k in ("toy_lexical", "toy_relational")}
    params["multitask"] = {
        "toy_multi": {
            **TRAIN,
            "tasks": ["toy_lexical", "toy_relational"],
            "sampling": "temperature",
            "temperature": 2.0,
            "specs": "harness/tasks/builtin",
            "data": "data/toy/tasks",
        }
    }
    (ws / "params.yaml").write_text(yaml.safe_dump(params, default_flow_style=None))


def ran(out: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", out))


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = tmp_path_factory.mktemp("submit_ws")
    copy_repository(ws)
    shrink(ws)
    run([sys.executable, "-m", "harness", "data", "--no-verify"], ws)
    first = run(["dvc", "repro"], ws)
    assert "multitask@toy_multi" in ran(first.stdout)
    return ws


def board(ws: Path) -> list[dict]:
    out = run([sys.executable, "-m", "harness", "leaderboard", "--json"], ws)
    rows: list[dict] = json.loads(out.stdout)
    return rows


def test_multitask_setting_has_its_own_scores(workspace: Path) -> None:
    phase = json.loads((workspace / "models/encoders/toy_multi/phase.json").read_text())
    assert set(phase["dev"]) == {"toy_lexical", "toy_relational"}
    assert sum(phase["multitask"]["examples_per_epoch"].values()) == 600
    rows = {row["intermediate"]: row for row in board(workspace)}
    assert {"none", "toy_lexical", "toy_relational", "toy_multi"} <= set(rows)
    cell = json.loads((workspace / "results/cells/toy_multi-toy_nli-s13.json").read_text())
    base = json.loads((workspace / "results/cells/none-toy_nli-s13.json").read_text())
    assert cell["intermediate_task"] == "toy_multi"
    assert cell["run_id"] != base["run_id"]
    # its own phase 2, from its own encoder (in this shrunk profile, one epoch on 200 examples,
    # every cell may predict one class, so the scores alone need not differ)
    weights = [
        (workspace / f"models/phase2/{name}-toy_nli-s13/model.safetensors").read_bytes()
        for name in ("toy_multi", "none")
    ]
    assert weights[0] != weights[1]
    assert "models/encoders/toy_multi" in json.dumps(
        json.loads((workspace / "models/phase2/toy_multi-toy_nli-s13/phase.json").read_text())
    )


def test_submitted_task_runs_only_its_own_stages(workspace: Path) -> None:
    ws = workspace
    before = {p.name: p.read_bytes() for p in (ws / "results/cells").glob("*.json")}
    # a new intermediate task: toy_lexical's data with the labels swapped
    folder = ws / "data/submitted/toy_flip"
    folder.mkdir(parents=True)
    for split in ("train", "dev"):
        rows = [
            json.loads(line)
            for line in (ws / f"data/toy/tasks/toy_lexical/{split}.jsonl").read_text().splitlines()
        ]
        for row in rows:
            row["label"] = {"same": "different", "different": "same"}[row["label"]]
        (folder / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    spec = {
        "name": "toy_flip",
        "role": "intermediate",
        "kind": "pair_classification",
        "description": "toy_lexical with the labels swapped",
        "source": {
            "type": "local",
            "path": "data/submitted/toy_flip",
            "files": {"train": "train.jsonl", "dev": "dev.jsonl"},
        },
        "labels": ["same", "different"],
    }
    (ws / "toy_flip.yaml").write_text(yaml.safe_dump(spec))
    dry = run([sys.executable, "-m", "harness", "submit", "toy_flip.yaml", "--dry-run"], ws)
    assert "intermediate@toy_flip" in dry.stdout
    # the shrunk toy data differs from the snapshot pinned in data.dvc (and the new task's data
    # lies under data/ too): that is data.dvc's status, not a stage's
    pinned = {"data.dvc"}
    assert set(json.loads(run(["dvc", "status", "--json"], ws).stdout)) <= pinned
    run([sys.executable, "-m", "harness", "submit", "toy_flip.yaml", "--epochs", "1"], ws)
    status = json.loads(run(["dvc", "status", "--json"], ws).stdout)
    expected = {
        "intermediate@toy_flip",
        "difficulty@toy_flip",
        "target@toy_flip-toy_nli-13",
        "evaluate@toy_flip-toy_nli-13",
    }
    assert set(status) - pinned == expected, status
    again = run(["dvc", "repro"], ws)
    assert ran(again.stdout) == expected | {"ingest", "analyze"}
    after = {p.name: p.read_bytes() for p in (ws / "results/cells").glob("*.json")}
    assert set(after) == set(before) | {"toy_flip-toy_nli-s13.json"}
    assert all(after[name] == content for name, content in before.items())
    assert "toy_flip" in {row["intermediate"] for row in board(ws)}
    assert set(json.loads(run(["dvc", "status", "--json"], ws).stdout)) <= pinned
    listed = run([sys.executable, "-m", "harness", "tasks", "list"], ws).stdout
    assert re.search(r"toy_flip\s+intermediate.*in grid\s+tasks/toy_flip\.yaml", listed)
