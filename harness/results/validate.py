"""Validation of result files before they reach the database (great-expectations on pandas).

Two layers, each reporting per file:

1. *structure*: the file is JSON and matches :class:`~harness.results.schema.ResultFile`
   (fields, types) — pydantic, in :func:`~harness.results.schema.read_result`;
2. *content*: great-expectations suites over pandas frames built from every parsed file of the
   batch at once — metric values in range and not null or NaN, example counts positive, unique
   keys (within a file and across the batch), known tasks, languages, splits and metrics (the
   metrics a target's kind reports: :attr:`harness.kinds.base.TaskKind.reported_metrics`),
   completeness (every language the target's kind scores, for every split present), and
   provenance fields present.

GX 1.x cannot validate DuckDB tables through SQLAlchemy, so the frames are validated in
memory, before anything is written; the store never holds a row that failed a check.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from harness import kinds
from harness.config import BASELINE
from harness.errors import HarnessError
from harness.io import atomic_write_text, write_error
from harness.results.schema import ORACLE_SPLIT, ResultFile, read_result, run_key
from harness.tasks import TaskSpec

SPLITS = ("dev", "test", ORACLE_SPLIT)
MAX_ROWS_IN_REPORT = 10


@dataclass
class Problem:
    """One failed check of one file."""

    check: str
    detail: str
    rows: list[dict[str, Any]] = field(default_factory=list)

    def as_text(self) -> str:
        lines = [f"- {self.check}: {self.detail}"]
        lines += [f"    {json.dumps(row, default=str, sort_keys=True)}" for row in self.rows]
        return "\n".join(lines)


@dataclass
class Report:
    """The outcome of validating a batch: parsed valid files and the problems of the others."""

    valid: list[tuple[Path, ResultFile]]
    problems: dict[Path, list[Problem]]

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_text(self, path: Path) -> str:
        return "\n".join(
            [f"{path}: {len(self.problems[path])} failed check(s)"]
            + [p.as_text() for p in self.problems[path]]
        )


def _defer_import(name: str) -> None:
    """Put a lazily loaded module ``name`` in place (loaded on its first attribute access) unless
    it is already imported or missing.

    great-expectations imports ``scipy.stats`` at import time (``from scipy import stats``) for
    distribution expectations this harness does not use; loading it is about a third of the
    import. The lazy module is the real one once touched, so other users see no difference.
    """
    import importlib
    import importlib.util
    import sys

    if name in sys.modules:
        return
    parent_name, _, child = name.rpartition(".")
    try:
        parent = importlib.import_module(parent_name)
        spec = importlib.util.find_spec(name)
    except ImportError:
        return
    if spec is None or spec.loader is None or child in vars(parent):
        return
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    # `from scipy import stats` asks the parent first; an attribute there keeps the import
    # machinery (which reads ``__spec__``, and so would load it) away from the lazy module
    setattr(parent, child, module)


def _gx_context() -> Any:
    """An in-memory GX context with analytics and progress bars off (runs offline, quietly)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    _defer_import("scipy.stats")
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


@cache
def _validator() -> Any:
    """The GX context and the batch definitions of the three frames (built once per process)."""
    context = _gx_context()
    source = context.data_sources.add_pandas("result_files")
    return context, {
        name: source.add_dataframe_asset(name).add_batch_definition_whole_dataframe(name)
        for name in ("scores", "runs", "coverage")
    }


