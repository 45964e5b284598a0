"""Best-checkpoint selection on English dev (``selection`` of a phase's TrainParams): the loop
keeps the best-scoring state, stops on patience, resumes its checks from a checkpoint, and the
stages record the selected step, its English dev score and the target-dev oracle."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from pydantic import ValidationError
from transformers import XLMRobertaConfig, XLMRobertaForSequenceClassification

from harness.config import Params, SelectionParams, TrainParams
from harness.data.sources import load_examples
from harness.errors import HarnessError
from harness.model.encoders import (
    load_tokenizer,
    read_phase,
)
from harness.model.heads import load_trained
from harness.model.predict import predict_and_score
from harness.model.train import Checkpointing, Selection, train
from harness.results.validate import validate_files
from harness.seeding import seed_everything
from harness.stages.evaluate import evaluate_cell
from harness.stages.phase1 import run_intermediate, run_phase1
from harness.stages.phase2 import run_target
from harness.tasks import Registry
from tests.conftest import tiny_pretrained, write_jsonl
from tests.reliability.test_resume import Crash, _collate, _features

# 22 examples, batch 4: 6 steps an epoch, 18 in all
PARAMS = TrainParams(epochs=3, learning_rate=1e-3, batch_size=4, max_length=16)


def _model() -> XLMRobertaForSequenceClassification:
    config = XLMRobertaConfig(
        vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=40, num_labels=3, pad_token_id=1,
        hidden_dropout_prob=0.2, attention_probs_dropout_prob=0.2,
    )  # fmt: skip
    return XLMRobertaForSequenceClassification(config)


def _weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _scripted(
    scores: list[float], model: torch.nn.Module, seen: list[dict[str, torch.Tensor]]
) -> Callable[[], float]:
    """A score function returning ``scores`` in turn, keeping the model's state at each call."""

    def score() -> float:
        assert not model.training  # checks score the model in eval mode
        seen.append(_weights(model))
        return scores[len(seen) - 1]

    return score


def _train(
    model: torch.nn.Module,
    selection: Selection | None,
    folder: Path | None = None,
    crash_after: int | None = None,
) -> Any:
    generator = seed_everything(7)
    calls = 0

    def collate(features: Any) -> dict[str, torch.Tensor]:
        nonlocal calls
        calls += 1
        if crash_after is not None and calls > crash_after:
            raise Crash
        return _collate(features)

    checkpointing = Checkpointing(folder, every_steps=2) if folder else None
    return train(
        model, _features(), collate, PARAMS, generator, "t", torch.device("cpu"),
        checkpointing, selection=selection,
    )  # fmt: skip


def test_the_model_ends_in_the_best_checks_state() -> None:
    seed_everything(7)
    model = _model()
    seen: list[dict[str, torch.Tensor]] = []
    scores = [0.2, 0.9, 0.5, 0.9, 0.1, 0.3]  # a tie with the best: the earlier check wins
    choose = Selection(every_steps=3, score=_scripted(scores, model, seen), metric="m", data="d")
    summary = _train(model, choose)
    record = summary.selection
    assert [c["step"] for c in record["checks"]] == [3, 6, 9, 12, 15, 18]
    assert [c["score"] for c in record["checks"]] == scores
    assert (record["selected_step"], record["selected_score"]) == (6, 0.9)
    assert summary.steps == 18 and record["stopped_early_at"] is None
    assert _same(_weights(model), seen[1])
    assert not _same(seen[1], seen[-1])  # the last step's model is a different one
    assert summary.as_dict()["selection"] == record


def test_the_last_step_is_always_checked() -> None:
    seed_everything(7)
    model = _model()
    seen: list[dict[str, torch.Tensor]] = []
    choose = Selection(
        every_steps=5, score=_scripted([0.1, 0.2, 0.3, 0.4], model, seen), metric="m", data="d"
    )
    record = _train(model, choose).selection
    assert [c["step"] for c in record["checks"]] == [5, 10, 15, 18]
    assert record["selected_step"] == 18 and _same(_weights(model), seen[-1])


def test_patience_ends_training_after_that_many_checks_without_a_better_score() -> None:
    seed_everything(7)
    model = _model()
    seen: list[dict[str, torch.Tensor]] = []
    scores = [0.5, 0.6, 0.6, 0.4, 0.9, 0.9]  # an equal score is no improvement
    choose = Selection(
        every_steps=3, score=_scripted(scores, model, seen), metric="m", data="d", patience=2
    )
    summary = _train(model, choose)
    assert summary.steps == 12 and len(seen) == 4
    assert summary.selection["stopped_early_at"] == 12
    assert summary.selection["selected_step"] == 6 and _same(_weights(model), seen[1])


