"""nox sessions: repro (the toy pipeline end to end), tests, lint, leaderboard, bench."""

from __future__ import annotations

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
    """Run the active profile end to end: data snapshot, `dvc repro`, leaderboard table."""
    _install(session)
    session.run("harness", "data")
    session.run("dvc", "repro", *session.posargs)
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
    """Performance benchmarks (never part of the test suite); results go in BENCHMARKS.md."""
    _install(session, "[test]")
    session.install("accelerate")  # the reference approach: transformers' Trainer
    session.run("python", "benchmarks/bench_training.py")
    session.run("python", "benchmarks/bench_store.py")
    session.run("python", "benchmarks/bench_features.py")
    session.run("python", "benchmarks/bench_leaderboard.py")
    session.run("python", "benchmarks/bench_pipeline.py")
