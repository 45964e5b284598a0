"""`harness replicate`: a drift check. Does this checkout, this environment and this machine
still produce the stored numbers?

It re-runs chosen stored cells (the result files of ``results/cells``) with the stage functions
the pipeline runs (:func:`~harness.stages.phase1.run_phase1`,
:func:`~harness.stages.phase2.run_target`, :func:`~harness.stages.evaluate.evaluate_cell`,
:func:`~harness.stages.retrieve.retrieve_cell`), with the current parameters (``params.yaml``,
plus ``--set`` overrides) and the cell's seed, writing every output into a scratch folder; then
compares each re-run result file with the stored one (:mod:`harness.results.replications`).

Which stages re-run (``start``, the first of them), for a trained cell / a retrieval cell:

* ``evaluate``: evaluation of the stored phase-2 model / retrieval from the stored phase-1
  encoder;
* ``target`` (the default): phase 2 from the stored phase-1 encoder, then evaluation /
  retrieval from the stored phase-1 encoder;
* ``intermediate``: phase 1 from the stored pretrained encoder (the top-level seed, as the
  ``intermediate`` stage), phase 2 and evaluation / phase 1 and retrieval. The baseline has no
  phase 1: its cells start at phase 2.

The pretrained encoder is never re-run (it is not part of a cell). Every re-run is computed:
nothing is copied, and the tokenised-feature cache is off (a stale entry would hide a change of
the tokenizer library). The stored results, models and DVC outputs are only read: the scratch
folder must be new or empty and lie outside them, and training checkpoints and the dual
encoders' anchors (``paths.models``) are redirected into it.
"""

from __future__ import annotations

import hashlib
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

import harness
from harness.config import BASELINE, Params
from harness.errors import HarnessError
from harness.io import atomic_write_text
from harness.model.encoders import PHASE_FILE, read_phase
from harness.provenance import git_state, hardware, now, packages
from harness.results.replications import (
    DRIFTED,
    STATUSES,
    cause,
    compare_scores,
    provenance_differences,
    stored_identity,
)
from harness.results.schema import ResultFile, read_result
from harness.strict import field_problems
from harness.tasks import LocalSource, Registry

STARTS = ("evaluate", "target", "intermediate")
"""The first stage a replication re-runs (the module's doc says what each re-runs)."""
WEIGHT_SUFFIXES = (".safetensors", ".bin")


def override(params: Params, sets: Sequence[str]) -> Params:
    """``params`` with ``KEY=VALUE`` changes (a dotted key, a YAML value), validated as a
    parameters file is: ``phase2.toy_nli.learning_rate=1e-3``, ``compute.threads=2``."""
    if not sets:
        return params
    raw = params.model_dump(mode="json")
    for item in sets:
        key, sep, text = item.partition("=")
        parts = key.strip().split(".")
        if not sep or not all(parts):
            raise HarnessError(f"--set '{item}' is not KEY=VALUE (e.g. phase2.toy_nli.epochs=2).")
        node = raw
        for depth, part in enumerate(parts[:-1]):
            child = node.get(part) if isinstance(node, dict) else None
            if not isinstance(child, dict):
                where = ".".join(parts[: depth + 1])
                raise HarnessError(f"--set '{item}': '{where}' is not a section of the parameters.")
            node = child
        try:
            node[parts[-1]] = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise HarnessError(f"--set '{item}': the value is not YAML ({exc}).") from exc
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        raise HarnessError(f"--set makes invalid parameters: {field_problems(exc)}") from exc


# ---------------------------------------------------------------------------------------------
# choosing the cells


@dataclass(frozen=True)
class StoredCell:
    path: Path
    result: ResultFile

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def intermediate(self) -> str:
        return self.result.intermediate_task or BASELINE


def stored_cells(folder: Path) -> list[StoredCell]:
    """Every result file in ``folder`` (``results/cells``), read and checked (its checksum)."""
    if not folder.is_dir():
        raise HarnessError(
            f"No stored cells: '{folder}' is not a folder. Run the pipeline first (`dvc repro`), "
            "or pass the folder of the result files as --cells."
        )
    return [StoredCell(path, read_result(path)) for path in sorted(folder.glob("*.json"))]


