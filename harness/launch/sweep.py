"""``harness sweep``: run the pending stages of the pipeline, wave by wave, on SLURM or here.

Each wave (see :mod:`harness.launch.plan`) is one SLURM job array (``--executor slurm``, through
submitit) or a pool of ``--jobs`` processes (``--executor local``; each ``harness`` stage a
child forked from one zygote process that has imported torch and the harness modules once, see
:mod:`harness.launch.zygote`, unless ``--no-fork``). Before a wave its stale
outputs are removed (as ``dvc repro`` does; training checkpoints beside them are kept, so a
rerun resumes); after it, the finished stages are recorded with ``dvc commit``, so that
``dvc.lock`` pins every output, ``dvc status`` is clean and ``dvc repro`` has nothing to do. A
sweep that stops half-way leaves the finished waves committed; running it again plans only
what is still pending.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from harness.config import ClusterParams, LaunchParams
from harness.dvclock import dvc_commit
from harness.errors import HarnessError
from harness.launch.container import image_digest
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
) -> list[StageJob]:
    logs = root / cluster.log_dir / "logs"
    return [
        job_type(
            name=stage.name,
            cmd=stage.cmd,
            root=str(root),
            log=str(logs / f"{stage.name}.log"),
            launch=launch,
            digest=digest,
            max_requeues=cluster.max_requeues,
            runner=runner,
        )
        for stage in wave
    ]


STOP_GRACE_S = 5.0
"""After an interruption: seconds between SIGTERM and SIGKILL to the stages still running."""


def run_local_wave(jobs: Sequence[StageJob], workers: int) -> WaveOutcome:
    """Run the wave's jobs, ``workers`` at a time. Interrupted (Ctrl-C, or any error in this
    thread), it terminates the running stages (SIGTERM, SIGKILL after ``STOP_GRACE_S``), starts
    no more and re-raises."""
    outcome = WaveOutcome()
    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    futures: dict[str, Future[dict[str, Any]]] = {}
    try:
        for job in jobs:
            futures[job.name] = pool.submit(job.run_local)
        for name, future in futures.items():
            try:
                outcome.done.append(future.result())
            except (StageFailed, StageKilled, OSError) as exc:
                outcome.failed[name] = str(exc)
    except BaseException:
        for job in jobs:
            job.cancel(signal.SIGTERM)
        wait(futures.values(), timeout=STOP_GRACE_S)
        for job in jobs:
            job.cancel(signal.SIGKILL)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return outcome


@contextlib.contextmanager
def fork_runner(
    root: Path, launch: LaunchParams, cluster: ClusterParams, enabled: bool, log: Log
) -> Iterator[ForkRunner | None]:
    """The zygote of a local sweep (started at once, so that its imports overlap the
    planning), or None where stages run as separate processes; closed on the way out."""
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
            root, stage_environment(launch), root / cluster.log_dir / "logs" / "zygote.log"
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
    jobs: int = 1,
    targets: Sequence[str] = (),
    log: Log = print,
    fork: bool = True,
) -> dict[str, Any]:
    """Plan and run the pending stages; return a summary (waves, stage timings, attempts).

    ``fork``: run the local executor's ``harness`` stages in children of one zygote process
    (:mod:`harness.launch.zygote`); False: each as a new process."""
    root = root.resolve()
    with fork_runner(root, launch, cluster, fork and executor == "local", log) as runner:
        return _run_sweep(root, launch, cluster, executor, jobs, targets, log, runner)


def _run_sweep(
    root: Path,
    launch: LaunchParams,
    cluster: ClusterParams,
    executor: Executor,
    jobs: int,
    targets: Sequence[str],
    log: Log,
    runner: ForkRunner | None,
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
    clock = time.monotonic()
    runner = _usable(runner, log)
    overhead["zygote_wait_s"] = round(time.monotonic() - clock, 2)
    summary["forked"] = runner is not None
    for number, wave in enumerate(plan.waves, start=1):
        log(f"wave {number}/{len(plan.waves)}: {', '.join(s.name for s in wave)}")
        clock = time.monotonic()
        for stage in wave:
            remove_outputs(root, stage)
        stage_jobs = _jobs_for(wave, root, launch, cluster, digest, job_type, runner)
        if executor == "slurm":
            outcome = run_slurm_wave(stage_jobs, root / cluster.log_dir / "slurm", cluster, log)
        else:
            outcome = run_local_wave(stage_jobs, jobs)
        ran = time.monotonic() - clock
        finished = [item["stage"] for item in outcome.done]
        if finished:
            dvc_commit(root, finished)
        overhead["waves"].append(
            {
                "stages": len(wave),
                "run_s": round(ran, 2),
                "commit_s": round(time.monotonic() - clock - ran, 2),
            }
        )
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
    jobs: int = 1,
    targets: Sequence[str] = (),
    dry_run: bool = False,
    summary: Path | None = None,
    fork: bool = True,
    log: Log = print,
) -> dict[str, Any] | None:
    """``harness sweep``: print the plan (``dry_run``: JSON on stdout, nothing runs), or run
    the pending stages of the workspace holding ``params_path`` and write the summary."""
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
    )
    if summary is not None:
        write_summary(summary, result)
    log(f"sweep done: {len(result['stages'])} stage(s) ran")
    return result
