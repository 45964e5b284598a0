"""harness.launch: container argv, image digests, sweep planning, local jobs, pin checks."""

from __future__ import annotations

import hashlib
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from harness.config import LaunchParams
from harness.errors import HarnessError
from harness.launch.container import image_digest, stage_argv
from harness.launch.jobs import StageFailed, StageJob, StageKilled
from harness.launch.pins import apptainer_problems, check, dockerfile_problems
from harness.launch.plan import PlannedStage, make_waves
from harness.launch.sweep import remove_outputs
from tests.conftest import REPO

DIGEST = "sha256:" + "ab" * 32
CMD = "harness target --task toy_nli --intermediate none --out models/phase2/none-toy_nli"


def test_local_backend_runs_the_command_through_the_shell(tmp_path: Path) -> None:
    assert stage_argv(CMD, LaunchParams(), tmp_path) == ["/bin/sh", "-c", CMD]
    assert image_digest(LaunchParams()) is None


def test_docker_argv(tmp_path: Path) -> None:
    launch = LaunchParams(
        backend="docker",
        image=f"ghcr.io/lab/xtransfer@{DIGEST}",
        gpus=True,
        binds=["/scratch/hf:/home/xtransfer/.cache/huggingface:ro", "/data"],
        env={"HF_HUB_OFFLINE": "1"},
    )
    ws = tmp_path.resolve()
    argv = stage_argv(CMD, launch, tmp_path, image_digest(launch), user=(1000, 100))
    assert argv == [
        "docker", "run", "--rm",
        "--gpus", "all",
        "--user", "1000:100",
        "--volume", f"{ws}:{ws}",
        "--volume", "/scratch/hf:/home/xtransfer/.cache/huggingface:ro",
        "--volume", "/data:/data",
        "--workdir", str(ws),
        "--env", "HF_HUB_OFFLINE=1",
        "--env", f"XTRANSFER_IMAGE_DIGEST={DIGEST}",
        "--entrypoint", "/bin/sh",
        f"ghcr.io/lab/xtransfer@{DIGEST}",
        "-c", CMD,
    ]  # fmt: skip


def test_podman_runtime_and_no_gpus(tmp_path: Path) -> None:
    launch = LaunchParams(
        backend="docker",
        image="localhost/xtransfer:test",
        image_digest=DIGEST,
        runtime="podman",
        runtime_args=["--runtime", "runc", "--cgroup-manager", "cgroupfs"],
        run_args=["--ulimit", "nproc=8192:8192"],
    )
    argv = stage_argv("harness --help", launch, tmp_path, image_digest(launch), user=(0, 0))
    assert argv[:9] == [
        "podman", "--runtime", "runc", "--cgroup-manager", "cgroupfs",
        "run", "--rm", "--ulimit", "nproc=8192:8192",
    ]  # fmt: skip
    assert "--gpus" not in argv
    assert argv[-5:] == [
        "--entrypoint",
        "/bin/sh",
        "localhost/xtransfer:test",
        "-c",
        "harness --help",
    ]
    assert f"XTRANSFER_IMAGE_DIGEST={DIGEST}" in argv


def test_apptainer_argv(tmp_path: Path) -> None:
    sif = tmp_path / "xtransfer.sif"
    sif.write_bytes(b"not really an image, but bytes to hash")
    launch = LaunchParams(backend="apptainer", image=str(sif), gpus=True, binds=["/scratch"])
    digest = image_digest(launch)
    assert digest == "sha256:" + hashlib.sha256(sif.read_bytes()).hexdigest()
    ws = tmp_path.resolve()
    assert stage_argv(CMD, launch, tmp_path, digest) == [
        "apptainer", "exec", "--cleanenv", "--nv",
        "--bind", f"{ws}:{ws}",
        "--bind", "/scratch:/scratch",
        "--pwd", str(ws),
        "--env", f"XTRANSFER_IMAGE_DIGEST={digest}",
        str(sif), "/bin/sh", "-c", CMD,
    ]  # fmt: skip


def test_image_problems_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match="not pinned by digest"):
        image_digest(LaunchParams(backend="docker", image="xtransfer:latest"))
    with pytest.raises(HarnessError, match="not found"):
        image_digest(LaunchParams(backend="apptainer", image=str(tmp_path / "missing.sif")))
    with pytest.raises(ValidationError, match=r"needs launch\.image"):
        LaunchParams(backend="docker")
    with pytest.raises(HarnessError, match="binds"):
        stage_argv("true", LaunchParams(backend="docker", image="x", binds=[":/x"]), tmp_path)


def _stage(name: str, *needs: str) -> PlannedStage:
    return PlannedStage(name=name, cmd=f"run {name}", outs=(name,), needs=frozenset(needs))


