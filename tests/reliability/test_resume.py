"""Crash and resume: a training run killed at a random step resumes from its last checkpoint and
ends bit-identical (CPU) to an uninterrupted run."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import torch
from transformers import XLMRobertaConfig, XLMRobertaForSequenceClassification

from harness.config import TrainParams
from harness.io import MANIFEST
from harness.model.train import Checkpointing, train
from harness.seeding import seed_everything
from tests.reliability.conftest import copy_project, harness

PARAMS = TrainParams(epochs=3, learning_rate=1e-3, batch_size=4, max_length=16)


class Crash(Exception):
    pass


def _features(n: int = 22) -> list[tuple[list[int], int]]:
    rng = random.Random(5)
    return [([rng.randrange(5, 60) for _ in range(rng.randrange(3, 12))], i % 3) for i in range(n)]


def _collate(features: Sequence[tuple[list[int], int]]) -> dict[str, torch.Tensor]:
    width = max(len(ids) for ids, _ in features)
    ids = torch.ones((len(features), width), dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, (tokens, _) in enumerate(features):
        ids[row, : len(tokens)] = torch.tensor(tokens)
        mask[row, : len(tokens)] = 1
    labels = torch.tensor([label for _, label in features])
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def _run(
    folder: Path | None,
    params: TrainParams = PARAMS,
    crash_after: int | None = None,
    dropout: float = 0.2,
) -> tuple[dict[str, torch.Tensor], Any]:
    """Seed, build a tiny classifier (dropout on, so the torch RNG matters) and train it; with
    ``crash_after``, the run dies when fetching that many batches."""
    generator = seed_everything(7)
    config = XLMRobertaConfig(
        vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=40, num_labels=3, pad_token_id=1,
        hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout,
    )  # fmt: skip
    model = XLMRobertaForSequenceClassification(config)
    calls = 0

    def collate(features: Sequence[tuple[list[int], int]]) -> dict[str, torch.Tensor]:
        nonlocal calls
        calls += 1
        if crash_after is not None and calls > crash_after:
            raise Crash
        return _collate(features)

    checkpointing = Checkpointing(folder, every_steps=2) if folder else None
    summary = train(
        model, _features(), collate, params, generator, "t", torch.device("cpu"), checkpointing
    )
    return {k: v.clone() for k, v in model.state_dict().items()}, summary


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def reference() -> dict[str, torch.Tensor]:
    weights, summary = _run(None)
    assert summary.steps == 18  # 22 examples / 4 per step = 6 steps x 3 epochs
    return weights


def test_checkpointing_itself_changes_nothing(
    tmp_path: Path, reference: dict[str, torch.Tensor]
) -> None:
    weights, summary = _run(tmp_path / "ckpt")
    assert summary.resumed_from_step == 0
    assert _same(weights, reference)
    kept = sorted(p.name for p in (tmp_path / "ckpt").iterdir())
    assert kept == ["step-000000014", "step-000000016"]  # the newest two of every 2 steps


@pytest.mark.parametrize("crash_after", random.Random(10).sample(range(3, 18), 6))
def test_crash_at_a_random_step_then_resume_is_bit_identical(
    tmp_path: Path, reference: dict[str, torch.Tensor], crash_after: int
) -> None:
    folder = tmp_path / "ckpt"
    with pytest.raises(Crash):
        _run(folder, crash_after=crash_after)
    weights, summary = _run(folder)
    assert summary.resumed_from_step == crash_after - crash_after % 2
    assert summary.steps == 18
    assert _same(weights, reference)


def test_grad_accumulation_resume(tmp_path: Path) -> None:
    params = PARAMS.model_copy(update={"grad_accumulation": 2, "batch_size": 2})
    expected, _ = _run(None, params)
    with pytest.raises(Crash):
        _run(tmp_path, params, crash_after=13)
    weights, summary = _run(tmp_path, params)
    assert summary.resumed_from_step == 6
    assert _same(weights, expected)


def test_corrupt_newest_checkpoint_falls_back_to_the_previous_one(
    tmp_path: Path, reference: dict[str, torch.Tensor], capfd: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(Crash):
        _run(tmp_path, crash_after=11)
    newest, previous = sorted(tmp_path.glob("step-*"), reverse=True)
    state = newest / "state.pt"
    state.write_bytes(state.read_bytes()[:1000])  # truncated
    weights, summary = _run(tmp_path)
    assert summary.resumed_from_step == int(previous.name.split("-")[1])
    assert _same(weights, reference)
    err = capfd.readouterr().err
    assert f"ignoring corrupt checkpoint '{newest}'" in err and "state.pt" in err


@pytest.mark.parametrize("damage", ["flip a byte", "delete manifest", "extra file", "bad meta"])
def test_every_corrupt_checkpoint_is_skipped(
    tmp_path: Path, reference: dict[str, torch.Tensor], damage: str
) -> None:
    with pytest.raises(Crash):
        _run(tmp_path, crash_after=9)
    for folder in tmp_path.glob("step-*"):
        state = folder / "state.pt"
        if damage == "flip a byte":
            data = bytearray(state.read_bytes())
            data[len(data) // 2] ^= 0xFF
            state.write_bytes(bytes(data))
        elif damage == "delete manifest":
            (folder / MANIFEST).unlink()
        elif damage == "extra file":
            (folder / "junk.pt").write_bytes(b"x")
        else:
            (folder / "meta.json").write_text("{", encoding="utf-8")
    weights, summary = _run(tmp_path)
    assert summary.resumed_from_step == 0  # nothing trusted: started from scratch
    assert _same(weights, reference)


def test_checkpoint_of_another_run_is_not_resumed(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(Crash):
        _run(tmp_path, crash_after=9)
    other = PARAMS.model_copy(update={"learning_rate": 5e-4})
    expected, _ = _run(None, other)
    weights, summary = _run(tmp_path, other)
    assert summary.resumed_from_step == 0
    assert _same(weights, expected)
    assert "belongs to a different run" in capfd.readouterr().err


def test_a_checkpoint_of_another_thread_count_is_not_resumed(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """Killed under one CPU thread, rerun under two (``compute.threads``): the reduction order
    differs, so resuming would give a result equal to no uninterrupted run; it starts fresh and
    says why."""
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        with pytest.raises(Crash):
            _run(tmp_path, crash_after=9)
        torch.set_num_threads(2)
        expected, _ = _run(None)
        weights, summary = _run(tmp_path)
    finally:
        torch.set_num_threads(before)
    assert summary.resumed_from_step == 0
    assert _same(weights, expected)
    assert "compute context changed: threads 1 -> 2" in capfd.readouterr().err


def test_a_checkpoint_of_another_dropout_rate_is_not_resumed(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """The dropout rate lives in the model's modules, not in its weights or the training
    parameters: a run with another rate must not resume the first run's checkpoint."""
    with pytest.raises(Crash):
        _run(tmp_path, crash_after=9, dropout=0.2)
    expected, _ = _run(None, dropout=0.1)
    weights, summary = _run(tmp_path, dropout=0.1)
    assert summary.resumed_from_step == 0
    assert _same(weights, expected)
    assert "belongs to a different run" in capfd.readouterr().err