def choose(
    cells: Sequence[StoredCell],
    intermediates: Sequence[str] = (),
    targets: Sequence[str] = (),
    seeds: Sequence[int] = (),
    sample: int | None = None,
    sample_seed: int = 0,
) -> list[StoredCell]:
    """The cells of the given settings, targets and seeds (each: any when empty), and of those
    ``sample`` drawn at random with ``sample_seed`` (the same draw every time)."""
    filters: list[tuple[str, Sequence[Any], Callable[[StoredCell], Any]]] = [
        ("setting", intermediates, lambda c: c.intermediate),
        ("target", targets, lambda c: c.result.target_task),
        ("seed", seeds, lambda c: c.result.seed),
    ]
    chosen = list(cells)
    for what, wanted, value_of in filters:
        known = sorted({value_of(c) for c in cells}, key=str)
        unknown = [w for w in wanted if w not in known]
        if unknown:
            raise HarnessError(
                f"No stored cell has {what} {', '.join(map(str, unknown))}; the stored cells "
                f"have {', '.join(map(str, known)) or 'none'}."
            )
        if wanted:
            chosen = [c for c in chosen if value_of(c) in wanted]
    if not chosen:
        raise HarnessError("No stored cell matches --intermediate, --target and --cell-seed.")
    if sample is not None and sample < len(chosen):
        drawn = random.Random(sample_seed).sample(chosen, sample)
        chosen = sorted(drawn, key=lambda c: c.name)
    return chosen


@dataclass
class Plan:
    """What re-running one stored cell takes: its stages and the stored folders it reads."""

    cell: StoredCell
    retrieval: bool
    stages: list[str]
    pretrained: Path
    encoder: Path
    """The stored phase-1 encoder (the pretrained one for the baseline)."""
    model: Path | None
    """The stored phase-2 model (trained cells)."""
    needs: list[Path] = field(default_factory=list)


def _read_from(folder: Path) -> Path | None:
    """The folder a training output was trained from (its phase record's ``from``)."""
    if not (folder / PHASE_FILE).is_file():
        return None
    try:
        source = read_phase(folder).get("from")
    except HarnessError:
        return None
    return Path(str(source)) if source else None


def _stored_input(cell: StoredCell, registry: Registry) -> Path | None:
    """The checkpoint folder the stored result was computed from: its one recorded input that
    is not the task's data."""
    spec = registry.get(cell.result.target_task, role="target")
    data = Path(spec.source.path) if isinstance(spec.source, LocalSource) else None
    folders = [Path(p) for p in (cell.result.provenance.inputs or {}) if Path(p) != data]
    return folders[0] if len(folders) == 1 else None


def plan(params: Params, registry: Registry, cell: StoredCell, start: str) -> Plan:
    """The stages that re-run ``cell`` from ``start`` and the stored folders they read (from
    the result's recorded inputs and the phase records, else dvc.yaml's layout)."""
    if start not in STARTS:
        raise HarnessError(f"--from '{start}' is not one of {', '.join(STARTS)}.")
    target, setting, models = cell.result.target_task, cell.intermediate, params.paths.models
    if target in params.grid.retrieval:
        retrieval = True
    elif target in params.grid.target:
        retrieval = False
    else:
        raise HarnessError(
            f"Cell '{cell.name}': target '{target}' is in neither grid.target nor grid.retrieval "
            "of the parameters, so which stage computes it is unknown. Replicate it with the "
            "profile that made it (--params)."
        )
    stored = _stored_input(cell, registry)
    if retrieval:
        model = None
        encoder = stored or models / "encoders" / setting
    else:
        model = stored or models / "phase2" / f"{setting}-{target}-s{cell.result.seed}"
        encoder = _read_from(model) or models / "encoders" / setting
    if setting == BASELINE:
        pretrained = encoder
    else:
        pretrained = _read_from(encoder) or models / "encoders" / BASELINE
    phase1 = start == "intermediate" and setting != BASELINE
    stages = ["intermediate"] if phase1 else []
    if retrieval:
        stages.append("retrieve")
    else:
        stages += ["evaluate"] if start == "evaluate" else ["target", "evaluate"]
    if phase1:
        needs = [pretrained]
    elif retrieval or start == "target":
        needs = [encoder]
    else:
        needs = [model] if model is not None else []
    return Plan(cell, retrieval, stages, pretrained, encoder, model, needs)


