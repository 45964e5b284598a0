"""Print the rows the benchmarks recorded (``benchmarks/_report.py``) as one Markdown table.

Run: ``python benchmarks/report.py FILE`` (``nox -s bench`` does, last). Exits 1 if the file
is missing, empty or has a line that is not a recorded row, so a broken run is not reported as a
short table.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._report import FIELDS


def number(value: float, unit: str) -> str:
    if unit in ("s", "ms", "GiB"):
        return f"{value:,.2f} {unit}" if abs(value) < 100 else f"{value:,.0f} {unit}"
    if unit == "%":
        return f"{value:.1f} %"
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "acc":
        return f"{value:.3f}"
    return f"{value:,.0f} {unit}" if abs(value) >= 100 else f"{value:,.3g} {unit}"


def target(row: dict[str, Any]) -> str:
    unit = "x" if row["target_on"] == "ratio" else row["unit"]
    parts = []
    if row["at_least"] is not None:
        parts.append(">= " + number(row["at_least"], unit))
    if row["at_most"] is not None:
        parts.append("<= " + number(row["at_most"], unit))
    return " and ".join(parts)


def read_rows(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise SystemExit(f"No benchmark rows at {path}: did the benchmarks run?")
    rows = []
    for number_, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SystemExit(f"{path}:{number_} is not a recorded row ({exc}).") from exc
        if not isinstance(row, dict) or set(row) != set(FIELDS):
            raise SystemExit(f"{path}:{number_} is not a recorded row: {line[:200]}")
        rows.append(row)
    if not rows:
        raise SystemExit(f"{path} holds no benchmark rows.")
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| benchmark | measure | result | baseline | ratio | target | met |",
        "| --- | --- | ---: | ---: | ---: | --- | --- |",
    ]
    for row in rows:
        met = {True: "yes", False: "**no**", None: ""}[row["met"]]
        baseline = number(row["baseline"], row["unit"]) if row["baseline"] is not None else ""
        ratio = f"{row['ratio']:.2f}x" if row["ratio"] is not None else ""
        measure = row["measure"] + (f" ({row['note']})" if row["note"] else "")
        lines.append(
            f"| {row['bench']} | {measure} | {number(row['value'], row['unit'])} | {baseline} "
            f"| {ratio} | {target(row)} | {met} |"
        )
    checked = [row for row in rows if row["met"] is not None]
    met = sum(row["met"] for row in checked)
    lines.append("")
    lines.append(f"{met} of {len(checked)} targets met." if checked else "No row has a target.")
    return "\n".join(lines)


def machine() -> str:
    try:
        import torch

        gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "no CUDA GPU"
        versions = f"torch {torch.__version__}"
    except ImportError:
        gpu, versions = "torch not installed", ""
    return (
        f"{platform.node()}: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPU(s), {gpu}; Python {platform.python_version()}, {versions}"
    )


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit("usage: python benchmarks/report.py ROWS.jsonl")
    rows = read_rows(Path(sys.argv[1]))
    print(f"\n## Benchmark summary\n\nMachine: {machine()}\n")
    print(table(rows))


if __name__ == "__main__":
    main()
