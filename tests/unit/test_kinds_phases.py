"""Phase 2 and evaluation of the new kinds: a multiple-choice target trained on two English
stages in order (as XCOPA: SIQA with three choices, then COPA with two) and an extractive-QA
target, each evaluated by ``evaluate_cell`` into a result file with per-example statistics."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.config import Params
from harness.errors import HarnessError
from harness.model.encoders import read_phase
from harness.results.schema import examples_path
from harness.stages.evaluate import evaluate_cell
from harness.stages.phase1 import run_intermediate
from harness.stages.phase2 import run_target
from harness.tasks import Registry
from tests.conftest import tiny_pretrained, write_jsonl


def _local(path: str, files: dict[str, str]) -> dict[str, Any]:
    return {"type": "local", "path": path, "format": "jsonl", "files": files}


def _choice_rows(n: int, k: int) -> list[dict[str, Any]]:
    rows = []
    for i in range(n):
        right = i % k
        choices = ["the big dog", "a small cat", "the teacher"][:k]
        choices[right] = "the red river"
        rows.append({"premise": "Anna saw", "question": "what ?", "choices": choices,
                     "label": right})  # fmt: skip
    return rows


@pytest.fixture
def setup(tmp_path: Path, tokenizer: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.chdir(tmp_path)
    write_jsonl(tmp_path / "data/siqa/train.jsonl", _choice_rows(12, 3))
    write_jsonl(tmp_path / "data/copa/train.jsonl", _choice_rows(8, 2))
    for language in ("en", "xx"):
        write_jsonl(tmp_path / f"data/xcopa/test.{language}.jsonl", _choice_rows(6, 2))
    qa = [
        {"context": f"the teacher saw {name} near the river .", "question": "who saw ?",
         "answers": {"text": [name], "answer_start": [16]}}
        for name in ("Anna Berg", "the dog", "a cat", "New Harbor")
    ]  # fmt: skip
    write_jsonl(tmp_path / "data/qa/train.jsonl", qa)
    write_jsonl(tmp_path / "data/qa/test.en.jsonl", qa)
    specs = {
        "t_xcopa": {
            "name": "t_xcopa", "role": "target", "kind": "multiple_choice",
            "source": _local("data/xcopa", {"test": "test.{language}.jsonl"}),
            "columns": {"context": "premise"}, "languages": ["en", "xx"],
            "labels": ["0", "1"], "xtreme_group": "classification",
            "english_training": [
                {"name": "siqa", "source": _local("data/siqa", {"train": "train.jsonl"}),
                 "labels": ["0", "1", "2"]},
                {"name": "copa", "source": _local("data/copa", {"train": "train.jsonl"})},
            ],
        },
        "t_squad": {
            "name": "t_squad", "role": "intermediate", "kind": "extractive_qa",
            "source": _local("data/qa", {"train": "train.jsonl", "dev": "train.jsonl"}),
        },
        "t_qa": {
            "name": "t_qa", "role": "target", "kind": "extractive_qa", "xtreme_group": "qa",
            "source": _local("data/qa", {"train": "train.jsonl", "dev": "train.jsonl",
                                         "test": "test.{language}.jsonl"}),
        },
    }  # fmt: skip
    (tmp_path / "specs").mkdir()
    for name, spec in specs.items():
        (tmp_path / "specs" / f"{name}.yaml").write_text(yaml.safe_dump(spec))
    model_params = tiny_pretrained(tmp_path, tokenizer)
    encoder = tmp_path / "encoders" / "none"
    train = {"epochs": 1, "learning_rate": 1e-3, "batch_size": 4, "max_length": 32}
    params = Params.model_validate(
        {
            "profile": "toy",
            "seed": 3,
            "paths": {"cache": str(tmp_path / "cache")},
            "model": model_params.model_dump(),
            "pretrain": train,
            "grid": {"intermediate": ["none", "t_squad"], "target": ["t_xcopa", "t_qa"]},
            "phase1": {"t_squad": {**train, "doc_stride": 4, "max_query_length": 8}},
            "phase2": {
                "t_xcopa": train,
                "t_qa": {**train, "doc_stride": 4, "max_query_length": 8},
            },
            "evaluation": {"max_length": 32, "splits": ["test"]},
            "task_dirs": ["specs"],
        }
    )  # fmt: skip
    return {"params": params, "registry": Registry.load(params.task_dirs), "encoder": encoder}


def test_stages_train_in_order_and_cells_evaluate(setup: dict[str, Any], tmp_path: Path) -> None:
    params, registry, encoder = setup["params"], setup["registry"], setup["encoder"]
    out = tmp_path / "models/target/none-t_xcopa"
    info = run_target(params, registry, "none", "t_xcopa", encoder, out)
    stages = info["train"]["stages"]
    assert [s["examples_seen"] for s in stages] == [12, 8]  # SIQA (3 choices), then COPA (2)
    assert read_phase(out)["phase"] == 2
    result = evaluate_cell(params, registry, "none", "t_xcopa", out, tmp_path / "r/x.json")
    assert {(s["language"], s["metric"]) for s in result["scores"]} == {
        ("en", "accuracy"), ("xx", "accuracy")
    }  # fmt: skip
    lines = examples_path(tmp_path / "r/x.json").read_text().splitlines()
    assert all(len(json.loads(line)["stats"]) == 6 for line in lines)

    qa_out = tmp_path / "models/target/none-t_qa"
    run_target(params, registry, "none", "t_qa", encoder, qa_out)
    preds = tmp_path / "predictions"
    result = evaluate_cell(params, registry, "none", "t_qa", qa_out, tmp_path / "r/q.json", preds)
    metrics = {s["metric"]: s["value"] for s in result["scores"]}
    # every test example's answer text, in test order (the export's input)
    written = [json.loads(line) for line in (preds / "t_qa" / "en.jsonl").open()]
    assert len(written) == 4 == int(result["scores"][0]["n_examples"])
    assert all(isinstance(row["prediction"], str) and row["id"] for row in written)
    assert set(metrics) == {"exact_match", "f1"} and all(0 <= v <= 1 for v in metrics.values())
    rows = {
        json.loads(line)["metric"]: json.loads(line)["stats"]
        for line in examples_path(tmp_path / "r/q.json").read_text().splitlines()
    }
    assert sum(r[0] for r in rows["f1"]) / 4 == pytest.approx(metrics["f1"])


def test_bad_doc_stride_is_refused_before_training(setup: dict[str, Any], tmp_path: Path) -> None:
    raw = setup["params"].model_dump(mode="json")
    raw["phase2"]["t_qa"]["doc_stride"] = 64
    params = Params.model_validate(raw)
    with pytest.raises(HarnessError, match="doc_stride"):
        run_target(params, setup["registry"], "none", "t_qa", setup["encoder"], tmp_path / "m")


def test_a_qa_intermediate_task_trains_and_reports_its_dev_score(
    setup: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "encoders/t_squad"
    info = run_intermediate(setup["params"], setup["registry"], "t_squad", setup["encoder"], out)
    assert set(info["dev"]) == {"exact_match", "f1"}
    assert read_phase(out)["phase"] == 1
    assert (out / "config.json").is_file()


def test_heads_ignore_the_label_set_an_encoder_carries(
    setup: dict[str, Any], tmp_path: Path
) -> None:
    """An encoder saved after phase 1 on a 3-way task has 3 labels in its config; a QA head on
    it still has two outputs (start, end) and a multiple-choice head one score per choice."""
    from transformers import AutoConfig

    from harness.model.heads import head_model

    encoder = tmp_path / "encoder3"
    shutil.copytree(setup["encoder"], encoder)
    config = AutoConfig.from_pretrained(str(encoder))
    config.num_labels = 3
    config.save_pretrained(str(encoder))
    registry = setup["registry"]
    qa = head_model(encoder, registry.get("t_qa"), 0)
    assert qa.qa_outputs.out_features == 2
    mc = head_model(encoder, registry.get("t_xcopa"), 0)
    assert mc.classifier.out_features == 1
