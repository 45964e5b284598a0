"""CPU cores: what a process may use (affinity within the cgroup quota), how a local sweep fits
its stages' threads into them, and the thread environment of a stage process.

The cgroup files are a fake tree in a temporary folder (a ``proc`` folder with ``cgroup`` and
``mountinfo``, and the cgroup filesystems its mount points name); the bit-identity of a
training run under another affinity mask is in ``test_thread_identity.py``.
"""

from __future__ import annotations

import json
import os
import random
import shlex
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.config import ClusterParams, LaunchParams, load_params
from harness.device import Cores, affinity_cores, cgroup_cpu_limit, detect_cores
from harness.launch.cores import (
    THREAD_VARIABLES,
    gpus_visible,
    next_to_start,
    thread_environment,
)
from harness.launch.jobs import StageJob
from harness.launch.plan import PlannedStage
from harness.launch.sweep import StageThreads, _jobs_for, _warn_threads, run_local_wave
from harness.seeding import warn_oversubscribed
from tests.conftest import REPO

# --- available cores ---------------------------------------------------------------------------


def _proc(tmp: Path, cgroup: list[str], mounts: list[tuple[str, Path, str, str]]) -> Path:
    """A fake /proc/self: ``cgroup`` lines, and mounts as (root, mount point, fstype, options)."""
    proc = tmp / "proc" / "self"
    proc.mkdir(parents=True)
    (proc / "cgroup").write_text("".join(line + "\n" for line in cgroup))
    lines = ["22 1 0:21 / /proc rw,nosuid - proc proc rw"]
    for number, (root, point, fstype, options) in enumerate(mounts):
        escaped = str(point).replace(" ", "\\040")
        lines.append(
            f"{30 + number} 22 0:{40 + number} {root} {escaped} rw,relatime shared:{number} - "
            f"{fstype} {fstype} rw,{options}"
        )
    (proc / "mountinfo").write_text("\n".join(lines) + "\n")
    return proc


def _write(folder: Path, **files: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name.replace("__", ".")).write_text(text + "\n")


def test_affinity_counts_the_cpus_of_the_mask(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 3, 5}, raising=False)
    assert affinity_cores() == 3
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 6)
    assert affinity_cores() == 6  # no affinity call on this platform: every CPU


def test_cgroup_v2_quota_is_read_from_cpu_max(tmp_path: Path) -> None:
    mount = tmp_path / "sys fs" / "cgroup"  # a space in the path: escaped in mountinfo
    _write(mount / "user.slice" / "job", cpu__max="150000 100000")
    _write(mount / "user.slice", cpu__max="max 100000")
    proc = _proc(tmp_path, ["0::/user.slice/job"], [("/", mount, "cgroup2", "nsdelegate")])
    assert cgroup_cpu_limit(proc) == pytest.approx(1.5)
    assert detect_cores(proc, affinity=4) == Cores(available=1, affinity=4, quota=1.5)
    assert detect_cores(proc, affinity=1).available == 1
    assert "cgroup quota: 1.5 CPUs" in detect_cores(proc, affinity=4).describe()


def test_the_smallest_quota_along_the_ancestors_counts(tmp_path: Path) -> None:
    mount = tmp_path / "cgroup"
    _write(mount / "a", cpu__max="200000 100000")
    _write(mount / "a" / "b", cpu__max="max 100000")
    _write(mount / "a" / "b" / "c", cpu__max="600000 100000")
    proc = _proc(tmp_path, ["0::/a/b/c"], [("/", mount, "cgroup2", "")])
    assert cgroup_cpu_limit(proc) == pytest.approx(2.0)
    assert detect_cores(proc, affinity=8).available == 2