GRID = {
    "data.dvc": PlannedStage(name="data.dvc", cmd="", outs=("data",)),
    "pretrain": _stage("pretrain", "data.dvc"),
    "intermediate@a": _stage("intermediate@a", "pretrain", "data.dvc"),
    "target@none-t": _stage("target@none-t", "pretrain"),
    "target@a-t": _stage("target@a-t", "intermediate@a"),
    "evaluate@none-t": _stage("evaluate@none-t", "target@none-t"),
    "evaluate@a-t": _stage("evaluate@a-t", "target@a-t"),
    "ingest": _stage("ingest", "evaluate@none-t", "evaluate@a-t"),
}
RUNNABLE = set(GRID) - {"data.dvc"}


def names(plan: object) -> list[list[str]]:
    return [[s.name for s in wave] for wave in plan.waves]  # type: ignore[attr-defined]


def test_waves_follow_the_dependencies() -> None:
    plan = make_waves(GRID, ["pretrain"], RUNNABLE)
    assert names(plan) == [
        ["pretrain"],
        ["intermediate@a", "target@none-t"],
        ["evaluate@none-t", "target@a-t"],
        ["evaluate@a-t"],
        ["ingest"],
    ]


def test_only_changed_stages_and_their_dependants_are_planned() -> None:
    assert names(make_waves(GRID, ["target@a-t"], RUNNABLE)) == [
        ["target@a-t"],
        ["evaluate@a-t"],
        ["ingest"],
    ]
    assert make_waves(GRID, [], RUNNABLE).waves == ()


def test_changed_inputs_without_a_command_are_a_user_error() -> None:
    with pytest.raises(HarnessError, match=r"data\.dvc .*harness data"):
        make_waves(GRID, ["data.dvc"], RUNNABLE)


def test_pinned_data_missing_from_the_cache_is_recorded_not_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fresh clone after `harness data`: data.dvc's data is exactly as pinned but not in the
    DVC cache. The sweep records it first (no error); data that differs from the pin is still
    a user error."""
    from harness.launch.plan import plan_sweep

    def sh(*args: str) -> None:
        subprocess.run(args, cwd=tmp_path, check=True, capture_output=True)

    sh("git", "init", "-q")
    sh(sys.executable, "-m", "dvc", "init", "-q")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.txt").write_text("pinned\n")
    sh(sys.executable, "-m", "dvc", "add", "-q", "data")
    (tmp_path / "dvc.yaml").write_text(
        "stages:\n  copy:\n    cmd: cp data/a.txt out.txt\n    deps: [data]\n    outs: [out.txt]\n"
    )
    sh("rm", "-rf", ".dvc/cache")
    monkeypatch.chdir(tmp_path)  # DVC names a .dvc file's stage by its path from here
    plan = plan_sweep(tmp_path)
    assert plan.cache_first == ("data.dvc",)
    assert [[stage.name for stage in wave] for wave in plan.waves] == [["copy"]]
    (tmp_path / "data" / "a.txt").write_text("changed\n")
    with pytest.raises(HarnessError, match=r"do not match the snapshot pinned in .data\.dvc"):
        plan_sweep(tmp_path)


def test_finished_stages_are_recorded_in_one_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dvc_commit records stages that ran outside DVC (as sweep jobs do): afterwards dvc.lock
    pins them exactly as `dvc repro` would, and `dvc status` reports nothing to do."""
    import json

    from harness.dvclock import dvc_commit

    def sh(*args: str) -> str:
        return subprocess.run(args, cwd=tmp_path, check=True, capture_output=True, text=True).stdout

    sh("git", "init", "-q")
    sh(sys.executable, "-m", "dvc", "init", "-q")
    (tmp_path / "in.txt").write_text("x\n")
    (tmp_path / "dvc.yaml").write_text(
        "stages:\n"
        "  a:\n    cmd: cp in.txt a.txt\n    deps: [in.txt]\n    outs: [a.txt]\n"
        "  b:\n    cmd: cp a.txt b.txt\n    deps: [a.txt]\n    outs: [b.txt]\n"
        "  c:\n    cmd: cp a.txt c.txt\n    deps: [a.txt]\n    outs: [c.txt]\n"
    )
    monkeypatch.chdir(tmp_path)
    for name in ("a", "b"):  # run by hand, as a job would; c is left pending
        sh("sh", "-c", {"a": "cp in.txt a.txt", "b": "cp a.txt b.txt"}[name])
    dvc_commit(tmp_path, ["a", "b"])
    status = json.loads(sh(sys.executable, "-m", "dvc", "status", "--json"))
    assert set(status) == {"c"}
    lock = (tmp_path / "dvc.lock").read_text()
    assert "a.txt" in lock and "b.txt" in lock and "c.txt" not in lock
    with pytest.raises(HarnessError, match="no such stage"):
        dvc_commit(tmp_path, ["nope"])


def _job(tmp_path: Path, script: str, max_requeues: int = 2) -> StageJob:
    return StageJob(
        name="stage",
        cmd=shlex.join([sys.executable, "-c", script]),
        root=str(tmp_path),
        log=str(tmp_path / "logs" / "stage.log"),
        max_requeues=max_requeues,
    )


