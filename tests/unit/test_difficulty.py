"""Difficulty measures: definitions on known inputs, and the stage end to end on a tiny model."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from harness.config import load_params
from harness.errors import HarnessError
from harness.metrics.difficulty import (
    cartography,
    hard_to_learn_share,
    mean_log_loss,
    pointwise_v_information,
)
from harness.results.schema import read_difficulty_file
from harness.results.stats import tiers
from harness.stages.difficulty import baseline_error, measure_task, null_examples
from harness.tasks import Registry
from tests.conftest import REPO, WORDS, kind_spec, write_jsonl


def test_mean_log_loss_is_in_bits() -> None:
    assert mean_log_loss(np.array([0.5, 0.25])) == pytest.approx(1.5)
    assert mean_log_loss(np.array([])) == float("inf")


def test_pvi_is_the_log_ratio_in_bits() -> None:
    model = np.array([1.0, 0.5, 0.25, 0.9])
    null = np.array([0.5, 0.5, 0.5, 0.3])
    assert pointwise_v_information(model, null) == pytest.approx([1.0, 0.0, -1.0, np.log2(3.0)])
    assert np.isfinite(pointwise_v_information(np.array([0.0]), np.array([0.5]))).all()


def test_cartography_and_hard_to_learn_share() -> None:
    probs = np.array(
        [
            [0.9, 0.1, 0.1, 0.2],
            [0.95, 0.1, 0.9, 0.2],
            [1.0, 0.1, 0.1, 0.2],
        ]
    )  # epochs x examples
    confidence, variability = cartography(probs)
    assert confidence == pytest.approx(probs.mean(axis=0))
    assert variability == pytest.approx(probs.std(axis=0))
    # example 0 easy, 1 and 3 hard to learn (low confidence, stable), 2 ambiguous (variable)
    assert hard_to_learn_share(confidence, variability, 0.5, 0.2) == pytest.approx(0.5)


def test_baseline_error_and_null_inputs() -> None:
    assert baseline_error({"dev": {"accuracy": 0.75}}, "accuracy") == pytest.approx(0.25)
    with pytest.raises(HarnessError, match="no dev 'f1'"):
        baseline_error({"dev": {"accuracy": 0.75}}, "f1")
    rows = [{"id": "a", "sentence1": "x y", "sentence2": "z", "label": "l"}]
    pair = kind_spec("pair_classification")
    assert null_examples(pair, rows) == [
        {"id": "a", "sentence1": "", "sentence2": "", "label": "l"}
    ]
    assert rows[0]["sentence1"] == "x y"  # the input is not modified


def test_tiers_are_quantile_groups_easiest_first() -> None:
    values = {"a": 0.1, "b": 0.5, "c": 0.9, "d": 0.3, "e": 0.7, "f": 1.1}
    assert tiers(values, 3) == {"a": 1, "d": 1, "b": 2, "e": 2, "c": 3, "f": 3}
    assert tiers({"x": 1.0, "y": 2.0, "z": 3.0}) == {"x": 1, "y": 2, "z": 3}
    assert set(tiers({"x": 1.0, "y": 1.0}, 2).values()) == {1, 2}  # ties broken by name


def test_unreadable_difficulty_file_says_what_to_do(tmp_path: Path) -> None:
    bad = tmp_path / "t.json"
    bad.write_text('{"task": "t", "measures": {"x": "NaN"}, "model": "m", "seed": 1}')
    with pytest.raises(HarnessError, match=r"measures\.x: Input should be a valid number"):
        read_difficulty_file(bad)
    bad.write_text('{"task": "t", "measures": {"x": NaN}, "model": "m", "seed": 1}')
    with pytest.raises(HarnessError, match=r"NaN is not a number .* rerun its stage"):
        read_difficulty_file(bad)
    bad.write_text("{")
    with pytest.raises(HarnessError, match="rerun its stage"):
        read_difficulty_file(bad)


def _tiny_encoder(tokenizer: Any, out: Path) -> None:
    import torch

    from harness.config import ModelParams
    from harness.model.encoders import new_mlm_model, write_phase

    torch.manual_seed(0)
    params = ModelParams(
        name="tiny",
        source="pretrain",
        hidden_size=32,
        num_layers=1,
        num_heads=2,
        intermediate_size=64,
        max_position=64,
        dropout=0.0,
    )
    model = new_mlm_model(params, tokenizer)
    model.roberta.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    write_phase(out, {"phase": 0})


def _task(root: Path, name: str, rule: str, n: int, seed: int) -> None:
    """A pair task; 'learnable': the label says whether sentence1 contains 'dog'; 'random':
    random labels."""
    rng = random.Random(seed)
    words = [w for w in WORDS.split() if w not in ("dog", ".")]

    def row(i: int) -> dict[str, Any]:
        has_dog = rng.random() < 0.5
        s1 = rng.sample(words, 4) + (["dog"] if has_dog else [])
        rng.shuffle(s1)
        label = ("yes" if has_dog else "no") if rule == "learnable" else rng.choice(["yes", "no"])
        return {
            "id": f"{i}",
            "sentence1": " ".join(s1),
            "sentence2": " ".join(rng.sample(words, 3)),
            "label": label,
        }

    write_jsonl(root / "data" / name / "train.jsonl", [row(i) for i in range(n)])
    write_jsonl(root / "data" / name / "dev.jsonl", [row(i) for i in range(n // 2)])
    spec = {
        "name": name,
        "role": "intermediate",
        "kind": "pair_classification",
        "source": {
            "type": "local",
            "path": f"data/{name}",
            "files": {"train": "train.jsonl", "dev": "dev.jsonl"},
        },
        "labels": ["yes", "no"],
        "metric": "accuracy",
    }
    (root / "tasks").mkdir(exist_ok=True)
    (root / "tasks" / f"{name}.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    phase1 = root / "enc" / name
    phase1.mkdir(parents=True)
    (phase1 / "phase.json").write_text(json.dumps({"phase": 1, "dev": {"accuracy": 0.8}}))


def test_measure_task_end_to_end(
    tmp_path: Path, tokenizer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A learnable task has more usable information than one with random labels; the file
    is complete, loads as database rows, and a rerun is bit-identical."""
    monkeypatch.chdir(tmp_path)
    _tiny_encoder(tokenizer, tmp_path / "enc" / "none")
    raw = yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8"))
    raw["paths"]["cache"] = None
    raw["task_dirs"] = [str(tmp_path / "tasks")]
    train = {"epochs": 4, "learning_rate": 3e-3, "batch_size": 16, "max_length": 32}
    raw["phase1"] = {"easy": train, "noise": train}
    raw["intermediate_inputs"] = {
        name: {"spec": f"tasks/{name}.yaml", "data": f"data/{name}"} for name in ("easy", "noise")
    }
    raw["grid"]["intermediate"] = ["none", "easy", "noise"]
    raw["difficulty"]["cartography_examples"] = 50
    raw["difficulty"]["train_examples"] = 200  # the other 40 select the epoch
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    params = load_params(tmp_path / "params.yaml")
    _task(tmp_path, "easy", "learnable", 240, 1)
    _task(tmp_path, "noise", "random", 240, 2)
    registry = Registry.load(params.task_dirs)
    results = {}
    for name in ("easy", "noise"):
        out = tmp_path / "results" / f"{name}.json"
        results[name] = measure_task(
            params, registry, name, tmp_path / "enc" / "none", tmp_path / "enc" / name, out
        )
    easy, noise = results["easy"], results["noise"]
    assert easy["measures"]["baseline_error"] == pytest.approx(0.2)
    assert set(easy["measures"]) == {"neg_mean_pvi", "baseline_error", "hard_to_learn"}
    assert easy["details"]["mean_pvi_bits"] > 0.3, easy["details"]
    assert easy["details"]["mean_pvi_bits"] > noise["details"]["mean_pvi_bits"] + 0.3
    assert easy["measures"]["hard_to_learn"] < noise["measures"]["hard_to_learn"]
    assert easy["details"]["epochs"] == 4 and easy["details"]["cartography_examples"] == 50
    assert easy["details"]["train_examples"] == 200 and easy["details"]["heldout_examples"] == 40
    assert 1 <= easy["details"]["selected_epoch"] <= 4
    assert 1 <= easy["details"]["selected_epoch_null"] <= 4
    rows = read_difficulty_file(tmp_path / "results" / "easy.json")
    assert ("easy", "neg_mean_pvi", easy["measures"]["neg_mean_pvi"], "toy-xlmr-tiny", 13) in rows
    again = measure_task(
        params,
        registry,
        "easy",
        tmp_path / "enc" / "none",
        tmp_path / "enc" / "easy",
        tmp_path / "again.json",
    )
    assert again["measures"] == easy["measures"]