def test_cgroup_v1_quota_is_read_from_cfs_files(tmp_path: Path) -> None:
    cpu = tmp_path / "cgroup" / "cpu,cpuacct"
    _write(cpu / "docker" / "abc", cpu__cfs_quota_us="250000", cpu__cfs_period_us="100000")
    _write(cpu / "docker", cpu__cfs_quota_us="-1", cpu__cfs_period_us="100000")
    memory = tmp_path / "cgroup" / "memory"
    _write(memory / "docker" / "abc", memory__limit_in_bytes="1000")
    proc = _proc(
        tmp_path,
        ["5:memory:/docker/abc", "3:cpu,cpuacct:/docker/abc", "0::/"],
        [("/", cpu, "cgroup", "cpu,cpuacct"), ("/", memory, "cgroup", "memory")],
    )
    assert cgroup_cpu_limit(proc) == pytest.approx(2.5)
    assert detect_cores(proc, affinity=16).available == 2  # rounded down
    assert detect_cores(proc, affinity=1).available == 1  # the affinity mask is smaller


def test_a_container_sees_its_own_cgroup_at_the_mount_point(tmp_path: Path) -> None:
    """Without a cgroup namespace, /proc/self/cgroup names the host's path and the mount's
    root is that same path: the quota is in the mount point itself."""
    mount = tmp_path / "cgroup"
    _write(mount, cpu__max="100000 100000")
    proc = _proc(tmp_path, ["0::/system.slice/docker-1.scope"], [
        ("/system.slice/docker-1.scope", mount, "cgroup2", ""),
    ])  # fmt: skip
    assert cgroup_cpu_limit(proc) == pytest.approx(1.0)
    # a path outside the mount's root (another namespace): the mount point is ours
    proc2 = _proc(tmp_path / "ns", ["0::/../elsewhere"], [("/kubepods/x", mount, "cgroup2", "")])
    assert cgroup_cpu_limit(proc2) == pytest.approx(1.0)


def test_hybrid_hierarchies_take_the_smallest(tmp_path: Path) -> None:
    """v1 controllers beside a v2 "unified" mount (this is how many hosts still look)."""
    cpu, unified = tmp_path / "cgroup" / "cpu", tmp_path / "cgroup" / "unified"
    _write(cpu, cpu__cfs_quota_us="300000", cpu__cfs_period_us="100000")
    _write(unified / "job", cpu__max="max 100000")
    proc = _proc(
        tmp_path,
        ["2:cpuacct:/", "1:cpu:/", "0::/job"],
        [("/", cpu, "cgroup", "cpu"), ("/", unified, "cgroup2", "")],
    )
    assert cgroup_cpu_limit(proc) == pytest.approx(3.0)
    _write(unified / "job", cpu__max="50000 100000")
    assert cgroup_cpu_limit(proc) == pytest.approx(0.5)
    assert detect_cores(proc, affinity=4).available == 1  # never below one core


@pytest.mark.parametrize(
    "files",
    [
        {"cpu__max": "max 100000"},
        {"cpu__max": "garbage"},
        {"cpu__max": "0 100000"},
        {"cpu__max": "100000 0"},
        {},
    ],
)
def test_no_quota_means_the_affinity_mask(tmp_path: Path, files: dict[str, str]) -> None:
    mount = tmp_path / "cgroup"
    _write(mount, **files)
    proc = _proc(tmp_path, ["0::/"], [("/", mount, "cgroup2", "")])
    assert cgroup_cpu_limit(proc) is None
    assert detect_cores(proc, affinity=3) == Cores(3, 3, None)


def test_gpus_are_seen_by_their_drivers_marks(tmp_path: Path) -> None:
    nvidia, kfd = tmp_path / "nvidia" / "gpus", tmp_path / "kfd"
    assert not gpus_visible([nvidia, kfd])
    nvidia.mkdir(parents=True)
    assert not gpus_visible([nvidia, kfd])  # the driver, no GPU
    (nvidia / "0000:17:00.0").mkdir()
    assert gpus_visible([nvidia, kfd])
    kfd.write_text("")
    assert gpus_visible([tmp_path / "none", kfd])


def test_no_cgroup_filesystem_at_all(tmp_path: Path) -> None:
    assert cgroup_cpu_limit(tmp_path / "missing") is None
    assert detect_cores(tmp_path / "missing", affinity=2).available == 2


