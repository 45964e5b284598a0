"""``harness sweep``: run the pending stages of the pipeline, wave by wave, on SLURM or here.

Each wave (see :mod:`harness.launch.plan`) is one SLURM job array (``--executor slurm``, through
submitit) or local processes (``--executor local``; each ``harness`` stage a child forked from
one zygote process that has imported torch and the harness modules once, see
:mod:`harness.launch.zygote`, unless ``--no-fork``). Locally, the stages of a wave start as long
as the CPU threads of the running ones stay within the cores available to the sweep (its CPU
affinity within its cgroup's quota, or ``--cores``; at most ``--jobs`` stages at once): a stage
computes with its own ``compute.threads`` (``pretrain.threads``) whatever the machine, so that
its results do not depend on it, and the sweep adapts how many run together instead (see
:mod:`harness.launch.cores`). Before a wave its stale
outputs are removed (as ``dvc repro`` does; training checkpoints beside them are kept, so a
rerun resumes); after it, the finished stages are recorded with ``dvc commit``, so that
``dvc.lock`` pins every output, ``dvc status`` is clean and ``dvc repro`` has nothing to do. A
sweep that stops half-way leaves the finished waves committed; running it again plans only
what is still pending.
"""

from __future__ import annotations

import contextlib
import json
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from harness.config import ClusterParams, LaunchParams, Params
from harness.dvclock import dvc_commit
from harness.errors import HarnessError
from harness.launch.container import image_digest
from harness.launch.cores import (
    Cores,
    detect_cores,
    gpus_visible,
    next_to_start,
    thread_environment,
)
from harness.launch.jobs import (
    SlurmStageJob,
    StageFailed,
    StageJob,
    StageKilled,
    stage_environment,
)
from harness.launch.plan import Plan, PlannedStage, plan_sweep
from harness.launch.zygote import ForkRunner, ZygoteGone, fork_supported

Executor = Literal["local", "slurm"]
Log = Callable[[str], None]


@dataclass
class WaveOutcome:
    done: list[dict[str, Any]] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    peak_threads: int = 0
    """The most CPU threads the wave's running stages held at once (local executor)."""


COMPUTING = frozenset({"pretrain", "intermediate", "target", "evaluate", "retrieve", "difficulty"})
"""``harness`` commands that compute with torch at ``compute.threads`` (``pretrain.threads``);
every other stage command counts as one thread."""


class StageThreads:
    """The CPU threads a stage command computes with, read from the parameters file it reads
    (its ``--params``, else ``params.yaml`` in the workspace), as the stage itself will."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._loaded: dict[Path, Params | None] = {}

    def params(self, name: str = "params.yaml") -> Params | None:
        from harness.config import load_params

        path = (self.root / name).resolve()
        if path not in self._loaded:
            try:
                self._loaded[path] = load_params(path)
            except (HarnessError, OSError):
                self._loaded[path] = None  # the stage reports what is wrong with it
        return self._loaded[path]

    def default(self) -> int:
        """``compute.threads`` of the workspace's parameters (1 without them)."""
        params = self.params()
        return params.compute.threads if params is not None else 1

    def __call__(self, cmd: str) -> int:
        try:
            words = shlex.split(cmd)
        except ValueError:
            words = cmd.split()
        if len(words) < 2 or words[0] != "harness" or words[1] not in COMPUTING:
            return 1
        name = "params.yaml"
        for i, word in enumerate(words):
            if word in ("--params", "-p") and i + 1 < len(words):
                name = words[i + 1]
            elif word.startswith("--params="):
                name = word.split("=", 1)[1]
        params = self.params(name)
        return params.stage_threads(words[1]) if params is not None else 1


def with_threads(launch: LaunchParams, threads: int) -> LaunchParams:
    """``launch`` with the thread environment of a ``threads``-thread stage
    (:func:`harness.launch.cores.thread_environment`); ``launch.env`` keeps the last word."""
    return launch.model_copy(update={"env": {**thread_environment(threads), **launch.env}})