def test_without_selection_the_last_steps_model_is_kept() -> None:
    seed_everything(7)
    plain = _model()
    summary = _train(plain, None)
    assert summary.selection is None and "selection" not in summary.as_dict()
    seed_everything(7)
    selected = _model()
    always_better = iter(range(100))
    _train(
        selected, Selection(every_steps=4, score=lambda: next(always_better), metric="m", data="d")
    )
    # checks score in eval mode without touching an RNG: the run learns exactly the same
    assert _same(_weights(plain), _weights(selected))


def _weight_score(model: torch.nn.Module) -> Callable[[], float]:
    """A score that is a function of the weights, so a resumed run scores as the original."""
    return lambda: float(model.classifier.out_proj.weight[0].sum())  # type: ignore[operator]


def _choose(model: torch.nn.Module) -> Selection:
    """Selection by one function of the weights, the oracle by others."""
    head = model.classifier.out_proj.weight  # type: ignore[union-attr]
    return Selection(
        3, _weight_score(model), "m", "d", patience=3,
        observe=lambda: {"xx": float(head[1].sum()), "yy": float(head[2].sum())},
    )  # fmt: skip


def test_a_resumed_run_selects_as_the_uninterrupted_one(tmp_path: Path) -> None:
    seed_everything(7)
    reference = _model()
    expected = _train(reference, _choose(reference))
    assert expected.oracle_state is not None
    for crash_after in (5, 9, 11):  # the run stops at step 12
        folder = tmp_path / f"c{crash_after}"
        seed_everything(7)
        first = _model()
        with pytest.raises(Crash):
            _train(first, _choose(first), folder, crash_after)
        seed_everything(7)
        resumed = _model()
        summary = _train(resumed, _choose(resumed), folder)
        assert summary.resumed_from_step > 0
        assert summary.selection == expected.selection
        assert _same(_weights(resumed), _weights(reference))
        assert summary.oracle_state is not None
        assert _same(summary.oracle_state, expected.oracle_state)


def test_the_oracle_is_the_check_with_the_best_mean_target_dev_score() -> None:
    seed_everything(7)
    model = _model()
    seen: list[dict[str, torch.Tensor]] = []
    target = iter([
        {"de": 0.1, "fr": 0.3}, {"de": 0.6, "fr": 0.2}, {"de": 0.5, "fr": 0.5},
        {"de": 0.9, "fr": 0.0}, {"de": 0.1, "fr": 0.1}, {"de": 0.2, "fr": 0.2},
    ])  # fmt: skip
    choose = Selection(
        3, _scripted([0.5, 0.9, 0.1, 0.2, 0.3, 0.4], model, seen), "m", "d",
        observe=lambda: next(target),
    )  # fmt: skip
    summary = _train(model, choose)
    record = summary.selection
    assert record["selected_step"] == 6  # selection is by English dev only
    assert summary.oracle_state is not None and _same(summary.oracle_state, seen[2])
    assert record["oracle"] == {
        "step": 9, "target_dev_mean": 0.5, "target_dev": {"de": 0.5, "fr": 0.5}, "english_dev": 0.1
    }  # fmt: skip
    assert _same(_weights(model), seen[1])


def test_selection_settings_are_validated() -> None:
    assert SelectionParams().every_steps == 0  # off unless asked for
    with pytest.raises(ValidationError):
        SelectionParams(every_steps=-1)
    with pytest.raises(ValidationError):
        SelectionParams.model_validate({"every_steps": 10, "dev": "french"})
    with pytest.raises(ValidationError):
        SelectionParams.model_validate({"every_steps": 10, "patiences": 3})
    with pytest.raises(ValueError, match="positive"):
        Selection(every_steps=0, score=lambda: 0.0, metric="m", data="d")


# --- the stages ---------------------------------------------------------------------------


def _rows(n: int, offset: int = 0) -> list[dict[str, Any]]:
    words = ["red", "blue", "green"]
    return [
        {"sentence1": f"the {words[(i + offset) % 3]} thing", "label": words[(i + offset) % 3]}
        for i in range(n)
    ]


