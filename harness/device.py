"""Where a stage computes: the one choice of device and attention kernel, and the CPU cores this
process may use.

The cores available to a process are the CPUs in its affinity mask (``sched_getaffinity``:
``taskset``, a cpuset, SLURM's binding) capped by the CPU quota of its cgroup (``cpu.max`` in
cgroup v2, ``cpu.cfs_quota_us / cpu.cfs_period_us`` in v1; the smallest along the cgroup's
ancestors: ``docker --cpus``, Kubernetes limits, systemd ``CPUQuota``), rounded down: a quota of
1.5 CPUs is 1 core, as threads throttled by a quota wait for each other at every barrier. They
never set a stage's torch threads (``compute.threads`` does: the count changes floating-point
results); a local sweep fits its stages into them (:mod:`harness.launch.cores`).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def pick_device() -> torch.device:
    """A CUDA GPU when torch sees one, else the CPU (every stage computes on this device)."""
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def attention_implementation() -> str:
    """SDPA on CUDA; the eager kernel on CPU, where SDPA with a padding mask measured up to 4x
    slower for the toy model's short sequences (forward + backward, 2 cores)."""
    return "sdpa" if pick_device().type == "cuda" else "eager"


PROC_SELF = Path("/proc/self")


def affinity_cores() -> int:
    """CPUs this process may be scheduled on (its affinity mask; all CPUs where the platform
    has no ``sched_getaffinity``)."""
    getaffinity = getattr(os, "sched_getaffinity", None)
    if getaffinity is not None:
        try:
            return max(1, len(getaffinity(0)))
        except OSError:
            pass
    return os.cpu_count() or 1


def _unescape(field: str) -> str:
    """A path field of /proc/self/mountinfo (spaces and the like are octal escapes)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


@dataclass(frozen=True)
class _Mount:
    root: str
    point: Path
    fstype: str
    options: frozenset[str]


def _mounts(proc: Path) -> list[_Mount]:
    try:
        text = (proc / "mountinfo").read_text(encoding="utf-8")
    except OSError:
        return []
    mounts = []
    for line in text.splitlines():
        head, sep, tail = line.partition(" - ")
        fields, after = head.split(), tail.split()
        if not sep or len(fields) < 5 or len(after) < 3:
            continue
        if after[0] not in ("cgroup", "cgroup2"):
            continue
        mounts.append(
            _Mount(
                root=_unescape(fields[3]),
                point=Path(_unescape(fields[4])),
                fstype=after[0],
                options=frozenset(after[2].split(",")),
            )
        )
    return mounts


def _memberships(proc: Path) -> list[tuple[frozenset[str], str]]:
    """``(controllers, path)`` of each line of /proc/self/cgroup (v2: no controllers)."""
    try:
        text = (proc / "cgroup").read_text(encoding="utf-8")
    except OSError:
        return []
    found = []
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            controllers = frozenset(c for c in parts[1].split(",") if c)
            found.append((controllers, parts[2]))
    return found


def _folders(mount: _Mount, path: str) -> Iterator[Path]:
    """The cgroup's folder under its mount, then its ancestors up to the mount point."""
    root = mount.root.rstrip("/")
    if root and path != root and not path.startswith(root + "/"):
        relative = ""  # a cgroup namespace without its own mount: the mount is our cgroup
    else:
        relative = path[len(root) :].strip("/")
    folder = mount.point / relative if relative else mount.point
    if not folder.is_dir():
        folder = mount.point
    while True:
        yield folder
        if folder == mount.point or mount.point not in folder.parents:
            return
        folder = folder.parent


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None


def _v2_limit(folder: Path) -> float | None:
    text = _read(folder / "cpu.max")  # "max 100000" or "150000 100000"
    if text is None:
        return None
    quota, _, period = text.partition(" ")
    try:
        value, length = int(quota), int(period or "100000")
    except ValueError:
        return None  # "max": no limit
    return value / length if value > 0 and length > 0 else None


def _v1_limit(folder: Path) -> float | None:
    quota, period = _read(folder / "cpu.cfs_quota_us"), _read(folder / "cpu.cfs_period_us")
    try:
        value, length = int(quota or ""), int(period or "")
    except ValueError:
        return None
    return value / length if value > 0 and length > 0 else None  # -1: no limit


def cgroup_cpu_limit(proc: Path = PROC_SELF) -> float | None:
    """The CPU quota of this process's cgroup in CPUs (e.g. 1.5), the smallest along its
    ancestors and over the v1 and v2 hierarchies it belongs to; None when there is none (or no
    cgroup filesystem to read: not Linux). ``proc``: the process's /proc folder."""
    memberships = _memberships(proc)
    limits: list[float] = []
    for mount in _mounts(proc):
        if mount.fstype == "cgroup2":
            paths = [path for controllers, path in memberships if not controllers]
            read = _v2_limit
        elif "cpu" in mount.options:
            paths = [path for controllers, path in memberships if "cpu" in controllers]
            read = _v1_limit
        else:
            continue
        for path in paths[:1]:
            for folder in _folders(mount, path):
                limit = read(folder)
                if limit is not None:
                    limits.append(limit)
    return min(limits) if limits else None


@dataclass(frozen=True)
class Cores:
    """The cores available to this process and where the number comes from."""

    available: int
    affinity: int
    quota: float | None

    def describe(self) -> str:
        quota = "none" if self.quota is None else f"{self.quota:g} CPUs"
        return f"{self.available} core(s) (CPU affinity: {self.affinity}, cgroup quota: {quota})"


def detect_cores(proc: Path = PROC_SELF, affinity: int | None = None) -> Cores:
    """The cores available to this process: its affinity mask within its cgroup's CPU quota
    (rounded down, at least 1)."""
    mask = affinity_cores() if affinity is None else affinity
    quota = cgroup_cpu_limit(proc)
    available = mask if quota is None else min(mask, max(1, math.floor(quota + 1e-9)))
    return Cores(max(1, available), mask, quota)


def available_cores(proc: Path = PROC_SELF, affinity: int | None = None) -> int:
    return detect_cores(proc, affinity).available