def _suites(known_languages: Iterable[str], specs: Sequence[TaskSpec]) -> dict[str, list[Any]]:
    import great_expectations.expectations as gxe

    targets = sorted(s.name for s in specs if s.role == "target")
    intermediates = sorted({BASELINE} | {s.name for s in specs if s.role == "intermediate"})
    task_metrics = sorted(
        f"{s.name}:{metric}"
        for s in specs
        if s.role == "target"
        for metric in kinds.of(s).reported_metrics | {s.primary_metric}
    )
    return {
        "scores": [
            gxe.ExpectColumnValuesToNotBeNull(column="value"),
            gxe.ExpectColumnValuesToBeBetween(column="value", min_value=0.0, max_value=1.0),
            gxe.ExpectColumnValuesToBeBetween(column="n_examples", min_value=1),
            gxe.ExpectColumnValuesToBeInSet(column="language", value_set=sorted(known_languages)),
            gxe.ExpectColumnValuesToBeInSet(column="split", value_set=list(SPLITS)),
            gxe.ExpectColumnValuesToBeInSet(column="task_metric", value_set=task_metrics),
            gxe.ExpectCompoundColumnsToBeUnique(
                column_list=["run_key", "language", "split", "metric"]
            ),
        ],
        "runs": [
            gxe.ExpectColumnValuesToBeInSet(column="target_task", value_set=targets),
            gxe.ExpectColumnValuesToBeInSet(column="intermediate_task", value_set=intermediates),
            gxe.ExpectColumnValuesToBeInSet(column="primary_metric_matches", value_set=[True]),
            gxe.ExpectColumnValuesToBeUnique(column="run_key"),
            *(
                gxe.ExpectColumnValuesToNotBeNull(column=column)
                for column in (
                    "git_commit",
                    "params_hash",
                    "harness_version",
                    "started_at",
                    "finished_at",
                )
            ),
            gxe.ExpectColumnValuesToMatchRegex(column="harness_version", regex=r"^\d+\.\d+"),
            gxe.ExpectColumnValuesToBeInSet(column="has_packages", value_set=[True]),
            gxe.ExpectColumnValuesToBeInSet(column="time_order_ok", value_set=[True]),
        ],
        "coverage": [gxe.ExpectColumnValuesToBeInSet(column="present", value_set=[True])],
    }


def _suite(name: str, expectations: list[Any]) -> Any:
    import great_expectations as gx

    return gx.ExpectationSuite(name=name, expectations=expectations)


def _frames(
    parsed: Sequence[tuple[Path, ResultFile]], specs: Mapping[str, TaskSpec]
) -> dict[str, pd.DataFrame]:
    """The three frames the suites check, built column by column (one list per column; a dict
    per row cost more than the checks)."""
    scores: dict[str, list[Any]] = {
        column: []
        for column in (
            "file", "run_key", "language", "split", "metric", "task_metric", "value", "n_examples"
        )
    }  # fmt: skip
    runs: dict[str, list[Any]] = {
        column: []
        for column in (
            "file", "run_key", "target_task", "intermediate_task", "primary_metric_matches",
            "git_commit", "params_hash", "harness_version", "started_at", "finished_at",
            "has_packages", "time_order_ok",
        )
    }  # fmt: skip
    coverage: dict[str, list[Any]] = {
        column: [] for column in ("file", "run_key", "split", "language", "metric", "present")
    }
    for path, result in parsed:
        file = str(path)
        key = run_key(result)
        n = len(result.scores)
        scores["file"] += [file] * n
        scores["run_key"] += [key] * n
        scores["language"] += [s.language for s in result.scores]
        scores["split"] += [s.split for s in result.scores]
        metrics = [s.metric for s in result.scores]
        scores["metric"] += metrics
        scores["task_metric"] += [f"{result.target_task}:{metric}" for metric in metrics]
        scores["value"] += [s.value for s in result.scores]
        scores["n_examples"] += [s.n_examples for s in result.scores]
        p = result.provenance
        spec = specs.get(result.target_task)
        for column, value in (
            ("file", file),
            ("run_key", key),
            ("target_task", result.target_task),
            ("intermediate_task", result.intermediate_task or BASELINE),
            (
                "primary_metric_matches",
                spec is None or result.primary_metric == spec.primary_metric,
            ),
            ("git_commit", p.git_commit or None),
            ("params_hash", p.params_hash or None),
            ("harness_version", p.harness_version or None),
            ("started_at", p.started_at or None),
            ("finished_at", p.finished_at or None),
            ("has_packages", bool(p.packages) and bool(p.hardware)),
            ("time_order_ok", _time_order_ok(p.started_at, p.finished_at)),
        ):
            runs[column].append(value)
        if spec is not None:
            present = {
                (s.language, s.split) for s in result.scores if s.metric == spec.primary_metric
            }
            for split in sorted({s.split for s in result.scores}):
                expected = kinds.of(spec).scored_languages(spec)
                m = len(expected)
                coverage["file"] += [file] * m
                coverage["run_key"] += [key] * m
                coverage["split"] += [split] * m
                coverage["language"] += expected
                coverage["metric"] += [spec.primary_metric] * m
                coverage["present"] += [(language, split) in present for language in expected]
    return {
        name: pd.DataFrame(columns)
        for name, columns in (("scores", scores), ("runs", runs), ("coverage", coverage))
    }


