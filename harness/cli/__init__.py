"""The ``harness`` command line: one thin command per pipeline stage.

Every command reads ``params.yaml`` (``--params``) through :mod:`harness.config` and calls one
function. User errors (:class:`HarnessError`) print a message and exit with status 2.
"""

from __future__ import annotations

import sys

from harness.cli import pipeline, results, sweep, tasks
from harness.cli.app import app
from harness.errors import HarnessError

__all__ = ["app", "main", "pipeline", "results", "sweep", "tasks"]


def main() -> None:
    try:
        app()
    except HarnessError as exc:
        from rich.console import Console

        Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(2)
