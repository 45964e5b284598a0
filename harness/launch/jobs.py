"""One stage as a job: run its command, and ask for a rerun when the process was killed.

A stage command is rerun as it is after a kill, a time-out or a preemption: the stage itself
resumes from whatever it keeps beside its output (training checkpoints in ``<out>.ckpt/``), so
the job needs no knowledge of what the stage does. Locally, a ``harness ...`` command runs in a
child forked from the sweep's zygote when the job has one (:mod:`harness.launch.zygote`: the
same process semantics without importing torch each time), otherwise as a subprocess. Jobs never
call ``dvc repro`` (concurrent ``dvc`` processes in one repository fight over its lock); the
sweep records the outputs in ``dvc.lock`` with ``dvc commit`` once a wave is done.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from harness.config import LaunchParams
from harness.launch.container import stage_argv
from harness.launch.zygote import ForkRunner, ZygoteGone, harness_args

KILLED_EXIT = 128
"""Exit statuses above this (128 + signal number, as a shell reports them) mean: killed."""


class StageFailed(RuntimeError):
    """The stage command exited with an error of its own (not worth rerunning as it is)."""


class StageKilled(RuntimeError):
    """The stage process was killed by a signal (OOM killer, preemption, a time limit, kill)."""


def stage_environment(launch: LaunchParams) -> dict[str, str]:
    """The environment of a stage process started from this one."""
    env = dict(os.environ)
    # `harness` and `dvc` of the interpreter that runs the job come first on PATH
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    if launch.backend == "local":
        env.update(launch.env)  # a container gets them through its own argv
    return env


@dataclass
class StageJob:
    """Runs one stage command in the workspace, appending its output to ``log``.

    ``runner``: the sweep's zygote (local executor only); ``harness ...`` commands then run in a
    forked child instead of a new process. :meth:`cancel` (from another thread) kills what the
    job runs and stops its reruns. Neither the runner nor the running process is pickled (SLURM
    jobs are pickled by submitit).
    """

    name: str
    cmd: str
    root: str
    log: str
    launch: LaunchParams = field(default_factory=LaunchParams)
    digest: str | None = None
    max_requeues: int = 3
    runner: ForkRunner | None = field(default=None, repr=False, compare=False)
    threads: int = 1
    """CPU threads the stage computes with (what a local sweep reserves of its cores for it)."""

    def __post_init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._state = threading.Lock()
        self._cancelled = False
        self._process: subprocess.Popen[bytes] | None = None
        self._request: int | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        for transient in ("_state", "_cancelled", "_process", "_request"):
            state.pop(transient, None)
        state["runner"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._reset()

    def argv(self) -> list[str]:
        """Built where the job runs, so that a container sees the GPUs allocated there."""
        devices = os.environ.get("CUDA_VISIBLE_DEVICES") if self.launch.gpus else None
        return stage_argv(self.cmd, self.launch, Path(self.root), self.digest, None, None, devices)

    def _environment(self) -> dict[str, str]:
        return stage_environment(self.launch)

    def cancel(self, sig: int = signal.SIGTERM) -> None:
        """Send ``sig`` to the stage process if one is running; no further attempts."""
        with self._state:
            self._cancelled = True
            process, request = self._process, self._request
        if process is not None:
            process.send_signal(sig)  # nothing once it has been waited for
        if request is not None and self.runner is not None:
            self.runner.kill(request, sig)

    def _forked(self, args: list[str], log: IO[str]) -> int | None:
        """Run ``harness ARGS`` in a child of the zygote; None when the zygote cannot (it is
        gone: the command then runs as a subprocess)."""
        assert self.runner is not None
        if not self.runner.alive:
            return None
        try:
            self.runner.wait_ready()
            with self._state:
                if self._cancelled:
                    return -signal.SIGTERM
                self._request = self.runner.start(args, self.root, self._environment(), self.log)
        except ZygoteGone:
            return None
        try:
            return self.runner.wait(self._request)
        except ZygoteGone as exc:
            # its children die with it (PR_SET_PDEATHSIG): a killed stage, rerun as a subprocess
            log.write(f"=== {self.name}: {exc}\n")
            return -signal.SIGKILL
        finally:
            with self._state:
                self._request = None

    def _subprocess(self, log: IO[str]) -> int:
        with self._state:
            if self._cancelled:
                return -signal.SIGTERM
            process = self._process = subprocess.Popen(
                self.argv(),
                cwd=self.root,
                env=self._environment(),
                stdout=log,
                stderr=log,
                preexec_fn=self._preexec,
            )
        try:
            return process.wait()
        finally:
            with self._state:
                self._process = None

    def _where(self) -> str:
        return f"pid {os.getpid()}"

    def _preexec(self) -> None:
        """Runs in the stage's process before it starts (nothing here; see SlurmStageJob)."""

    def run_once(self, attempt: int) -> float:
        """Run the command once; return its wall time or raise StageFailed / StageKilled."""
        Path(self.log).parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        with open(self.log, "a", encoding="utf-8") as log:
            log.write(f"=== {self.name}: attempt {attempt + 1}, {self._where()}\n")
            log.flush()
            code: int | None = None
            args = harness_args(self.cmd) if self.launch.backend == "local" else None
            if self.runner is not None and args is not None:
                code = self._forked(args, log)
            if code is None:
                code = self._subprocess(log)
            log.write(f"=== {self.name}: exit status {code}\n")
        if code == 0:
            return time.monotonic() - started
        if code < 0 or code > KILLED_EXIT:
            number = -code if code < 0 else code - KILLED_EXIT
            try:
                name = signal.Signals(number).name
            except ValueError:
                name = f"signal {number}"
            raise StageKilled(f"stage {self.name} was killed ({name}); log: {self.log}")
        raise StageFailed(f"stage {self.name} failed with exit status {code}; log: {self.log}")

    def run_local(self) -> dict[str, Any]:
        """On this machine: a killed command is rerun, up to ``max_requeues`` times."""
        attempt = 0
        while True:
            if self._cancelled:
                raise StageKilled(f"stage {self.name} was cancelled; log: {self.log}")
            try:
                seconds = self.run_once(attempt)
            except StageKilled:
                if attempt >= self.max_requeues or self._cancelled:
                    raise
                attempt += 1
                continue
            return {"stage": self.name, "seconds": seconds, "attempts": attempt + 1}


