"""Throughput of training and prediction runs: real tokens, padding, tokens/s, model FLOP/s and
MFU, recorded in every run's phase record and result provenance.

Model FLOPs count what the model needs, not what a layout computes: per real token, 6 x the
parameters outside the embeddings (forward and backward matmuls) plus 12 x layers x hidden x the
sequence's length (attention scores and their use) for training, a third of that for
prediction; padding and embedding lookups are not counted (the convention of
``benchmarks/bench_gpu.py`` and of PaLM's MFU). MFU divides model FLOP/s by the device's peak:
``XTRANSFER_PEAK_TFLOPS`` when set (the dense bf16 matmul rate ``bench_gpu.py`` measures on that
device), else the datasheet's dense bf16 peak of a known GPU; None on a CPU or an unknown GPU.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

# dense bf16 tensor-core peaks, TFLOP/s, from the vendors' datasheets (without sparsity)
DATASHEET_TFLOPS = {
    "H200": 989.4,
    "H100 SXM": 989.4,
    "H100 80GB HBM3": 989.4,
    "H100 PCIe": 756.0,
    "H100 NVL": 835.0,
    "A100": 312.0,
    "L40S": 362.1,
    "A10G": 125.0,
}


def model_shape(model: nn.Module) -> tuple[int, int, int]:
    """(parameters outside the embeddings, layers, hidden size) of an encoder model (or a
    module holding one as ``model``/``encoder``)."""
    config: Any = None
    for owner in (model, getattr(model, "model", None), getattr(model, "encoder", None)):
        config = getattr(owner, "config", None)
        if config is not None:
            break
    layers = int(getattr(config, "num_hidden_layers", 0) or 0)
    hidden = int(getattr(config, "hidden_size", 0) or 0)
    dense = sum(
        p.numel() for name, p in model.named_parameters() if "embeddings" not in name.split(".")
    )
    return dense, layers, hidden


def sequence_lengths(feature: Any) -> list[int]:
    """The lengths of a feature's sequences (one, or one per choice)."""
    ids = getattr(feature, "input_ids", feature)
    if isinstance(ids, list) and ids and isinstance(ids[0], list):
        return [len(row) for row in ids]
    return [len(ids)] if isinstance(ids, list) else []


def peak_tflops(device: torch.device) -> tuple[float | None, str | None]:
    """The device's peak (TFLOP/s) for MFU, and where it came from."""
    measured = os.environ.get("XTRANSFER_PEAK_TFLOPS")
    if measured:
        try:
            return float(measured), "XTRANSFER_PEAK_TFLOPS"
        except ValueError:
            pass
    if device.type != "cuda" or not torch.cuda.is_available():
        return None, None
    name = torch.cuda.get_device_name(device)
    for model, value in DATASHEET_TFLOPS.items():
        if model in name:
            return value, f"datasheet ({model}, dense bf16)"
    return None, None


@dataclass
class Meter:
    """Counts one run's tokens; :meth:`record` turns them into the throughput record."""

    training: bool
    real_tokens: int = 0
    padded_tokens: int = 0
    attention: int = 0
    """Sum over sequences of length squared (the attention FLOPs' token-pair count)."""
    sequences: int = 0
    seconds: float = 0.0

    def add(self, lengths: Iterable[int], padded: int) -> None:
        for n in lengths:
            self.real_tokens += n
            self.attention += n * n
            self.sequences += 1
        self.padded_tokens += padded

    def record(self, model: nn.Module, device: torch.device) -> dict[str, Any]:
        dense, layers, hidden = model_shape(model)
        factor = 6 if self.training else 2
        flops = factor * dense * self.real_tokens + 2 * factor * layers * hidden * self.attention
        seconds = max(self.seconds, 1e-9)
        tflops = flops / seconds / 1e12
        peak, source = peak_tflops(device)
        padded = max(self.padded_tokens, self.real_tokens)
        return {
            "real_tokens": self.real_tokens,
            "padded_tokens": padded,
            "padding_fraction": round(1 - self.real_tokens / padded, 4) if padded else 0.0,
            "sequences": self.sequences,
            "seconds": round(self.seconds, 3),
            "tokens_per_s": round(self.real_tokens / seconds, 1),
            "model_tflops_per_s": round(tflops, 4),
            "mfu": round(tflops / peak, 4) if peak else None,
            "peak_tflops": peak,
            "peak_source": source,
            "device": _device_name(device),
            "device_hours": round(self.seconds / 3600, 6),
        }


def _device_name(device: torch.device) -> str:
    if device.type == "cuda" and torch.cuda.is_available():
        return torch.cuda.get_device_name(device)
    return device.type


PREDICTION = Meter(training=False)
"""Tokens of every prediction pass of this process (:func:`harness.model.predict.predict` adds
to it); a stage resets it with :func:`start_prediction_meter` and reads it with
:func:`prediction_record`."""


def start_prediction_meter() -> None:
    global PREDICTION
    PREDICTION = Meter(training=False)


def prediction_record(model: nn.Module, device: torch.device) -> dict[str, Any]:
    return PREDICTION.record(model, device)