def remove_outputs(root: Path, stage: PlannedStage) -> None:
    """Delete a stage's outputs before it runs, except persistent ones (as ``dvc repro``)."""
    for out in stage.outs:
        if out in stage.persistent:
            continue
        path = root / out
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def _jobs_for(
    wave: Sequence[PlannedStage],
    root: Path,
    launch: LaunchParams,
    cluster: ClusterParams,
    digest: str | None,
    job_type: type[StageJob],
    runner: ForkRunner | None = None,
    threads: Mapping[str, int] | None = None,
) -> list[StageJob]:
    """The wave's jobs; ``threads``: each stage's CPU threads by name (default 1)."""
    logs = root / cluster.log_dir / "logs"
    jobs = []
    for stage in wave:
        count = (threads or {}).get(stage.name, 1)
        jobs.append(
            job_type(
                name=stage.name,
                cmd=stage.cmd,
                root=str(root),
                log=str(logs / f"{stage.name}.log"),
                launch=with_threads(launch, count),
                digest=digest,
                max_requeues=cluster.max_requeues,
                runner=runner,
                threads=count,
            )
        )
    return jobs


STOP_GRACE_S = 5.0
"""After an interruption: seconds between SIGTERM and SIGKILL to the stages still running."""


def run_local_wave(
    jobs: Sequence[StageJob], workers: int | None = None, cores: int | None = None
) -> WaveOutcome:
    """Run the wave's jobs, at most ``workers`` at a time (None: no limit) and, with ``cores``,
    only as many as keep the running jobs' ``threads`` within it (:func:`next_to_start`: a job
    needing more runs alone). Interrupted (Ctrl-C, or any error in this thread), it terminates
    the running stages (SIGTERM, SIGKILL after ``STOP_GRACE_S``), starts no more and re-raises.
    ``done`` lists the finished jobs in the wave's order."""
    outcome = WaveOutcome()
    limit = max(1, workers) if workers is not None else None
    budget = cores if cores is not None else sum(job.threads for job in jobs)
    pool = ThreadPoolExecutor(max_workers=max(1, min(limit or len(jobs), len(jobs))))
    waiting = list(jobs)
    running: dict[Future[dict[str, Any]], StageJob] = {}
    results: dict[str, dict[str, Any]] = {}
    try:
        while waiting or running:
            while True:
                held = [job.threads for job in running.values()]
                index = next_to_start([job.threads for job in waiting], held, budget, limit)
                if index is None:
                    break
                job = waiting.pop(index)
                running[pool.submit(job.run_local)] = job
                outcome.peak_threads = max(outcome.peak_threads, sum(held) + job.threads)
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                job = running.pop(future)
                try:
                    results[job.name] = {**future.result(), "threads": job.threads}
                except (StageFailed, StageKilled, OSError) as exc:
                    outcome.failed[job.name] = str(exc)
    except BaseException:
        for job in jobs:
            job.cancel(signal.SIGTERM)
        wait(running, timeout=STOP_GRACE_S)
        for job in jobs:
            job.cancel(signal.SIGKILL)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    outcome.done = [results[job.name] for job in jobs if job.name in results]
    return outcome


@contextlib.contextmanager
def fork_runner(
    root: Path,
    launch: LaunchParams,
    cluster: ClusterParams,
    enabled: bool,
    log: Log,
    threads: int = 1,
) -> Iterator[ForkRunner | None]:
    """The zygote of a local sweep (started at once, so that its imports overlap the
    planning), or None where stages run as separate processes; closed on the way out.
    ``threads``: the thread environment the zygote imports the libraries with (what sizes the
    pools a forked stage inherits: ``compute.threads``; each stage sets its own torch threads)."""
    if not enabled:
        yield None
        return
    if not fork_supported():
        log("stages run as separate processes: forking is supported on Linux only")
        yield None
        return
    if launch.backend != "local":
        yield None  # each stage starts its own container
        return
    try:
        runner = ForkRunner(
            root,
            stage_environment(with_threads(launch, threads)),
            root / cluster.log_dir / "logs" / "zygote.log",
        )
    except (ZygoteGone, OSError) as exc:
        log(f"stages run as separate processes: {exc}")
        yield None
        return
    try:
        yield runner
    finally:
        runner.close()


