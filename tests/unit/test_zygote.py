"""harness.launch.zygote: stages forked from one process behave as separate processes do.

The zygote here preloads torch and calls a stand-in command line (tests/unit/stage_stub.py)
instead of ``harness.cli``, so that failures, kills and hangs can be staged; the real command
line is checked against the subprocess path in tests/integration/test_fork_sweep.py.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.config import LaunchParams
from harness.launch.jobs import StageFailed, StageJob, StageKilled, stage_environment
from harness.launch.sweep import _usable, run_local_wave
from harness.launch.zygote import ForkRunner, fork_supported, harness_args
from tests.conftest import REPO

pytestmark = pytest.mark.skipif(not fork_supported(), reason="the zygote forks: Linux only")

STUB = "tests.unit.stage_stub:main"


def _env() -> dict[str, str]:
    env = stage_environment(LaunchParams(env={"XT_STUB": "set"}))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def _runner(tmp: Path, preload: tuple[str, ...] = ("torch", "tests.unit.stage_stub")) -> Any:
    return ForkRunner(tmp, _env(), tmp / "zygote.log", preload=preload, entry=STUB)


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ForkRunner]:
    forks = _runner(tmp_path_factory.mktemp("zygote"))
    assert forks.wait_ready(timeout=300)["cuda"] is False
    yield forks
    forks.close()


def _job(tmp: Path, cmd: str, runner: ForkRunner | None, **kwargs: Any) -> StageJob:
    job = StageJob(
        name="stage", cmd=cmd, root=str(tmp), log=str(tmp / "logs" / "stage.log"), **kwargs
    )
    job.runner = runner
    job.launch = LaunchParams(env={"XT_STUB": "set"})
    job._environment = _env  # type: ignore[method-assign]
    return job


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in ("Z", "X")


def _wait_gone(pid: int, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _gone(pid):
            return True
        time.sleep(0.1)
    return False


def test_plain_harness_commands_are_forked_and_the_rest_goes_through_the_shell() -> None:
    cmd = "harness evaluate --task toy_nli --intermediate none --model 'models/a b' --seed 13"
    assert harness_args(cmd) == [
        "evaluate", "--task", "toy_nli", "--intermediate", "none", "--model", "models/a b",
        "--seed", "13",
    ]  # fmt: skip
    for shell in (
        "harness data && harness sweep",
        "harness ingest results/cells/*.json",
        "harness analyze > out.txt",
        "harness target --out $OUT",
        "OMP_NUM_THREADS=1 harness target",
        "python -m harness data",
        "harness 'unbalanced",
        "",
    ):
        assert harness_args(shell) is None, shell


def test_a_forked_stage_sees_what_a_new_process_sees(runner: ForkRunner, tmp_path: Path) -> None:
    """Working directory, argv, environment, stdin, torch's thread count, stdout + stderr in
    the log; generators seeded from the OS (torch's, Python's) are fresh in each child."""
    log = tmp_path / "stage.log"
    codes = [
        runner.run(["report", str(tmp_path / f"fork{i}.json")], str(tmp_path), _env(), str(log))
        for i in range(2)
    ]
    assert codes == [0, 0]
    fresh = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.argv = ['harness', 'report', 'fresh.json']; "
            "from tests.unit.stage_stub import main; main()",
        ],
        cwd=tmp_path,
        env=_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=True,
    )
    assert fresh.returncode == 0
    forks = [json.loads((tmp_path / f"fork{i}.json").read_text()) for i in range(2)]
    new = json.loads((tmp_path / "fresh.json").read_text())
    for seen in forks:
        for key in ("cwd", "argv0", "xt", "stdin", "torch_threads"):
            assert seen[key] == new[key], key
        assert seen["cuda_initialised"] is False
    assert new["cwd"] == str(tmp_path) and new["xt"] == "set" and new["stdin"] == "/dev/null"
    assert forks[0]["pid"] != forks[1]["pid"] != os.getpid()
    for key in ("random", "torch_draw"):
        assert forks[0][key] != forks[1][key], key
    assert log.read_text().count("to stdout\n") == 2 and "to stderr\n" in log.read_text()


def test_failures_propagate_as_stage_failed_with_the_log(
    runner: ForkRunner, tmp_path: Path
) -> None:
    job = _job(tmp_path, "harness fail 3", runner)
    with pytest.raises(StageFailed, match=f"exit status 3; log: {job.log}"):
        job.run_local()
    log = Path(job.log).read_text()
    assert "failing on purpose" in log and log.rstrip().endswith("exit status 3")
    assert log.count("attempt") == 1  # a failure is not retried
    crash = _job(tmp_path, "harness crash", runner)
    with pytest.raises(StageFailed, match="exit status 1"):
        crash.run_local()
    assert "RuntimeError: a bug in the stage" in Path(crash.log).read_text()


def test_a_killed_forked_stage_is_rerun(runner: ForkRunner, tmp_path: Path) -> None:
    job = _job(tmp_path, f"harness kill-once {tmp_path / 'marker'}", runner)
    assert job.run_local()["attempts"] == 2
    log = Path(job.log).read_text()
    assert "exit status -9\n" in log and "second attempt" in log
    always = _job(tmp_path / "always", "harness die", runner, max_requeues=1)
    with pytest.raises(StageKilled, match="SIGKILL"):
        always.run_local()
    assert Path(always.log).read_text().count("exit status -9") == 2


class _Interrupt(StageJob):
    """Raises KeyboardInterrupt (as ^C does in the sweep) once the other stage is running."""

    pidfile: Path = Path()

    def run_local(self) -> dict[str, Any]:
        deadline = time.monotonic() + 60
        while not self.pidfile.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        raise KeyboardInterrupt


def test_an_interrupted_wave_kills_its_running_stages(runner: ForkRunner, tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    sleeper = _job(tmp_path, f"harness sleep {pidfile}", runner)
    interrupt = _Interrupt(name="interrupt", cmd="true", root=str(tmp_path), log=str(tmp_path))
    interrupt.pidfile = pidfile
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run_local_wave([interrupt, sleeper], workers=2)
    assert time.monotonic() - started < 30
    pid = int(pidfile.read_text())
    assert _wait_gone(pid)
    log = Path(sleeper.log).read_text()
    assert log.rstrip().endswith("exit status -15") and log.count("attempt") == 1  # not rerun


SWEEP = """
import sys
from pathlib import Path
from harness.launch.sweep import run_local_wave
from tests.unit.test_zygote import _job, _runner
tmp = Path(sys.argv[1])
runner = _runner(tmp, preload=("tests.unit.stage_stub",))
try:
    run_local_wave([_job(tmp, f"harness sleep {tmp / 'pid'}", runner)], workers=1)