class SlurmStageJob(StageJob):
    """The job function submitted to SLURM through submitit.

    A killed stage process requeues the job (``scontrol requeue``), so it runs again, on any
    node, under the same job id; submitit's own handler requeues on the time-limit and
    preemption signal (``checkpoint`` below makes the job checkpointable). ``SLURM_RESTART_COUNT``
    caps the requeues at ``max_requeues``.
    """

    def _where(self) -> str:
        job = os.environ.get("SLURM_JOB_ID", "?")
        if "SLURM_ARRAY_JOB_ID" in os.environ:
            job = f"{os.environ['SLURM_ARRAY_JOB_ID']}_{os.environ.get('SLURM_ARRAY_TASK_ID', '')}"
        return f"SLURM job {job}, pid {os.getpid()}"

    def _preexec(self) -> None:
        # SLURM sends the time-limit / preemption warning (SIGUSR2) to every process of the
        # job; it is submitit's to handle (checkpoint + requeue), not the stage's to die of.
        signal.signal(signal.SIGUSR2, signal.SIG_IGN)

    def __call__(self) -> dict[str, Any]:
        attempt = int(os.environ.get("SLURM_RESTART_COUNT", "0") or 0)
        try:
            seconds = self.run_once(attempt)
        except StageKilled:
            if attempt >= self.max_requeues:
                raise
            self._requeue()
            raise  # not reached: scontrol requeue ends this job
        return {"stage": self.name, "seconds": seconds, "attempts": attempt + 1}

    def _requeue(self) -> None:
        import submitit

        job_id = submitit.JobEnvironment().job_id
        with open(self.log, "a", encoding="utf-8") as log:
            log.write(f"=== {self.name}: requeueing SLURM job {job_id}\n")
        subprocess.check_call(["scontrol", "requeue", job_id], timeout=60)
        # like submitit after its own requeue: leave without a result, the rerun writes it
        sys.exit(-1)

    def checkpoint(self) -> Any:
        """Called by submitit on a time-out or preemption: rerun the same stage."""
        import submitit

        with open(self.log, "a", encoding="utf-8") as log:
            log.write(f"=== {self.name}: time limit or preemption, requeued by submitit\n")

        return submitit.helpers.DelayedSubmission(self)