def _time_order_ok(started: str, finished: str) -> bool:
    try:
        return datetime.fromisoformat(started) <= datetime.fromisoformat(finished)
    except (TypeError, ValueError):
        return False


def _describe(config: Any) -> str:
    kwargs = {k: v for k, v in config.kwargs.items() if k not in ("batch_id", "result_format")}
    if "value_set" in kwargs and len(kwargs["value_set"]) > 12:
        kwargs["value_set"] = [*kwargs["value_set"][:12], "..."]
    return f"{config.type}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"


def validate_files(
    paths: Sequence[Path], known_languages: Iterable[str], specs: Sequence[TaskSpec]
) -> Report:
    """Validate every file; never raises for a bad file (it is reported), nothing is written."""
    problems: dict[Path, list[Problem]] = defaultdict(list)
    parsed: list[tuple[Path, ResultFile]] = []
    for path in paths:
        try:
            parsed.append((path, read_result(path)))
        except HarnessError as exc:
            problems[path].append(Problem("structure (JSON and result-file schema)", str(exc)))
    if parsed:
        frames = _frames(parsed, {s.name: s for s in specs})
        _, batches = _validator()
        for name, expectations in _suites(known_languages, specs).items():
            frame = frames[name]
            if frame.empty:
                continue
            # the whole suite in one validation: one batch, one metric graph (an expectation at
            # a time rebuilt the batch and re-hashed the frame for each)
            suite = _suite(name, expectations)
            batch = batches[name].get_batch(batch_parameters={"dataframe": frame})
            outcomes = batch.validate(suite, result_format={"result_format": "COMPLETE"})
            if len(outcomes.results) != len(expectations):
                raise HarnessError(
                    f"great-expectations checked {len(outcomes.results)} of the "
                    f"{len(expectations)} expectations of the {name} suite."
                )
            for outcome in outcomes.results:
                if outcome.success:
                    continue
                indices = outcome.result.get("unexpected_index_list") or []
                bad = frame.loc[[i for i in indices if i in frame.index]]
                if bad.empty:  # an expectation over the whole frame: blame every file
                    bad = frame
                for file, rows in bad.groupby("file", sort=True):
                    shown = rows.drop(columns=["file"]).head(MAX_ROWS_IN_REPORT)
                    problems[Path(str(file))].append(
                        Problem(
                            f"{name}: {_describe(outcome.expectation_config)}",
                            f"{len(rows)} offending row(s)"
                            + (
                                f", first {MAX_ROWS_IN_REPORT}"
                                if len(rows) > MAX_ROWS_IN_REPORT
                                else ""
                            ),
                            json.loads(shown.to_json(orient="records")),
                        )
                    )
    valid = [(path, result) for path, result in parsed if path not in problems]
    return Report(valid=valid, problems=dict(problems))


def quarantine(report: Report, folder: Path) -> list[Path]:
    """Move every failing file into ``folder`` beside a readable report; return the reports."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(folder, exc) from exc
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    written = []
    for path in sorted(report.problems):
        target = folder / f"{path.stem}.{stamp}{path.suffix}"
        report_path = target.with_name(target.name + ".report.txt")
        atomic_write_text(report_path, report.as_text(path) + "\n")
        if path.exists():
            try:
                shutil.move(str(path), target)
            except OSError as exc:
                raise write_error(target, exc) from exc
        written.append(report_path)
    return written