finally:
    runner.close()
"""


@pytest.mark.parametrize("how", ["ctrl-c", "sigkill"])
def test_the_stages_end_with_the_sweep(tmp_path: Path, how: str) -> None:
    """^C in a terminal (SIGINT to the whole process group) or a SIGKILL of the sweep alone:
    either way the zygote and its running stage end too."""
    sweep = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(SWEEP), str(tmp_path)],
        env=_env(),
        start_new_session=True,
        stderr=subprocess.PIPE,
    )
    pidfile = tmp_path / "pid"
    deadline = time.monotonic() + 120
    while not pidfile.exists() and time.monotonic() < deadline and sweep.poll() is None:
        time.sleep(0.05)
    assert pidfile.exists(), sweep.communicate()[1].decode()
    time.sleep(0.2)
    stage = int(pidfile.read_text())
    zygote = int(Path(f"/proc/{stage}/stat").read_text().rsplit(")", 1)[1].split()[1])  # ppid
    if how == "ctrl-c":
        os.killpg(sweep.pid, signal.SIGINT)
    else:
        os.kill(sweep.pid, signal.SIGKILL)
    sweep.wait(timeout=60)
    assert sweep.returncode != 0
    assert _wait_gone(stage) and _wait_gone(zygote)
    if how == "ctrl-c":
        assert "KeyboardInterrupt" in sweep.stderr.read().decode()  # type: ignore[union-attr]


def test_without_the_zygote_stages_run_as_subprocesses(tmp_path: Path) -> None:
    """A zygote that died takes no stage with it: the next ones run as new processes."""
    forks = _runner(tmp_path, preload=())
    forks.wait_ready()
    forks._process.kill()
    forks._process.wait()
    deadline = time.monotonic() + 10
    while forks.alive and time.monotonic() < deadline:
        time.sleep(0.05)
    job = _job(tmp_path, "harness --help", forks)
    assert job.run_local()["attempts"] == 1
    assert "Usage: harness" in Path(job.log).read_text()  # the real command line ran
    forks.close()


def test_jobs_pickle_without_their_runner(runner: ForkRunner, tmp_path: Path) -> None:
    job = pickle.loads(pickle.dumps(_job(tmp_path, "harness fail 1", runner)))
    assert job.runner is None and job.name == "stage"
    job.cancel()  # nothing running: no error


class _Ready:
    def __init__(self, cuda: bool) -> None:
        self.cuda = cuda
        self.closed = False

    def wait_ready(self) -> dict[str, Any]:
        return {"cuda": self.cuda, "pid": 1}

    def close(self) -> None:
        self.closed = True


def test_with_a_usable_gpu_every_stage_is_a_new_process() -> None:
    lines: list[str] = []
    gpu = _Ready(cuda=True)
    assert _usable(gpu, lines.append) is None and gpu.closed  # type: ignore[arg-type]
    assert "CUDA is usable" in lines[0]
    cpu = _Ready(cuda=False)
    assert _usable(cpu, lines.append) is cpu  # type: ignore[arg-type]
