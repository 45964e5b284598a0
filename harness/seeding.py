"""One seed for Python, NumPy, torch and data order."""

from __future__ import annotations

import contextlib
import random
import sys

import numpy as np
import torch

from harness.device import detect_cores


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
    bit-identical only for the same count, so every stage sets it before it computes, whatever
    the cores of the machine; with more threads than cores it warns) and TF32 matrix products
    on CUDA (``compute.tf32``). Torch's inter-op pool gets one thread: no stage runs operators
    concurrently, and its default (one per core) would only add idle threads."""
    torch.set_num_threads(threads)
    with contextlib.suppress(RuntimeError):  # settable once, before any inter-op work
        torch.set_num_interop_threads(1)
    warn_oversubscribed(threads)
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    # cuDNN's attention kernel builds an execution plan for every new input shape (~35 ms of CPU
    # per call on an H200 with torch 2.11): with dynamic padding nearly every batch is a new
    # shape, which made length-grouped training 3.7x slower than with the flash / memory-efficient
    # kernels (BENCHMARKS.md, "GPU"). PyTorch picks among the remaining ones.
    torch.backends.cuda.enable_cudnn_sdp(False)


def warn_oversubscribed(threads: int) -> bool:
    """Warn (stderr) when ``threads`` exceeds the cores available to this process (its CPU
    affinity within its cgroup's quota); returns whether it did."""
    cores = detect_cores()
    if threads <= cores.available:
        return False
    print(
        f"warning: this stage computes with {threads} CPU threads (compute.threads, or "
        f"pretrain.threads for pretraining) but {cores.describe()} are available to it: its "
        f"threads share cores and run slower. Its results are those of {threads} threads, "
        "bit-identical to a run with as many free cores; give it more cores to run faster "
        "(a lower thread count would compute different numbers).",
        file=sys.stderr,
        flush=True,
    )
    return True
