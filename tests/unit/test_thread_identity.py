"""Bit-identity for a given thread count, whatever the cores: a tiny training run (the training
loop of every stage) gives identical weights in a process whose affinity mask holds one core
and in one that holds two, both computing with 2 threads (``configure_compute``, as a stage
does), with or without the thread environment a sweep gives its stages; with 1 thread, the
same run computes other numbers (so the thread count matters here, and the equality above is
not a run too small to be parallel)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from harness.launch.cores import THREAD_VARIABLES, thread_environment
from tests.conftest import REPO

SCRIPT = """
import hashlib, json, os, sys
os.sched_setaffinity(0, json.loads(sys.argv[1]))  # before torch loads its OpenMP runtime
import torch
from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM
from harness.config import TrainParams
from harness.model.train import compute_context, train
from harness.seeding import configure_compute, seed_everything

configure_compute(int(sys.argv[2]), tf32=False)
generator = seed_everything(11)
config = XLMRobertaConfig(
    vocab_size=400, hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
    intermediate_size=256, max_position_embeddings=70, pad_token_id=1,
    hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
)
model = XLMRobertaForMaskedLM(config)
draw = torch.Generator().manual_seed(5)
features = [torch.randint(5, 400, (20 + i % 12,), generator=draw).tolist() for i in range(64)]

def collate(batch):
    width = max(len(f) for f in batch)
    ids = torch.ones((len(batch), width), dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, f in enumerate(batch):
        ids[row, : len(f)] = torch.tensor(f)
        mask[row, : len(f)] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": ids.masked_fill(mask == 0, -100)}

params = TrainParams(epochs=2, learning_rate=1e-3, batch_size=16, max_length=64)
train(model, features, collate, params, generator, "t", torch.device("cpu"))
digest = hashlib.sha256()
for name, tensor in sorted(model.state_dict().items()):
    digest.update(name.encode())
    digest.update(tensor.contiguous().view(-1).view(torch.uint8).numpy().tobytes())
print(json.dumps({
    "weights": digest.hexdigest(),
    "context": compute_context(torch.device("cpu")),
    "interop": torch.get_num_interop_threads(),
    "affinity": sorted(os.sched_getaffinity(0)),
}))
"""


def _start(cpus: list[int], threads: int, sweep_env: bool) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES}
    if sweep_env:
        env.update(thread_environment(threads))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, json.dumps(cpus), str(threads)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _result(process: subprocess.Popen[str]) -> tuple[dict[str, Any], str]:
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1]), err


@pytest.mark.skipif(
    not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="needs an affinity mask of at least two CPUs",
)
def test_same_threads_same_weights_on_one_core_or_two() -> None:
    cpus = sorted(os.sched_getaffinity(0))[:2]
    runs = [  # at once: each is mostly imports
        _start(cpus[:1], 2, sweep_env=True),  # a 2-thread stage squeezed onto one core
        _start(cpus, 2, sweep_env=False),  # as `dvc repro` runs it on two free cores
        _start(cpus, 1, sweep_env=True),
    ]
    (one_core, err_one), (two_cores, err_two), (one_thread, _) = [_result(p) for p in runs]
    assert one_core["affinity"] == cpus[:1] and two_cores["affinity"] == cpus
    assert one_core["context"]["threads"] == two_cores["context"]["threads"] == 2
    assert one_core["context"] == two_cores["context"]  # the checkpoint fingerprint's context
    assert one_core["weights"] == two_cores["weights"]
    assert one_thread["context"]["threads"] == 1
    assert one_thread["weights"] != two_cores["weights"], "the run is too small to test threads"
    assert one_core["interop"] == two_cores["interop"] == 1
    # the squeezed stage says so; the other does not
    assert "computes with 2 CPU threads" in err_one and "1 core(s)" in err_one
    assert "computes with" not in err_two
