"""One seed for Python, NumPy, torch and data order."""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> torch.Generator:
    """Seed every RNG and make CPU kernels deterministic; returns a generator for data order."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator


def configure_compute(threads: int, tf32: bool) -> None:
    """CPU threads of this process's torch kernels (``compute.threads``: results on a CPU are
    bit-identical only for the same count, so every stage sets it before it computes) and TF32
    matrix products on CUDA (``compute.tf32``)."""
    torch.set_num_threads(threads)
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    # cuDNN's attention kernel builds an execution plan for every new input shape (~35 ms of CPU
    # per call on an H200 with torch 2.11): with dynamic padding nearly every batch is a new
    # shape, which made length-grouped training 3.7x slower than with the flash / memory-efficient
    # kernels (BENCHMARKS.md, "GPU"). PyTorch picks among the remaining ones.
    torch.backends.cuda.enable_cudnn_sdp(False)
