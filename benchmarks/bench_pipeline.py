"""The toy pipeline end to end: wall time and peak memory, then the `dvc repro` no-op.

Copies the working tree (the files git would check out) to a temporary folder, runs
``harness data`` and ``harness sweep --executor local --jobs <CPUs>`` there as the README's main
command does (one single-threaded stage per core), and reports:

* wall time of ``harness data`` and of the sweep (target: <= 10 minutes on 2 cores);
* peak resident memory of the largest process of the run (a stage, or DVC itself);
* the stages run, from ``dvc.lock``;
* ``dvc repro`` on the finished workspace (nothing to do), median of 3, as a ratio of the full run.

Run: ``python benchmarks/bench_pipeline.py [--keep DIR]``. Needs ``harness`` and ``dvc`` on PATH
(the nox ``bench`` session installs them).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks._report import record  # noqa: E402
from tests.integration.test_toy_pipeline import copy_repository  # noqa: E402


def timed(args: list[str], cwd: Path) -> float:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    started = time.perf_counter()
    out = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if out.returncode != 0:
        raise SystemExit(f"{args} failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keep", type=Path, help="run in this folder and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="xtransfer-bench-pipeline-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        copy_repository(work)
        data_s = timed(["harness", "data"], work)
        jobs = str(os.cpu_count() or 1)
        repro_s = timed(["harness", "sweep", "--executor", "local", "--jobs", jobs], work)
        # ru_maxrss of waited-for descendants: the largest single process, in KiB on Linux
        peak_gib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
        noop = [timed(["dvc", "repro"], work) for _ in range(3)]
        stages = sorted(yaml.safe_load((work / "dvc.lock").read_text())["stages"])
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    noop_s = statistics.median(noop)
    print(f"toy pipeline, {os.cpu_count()} CPU(s), {len(stages)} stages")
    print(f"{'harness data':40}{data_s:>10.1f} s")
    print(f"{'harness sweep (everything)':40}{repro_s:>10.1f} s   target <= 600 s")
    print(f"{'peak resident memory (largest process)':40}{peak_gib:>10.2f} GiB")
    ratio = noop_s / repro_s
    print(f"{'dvc repro no-op (median of 3)':40}{noop_s:>10.2f} s   {ratio:.4f}x the full run")
    bench = f"toy pipeline ({os.cpu_count()} CPUs, {len(stages)} stages)"
    record(bench, "harness sweep, every stage", repro_s, "s", at_most=600.0)
    record(bench, "peak resident memory, largest process", peak_gib, "GiB")
    record(bench, "dvc repro no-op, median of 3", noop_s, "s")


if __name__ == "__main__":
    main()