KILL_ONCE = """
import os, pathlib, signal
marker = pathlib.Path('attempted')
if not marker.exists():
    marker.write_text('x')
    os.kill(os.getpid(), signal.SIGKILL)
pathlib.Path('done').write_text('ok')
"""


def test_a_killed_stage_is_rerun(tmp_path: Path) -> None:
    result = _job(tmp_path, KILL_ONCE).run_local()
    assert result["attempts"] == 2 and (tmp_path / "done").read_text() == "ok"
    log = (tmp_path / "logs" / "stage.log").read_text()
    assert re.search(r"exit status (-9|137)\n", log) and "attempt 2" in log


def test_reruns_are_capped_and_real_failures_are_not_retried(tmp_path: Path) -> None:
    always = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    with pytest.raises(StageKilled, match="SIGKILL"):
        _job(tmp_path, always, max_requeues=1).run_local()
    assert (tmp_path / "logs" / "stage.log").read_text().count("=== stage: attempt") == 2
    counter = tmp_path / "count"
    failing = (
        f"import pathlib; p = pathlib.Path({str(counter)!r}); "
        "p.write_text(p.read_text() + 'x' if p.exists() else 'x'); raise SystemExit(3)"
    )
    with pytest.raises(StageFailed, match="exit status 3"):
        _job(tmp_path, failing).run_local()
    assert counter.read_text() == "x"


def test_job_environment_puts_this_interpreter_first(tmp_path: Path) -> None:
    job = _job(
        tmp_path, "import os; open('env', 'w').write(os.environ['PATH'] + ' ' + os.environ['XT'])"
    )
    job.launch = LaunchParams(env={"XT": "set"})
    job.run_local()
    path, value = (tmp_path / "env").read_text().split(" ")
    assert path.split(":")[0] == str(Path(sys.executable).parent) and value == "set"


def test_containers_see_only_the_gpus_of_the_job(tmp_path: Path) -> None:
    docker = LaunchParams(backend="docker", image="x@" + DIGEST, gpus=True)
    argv = stage_argv("true", docker, tmp_path, DIGEST, user=(1, 1), visible_devices="2,3")
    assert argv[argv.index("--gpus") + 1] == '"device=2,3"'
    sif = tmp_path / "x.sif"
    sif.write_bytes(b"x")
    apptainer = LaunchParams(backend="apptainer", image=str(sif), gpus=True)
    argv = stage_argv("true", apptainer, tmp_path, DIGEST, visible_devices="1")
    assert "--nv" in argv and "CUDA_VISIBLE_DEVICES=1" in argv


def test_dockerfile_pin_check() -> None:
    good = "ARG BASE=nvidia/cuda:13.0.1-runtime-ubuntu24.04@" + DIGEST + "\nFROM ${BASE} AS build\n"
    assert dockerfile_problems(good + "FROM build\nFROM scratch\n") == []
    assert dockerfile_problems("FROM ubuntu:24.04\n") == [
        "FROM ubuntu:24.04: not pinned by digest (name@sha256:<digest>)"
    ]
    assert "ARG without a default" in dockerfile_problems("ARG BASE\nFROM $BASE\n")[0]
    assert dockerfile_problems("FROM --platform=linux/amd64 \\\n  debian@" + DIGEST + "\n") == []


def test_apptainer_pin_check() -> None:
    local = "Bootstrap: docker-daemon\nFrom: xtransfer:latest\n"
    assert apptainer_problems(local) == []
    assert apptainer_problems("Bootstrap: docker\nFrom: ubuntu:24.04\n")
    templated = "Bootstrap: {{ B }}\nFrom: {{ I }}\n%arguments\n    B=docker\n    I=x@" + DIGEST
    assert apptainer_problems(templated) == []


def test_the_project_containers_are_pinned_and_lint_clean() -> None:
    files = [REPO / "containers" / "Dockerfile", REPO / "containers" / "harness.def"]
    assert check(files) == []
    lock = (REPO / "containers" / "requirements.lock").read_text()
    assert "torch==2.13.0" in lock and "--hash=sha256:" in lock
    if (hadolint := Path(sys.executable).parent / "hadolint").exists():
        out = subprocess.run([str(hadolint), str(files[0])], capture_output=True, text=True)
        assert out.returncode == 0, out.stdout + out.stderr


def test_sweep_command_rejects_an_unknown_executor() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "harness", "sweep", "--executor", "pbs"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2
    assert "Unknown executor 'pbs'" in out.stderr and "Traceback" not in out.stderr


def test_outputs_are_removed_before_a_rerun_except_persistent_ones(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "w.bin").write_text("old")
    (tmp_path / "model.ckpt").mkdir()  # a training checkpoint beside the output: kept
    (tmp_path / "result.json").write_text("{}")
    (tmp_path / "kept.db").write_text("x")
    stage = PlannedStage(
        name="s", cmd="c", outs=("model", "result.json", "kept.db"), persistent=("kept.db",)
    )
    remove_outputs(tmp_path, stage)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.db", "model.ckpt"]