def test_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real /proc: never more than the affinity mask, never below 1."""
    found = detect_cores()
    assert 1 <= found.available <= found.affinity
    if hasattr(os, "sched_getaffinity"):
        assert found.affinity == len(os.sched_getaffinity(0))


# --- the schedule ------------------------------------------------------------------------------


def _simulate(
    needs: list[int], durations: list[float], cores: int, jobs: int | None
) -> list[tuple[float, list[int]]]:
    """Run a wave with these thread needs and durations on a simulated clock; returns, at
    every start, the clock and the indices running."""
    waiting = list(range(len(needs)))
    running: dict[int, float] = {}  # index -> end
    now, starts = 0.0, []
    while waiting or running:
        while True:
            index = next_to_start(
                [needs[i] for i in waiting], [needs[i] for i in running], cores, jobs
            )
            if index is None:
                break
            stage = waiting.pop(index)
            running[stage] = now + durations[stage]
            starts.append((now, sorted(running)))
        held = sum(needs[i] for i in running)
        if waiting and (jobs is None or len(running) < jobs):
            # nothing left idle that would fit
            assert all(held + needs[i] > cores for i in waiting)
        now = min(running.values())
        for stage in [i for i, end in running.items() if end == now]:
            del running[stage]
    return starts


@pytest.mark.parametrize("seed", range(40))
def test_a_simulated_wave_never_holds_more_threads_than_cores(seed: int) -> None:
    rng = random.Random(seed)
    cores = rng.randint(1, 8)
    jobs = rng.choice([None, None, 1, 2, 3, 5])
    needs = [rng.choice([1, 1, 1, 2, 2, 3, 4, cores + 1]) for _ in range(rng.randint(1, 30))]
    durations = [rng.uniform(1, 10) for _ in needs]
    starts = _simulate(needs, durations, cores, jobs)
    started = {i for _, running in starts for i in running}
    assert started == set(range(len(needs)))  # every stage ran
    for _, running in starts:
        held = sum(needs[i] for i in running)
        assert held <= cores or len(running) == 1, (running, [needs[i] for i in running])
        assert jobs is None or len(running) <= jobs
        for i in running:
            if needs[i] > cores:
                assert running == [i]  # more than the cores: alone


def test_the_toy_waves_on_two_cores_and_on_one() -> None:
    # pretraining (pretrain.threads: 2) alone; then 1-thread stages two at a time
    assert next_to_start([2], [], cores=2) == 0
    assert next_to_start([1, 1, 1], [1], cores=2) == 0
    assert next_to_start([1, 1], [1, 1], cores=2) is None
    # the most threads first, smaller ones fill the rest
    assert next_to_start([1, 3, 2], [], cores=4) == 1
    assert next_to_start([1, 2], [3], cores=4) == 0
    # one core: pretraining still runs (alone), nothing beside it
    assert next_to_start([1, 2], [], cores=1) == 1
    assert next_to_start([1], [2], cores=1) is None
    assert next_to_start([1, 1], [], cores=8, jobs=1) == 0
    assert next_to_start([1, 1], [1], cores=8, jobs=1) is None


class _Tracker:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running: dict[str, int] = {}
        self.seen: list[dict[str, int]] = []


class _FakeJob(StageJob):
    """A stage that holds its threads for a moment and records who runs beside it."""

    tracker: _Tracker

    def run_local(self) -> dict[str, Any]:
        with self.tracker.lock:
            self.tracker.running[self.name] = self.threads
            self.tracker.seen.append(dict(self.tracker.running))
        time.sleep(0.03)
        with self.tracker.lock:
            del self.tracker.running[self.name]
        return {"stage": self.name, "seconds": 0.03, "attempts": 1}


def test_run_local_wave_keeps_the_running_threads_within_the_cores(tmp_path: Path) -> None:
    tracker = _Tracker()
    needs = {"a": 1, "big": 3, "b": 2, "c": 1, "d": 1, "e": 2, "f": 1}
    jobs = []
    for name, threads in needs.items():
        job = _FakeJob(name=name, cmd="true", root=str(tmp_path), log="", threads=threads)
        job.tracker = tracker
        jobs.append(job)
    outcome = run_local_wave(jobs, workers=None, cores=2)
    assert [item["stage"] for item in outcome.done] == list(needs)  # the wave's order
    assert [item["threads"] for item in outcome.done] == list(needs.values())
    assert not outcome.failed
    assert max(sum(s.values()) for s in tracker.seen if "big" not in s) <= 2
    assert [s for s in tracker.seen if "big" in s] == [{"big": 3}]  # alone
    assert outcome.peak_threads == 3
    assert tracker.seen[0] == {"big": 3}  # the most threads first
    # --jobs caps the count as well
    tracker.seen.clear()
    outcome = run_local_wave(jobs, workers=1, cores=8)
    assert all(len(s) == 1 for s in tracker.seen) and outcome.peak_threads == 3


# --- thread needs and the environment of a stage -------------------------------------------------


def test_stage_threads_come_from_the_parameters_the_stage_reads(tmp_path: Path) -> None:
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    params = load_params(tmp_path / "params.yaml")
    raw = yaml.safe_load((tmp_path / "params.yaml").read_text())
    raw["compute"]["threads"] = 3
    (tmp_path / "other.yaml").write_text(yaml.safe_dump(raw))
    threads = StageThreads(tmp_path)
    assert threads("harness pretrain --out models/encoders/none") == params.stage_threads(
        "pretrain"
    )
    cmd = "harness target --task toy_nli --intermediate none --out m --seed 13"
    assert threads(cmd) == params.compute.threads
    assert threads(cmd + " --params other.yaml") == 3
    assert threads(cmd + " -p other.yaml") == 3
    assert threads(cmd + " --params=other.yaml") == 3
    assert threads(cmd + " --params missing.yaml") == 1  # the stage reports that itself
    assert threads("harness ingest results/cells/*.json") == 1
    assert threads("python -c 'print(1)'") == 1
    assert threads.default() == params.compute.threads


def test_stage_jobs_carry_the_thread_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "64")  # what the shell had: not the stage's
    wave = [PlannedStage("one", "harness target --x", ()), PlannedStage("two", "harness p", ())]
    cluster = ClusterParams()
    jobs = _jobs_for(wave, tmp_path, LaunchParams(), cluster, None, StageJob, None, {"two": 2})
    assert [job.threads for job in jobs] == [1, 2]
    assert {k: jobs[0]._environment()[k] for k in THREAD_VARIABLES} == thread_environment(1)
    assert {k: jobs[1]._environment()[k] for k in THREAD_VARIABLES} == thread_environment(2)
    assert thread_environment(1)["TOKENIZERS_PARALLELISM"] == "false"
    assert thread_environment(2)["TOKENIZERS_PARALLELISM"] == "true"
    assert thread_environment(2)["OMP_WAIT_POLICY"] == "PASSIVE"
    # launch.env has the last word (and a container gets the same through its argv)
    own = LaunchParams(env={"OMP_NUM_THREADS": "7"})
    job = _jobs_for(wave, tmp_path, own, cluster, None, StageJob, None, {"two": 2})[1]
    assert job._environment()["OMP_NUM_THREADS"] == "7"
    assert job._environment()["MKL_NUM_THREADS"] == "2"
    docker = LaunchParams(backend="docker", image="img@sha256:" + "0" * 64)
    job = _jobs_for(wave, tmp_path, docker, cluster, None, StageJob, None, {"two": 2})[1]
    assert "OMP_NUM_THREADS=2" in job.argv()


def test_a_stage_subprocess_sees_its_thread_environment(tmp_path: Path) -> None:
    names = json.dumps(list(THREAD_VARIABLES))
    script = (
        f"import json, os; json.dump({{k: os.environ.get(k) for k in {names}}}, "
        "open('env.json', 'w'))"
    )
    cmd = f"{shlex.quote(sys.executable)} -c {shlex.quote(script)}"
    wave = [PlannedStage("stage", cmd, ())]
    [job] = _jobs_for(wave, tmp_path, LaunchParams(), ClusterParams(), None, StageJob, None, {
        "stage": 3
    })  # fmt: skip
    outcome = run_local_wave([job], cores=2)
    assert not outcome.failed, outcome.failed
    assert outcome.done[0]["threads"] == 3 and outcome.peak_threads == 3
    assert json.loads((tmp_path / "env.json").read_text()) == thread_environment(3)


# --- warnings ----------------------------------------------------------------------------------


def test_more_threads_than_cores_warns_in_the_stage(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("harness.seeding.detect_cores", lambda: Cores(1, 2, 1.0))
    assert warn_oversubscribed(2) is True
    err = capsys.readouterr().err
    assert "computes with 2 CPU threads" in err and "1 core(s)" in err
    assert "cgroup quota: 1 CPUs" in err
    assert warn_oversubscribed(1) is False
    assert capsys.readouterr().err == ""


def test_more_threads_than_cores_warns_in_the_sweep() -> None:
    said: list[str] = []
    wave = (PlannedStage("pretrain", "harness pretrain", ()), PlannedStage("t", "harness t", ()))
    needs = {"pretrain": 2, "t": 1}
    _warn_threads(wave, needs, "local", 1, ClusterParams(), said.append)
    assert len(said) == 1 and "pretrain computes with 2 CPU threads" in said[0]
    assert "runs alone" in said[0]
    said.clear()
    _warn_threads(wave, needs, "local", 2, ClusterParams(), said.append)
    assert said == []
    _warn_threads(wave, needs, "slurm", 8, ClusterParams(cpus_per_job=1), said.append)
    assert len(said) == 1 and "cluster.cpus_per_job" in said[0]


# --- a whole local sweep -----------------------------------------------------------------------

STAMP = (
    "import sys, time; s = time.time(); time.sleep(0.4); "
    "open(sys.argv[1], 'w').write(f'{s} {time.time()}')"
)


@pytest.mark.parametrize("gpu", [False, True])
def test_a_local_sweep_fits_its_stages_into_the_cores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gpu: bool
) -> None:
    """A DVC pipeline of one 2-thread stage and four 1-thread stages, all in one wave, on a
    budget of 2 cores (whatever this machine has): the 2-thread stage runs alone, the others
    two at a time; the summary says so; the stages' times never overlap more than that. Where
    a GPU is visible, the stages run one at a time (they would share it)."""
    import subprocess

    monkeypatch.setattr("harness.launch.sweep.gpus_visible", lambda: gpu)

    from harness.launch.sweep import run_sweep

    def sh(*args: str) -> None:
        subprocess.run(args, cwd=tmp_path, check=True, capture_output=True)

    sh("git", "init", "-q")
    sh(sys.executable, "-m", "dvc", "init", "-q")
    names = ["wide", "n1", "n2", "n3", "n4"]
    python = shlex.quote(sys.executable)
    stages = "".join(
        f"  {name}:\n    cmd: {python} -c {shlex.quote(STAMP)} {name}.txt\n    outs: [{name}.txt]\n"
        for name in names
    )
    (tmp_path / "dvc.yaml").write_text("stages:\n" + stages)
    monkeypatch.chdir(tmp_path)
    said: list[str] = []
    summary = run_sweep(
        tmp_path,
        LaunchParams(),
        ClusterParams(),
        "local",
        jobs=None,
        log=said.append,
        fork=False,
        cores=2,
        threads=lambda cmd: 2 if "wide.txt" in cmd else 1,
    )
    spans = {}
    for name in names:
        start, end = map(float, (tmp_path / f"{name}.txt").read_text().split())
        spans[name] = (start, end)

    def overlap(a: str, b: str) -> bool:
        return spans[a][0] < spans[b][1] and spans[b][0] < spans[a][1]

    assert not any(overlap("wide", other) for other in names[1:])
    events = sorted([(start, 1) for start, _ in spans.values()] + [(end, -1) for _, end in
                    spans.values()])  # fmt: skip
    running = [sum(step for _, step in events[: i + 1]) for i in range(len(events))]
    assert max(running) <= (1 if gpu else 2)  # never three 1-thread stages at once
    assert summary["cores"]["budget"] == 2
    assert summary["cores"]["jobs"] == (1 if gpu else None)
    assert any("a GPU is visible" in line for line in said) == gpu
    assert summary["overhead"]["waves"][0]["peak_threads"] == 2
    assert {s["stage"]: s["threads"] for s in summary["stages"]} == {
        "wide": 2, "n1": 1, "n2": 1, "n3": 1, "n4": 1
    }  # fmt: skip
    assert any(line.startswith("CPU: ") and "hold 2 thread(s)" in line for line in said)
    assert not any(line.startswith("warning") for line in said)
