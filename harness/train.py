"""One training loop for every task kind.

Dynamic padding (each batch padded to its own longest sequence), seeded data order, gradient
accumulation, linear warm-up and decay, gradient clipping, and bfloat16 autocast on CUDA.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from transformers import get_linear_schedule_with_warmup

from harness.config import TrainParams
from harness.progress import progress_bar

Batch = dict[str, torch.Tensor]


@dataclass
class TrainSummary:
    steps: int
    examples_seen: int
    tokens_seen: int
    final_loss: float
    seconds: float
    device: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "examples_seen": self.examples_seen,
            "tokens_seen": self.tokens_seen,
            "final_loss": self.final_loss,
            "seconds": round(self.seconds, 3),
            "device": self.device,
        }


def pick_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (no_decay if param.ndim < 2 or "LayerNorm" in name else decay).append(param)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def train(
    model: nn.Module,
    features: Sequence[Any],
    collate: Callable[[Sequence[Any]], Batch],
    params: TrainParams,
    generator: torch.Generator,
    description: str,
    device: torch.device | None = None,
) -> TrainSummary:
    """Train ``model`` in place on ``features``; the model's forward must return ``.loss``."""
    device = device or pick_device()
    model.to(device)
    model.train()
    n = len(features)
    if n == 0:
        raise ValueError("no training examples")
    per_step = params.batch_size * params.grad_accumulation
    steps_per_epoch = max(1, math.ceil(n / per_step))
    total_steps = max(1, round(params.epochs * steps_per_epoch))
    use_cuda = device.type == "cuda"
    optimizer = torch.optim.AdamW(
        _param_groups(model, params.weight_decay),
        lr=params.learning_rate,
        fused=use_cuda,
    )
    scheduler = get_linear_schedule_with_warmup(
        optimizer, round(params.warmup_ratio * total_steps), total_steps
    )
    autocast_enabled = use_cuda and params.bf16
    start = time.perf_counter()
    step = examples = tokens = 0
    loss_value = float("nan")
    with progress_bar(description, total_steps) as advance:
        while step < total_steps:
            order = torch.randperm(n, generator=generator).tolist()
            batches = [order[i : i + params.batch_size] for i in range(0, n, params.batch_size)]
            for first in range(0, len(batches), params.grad_accumulation):
                group = batches[first : first + params.grad_accumulation]
                optimizer.zero_grad(set_to_none=True)
                group_loss = 0.0
                for indices in group:
                    batch = {
                        k: v.to(device) for k, v in collate([features[i] for i in indices]).items()
                    }
                    with torch.autocast(
                        device.type, dtype=torch.bfloat16, enabled=autocast_enabled
                    ):
                        loss = model(**batch).loss
                    (loss * len(indices) / sum(len(g) for g in group)).backward()
                    group_loss += loss.item() * len(indices)
                    examples += len(indices)
                    tokens += int(batch["attention_mask"].sum())
                torch.nn.utils.clip_grad_norm_(model.parameters(), params.max_grad_norm)
                optimizer.step()
                scheduler.step()
                step += 1
                loss_value = group_loss / sum(len(g) for g in group)
                advance(loss_value)
                if step >= total_steps:
                    break
    model.eval()
    return TrainSummary(
        steps=step,
        examples_seen=examples,
        tokens_seen=tokens,
        final_loss=loss_value,
        seconds=time.perf_counter() - start,
        device=str(device),
    )