@pytest.fixture
def project(tmp_path: Path, tokenizer: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.chdir(tmp_path)
    write_jsonl(tmp_path / "data/inter/train.jsonl", _rows(16))
    write_jsonl(tmp_path / "data/inter/dev.jsonl", _rows(9, 1))
    write_jsonl(tmp_path / "data/tgt/train.jsonl", _rows(12))
    for language in ("en", "xx", "yy"):
        write_jsonl(tmp_path / f"data/tgt/dev.{language}.jsonl", _rows(6, 2))
        write_jsonl(tmp_path / f"data/tgt/test.{language}.jsonl", _rows(5))
    local = {"type": "local", "path": "data/inter", "format": "jsonl"}
    specs = {
        "t_inter": {
            "name": "t_inter", "role": "intermediate", "kind": "classification",
            "source": {**local, "files": {"train": "train.jsonl", "dev": "dev.jsonl"}},
            "labels": ["red", "blue", "green"],
        },
        "t_tgt": {
            "name": "t_tgt", "role": "target", "kind": "classification",
            "xtreme_group": "classification", "languages": ["en", "xx", "yy"],
            "source": {**local, "path": "data/tgt", "files": {
                "train": "train.jsonl", "dev": "dev.{language}.jsonl",
                "test": "test.{language}.jsonl"}},
            "labels": ["red", "blue", "green"],
        },
    }  # fmt: skip
    (tmp_path / "specs").mkdir()
    for name, spec in specs.items():
        (tmp_path / "specs" / f"{name}.yaml").write_text(yaml.safe_dump(spec))
    model_params = tiny_pretrained(tmp_path, tokenizer)
    encoder = tmp_path / "encoders" / "none"
    train = {"epochs": 2, "learning_rate": 1e-3, "batch_size": 4, "max_length": 32}
    raw = {
        "profile": "toy", "seed": 3, "paths": {"cache": str(tmp_path / "cache")},
        "model": model_params.model_dump(), "pretrain": train,
        "grid": {"intermediate": ["none", "t_inter"], "target": ["t_tgt"]},
        "phase1": {"t_inter": {**train, "selection": {"every_steps": 2, "subset": 4}}},
        "phase2": {"t_tgt": {**train, "selection": {"every_steps": 2, "oracle": True}}},
        "evaluation": {"max_length": 32, "splits": ["test"]}, "task_dirs": ["specs"],
    }  # fmt: skip
    params = Params.model_validate(raw)
    return {"params": params, "raw": raw, "registry": Registry.load(params.task_dirs),
            "encoder": encoder}  # fmt: skip


def test_stages_select_and_the_result_file_records_both_phases(
    project: dict[str, Any], tmp_path: Path
) -> None:
    params, registry = project["params"], project["registry"]
    inter = tmp_path / "encoders/t_inter"
    info = run_intermediate(params, registry, "t_inter", project["encoder"], inter)
    chosen = info["train"]["selection"]
    assert chosen["data"] == "t_inter dev en (first 4)" and chosen["metric"] == "accuracy"
    assert [c["step"] for c in chosen["checks"]] == [2, 4, 6, 8]  # 16 examples / 4, 2 epochs
    assert "oracle" not in chosen  # an intermediate task has no target languages
    target = tmp_path / "models/t_inter-t_tgt"
    info = run_target(params, registry, "t_inter", "t_tgt", inter, target)
    chosen = info["train"]["selection"]
    assert [c["step"] for c in chosen["checks"]] == [2, 4, 6]  # 12 examples / 4, 2 epochs
    assert all(set(c["target_dev"]) == {"xx", "yy"} for c in chosen["checks"])
    assert chosen["oracle"]["step"] in {2, 4, 6}
    result = evaluate_cell(params, registry, "t_inter", "t_tgt", target, tmp_path / "r.json")
    recorded = result["provenance"]["selection"]
    assert recorded["phase2"]["selected_step"] == chosen["selected_step"]
    assert recorded["phase2"]["selected_score"] == chosen["selected_score"]
    assert recorded["phase2"]["oracle"] == chosen["oracle"]
    assert recorded["phase2"]["checks"] == 3
    assert recorded["phase1"]["data"] == "t_inter dev en (first 4)"
    # the oracle's model is saved beside the selected one and scored on test as test_oracle
    assert (target / "oracle" / "config.json").is_file()
    assert read_phase(target)["oracle_model"] == "oracle"
    by_split: dict[str, set[str]] = {}
    for row in result["scores"]:
        by_split.setdefault(row["split"], set()).add(row["language"])
    assert by_split == {"test": {"en", "xx", "yy"}, "test_oracle": {"en", "xx", "yy"}}
    oracle = load_trained(target / "oracle", registry.get("t_tgt"))
    direct = predict_and_score(
        oracle, load_tokenizer(target), registry.get("t_tgt"),
        load_examples(registry.get("t_tgt"), "test", "xx"), 8, 32, "d", language="xx",
    )  # fmt: skip
    stored = {
        r["metric"]: r["value"] for r in result["scores"]
        if r["split"] == "test_oracle" and r["language"] == "xx"
    }  # fmt: skip
    assert stored == pytest.approx(direct)
    # test_oracle is a split the validation knows, complete over the target's languages
    registry_specs = [registry.get("t_tgt"), registry.get("t_inter")]
    report = validate_files([tmp_path / "r.json"], ["en", "xx", "yy"], registry_specs)
    text = report.as_text(tmp_path / "r.json")
    # the one failed check: this folder is no git checkout, so the run has no commit
    assert "1 failed check" in text and "git_commit" in text and "split" not in text


def test_selecting_on_a_dev_split_that_is_not_there_is_refused(
    project: dict[str, Any], tmp_path: Path
) -> None:
    raw = project["raw"]
    raw["phase2"]["t_tgt"]["selection"] = {"every_steps": 2, "dev": "target"}
    (tmp_path / "data/tgt/dev.en.jsonl").unlink()
    params = Params.model_validate(raw)
    with pytest.raises(HarnessError, match=r"dev\.en\.jsonl"):
        run_target(params, project["registry"], "none", "t_tgt", project["encoder"], tmp_path / "m")


def test_without_selection_the_result_file_has_no_selection(
    project: dict[str, Any], tmp_path: Path
) -> None:
    raw = project["raw"]
    raw["phase2"]["t_tgt"].pop("selection")
    params = Params.model_validate(raw)
    target = tmp_path / "m"
    info = run_target(params, project["registry"], "none", "t_tgt", project["encoder"], target)
    assert "selection" not in info["train"]
    result = evaluate_cell(
        params, project["registry"], "none", "t_tgt", target, tmp_path / "r.json"
    )
    assert "selection" not in result["provenance"]


def test_warmup_steps_replace_the_ratio(monkeypatch: pytest.MonkeyPatch) -> None:
    """XTREME's QA script warms up for 500 steps, not a share of them (``warmup_steps``)."""
    import harness.model.train as loop

    seen: list[tuple[int, int]] = []
    real = loop.get_linear_schedule_with_warmup

    def record(optimizer: Any, warmup: int, total: int) -> Any:
        seen.append((warmup, total))
        return real(optimizer, warmup, total)

    monkeypatch.setattr(loop, "get_linear_schedule_with_warmup", record)
    for params in (PARAMS, PARAMS.model_copy(update={"warmup_steps": 5}),
                   PARAMS.model_copy(update={"warmup_steps": 500})):  # fmt: skip
        seed_everything(7)
        train(_model(), _features(), _collate, params, seed_everything(7), "t", torch.device("cpu"))
    assert seen == [(2, 18), (5, 18), (18, 18)]  # 10 % of 18 rounds to 2; capped at the total
    # a setting added later is left out of the parameter hashes while it has its default
    assert "warmup_steps" not in PARAMS.model_dump() and "selection" not in PARAMS.model_dump()
    assert PARAMS.model_copy(update={"warmup_steps": 5}).model_dump()["warmup_steps"] == 5


def test_a_multitask_setting_selects_on_the_mean_of_its_tasks_dev_scores(
    project: dict[str, Any], tmp_path: Path
) -> None:
    spec = yaml.safe_load((tmp_path / "specs/t_inter.yaml").read_text())
    (tmp_path / "specs/t_inter2.yaml").write_text(yaml.safe_dump({**spec, "name": "t_inter2"}))
    raw = project["raw"]
    raw["grid"]["intermediate"] = ["none", "both"]
    raw["phase1"] = {}
    raw["multitask"] = {
        "both": {
            "tasks": ["t_inter", "t_inter2"], "epochs": 1, "learning_rate": 1e-3,
            "batch_size": 4, "max_length": 32, "specs": "specs", "data": "data",
            "selection": {"every_steps": 3},
        }
    }  # fmt: skip
    params = Params.model_validate(raw)
    info = run_phase1(params, Registry.load(params.task_dirs), "both", project["encoder"],
                      tmp_path / "encoders/both")  # fmt: skip
    chosen = info["train"]["selection"]
    assert chosen["metric"] == "mean of t_inter accuracy, t_inter2 accuracy"
    assert [c["step"] for c in chosen["checks"]][-1] == info["train"]["steps"]
    assert chosen["selected_step"] in [c["step"] for c in chosen["checks"]]
