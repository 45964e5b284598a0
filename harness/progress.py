"""Progress bars on stderr (rich)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

console = Console(stderr=True)


@contextmanager
def progress_bar(description: str, total: int) -> Iterator[Callable[[float | None], None]]:
    """Yield ``advance(loss=None)``; shows steps, elapsed and remaining time, and the loss."""
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(description, total=total, info="")

        def advance(loss: float | None = None) -> None:
            if loss is None:  # keep showing the last loss read
                progress.update(task, advance=1)
            else:
                progress.update(task, advance=1, info=f"loss {loss:.4f}")

        yield advance