def test_a_task_without_one_label_per_example_gets_its_baseline_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tagging intermediate task (CCG) has no PVI or cartography here: its difficulty file
    holds the baseline error and says why the others are missing, instead of failing the
    pipeline's difficulty stage."""
    monkeypatch.chdir(tmp_path)
    write_jsonl(tmp_path / "data/tags/train.jsonl", [{"tokens": ["a"], "tags": ["X"]}])
    write_jsonl(tmp_path / "data/tags/dev.jsonl", [{"tokens": ["a"], "tags": ["X"]}])
    spec = {
        "name": "tags", "role": "intermediate", "kind": "tagging", "labels": ["X", "Y"],
        "source": {"type": "local", "path": "data/tags",
                   "files": {"train": "train.jsonl", "dev": "dev.jsonl"}},
    }  # fmt: skip
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks/tags.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    raw = yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8"))
    raw["task_dirs"] = [str(tmp_path / "tasks")]
    raw["phase1"] = {"tags": {"epochs": 1, "learning_rate": 1e-3, "batch_size": 4, "max_length": 8}}
    raw["intermediate_inputs"] = {"tags": {"spec": "tasks/tags.yaml", "data": "data/tags"}}
    raw["grid"]["intermediate"] = ["none", "tags"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    params = load_params(tmp_path / "params.yaml")
    phase1 = tmp_path / "enc/tags"
    phase1.mkdir(parents=True)
    (phase1 / "phase.json").write_text(json.dumps({"phase": 1, "dev": {"f1": 0.75}}))
    out = tmp_path / "tags.json"
    result = measure_task(
        params, Registry.load(params.task_dirs), "tags", tmp_path / "none", phase1, out
    )
    assert result["measures"] == {"baseline_error": pytest.approx(0.25)}
    assert set(result["details"]["not_measured"]) == {"neg_mean_pvi", "hard_to_learn"}
    assert read_difficulty_file(out) == [("tags", "baseline_error", 0.25, "toy-xlmr-tiny", 13)]
