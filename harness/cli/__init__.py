"""The ``harness`` command line: one thin command per pipeline stage.

Every command reads ``params.yaml`` (``--params``) through :mod:`harness.config` and calls one
function. User errors (:class:`HarnessError`) print a message and exit with status 2.
"""

from __future__ import annotations

import os
import sys

# OpenMP threads that wait for work sleep instead of spinning (before torch loads libgomp): a
# spinning thread of a 2-thread stage holds a core that a stage beside it needs, which made
# the quickstart crawl on busy machines (RELIABILITY.md, "CPU threads"). Results are unchanged.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from harness.cli import acquire, pipeline, replicate, results, sweep, tasks
from harness.cli.app import app
from harness.errors import HarnessError

__all__ = ["acquire", "app", "main", "pipeline", "replicate", "results", "sweep", "tasks"]


def main() -> None:
    try:
        app()
    except HarnessError as exc:
        from rich.console import Console
        from rich.markup import escape

        # the message is text, not markup ("[source id, English id]" must print as written),
        # and is not folded: a long path stays whole and can be copied
        Console(stderr=True, soft_wrap=True).print(
            f"[bold red]error:[/] {escape(str(exc))}", highlight=False
        )
        sys.exit(2)
