"""Stage ``target@I-T-S``: phase 2, the phase-1 encoder of setting ``I`` fine-tuned with a
fresh, seeded head on the English training data of target ``T`` (seed ``S``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.config import Params
from harness.io import staged_output
from harness.model.encoders import ORACLE_DIR, read_phase, write_phase
from harness.model.train import clear_checkpoints
from harness.provenance import now
from harness.stages.common import fit
from harness.tasks import Registry


def run_target(
    params: Params, registry: Registry, intermediate: str, task: str, encoder: Path, out_dir: Path
) -> dict[str, Any]:
    """Phase 2: fine-tune the phase-1 encoder with a fresh head on the target's English data;
    save the model (encoder and head) and its training record, and with ``selection.oracle``
    the target-dev oracle's model in ``oracle/``."""
    spec = registry.get(task, role="target")
    read_phase(encoder)
    tp = params.phase2_params(task)
    started = now()
    model, summary, tokenizer, oracle_state = fit(
        params, spec, encoder, tp, f"phase 2: {intermediate} -> {task}", out_dir
    )
    info = {
        "phase": 2,
        "intermediate": intermediate,
        "task": task,
        "from": str(encoder),
        "train": summary,
        "started_at": started,
        "finished_at": now(),
    }
    if oracle_state is not None:
        info["oracle_model"] = ORACLE_DIR
    with staged_output(out_dir) as staging:
        model.save_pretrained(str(staging))
        tokenizer.save_pretrained(str(staging))
        write_phase(staging, info)
        if oracle_state is not None:  # the target-dev oracle's model, scored by evaluate
            model.load_state_dict(oracle_state)
            model.save_pretrained(str(staging / ORACLE_DIR))
    clear_checkpoints(out_dir)
    return info