def _usable(runner: ForkRunner | None, log: Log) -> ForkRunner | None:
    """The runner once it has imported everything, or None (it failed, or CUDA is usable)."""
    if runner is None:
        return None
    try:
        ready = runner.wait_ready()
    except ZygoteGone as exc:
        log(f"stages run as separate processes: {exc}")
        return None
    if ready.get("cuda"):
        runner.close()
        log(
            "stages run as separate processes: CUDA is usable here, and a forked stage must "
            "not inherit CUDA state (the zygote never initialises CUDA; see harness.launch.zygote)"
        )
        return None
    log(f"stages run in children forked from zygote pid {ready.get('pid')} (--no-fork: not)")
    return runner


_ENDED = (
    "COMPLETED",
    "FAILED",
    "CANCELLED",
    "TIMEOUT",
    "NODE_FAIL",
    "OUT_OF_MEMORY",
    "BOOT_FAIL",
    "DEADLINE",
    "SPECIAL_EXIT",
)


def _queued(job_ids: Sequence[str]) -> set[str] | None:
    """The ids of these jobs that SLURM still has pending, running or requeued (None: squeue
    could not be asked)."""
    arrays = sorted({job_id.split("_")[0] for job_id in job_ids})
    try:
        out = subprocess.run(
            ["squeue", "--noheader", "--array", "--format=%i %T", "--jobs", ",".join(arrays)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        # squeue exits non-zero for job ids it has already forgotten
        return set() if "Invalid job id" in out.stderr else None
    alive = set()
    for line in out.stdout.splitlines():
        job_id, _, state = line.strip().partition(" ")
        if job_id and not state.startswith(_ENDED):
            alive.add(job_id)
    return alive


def run_slurm_wave(
    jobs: Sequence[StageJob], folder: Path, cluster: ClusterParams, log: Log
) -> WaveOutcome:
    """Submit the wave as one job array and wait for every task (no accounting database
    needed: a job is done when submitit's result file appears; one that has left the queue
    without a result for two polls in a row is reported failed)."""
    try:
        import submitit
    except ImportError as exc:  # pragma: no cover - submitit is a dependency
        raise HarnessError("`--executor slurm` needs submitit: pip install submitit") from exc
    if shutil.which("sbatch") is None:
        raise HarnessError(
            "sbatch not found: run `harness sweep --executor slurm` on a SLURM login node, or use "
            "`--executor local`."
        )
    executor = submitit.SlurmExecutor(
        folder=str(folder / "%j"), max_num_timeout=cluster.max_requeues
    )
    slurm: dict[str, Any] = {
        "time": cluster.time_min,
        "cpus_per_task": cluster.cpus_per_job,
        "array_parallelism": cluster.array_parallelism,
        "job_name": "xtransfer",
        "additional_parameters": {"requeue": True, **cluster.extra},
    }
    if cluster.partition:
        slurm["partition"] = cluster.partition
    if cluster.gpus_per_job:
        slurm["gpus_per_node"] = cluster.gpus_per_job
    if cluster.mem_gb:
        slurm["mem"] = f"{int(cluster.mem_gb * 1024)}M"
    executor.update_parameters(**slurm)
    with executor.batch():
        submitted: list[Any] = [executor.submit(cast(SlurmStageJob, job)) for job in jobs]
    by_id = {job.job_id: (stage, job) for stage, job in zip(jobs, submitted, strict=True)}
    log(f"submitted job array {submitted[0].job_id.split('_')[0]} ({len(submitted)} job(s))")
    outcome = WaveOutcome()
    missing: dict[str, int] = {}
    while by_id:
        time.sleep(cluster.poll_s)
        queued = _queued(list(by_id))
        for job_id, (stage, job) in list(by_id.items()):
            if job.paths.result_pickle.exists():
                del by_id[job_id]
                try:
                    outcome.done.append(job.result())
                except Exception as exc:  # submitit re-raises the job's error with its traceback
                    outcome.failed[stage.name] = f"job {job_id}: {exc}"
            elif queued is not None and job_id not in queued:
                missing[job_id] = missing.get(job_id, 0) + 1
                if missing[job_id] >= 3 and not job.paths.result_pickle.exists():
                    del by_id[job_id]
                    outcome.failed[stage.name] = (
                        f"job {job_id} left the queue without a result; log: {stage.log}, "
                        f"SLURM output: {job.paths.stderr}"
                    )
            else:
                missing.pop(job_id, None)
    return outcome


def run_sweep(
    root: Path,
    launch: LaunchParams,
    cluster: ClusterParams,
    executor: Executor,
    jobs: int | None = None,
    targets: Sequence[str] = (),
    log: Log = print,
    fork: bool = True,
    cores: int | None = None,
    threads: Callable[[str], int] | None = None,
) -> dict[str, Any]:
    """Plan and run the pending stages; return a summary (waves, stage timings, attempts).

    ``jobs``: at most this many local stages at once (None: as many as the cores allow, or one
    where a GPU is visible);
    ``cores``: the CPU threads the running local stages may hold together (None: the cores
    available to this process, :func:`harness.launch.cores.detect_cores`); ``threads``: a stage
    command's CPU threads (default: :class:`StageThreads` of the workspace). ``fork``: run the
    local executor's ``harness`` stages in children of one zygote process
    (:mod:`harness.launch.zygote`); False: each as a new process."""
    root = root.resolve()
    needs = StageThreads(root)
    threads = threads or needs
    enabled = fork and executor == "local"
    with fork_runner(root, launch, cluster, enabled, log, needs.default()) as runner:
        return _run_sweep(
            root, launch, cluster, executor, jobs, targets, log, runner, cores, threads
        )


def _core_budget(found: Cores, cores: int | None, jobs: int | None, log: Log) -> int:
    """The threads the local stages may hold together, said in the log."""
    budget = cores or found.available
    at_once = f", at most {jobs} stage(s) at a time" if jobs else ""
    log(f"CPU: {found.describe()}; the running stages hold {budget} thread(s) at most{at_once}")
    if budget > found.available:
        log(
            f"warning: --cores {budget} is more than the {found.available} core(s) available: "
            "the stages' threads will share cores (slower; the results do not change)"
        )
    return budget


def _warn_threads(
    wave: Sequence[PlannedStage],
    needs: dict[str, int],
    executor: Executor,
    budget: int,
    cluster: ClusterParams,
    log: Log,
) -> None:
    """A warning for each stage that needs more threads than it can have."""
    cap = budget if executor == "local" else cluster.cpus_per_job
    where = "available to the sweep" if executor == "local" else "of a job (cluster.cpus_per_job)"
    for stage in wave:
        if needs[stage.name] > cap:
            alone = ": it runs alone, and" if executor == "local" else ";"
            log(
                f"warning: {stage.name} computes with {needs[stage.name]} CPU threads "
                f"(compute.threads / pretrain.threads) but {cap} core(s) are {where}{alone} "
                "its threads share cores (slower; its results are those of its thread count, "
                "as anywhere)"
            )


def _run_sweep(
    root: Path,
    launch: LaunchParams,
    cluster: ClusterParams,
    executor: Executor,
    jobs: int | None,
    targets: Sequence[str],
    log: Log,
    runner: ForkRunner | None,
    cores: int | None = None,
    threads: Callable[[str], int] = lambda cmd: 1,
) -> dict[str, Any]:
    clock = time.monotonic()
    plan: Plan = plan_sweep(root, targets)
    # where the sweep's own time goes, beside the stages: planning (dvc status), waiting for
    # the zygote's imports, and recording each wave in dvc.lock
    overhead: dict[str, Any] = {"plan_s": round(time.monotonic() - clock, 2), "waves": []}
    summary: dict[str, Any] = {
        "executor": executor,
        "waves": plan.as_dict(),
        "stages": [],
        "overhead": overhead,
    }
    if plan.cache_first:
        log(f"recording {', '.join(plan.cache_first)} (as pinned) in the DVC cache")
        clock = time.monotonic()
        dvc_commit(root, plan.cache_first)
        overhead["cache_first_s"] = round(time.monotonic() - clock, 2)
    if not plan.waves:
        log("nothing to do: every stage is up to date")
        return summary
    digest = image_digest(launch)
    job_type: type[StageJob] = SlurmStageJob if executor == "slurm" else StageJob
    needs = {stage.name: threads(stage.cmd) for stage in plan.stages}
    found = detect_cores()
    if executor == "local" and jobs is None and (launch.gpus or gpus_visible()):
        jobs = 1
        log("a GPU is visible here: one stage at a time, as they would share it (--jobs N: more)")
    budget = _core_budget(found, cores, jobs, log) if executor == "local" else found.available
    summary["cores"] = {
        "available": found.available,
        "affinity": found.affinity,
        "cgroup_quota": found.quota,
        "budget": budget,
        "jobs": jobs,
    }
    clock = time.monotonic()
    runner = _usable(runner, log)
    overhead["zygote_wait_s"] = round(time.monotonic() - clock, 2)
    summary["forked"] = runner is not None
    for number, wave in enumerate(plan.waves, start=1):
        log(f"wave {number}/{len(plan.waves)}: {', '.join(s.name for s in wave)}")
        _warn_threads(wave, needs, executor, budget, cluster, log)
        clock = time.monotonic()
        for stage in wave:
            remove_outputs(root, stage)
        stage_jobs = _jobs_for(wave, root, launch, cluster, digest, job_type, runner, needs)
        if executor == "slurm":
            outcome = run_slurm_wave(stage_jobs, root / cluster.log_dir / "slurm", cluster, log)
        else:
            outcome = run_local_wave(stage_jobs, jobs, budget)
        ran = time.monotonic() - clock
        finished = [item["stage"] for item in outcome.done]
        if finished:
            dvc_commit(root, finished)
        overhead["waves"].append(
            {
                "stages": len(wave),
                "run_s": round(ran, 2),
                "commit_s": round(time.monotonic() - clock - ran, 2),
                "peak_threads": outcome.peak_threads,
            }
        )
        for item in outcome.done:
            item.setdefault("threads", needs.get(item["stage"], 1))
        summary["stages"] += outcome.done
        if outcome.failed:
            problems = "\n".join(f"  {name}: {why}" for name, why in sorted(outcome.failed.items()))
            raise HarnessError(
                f"{len(outcome.failed)} stage(s) of wave {number} failed:\n{problems}\n"
                "The stages that finished are committed to dvc.lock; fix the cause and run "
                "`harness sweep` again to run only what is still pending."
            )
    return summary


def write_summary(path: Path, summary: dict[str, Any]) -> None:
    from harness.io import atomic_write_text

    atomic_write_text(path, json.dumps(summary, indent=2) + "\n")


def sweep_command(
    params_path: Path,
    executor: str,
    jobs: int | None = None,
    targets: Sequence[str] = (),
    dry_run: bool = False,
    summary: Path | None = None,
    fork: bool = True,
    log: Log = print,
    cores: int | None = None,
) -> dict[str, Any] | None:
    """``harness sweep``: print the plan (``dry_run``: JSON on stdout, nothing runs), or run
    the pending stages of the workspace holding ``params_path`` and write the summary.
    ``jobs`` / ``cores``: see :func:`run_sweep`."""
    from harness.config import load_params

    if executor not in ("local", "slurm"):
        raise HarnessError(f"Unknown executor '{executor}': choose 'slurm' or 'local'.")
    params = load_params(params_path)
    root = params_path.resolve().parent
    if dry_run:
        from harness.launch.cost import cost_plan, format_plan

        print(json.dumps(plan_sweep(root, targets).as_dict(), indent=2))
        log(format_plan(params, cost_plan(params)))  # on stderr: stdout stays JSON
        return None
    result = run_sweep(
        root,
        params.launch,
        params.cluster,
        "slurm" if executor == "slurm" else "local",
        jobs,
        targets,
        log=log,
        fork=fork,
        cores=cores,
    )
    if summary is not None:
        write_summary(summary, result)
    log(f"sweep done: {len(result['stages'])} stage(s) ran")
    return result
