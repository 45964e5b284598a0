"""What the evaluate and retrieve stages share: a cell's parameters, run id and provenance, and
writing its result file (:mod:`harness.results.schema`)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.config import BASELINE, Params, stable_hash
from harness.io import directory_md5
from harness.model.encoders import PHASE_FILE, read_phase
from harness.provenance import changed_files, collect, pinned_folder, replication_check
from harness.results.schema import new_result, write_result
from harness.tasks import LocalSource, Registry, TaskSpec


def encoder_params(params: Params, intermediate: str) -> dict[str, Any]:
    """Every parameter that can change the phase-1 encoder of ``intermediate``."""
    return {
        "seed": params.seed,
        "model": params.model.model_dump(mode="json"),
        "pretrain": params.pretrain.model_dump(mode="json") if params.pretrain else None,
        "toy_data": params.toy_data.model_dump(mode="json") if params.profile == "toy" else None,
        "phase1": (
            None
            if intermediate == BASELINE
            else params.phase1_params(intermediate).model_dump(mode="json")
        ),
    }


def cell_params(params: Params, intermediate: str, task: str) -> dict[str, Any]:
    """Every parameter that can change the scores of a trained cell (phase 2 + evaluation)."""
    return {
        **encoder_params(params, intermediate),
        "phase2": params.phase2_params(task).model_dump(mode="json"),
        "evaluation": params.evaluation.model_dump(mode="json"),
    }


def retrieval_cell_params(params: Params, intermediate: str) -> dict[str, Any]:
    """Every parameter that can change a retrieval cell's scores."""
    return {
        **encoder_params(params, intermediate),
        "retrieval": params.retrieval.model_dump(mode="json"),
        "splits": list(params.evaluation.splits),
    }


def cell_params_hash(params: Params, intermediate: str, task: str) -> str:
    """Hash of every parameter that can change this cell's scores."""
    return stable_hash(cell_params(params, intermediate, task))


def run_id(model: str, intermediate: str, task: str, seed: int, params_hash: str) -> str:
    return f"{model}/{intermediate}/{task}/s{seed}/{params_hash}"


def evaluation_splits(spec: TaskSpec, wanted: Sequence[str]) -> list[str]:
    """The splits of ``wanted`` (``evaluation.splits``) the task's source names, train aside."""
    available = spec.split_names
    return [s for s in wanted if s in available and s != "train"]


def training_seconds(phase2: dict[str, Any]) -> dict[str, float]:
    """Training time of phase 2 and, when the encoder came from phase 1, of phase 1."""
    seconds = {"phase2_train": float(phase2["train"]["seconds"])}
    encoder = Path(str(phase2.get("from", "")))
    if (encoder / PHASE_FILE).is_file():
        phase1 = read_phase(encoder)
        if phase1.get("phase") == 1:
            seconds["phase1_train"] = float(phase1["train"]["seconds"])
    return seconds


def training_throughput(phase2: dict[str, Any]) -> dict[str, Any]:
    """Throughput of phase 2's training and, when the encoder came from phase 1, of phase 1's
    (each run's :meth:`harness.model.throughput.Meter.record`, from its phase record)."""
    out: dict[str, Any] = {}
    if phase2.get("train", {}).get("throughput"):
        out["phase2"] = phase2["train"]["throughput"]
    encoder = Path(str(phase2.get("from", "")))
    if (encoder / PHASE_FILE).is_file():
        phase1 = read_phase(encoder)
        if phase1.get("phase") == 1 and phase1.get("train", {}).get("throughput"):
            out["phase1"] = phase1["train"]["throughput"]
    return out


def _selected(record: dict[str, Any]) -> dict[str, Any]:
    out = {
        key: record.get(key)
        for key in ("metric", "data", "selected_step", "selected_score", "stopped_early_at")
    }
    out["checks"] = len(record.get("checks", []))
    if "oracle" in record:
        out["oracle"] = record["oracle"]
    return out


def selection_record(phase2: dict[str, Any]) -> dict[str, Any] | None:
    """The best-checkpoint selection of a cell's training runs, for its result file: per phase
    that selected, the metric, the dev data, the selected step and its English dev score, how
    many checks ran and, for phase 2 with ``selection.oracle``, the target-dev oracle. None when
    neither phase selected (the last step's model was kept)."""
    out: dict[str, Any] = {}
    chosen = phase2.get("train", {}).get("selection")
    if chosen:
        out["phase2"] = _selected(chosen)
    encoder = Path(str(phase2.get("from", "")))
    if (encoder / PHASE_FILE).is_file():
        phase1 = read_phase(encoder)
        chosen = phase1.get("train", {}).get("selection") if phase1.get("phase") == 1 else None
        if chosen:
            out["phase1"] = _selected(chosen)
    return out or None


def write_cell_result(
    params: Params,
    registry: Registry,
    intermediate: str,
    spec: TaskSpec,
    model_dirs: Sequence[Path],
    scores: Sequence[dict[str, Any]],
    example_lines: Sequence[str],
    out_file: Path,
    started: str,
    timings: dict[str, float],
    parameters: dict[str, Any],
    selection: dict[str, Any] | None = None,
    throughput: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write one cell's result file (and its per-example file beside it) with its provenance:
    parameters (``parameters``, hashed into the run id), DVC md5 of the input folders
    (``model_dirs`` and the task's local data), the replication check, timings and checksum.
    Every evaluated cell (evaluate and retrieve stages) writes through here; ``selection``
    (:func:`selection_record`) and ``throughput`` (per run: phase 1, phase 2, evaluation) go
    into the provenance. Returns the result."""
    task = spec.name
    params_hash = stable_hash(parameters)
    inputs = _input_hashes(spec, *model_dirs)
    provenance = collect(params_hash, started)
    pin = Path("data.dvc")
    provenance["replication"] = replication_check(
        provenance["git_commit"],
        changed_files(),
        pinned_folder(pin) or params.paths.data,  # the folder data.dvc pins (data/toy)
        pin,
        _revisions(
            params, [spec] if intermediate == BASELINE else [spec, registry.get(intermediate)]
        ),
    )
    provenance.update(
        inputs=inputs,
        dvc_stage_hash=stable_hash({"inputs": inputs, "params_hash": params_hash}),
        container_image=os.environ.get("XTRANSFER_IMAGE_DIGEST") or None,
        timings=timings,
        params=parameters,
    )
    if selection is not None:
        provenance["selection"] = selection
    if throughput:
        provenance["throughput"] = throughput
    result = new_result(
        run_id(params.model.name, intermediate, task, params.seed, params_hash),
        params.model.name,
        None if intermediate == BASELINE else intermediate,
        task,
        params.seed,
        spec.primary_metric,
        scores,
        provenance,
    )
    write_result(out_file, result, example_lines)
    return result


def _input_hashes(spec: TaskSpec, *model_dirs: Path) -> dict[str, str]:
    """DVC md5 of the cell's input folders, equal to what dvc.lock records for them."""
    folders = list(model_dirs)
    if isinstance(spec.source, LocalSource):
        folders.append(Path(spec.source.path))
    return {folder.as_posix(): directory_md5(folder)[0] for folder in folders}


def _revisions(params: Params, specs: Sequence[TaskSpec]) -> list[tuple[str, str | None]]:
    """The Hub revisions a cell depends on (model, task data), for the replication check."""
    revisions: list[tuple[str, str | None]] = []
    if params.model.source == "hub":
        revisions.append((f"model {params.model.hub_id}", params.model.revision))
    for spec in specs:
        if not isinstance(spec.source, LocalSource):
            revisions.append((f"dataset {spec.source.id}", spec.source.revision))
    return revisions
