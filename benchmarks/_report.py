"""One table across the benchmarks: each benchmark records its headline rows here, and
``benchmarks/report.py`` prints them together at the end of ``nox -s bench``.

A row is appended (one JSON object per line) to the file named by ``XTRANSFER_BENCH_REPORT``;
without that variable :func:`record` does nothing, so a benchmark run by hand prints only its own
output. ``met`` is decided here from the measured number and the target, never written by hand.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

ENV = "XTRANSFER_BENCH_REPORT"
FIELDS = ("bench", "measure", "value", "unit", "baseline", "ratio", "at_least", "at_most",
          "target_on", "met", "note")  # fmt: skip
"""The keys of a recorded row, in the order written."""


def record(
    bench: str,
    measure: str,
    value: float,
    unit: str,
    *,
    baseline: float | None = None,
    at_least: float | None = None,
    at_most: float | None = None,
    target_on: str = "value",
    note: str = "",
) -> None:
    """Record one measured row.

    ``baseline`` is the same measure of the reference run in the same session; the ratio is
    ``value / baseline``. ``at_least`` / ``at_most`` bound ``value`` (``target_on="value"``) or
    the ratio (``target_on="ratio"``); with neither the row has no target.
    """
    if target_on not in ("value", "ratio"):
        raise ValueError(f"target_on must be 'value' or 'ratio', not {target_on!r}")
    ratio = value / baseline if baseline else None
    if target_on == "ratio" and ratio is None and (at_least is not None or at_most is not None):
        raise ValueError(f"{bench}: {measure}: a target on the ratio needs a baseline")
    checked = ratio if target_on == "ratio" else value
    met: bool | None = None
    if checked is not None and (at_least is not None or at_most is not None):
        met = (at_least is None or checked >= at_least) and (at_most is None or checked <= at_most)
    values = (bench, measure, value, unit, baseline, ratio, at_least, at_most, target_on, met,
              note)  # fmt: skip
    row = dict(zip(FIELDS, values, strict=True))
    path = os.environ.get(ENV)
    if not path:
        return
    with Path(path).open("a", encoding="utf-8") as out:
        out.write(json.dumps(row) + "\n")