def plans(
    params: Params, registry: Registry, cells: Sequence[StoredCell], start: str
) -> list[Plan]:
    """A plan for every cell; refuses (before anything runs) when a stored folder a re-run
    reads is gone."""
    made = [plan(params, registry, cell, start) for cell in cells]
    missing = [(p.cell.name, path) for p in made for path in p.needs if not path.is_dir()]
    if missing:
        shown = "; ".join(f"{name}: '{path}'" for name, path in missing[:5])
        raise HarnessError(
            f"The stored checkpoints these re-runs start from are missing ({shown}"
            f"{' and more' if len(missing) > 5 else ''}). Restore them (`dvc pull`, `dvc "
            "checkout`), or start earlier: --from target re-runs phase 2, --from intermediate "
            "phase 1 too."
        )
    return made


# ---------------------------------------------------------------------------------------------
# re-running and comparing


def _weights(folder: Path | None) -> dict[str, str] | None:
    if folder is None or not folder.is_dir():
        return None
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in WEIGHT_SUFFIXES)
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files} or None


def weights_verdict(stored: Path | None, fresh: Path) -> str:
    """Whether a re-run checkpoint's weight files are byte-identical to the stored one's."""
    old, new = _weights(stored), _weights(fresh)
    if old is None:
        return "stored one missing"
    if new is None:
        return "not written"
    return "identical" if old == new else "differ"


def rerun(params: Params, registry: Registry, p: Plan, folder: Path) -> tuple[Path, dict[str, str]]:
    """Re-run ``p``'s stages into ``folder``; returns the new result file and, per re-trained
    checkpoint, whether its weights equal the stored one's."""
    from harness.stages.evaluate import evaluate_cell
    from harness.stages.phase1 import run_phase1
    from harness.stages.phase2 import run_target
    from harness.stages.retrieve import retrieve_cell

    cell = p.cell
    setting, target = cell.intermediate, cell.result.target_task
    seeded = params.with_seed(cell.result.seed)
    checkpoints: dict[str, str] = {}
    encoder = p.encoder
    if "intermediate" in p.stages:
        encoder = folder / "encoder"
        run_phase1(params, registry, setting, p.pretrained, encoder)  # the top-level seed
        checkpoints["phase-1 encoder"] = weights_verdict(p.encoder, encoder)
    out = folder / f"{cell.name}.json"
    if p.retrieval:
        retrieve_cell(seeded, registry, setting, target, encoder, out)
        return out, checkpoints
    model = p.model
    if "target" in p.stages:
        model = folder / "phase2"
        run_target(seeded, registry, setting, target, encoder, model)
        checkpoints["phase-2 model"] = weights_verdict(p.model, model)
    assert model is not None
    evaluate_cell(seeded, registry, setting, target, model, out)
    return out, checkpoints