def test_interrupted_checkpoint_write_is_discarded(
    tmp_path: Path, reference: dict[str, torch.Tensor]
) -> None:
    with pytest.raises(Crash):
        _run(tmp_path, crash_after=9)
    partial = tmp_path / ".step-000000010.partial"  # as a kill during the write leaves it
    partial.mkdir()
    (partial / "state.pt").write_bytes(b"half")
    weights, summary = _run(tmp_path)
    assert summary.resumed_from_step == 8
    assert _same(weights, reference)
    assert not partial.exists()


TARGET = ["target", "--task", "toy_nli", "--intermediate", "none", "--out"]


def _evaluate(project: Path, model: str, out: str) -> list[dict[str, Any]]:
    done = harness(
        "evaluate", "--task", "toy_nli", "--intermediate", "none", "--model", model, "--out",
        out, cwd=project,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    scores: list[dict[str, Any]] = json.loads((project / out).read_text())["scores"]
    return scores


def test_sigkill_at_random_steps_then_rerun_is_bit_identical(
    tiny_project: Path, tmp_path: Path
) -> None:
    """Phase 2 in a subprocess (the real `harness target` stage), SIGKILLed at random moments
    after a random checkpoint, rerun each time until it finishes: same weights and scores as a
    run that was never interrupted (and never checkpointed)."""
    plain = copy_project(tiny_project, tmp_path / "plain")
    done = harness(*TARGET, "models/phase2/p", cwd=plain)
    assert done.returncode == 0, done.stderr
    expected = (plain / "models/phase2/p/model.safetensors").read_bytes()

    killed = copy_project(tiny_project, tmp_path / "killed", every_steps=3)
    out, ckpt = killed / "models/phase2/p", killed / "models/phase2/p.ckpt"
    rng = random.Random(2026)
    kills = resumed = 0
    for attempt in range(4):
        wanted = rng.randrange(3, 45)
        process = subprocess.Popen(
            [sys.executable, "-m", "harness", *TARGET, "models/phase2/p"],
            cwd=killed,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 300
        while process.poll() is None and time.monotonic() < deadline:
            steps = [int(p.name.split("-")[1]) for p in ckpt.glob("step-*")]
            if steps and max(steps) >= wanted:
                time.sleep(rng.uniform(0, 0.05))
                process.send_signal(signal.SIGKILL)
                break
            time.sleep(0.005)
        _, err = process.communicate(timeout=60)
        if attempt and "resuming from the checkpoint at step" in err:
            resumed += 1
            print("resumed:", err.split("resuming from the checkpoint at step")[1].split()[0])
        if process.returncode == -signal.SIGKILL:
            kills += 1
            print(f"killed after checkpoint >= step {wanted}")
            assert not out.exists()  # never a half-written output
            continue
        assert process.returncode == 0, err
        break
    else:
        done = harness(*TARGET, "models/phase2/p", cwd=killed)
        assert done.returncode == 0, done.stderr
        resumed += "resuming from the checkpoint at step" in done.stderr
    assert kills >= 1 and resumed >= 1
    assert (out / "model.safetensors").read_bytes() == expected
    assert not ckpt.exists()  # a finished stage clears its checkpoints
    assert _evaluate(plain, "models/phase2/p", "r.json") == _evaluate(
        killed, "models/phase2/p", "r.json"
    )


def _grouped_run(
    folder: Path | None, group_by_length: int, crash_after: int | None = None
) -> tuple[dict[str, torch.Tensor], list[int], int]:
    """A run over features with ``input_ids`` (lengths 3..40) and length grouping; returns the
    weights and the padded width x rows of every batch the loop computed."""
    from harness.kinds.base import Feature

    rng = random.Random(9)
    features = [
        Feature(input_ids=[rng.randrange(5, 60) for _ in range(rng.randrange(3, 40))], label=i % 3)
        for i in range(64)
    ]
    generator = seed_everything(7)
    config = XLMRobertaConfig(
        vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=48, num_labels=3, pad_token_id=1,
        hidden_dropout_prob=0.2, attention_probs_dropout_prob=0.2,
    )  # fmt: skip
    model = XLMRobertaForSequenceClassification(config)
    padded: list[int] = []

    def collate(batch: Sequence[Any]) -> dict[str, torch.Tensor]:
        if crash_after is not None and len(padded) >= crash_after:
            raise Crash
        padded.append(len(batch) * max(len(f.input_ids) for f in batch))
        return _collate([(f.input_ids, f.label) for f in batch])

    params = PARAMS.model_copy(update={"group_by_length": group_by_length})
    checkpointing = Checkpointing(folder, every_steps=3) if folder else None
    summary = train(
        model, features, collate, params, generator, "t", torch.device("cpu"), checkpointing
    )
    return {k: v.clone() for k, v in model.state_dict().items()}, padded, summary.resumed_from_step


def test_length_grouped_batches_pad_less_and_resume_bit_identically(tmp_path: Path) -> None:
    plain_weights, plain, _ = _grouped_run(None, 0)
    grouped_weights, grouped, _ = _grouped_run(None, 4)
    assert len(grouped) == len(plain) == 48  # 64 examples / 4 = 16 steps x 3 epochs
    assert sum(grouped) < 0.8 * sum(plain)
    assert not _same(grouped_weights, plain_weights)
    with pytest.raises(Crash):
        _grouped_run(tmp_path, 4, crash_after=23)  # mid-epoch, after the checkpoint at step 21
    resumed, _, resumed_from = _grouped_run(tmp_path, 4)
    assert resumed_from == 21
    assert _same(resumed, grouped_weights)


def test_multitask_run_crashed_at_random_steps_then_rerun_is_bit_identical(
    tmp_path: Path,
    tokenizer: Any,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """A multi-task phase 1 over every trained kind (classification and tagging rows sharing
    batches, multiple-choice and QA batches of their own), crashed twice (once in each epoch)
    and rerun: it resumes from its checkpoints and ends with the weights and dev scores of a
    run that was never interrupted (and never checkpointed)."""
    from harness.model.heads import MultitaskModel
    from harness.stages.phase1 import run_multitask
    from harness.tasks import Registry
    from tests.unit.test_multitask import write_every_kind

    monkeypatch.chdir(tmp_path)
    plain = write_every_kind(tmp_path, tokenizer)
    registry = Registry.for_params(plain)
    encoder = Path("encoders/none")
    expected = run_multitask(plain, registry, "every", encoder, Path("encoders/plain"))
    weights = Path("encoders/plain/model.safetensors").read_bytes()
    steps = int(expected["train"]["steps"])
    capfd.readouterr()

    checkpoint = plain.checkpoint.model_copy(update={"every_steps": 2})
    params = plain.model_copy(update={"checkpoint": checkpoint})
    out, ckpt = Path("encoders/killed"), Path("encoders/killed.ckpt")
    collate = MultitaskModel.collate
    rng = random.Random(2027)
    crashes = [rng.randrange(3, steps // 2), rng.randrange(steps // 2 + 2, steps)]
    done = 0
    for crash_after in crashes:
        calls = done  # one collate per step (no gradient accumulation), counted from the resume

        def crashing(
            self: MultitaskModel,
            items: Any,
            pad_id: int,
            packing: int = 0,
            limit: int = crash_after,
        ) -> Any:
            nonlocal calls
            calls += 1
            if calls > limit:
                raise Crash
            return collate(self, items, pad_id, packing)

        monkeypatch.setattr(MultitaskModel, "collate", crashing)
        with pytest.raises(Crash):
            run_multitask(params, registry, "every", encoder, out)
        assert not out.exists()  # never a half-written output
        done = max(int(p.name.split("-")[1]) for p in ckpt.glob("step-*"))
        assert done == crash_after - crash_after % 2
    monkeypatch.setattr(MultitaskModel, "collate", collate)
    resumed = run_multitask(params, registry, "every", encoder, out)
    err = capfd.readouterr().err
    assert f"resuming from the checkpoint at step {done}/{steps}" in err
    assert (out / "model.safetensors").read_bytes() == weights
    assert resumed["dev"] == expected["dev"] and resumed["train"]["steps"] == steps
    assert not ckpt.exists()  # a finished stage clears its checkpoints
