"""One stage as a job: run its command, and ask for a rerun when the process was killed.

A stage command is rerun as it is after a kill, a time-out or a preemption: the stage itself
resumes from whatever it keeps beside its output (training checkpoints in ``<out>.ckpt/``), so
the job needs no knowledge of what the stage does. Jobs never call ``dvc repro`` (concurrent
``dvc`` processes in one repository fight over its lock); the sweep records the outputs in
``dvc.lock`` with ``dvc commit`` once a wave is done.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.config import LaunchParams
from harness.launch.container import stage_argv

KILLED_EXIT = 128
"""Exit statuses above this (128 + signal number, as a shell reports them) mean: killed."""


class StageFailed(RuntimeError):
    """The stage command exited with an error of its own (not worth rerunning as it is)."""


class StageKilled(RuntimeError):
    """The stage process was killed by a signal (OOM killer, preemption, a time limit, kill)."""


@dataclass
class StageJob:
    """Runs one stage command in the workspace, appending its output to ``log``."""

    name: str
    cmd: str
    root: str
    log: str
    launch: LaunchParams = field(default_factory=LaunchParams)
    digest: str | None = None
    max_requeues: int = 3

    def argv(self) -> list[str]:
        """Built where the job runs, so that a container sees the GPUs allocated there."""
        devices = os.environ.get("CUDA_VISIBLE_DEVICES") if self.launch.gpus else None
        return stage_argv(self.cmd, self.launch, Path(self.root), self.digest, None, None, devices)

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        # `harness` and `dvc` of the interpreter that runs the job come first on PATH
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        if self.launch.backend == "local":
            env.update(self.launch.env)  # a container gets them through its own argv
        return env

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
            code = subprocess.call(
                self.argv(),
                cwd=self.root,
                env=self._environment(),
                stdout=log,
                stderr=log,
                preexec_fn=self._preexec,
            )
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
            try:
                seconds = self.run_once(attempt)
            except StageKilled:
                if attempt >= self.max_requeues:
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
