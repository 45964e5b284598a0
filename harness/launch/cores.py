"""How a local sweep fills the CPU cores, and the thread environment of a stage process.

A stage's torch threads are fixed by its parameters (``compute.threads``, ``pretrain.threads``):
the thread count sets the order of floating-point reductions, so it must not follow the machine.
What follows the machine is how many stages a local sweep runs at once: the threads of the
running stages stay within the cores available to the sweep (its CPU affinity within its
cgroup's CPU quota, :func:`harness.device.detect_cores`), and a stage that needs more threads
than there are cores runs alone, with a warning (:func:`next_to_start`).

The libraries under torch and beside it get the stage's thread count too, through the
environment (:func:`thread_environment`): OpenMP, MKL, OpenBLAS, and the Rust thread pool of
``tokenizers`` (rayon), so that no helper pool sizes itself from the machine's core count. And
OpenMP threads wait for work asleep (``OMP_WAIT_POLICY=PASSIVE``) instead of spinning: with the
default (spin first), a 2-thread toy pretraining step took 2.4-3.5 s instead of 0.43-0.52 s
beside one other busy process on 2 cores, as each thread burnt its time slices waiting at every
barrier for the other, which was waiting for a core (see RELIABILITY.md, "CPU threads").
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from harness.device import Cores, available_cores, cgroup_cpu_limit, detect_cores

__all__ = [
    "Cores",
    "available_cores",
    "cgroup_cpu_limit",
    "detect_cores",
    "gpus_visible",
    "next_to_start",
    "thread_environment",
]


THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OMP_WAIT_POLICY",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "RAYON_NUM_THREADS",
    "RAYON_RS_NUM_CPUS",
    "TOKENIZERS_PARALLELISM",
)


def thread_environment(threads: int) -> dict[str, str]:
    """Environment variables that size the thread pools of a stage's libraries to its own
    thread count: OpenMP and MKL (torch sets its own to ``compute.threads`` anyway; these cover
    what runs before it does), OpenBLAS (numpy), and the Rust pool of ``tokenizers`` (rayon;
    with one thread its parallelism is off); OpenMP threads sleep while they wait (passive):
    none of it changes what a stage computes, only how its threads share the cores. OpenMP and
    OpenBLAS read theirs when they load: a forked stage inherits the zygote's (see
    :func:`harness.launch.sweep.fork_runner`)."""
    count = str(max(1, threads))
    return {
        "OMP_NUM_THREADS": count,
        "OMP_WAIT_POLICY": "PASSIVE",
        "MKL_NUM_THREADS": count,
        "OPENBLAS_NUM_THREADS": count,
        "RAYON_NUM_THREADS": count,
        "RAYON_RS_NUM_CPUS": count,
        "TOKENIZERS_PARALLELISM": "true" if threads > 1 else "false",
    }


def next_to_start(
    waiting: Sequence[int], running: Sequence[int], cores: int, jobs: int | None = None
) -> int | None:
    """Which waiting stage starts now (its index in ``waiting``, the stages' thread counts), or
    None: wait for a running one to finish.

    The running stages' threads never exceed ``cores``, and at most ``jobs`` stages run; the
    stage needing the most threads goes first (plan order among equals), and smaller ones fill
    the cores it leaves free. A stage needing more than ``cores`` starts only when nothing
    runs, and runs alone."""
    if not waiting or (jobs is not None and len(running) >= jobs):
        return None
    used = sum(running)
    order = sorted(range(len(waiting)), key=lambda i: (-waiting[i], i))
    for index in order:
        if not running or used + waiting[index] <= cores:
            return index
    return None


GPU_MARKERS = (Path("/proc/driver/nvidia/gpus"), Path("/dev/kfd"))
"""What a GPU driver leaves on Linux: NVIDIA's list of GPUs, AMD's compute device (ROCm)."""


def gpus_visible(markers: Sequence[Path] = GPU_MARKERS) -> bool:
    """Whether this machine has a GPU driver with a device (without importing torch): a local
    sweep's stages would share it, so by default they run one at a time."""
    for marker in markers:
        if marker.is_dir():
            try:
                if any(marker.iterdir()):
                    return True
            except OSError:
                continue
        elif marker.exists():
            return True
    return False