def scratch_folder(params: Params, cells_dir: Path, scratch: Path | None) -> Path:
    """The folder the re-runs write into (default ``<paths.results>/replications/<UTC time>``):
    new or empty, and outside the stored models, data and result files."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = scratch or params.paths.results / "replications" / stamp
    resolved = folder.resolve()
    for stored in (params.paths.models, params.paths.data, cells_dir):
        kept = stored.resolve()
        if resolved == kept or kept in resolved.parents:
            raise HarnessError(
                f"Scratch folder '{folder}' is inside '{stored}', which holds stored outputs: "
                "pass a --scratch folder outside it."
            )
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise HarnessError(
            f"Scratch folder '{folder}' exists and is not empty: pass a new --scratch folder."
        )
    return folder


def environment(overrides: Sequence[str]) -> dict[str, Any]:
    """This checkout, environment and machine, as a result's provenance records them, and the
    compute context of the re-runs."""
    from harness.device import pick_device
    from harness.model.train import compute_context

    return {
        **git_state(),
        "harness_version": harness.__version__,
        "packages": packages(),
        "hardware": hardware(),
        "compute": compute_context(pick_device()),
        "overrides": list(overrides),
    }


def replicate(
    params: Params,
    registry: Registry,
    chosen: Sequence[Plan],
    start: str,
    tolerance: float,
    scratch: Path,
    report_path: Path,
    keep_models: bool = False,
    overrides: Sequence[str] = (),
) -> dict[str, Any]:
    """Re-run every planned cell into ``scratch`` (one folder per cell) and compare it with the
    stored result; write the report (JSON, rewritten after each cell, so a stopped run keeps
    what it finished) to ``report_path`` and return it. The re-run checkpoints are removed
    after each cell unless ``keep_models``; the re-run result files stay. A cell whose re-run
    fails with a :class:`HarnessError` is reported ``failed`` and the others go on."""
    from harness.device import pick_device
    from harness.model.train import compute_context
    from harness.seeding import configure_compute

    if tolerance < 0 or tolerance != tolerance:
        raise HarnessError(f"--tolerance must be a number >= 0, not {tolerance}.")
    configure_compute(params.compute.threads, params.compute.tf32)
    # outputs only under scratch: training checkpoints sit beside their outputs, the dual
    # encoders' under paths.models; no feature cache (re-tokenise: nothing is reused)
    paths = params.paths.model_copy(update={"models": scratch / "models", "cache": None})
    params = params.model_copy(update={"paths": paths})
    scratch.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "started_at": now(),
        "finished_at": None,
        "rerun": list(dict.fromkeys(s for p in chosen for s in p.stages)),
        "start": start,
        "tolerance": tolerance,
        "scratch": str(scratch),
        "report": str(report_path),
        "environment": environment(overrides),
        "summary": dict.fromkeys(STATUSES, 0),
        "cells": [],
    }
    for p in chosen:
        clock = time.monotonic()
        folder = scratch / p.cell.name
        entry: dict[str, Any] = {
            "cell": p.cell.name,
            **stored_identity(p.cell.result),
            "stored_file": str(p.cell.path),
            "stages": p.stages,
        }
        try:
            out, checkpoints = rerun(params, registry, p, folder)
            fresh = read_result(out)
            comparison = compare_scores(p.cell.result, fresh, tolerance)
            differences = provenance_differences(p.cell.result, fresh)
            entry.update(
                status=comparison["status"],
                rerun_file=str(out),
                rerun_run_id=fresh.run_id,
                **{k: v for k, v in comparison.items() if k != "status"},
                differences=differences,
                checkpoints=checkpoints,
                cause=cause(comparison["status"], differences, checkpoints, comparison),
            )
        except HarnessError as exc:
            entry.update(status="failed", cause=str(exc))
        finally:
            if not keep_models and folder.is_dir():
                for child in folder.iterdir():
                    if child.is_dir():
                        shutil.rmtree(child, ignore_errors=True)
        entry["replicated_at"] = now()
        entry["seconds"] = round(time.monotonic() - clock, 3)
        report["cells"].append(entry)
        report["summary"][entry["status"]] += 1
        _write_report(report_path, report)
    shutil.rmtree(scratch / "models", ignore_errors=True)  # empty unless a dual encoder trained
    report["environment"]["compute"] = compute_context(pick_device())  # as the stages left it
    report["finished_at"] = now()
    _write_report(report_path, report)
    return report


def _write_report(path: Path, report: dict[str, Any]) -> None:
    import json

    atomic_write_text(path, json.dumps(report, indent=2, sort_keys=True, default=str) + "\n")


def drifted(report: dict[str, Any]) -> bool:
    """Whether any cell drifted beyond the tolerance or could not be re-run."""
    return any(c["status"] in (DRIFTED, "failed") for c in report["cells"])
