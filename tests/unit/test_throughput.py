"""Throughput records: model FLOPs per real token, MFU against the device's peak, and the record
every training run and evaluation carries into its result's provenance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from harness.config import TrainParams
from harness.kinds.base import Feature
from harness.model import throughput
from harness.model.packing import PackedForward, collate_packed
from harness.model.throughput import Meter, model_shape, peak_tflops, sequence_lengths
from harness.model.train import train
from harness.stages.cells import training_throughput
from tests.unit.test_packing import PAD, _features, _kind, _model


def test_model_shape_leaves_the_embeddings_out() -> None:
    model = _model(token_level=False)
    dense, layers, hidden = model_shape(model)
    embeddings = sum(p.numel() for p in model.roberta.embeddings.parameters())
    assert dense == sum(p.numel() for p in model.parameters()) - embeddings
    assert (layers, hidden) == (2, 32)
    assert model_shape(PackedForward(model, _kind(False))) == (dense, layers, hidden)


def test_model_flops_count_real_tokens_and_attention_per_sequence() -> None:
    model = _model(token_level=False)
    dense, layers, hidden = model_shape(model)
    meter = Meter(training=True)
    meter.add([10, 30], padded=64)  # two sequences padded to 32
    meter.seconds = 2.0
    record = meter.record(model, torch.device("cpu"))
    flops = 6 * dense * 40 + 12 * layers * hidden * (10 * 10 + 30 * 30)
    assert record["model_tflops_per_s"] == pytest.approx(flops / 2.0 / 1e12, abs=1e-4)
    assert record["real_tokens"] == 40 and record["padded_tokens"] == 64
    assert record["padding_fraction"] == pytest.approx(1 - 40 / 64, abs=1e-4)
    assert record["tokens_per_s"] == 20.0
    assert record["mfu"] is None and record["device"] == "cpu"  # no known peak on a CPU
    assert record["device_hours"] == pytest.approx(2 / 3600, abs=1e-6)
    prediction = Meter(training=False)
    prediction.add([10, 30], padded=64)
    prediction.seconds = 2.0
    assert prediction.record(model, torch.device("cpu"))["model_tflops_per_s"] == pytest.approx(
        record["model_tflops_per_s"] / 3, abs=1e-4
    )


def test_mfu_uses_the_measured_peak_when_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XTRANSFER_PEAK_TFLOPS", "0.5")
    assert peak_tflops(torch.device("cpu")) == (0.5, "XTRANSFER_PEAK_TFLOPS")
    meter = Meter(training=True, real_tokens=0)
    meter.add([1000], padded=1000)
    meter.seconds = 1.0
    record = meter.record(_model(token_level=False), torch.device("cpu"))
    assert record["mfu"] == pytest.approx(record["model_tflops_per_s"] / 0.5, abs=1e-4)


def test_multiple_choice_features_count_each_choice() -> None:
    assert sequence_lengths(Feature(input_ids=[[0, 5, 2], [0, 6, 7, 2]], label=0)) == [3, 4]
    assert sequence_lengths(Feature(input_ids=[0, 5, 2], label=0)) == [3]


@pytest.mark.parametrize("packing", [0, 64])
def test_a_training_run_records_its_throughput(packing: int) -> None:
    kind = _kind(False)
    features = _features(40, token_level=False, seed=5)
    tp = TrainParams(epochs=1, learning_rate=1e-3, batch_size=8, max_length=32, packing=packing)
    model = _model(token_level=False)
    summary = train(
        model,
        features,
        (lambda fs: collate_packed(fs, 64, PAD, False))
        if packing
        else (lambda fs: kind.collate(fs, PAD)),
        tp,
        torch.Generator().manual_seed(0),
        "t",
        device=torch.device("cpu"),
        forward_module=PackedForward(model, kind) if packing else None,
    )
    record = summary.as_dict()["throughput"]
    real = sum(len(f.input_ids) for f in features)
    assert record["real_tokens"] == summary.tokens_seen == real
    assert record["padded_tokens"] == summary.padded_tokens > real
    assert record["sequences"] == 40
    assert 0 < record["padding_fraction"] < 1
    assert record["tokens_per_s"] > 0 and record["seconds"] <= round(summary.seconds, 3) + 0.001


def test_prediction_meter_counts_every_prediction_pass() -> None:
    from harness.model.predict import predict

    kind = _kind(True)
    features = _features(12, token_level=True)
    throughput.start_prediction_meter()
    predict(_model(True), features, PAD, 4, "p", lambda fs: kind.collate(fs, PAD), quiet=True)
    record = throughput.prediction_record(_model(True), torch.device("cpu"))
    assert record["real_tokens"] == sum(len(f.input_ids) for f in features)
    assert record["sequences"] == 12
    throughput.start_prediction_meter()
    assert throughput.PREDICTION.real_tokens == 0


def test_a_cell_carries_the_throughput_of_both_phases(tmp_path: Path) -> None:
    phase1 = tmp_path / "phase1"
    phase1.mkdir()
    (phase1 / "phase.json").write_text(
        json.dumps({"phase": 1, "train": {"throughput": {"real_tokens": 7}}}), encoding="utf-8"
    )
    phase2 = {"from": str(phase1), "train": {"throughput": {"real_tokens": 9}}}
    assert training_throughput(phase2) == {
        "phase2": {"real_tokens": 9},
        "phase1": {"real_tokens": 7},
    }
    assert training_throughput({"from": "none", "train": {}}) == {}
