"""Where a stage computes: the one choice of device and attention kernel."""

from __future__ import annotations

import torch


def pick_device() -> torch.device:
    """A CUDA GPU when torch sees one, else the CPU (every stage computes on this device)."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def attention_implementation() -> str:
    """SDPA on CUDA; the eager kernel on CPU, where SDPA with a padding mask measured up to 4x
    slower for the toy model's short sequences (forward + backward, 2 cores)."""
    return "sdpa" if pick_device().type == "cuda" else "eager"
