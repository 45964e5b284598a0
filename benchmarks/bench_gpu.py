"""GPU training step of an XLM-R-large-sized encoder in bf16: tokens/s and model FLOPs utilisation.

Each configuration trains a randomly initialised ``XLMRobertaForSequenceClassification`` with the
XLM-R large configuration (24 layers, hidden 1024, 16 heads, FFN 4096, vocabulary 250,002) through
the harness's own training loop (:func:`harness.model.train.train`: bf16 autocast, fused AdamW, SDPA
attention, TF32, dynamic padding, length-grouped batches) on synthetic data with a given length
distribution, first for ``--warmup`` steps (kernel selection, allocator), then for ``--steps``
timed steps.

Model FLOPs (what MFU counts, as in the PaLM paper's appendix B): per real token, 6 x the
non-embedding parameters (forward and backward matrix products), plus per sequence of length
``s`` 12 x layers x hidden x s^2 for the attention scores and the weighted sum. Padding and the
embedding lookup are not model FLOPs. MFU = model FLOPs per second / the chip's dense bf16 peak
(the datasheet's: 989 TFLOP/s for an H100/H200 SXM), and also against the bf16 matrix-product
rate this script measures on the same chip (8192^3 products), a ceiling real code can reach.

Configurations (phase 2 of the paper grid; XNLI-like lengths, median 36 tokens, max 128;
QA-like windows of 300-384 tokens):

* ``xnli-xtreme``: per-device batch 2 x 16 accumulation steps, as XTREME's scripts train XNLI;
* ``xnli-b32``: the same effective batch as one micro-batch of 32 (``batch_size: 32``,
  ``grad_accumulation: 1``), length-grouped;
* ``xnli-b32-ungrouped``: the same without length grouping (dynamic padding only);
* ``xnli-xtreme-padded`` and ``qa-xtreme-padded``: the reference settings exactly (XTREME's
  scripts: 2 x 16 padded to 128 for XNLI, 4 x 8 padded to 384 for QA), the per-cell baseline;
* ``xnli-b32-packed256`` (and ``-graphs`` under CUDA graphs): padding-free rows of 256
  positions (``train.packing: 256``), the same batches of 32;
* ``xnli-b32-padded``: every sequence padded to 128, as the reference scripts do (the MFU column
  counts real tokens; the padded FLOPs are in ``hw_mfu``);
* ``qa-b32``: QA-like windows, micro-batch 32 at max length 384;
* ``qa-b32-compiled``: the same under ``torch.compile`` (skipped with ``--no-compile``, like
  the next three);
* ``xnli-b32-pad32-compiled``: ``xnli-b32`` compiled, batch lengths rounded up to multiples of
  32 (``pad_to_multiple: 32``: four shapes at most);
* ``xnli-b32-pad32-graphs`` and ``qa-b32-pad32-graphs``: the same with ``compile_mode:
  reduce-overhead``, which replays each shape's kernels as CUDA graphs (the remedy for a step
  bound by the CPU launching kernels).

Run on a CUDA machine: ``python benchmarks/bench_gpu.py [--steps 40] [--json FILE]``.
``--size toy --allow-cpu`` runs the same code on a CPU in seconds (a smoke check only: its MFU
means nothing).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks._report import record  # noqa: E402
from harness.config import TrainParams  # noqa: E402
from harness.device import pick_device  # noqa: E402
from harness.kinds.base import Feature  # noqa: E402
from harness.kinds.base import pad_sequences as collate  # noqa: E402
from harness.model.train import train  # noqa: E402
from harness.seeding import configure_compute  # noqa: E402

SIZES = {
    "large": {"vocab_size": 250_002, "hidden_size": 1024, "num_hidden_layers": 24,
              "num_attention_heads": 16, "intermediate_size": 4096},
    "base": {"vocab_size": 250_002, "hidden_size": 768, "num_hidden_layers": 12,
             "num_attention_heads": 12, "intermediate_size": 3072},
    "toy": {"vocab_size": 8000, "hidden_size": 128, "num_hidden_layers": 2,
            "num_attention_heads": 4, "intermediate_size": 256},
}  # fmt: skip
PAD = 1
# Dense bf16 tensor-core peak from the vendors' datasheets (without sparsity), TFLOP/s.
DATASHEET_BF16_TFLOPS = {"H100": 989.4, "H200": 989.4, "H800": 989.4, "A100": 312.0}


@dataclass
class Row:
    name: str
    batch: int
    accumulation: int
    max_length: int
    steps: int
    seconds: float
    real_tokens: int
    examples: int
    padded_tokens: int
    model_tflop: float
    hardware_tflop: float
    peak_memory_gib: float
    final_loss: float

    def tokens_per_s(self) -> float:
        return self.real_tokens / self.seconds

    def model_tflops(self) -> float:
        return self.model_tflop / self.seconds


def set_sdpa_policy(policy: str) -> None:
    """``harness``: what :func:`harness.seeding.configure_compute` sets, cuDNN's attention kernel
    off (it builds an execution plan for every new input shape); ``torch-default``: PyTorch's own
    choice, cuDNN's kernel allowed (the first runs of 2026-11-30 called this ``default``)."""
    if policy not in ("harness", "torch-default"):
        raise SystemExit(f"unknown attention policy {policy!r}: use harness or torch-default")
    torch.backends.cuda.enable_cudnn_sdp(policy == "torch-default")


def profile_steps(model: Any, steps: int = 3) -> None:
    """Where one length-grouped step's time goes: the top operators by CPU and by GPU time."""
    from torch.profiler import ProfilerActivity, profile

    features = make_features("xnli", 32 * steps, model.config.vocab_size, seed=7)
    params = TrainParams(epochs=1, learning_rate=1e-5, batch_size=32, max_length=128)
    generator = torch.Generator()
    generator.manual_seed(7)
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        train(model, features, lambda fs: collate(fs, PAD), params, generator, "profile")
        torch.cuda.synchronize()
    table = prof.key_averages()
    print(table.table(sort_by="cpu_time_total", row_limit=12, max_name_column_width=50))
    print(table.table(sort_by="device_time_total", row_limit=8, max_name_column_width=50))


def datasheet_peak(device_name: str) -> float | None:
    for key, peak in DATASHEET_BF16_TFLOPS.items():
        if key in device_name:
            return peak
    return None


def measured_matmul_tflops(device: torch.device, n: int = 8192) -> float:
    """bf16 n x n x n matrix products on random data: mean of 10 after 3 warm-ups."""
    a = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    b = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(10):
        a @ b
    torch.cuda.synchronize()
    return 10 * 2 * n**3 / (time.perf_counter() - started) / 1e12


def lengths_for(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "xnli":  # premise + hypothesis under XLM-R's tokenizer: median 36, long tail
        return np.clip(np.round(rng.lognormal(np.log(36), 0.45, size=n)), 8, 128).astype(int)
    # QA windows: question + a context window, most windows close to the 384 cap
    return rng.integers(300, 385, size=n)


def make_features(kind: str, n: int, vocab: int, seed: int) -> list[Feature]:
    rng = np.random.default_rng(seed)
    features = []
    for length in lengths_for(kind, n, rng):
        ids = rng.integers(10, vocab, size=int(length))
        ids[0], ids[-1] = 0, 2
        features.append(Feature(input_ids=ids.tolist(), label=int(rng.integers(3))))
    return features


def padded_collate(width: int) -> Callable[[Sequence[Feature]], dict[str, torch.Tensor]]:
    """Every sequence padded to ``width``, as the reference scripts' ``pad_to_max_length``."""

    def pad(features: Sequence[Feature]) -> dict[str, torch.Tensor]:
        batch = collate(features, PAD)
        extra = width - batch["input_ids"].shape[1]
        if extra > 0:
            batch["input_ids"] = torch.nn.functional.pad(batch["input_ids"], (0, extra), value=PAD)
            batch["attention_mask"] = torch.nn.functional.pad(batch["attention_mask"], (0, extra))
        return batch

    return pad


def non_embedding_parameters(model: Any) -> int:
    embeddings = model.roberta.embeddings
    excluded = {id(p) for p in embeddings.parameters() if p.dim() == 2}  # lookups, not products
    return sum(p.numel() for p in model.parameters() if id(p) not in excluded)


def flops(
    batches: list[list[int]],
    lengths: list[int],
    params: int,
    layers: int,
    hidden: int,
    width: int,
    multiple: int = 1,
) -> tuple[float, float, int]:
    """(model FLOPs over real tokens, hardware FLOPs over padded tokens, padded tokens).

    A batch is padded to ``width`` if given, else to its longest sequence rounded up to a
    multiple of ``multiple``."""
    model = hardware = 0.0
    padded_tokens = 0
    for indices in batches:
        real = [lengths[i] for i in indices]
        padded = width or -(-max(real) // multiple) * multiple
        padded_tokens += padded * len(real)
        model += sum(6 * params * s + 12 * layers * hidden * s * s for s in real)
        hardware += len(real) * (6 * params * padded + 12 * layers * hidden * padded * padded)
    return model, hardware, padded_tokens


def timed_batches(features: list[Feature], params: TrainParams, steps: int) -> list[list[int]]:
    """The micro-batches the timed run trains on: replays the harness's seeded batch order."""
    from harness.data.batching import epoch_batches
    from harness.model.train import _lengths

    lengths, group = _lengths(features, params.group_by_length)
    generator = torch.Generator()
    generator.manual_seed(1)
    order: list[list[int]] = []
    needed = steps * params.grad_accumulation
    while len(order) < needed:
        order.extend(epoch_batches(lengths, params.batch_size, generator, group))
    return order[:needed]


def run_config(
    name: str,
    model: Any,
    kind: str,
    batch: int,
    accumulation: int,
    max_length: int,
    steps: int,
    warmup: int,
    group: int = 50,
    padded: bool = False,
    compile_model: bool = False,
    compile_mode: str = "default",
    multiple: int = 1,
    packing: int = 0,
) -> Row:
    config = model.config
    per_step = batch * accumulation
    # enough examples that the timed steps stay inside the first epoch
    features = make_features(kind, per_step * steps, config.vocab_size, seed=0)
    collate_fn = padded_collate(max_length) if padded else (lambda fs: collate(fs, PAD))
    runner = None
    if packing:  # padding-free rows (train.packing), the harness's own wiring
        from harness import kinds
        from harness.stages.common import training_batches

        collate_fn, runner = training_batches(
            kinds.get("pair_classification"), model, params_for_packing(packing, max_length), PAD
        )

    def params_for(n_steps: int) -> TrainParams:
        return TrainParams(
            epochs=n_steps * per_step / len(features), learning_rate=1e-5, batch_size=batch,
            grad_accumulation=accumulation, max_length=max_length, warmup_ratio=0.1,
            group_by_length=group, compile=compile_model, compile_mode=compile_mode,
            pad_to_multiple=multiple, packing=packing,
        )  # fmt: skip

    device = pick_device()
    warm = torch.Generator()
    warm.manual_seed(0)
    train(
        model, features, collate_fn, params_for(warmup), warm, f"{name} warm-up", device,
        forward_module=runner,
    )  # fmt: skip
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    generator = torch.Generator()
    generator.manual_seed(1)
    summary = train(
        model, features, collate_fn, params_for(steps), generator, name, device,
        forward_module=runner,
    )  # fmt: skip
    if device.type == "cuda":
        torch.cuda.synchronize()
    batches = timed_batches(features, params_for(steps), steps)
    lengths = [len(f.input_ids) for f in features]
    model_flop, hardware_flop, padded_tokens = flops(  # (packed: padded_tokens from summary)
        batches, lengths, non_embedding_parameters(model), config.num_hidden_layers,
        config.hidden_size, max_length if padded else 0, min(multiple, max_length),
    )  # fmt: skip
    real = sum(lengths[i] for b in batches for i in b)
    assert real == summary.tokens_seen, (real, summary.tokens_seen)
    if packing:  # rows of `packing` positions, each attending over the whole row
        padded_tokens = summary.padded_tokens
        hardware_flop = model_flop * padded_tokens / real
    return Row(
        name=name, batch=batch, accumulation=accumulation, max_length=max_length,
        steps=summary.steps, seconds=summary.seconds, real_tokens=summary.tokens_seen,
        examples=summary.examples_seen, padded_tokens=padded_tokens,
        model_tflop=model_flop / 1e12, hardware_tflop=hardware_flop / 1e12,
        peak_memory_gib=(torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda"
                         else float("nan")),
        final_loss=summary.final_loss,
    )  # fmt: skip


def params_for_packing(packing: int, max_length: int) -> TrainParams:
    """Just enough of a TrainParams for :func:`harness.stages.common.training_batches`."""
    return TrainParams(
        epochs=1, learning_rate=1e-5, batch_size=1, max_length=max_length, packing=packing
    )


def new_model(size: str, device: torch.device) -> Any:
    from transformers import XLMRobertaConfig, XLMRobertaForSequenceClassification

    from harness.device import attention_implementation

    config = XLMRobertaConfig(
        max_position_embeddings=514, num_labels=3, pad_token_id=PAD, bos_token_id=0,
        eos_token_id=2, type_vocab_size=1, **SIZES[size],
    )  # fmt: skip
    config._attn_implementation = attention_implementation()
    torch.manual_seed(0)
    with device:  # initialise on the device: a CPU init of 560M parameters takes a while
        return XLMRobertaForSequenceClassification(config)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", choices=sorted(SIZES), default="large")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=8)
    parser.add_argument("--no-compile", action="store_true")
    parser.add_argument(
        "--budget-s",
        type=float,
        default=400.0,
        help="skip the remaining configurations once this much time has passed",
    )
    parser.add_argument(
        "--sdpa",
        default="harness",
        help="comma-separated attention policies: harness,torch-default",
    )
    parser.add_argument("--profile", action="store_true", help="profile 3 steps per policy")
    parser.add_argument("--only", default="", help="comma-separated configuration names")
    parser.add_argument("--allow-cpu", action="store_true", help="smoke check on a CPU")
    parser.add_argument("--json", type=Path, help="write the rows here as they finish")
    args = parser.parse_args()  # fmt: skip

    device = pick_device()
    if device.type != "cuda" and not args.allow_cpu:
        sys.exit("bench_gpu.py measures a CUDA GPU and none is visible (--allow-cpu smoke-tests).")
    configure_compute(torch.get_num_threads(), True)
    began = time.perf_counter()
    name = torch.cuda.get_device_name() if device.type == "cuda" else "cpu"
    peak = datasheet_peak(name)
    ceiling = measured_matmul_tflops(device) if device.type == "cuda" else float("nan")
    print(f"device {name}; torch {torch.__version__}; datasheet bf16 peak {peak} TFLOP/s; "
          f"measured bf16 8192^3 matmul {ceiling:.0f} TFLOP/s", flush=True)  # fmt: skip
    model = new_model(args.size, device)
    total = sum(p.numel() for p in model.parameters())
    inner = non_embedding_parameters(model)
    print(f"model {args.size}: {total / 1e6:.0f}M parameters, {inner / 1e6:.0f}M outside the "
          "embeddings", flush=True)  # fmt: skip

    configs: list[dict[str, Any]] = [
        {"name": "xnli-b32", "kind": "xnli", "batch": 32, "accumulation": 1, "max_length": 128},
        {"name": "xnli-b32-padded", "kind": "xnli", "batch": 32, "accumulation": 1,
         "max_length": 128, "padded": True},
        {"name": "xnli-b32-ungrouped", "kind": "xnli", "batch": 32, "accumulation": 1,
         "max_length": 128, "group": 0},
        {"name": "qa-b32", "kind": "qa", "batch": 32, "accumulation": 1, "max_length": 384},
        {"name": "xnli-xtreme", "kind": "xnli", "batch": 2, "accumulation": 16,
         "max_length": 128, "steps": max(3, args.steps // 10), "warmup": 1},
        # the reference settings exactly: XTREME's scripts pad every sequence to the maximum
        # (train_xnli.sh: 2 x 16 at 128; train_qa.sh: 4 x 8 at 384)
        {"name": "xnli-xtreme-padded", "kind": "xnli", "batch": 2, "accumulation": 16,
         "max_length": 128, "padded": True, "steps": max(3, args.steps // 10), "warmup": 1},
        {"name": "qa-xtreme-padded", "kind": "qa", "batch": 4, "accumulation": 8,
         "max_length": 384, "padded": True, "steps": max(3, args.steps // 10), "warmup": 1},
        # padding-free rows of 256 positions (train.packing: 256), the same batches of 32
        {"name": "xnli-b32-packed256", "kind": "xnli", "batch": 32, "accumulation": 1,
         "max_length": 128, "packing": 256},
    ]  # fmt: skip
    if not args.no_compile:
        # compiled runs warm up longer: each new batch shape compiles (and records a CUDA graph)
        compiled = {"compile_model": True, "warmup": max(args.warmup, 24)}
        configs += [
            {"name": "qa-b32-compiled", "kind": "qa", "batch": 32, "accumulation": 1,
             "max_length": 384, **compiled},
            {"name": "xnli-b32-pad32-compiled", "kind": "xnli", "batch": 32, "accumulation": 1,
             "max_length": 128, "multiple": 32, **compiled},
            {"name": "xnli-b32-pad32-graphs", "kind": "xnli", "batch": 32, "accumulation": 1,
             "max_length": 128, "multiple": 32, "compile_mode": "reduce-overhead", **compiled},
            {"name": "qa-b32-pad32-graphs", "kind": "qa", "batch": 32, "accumulation": 1,
             "max_length": 384, "multiple": 32, "compile_mode": "reduce-overhead", **compiled},
            # fixed row width: the shapes differ only in the number of rows
            {"name": "xnli-b32-packed256-graphs", "kind": "xnli", "batch": 32,
             "accumulation": 1, "max_length": 128, "packing": 256,
             "compile_mode": "reduce-overhead", **compiled},
        ]  # fmt: skip
    if args.only:
        wanted = set(args.only.split(","))
        configs = [c for c in configs if c["name"] in wanted]
    rows: list[Row] = []
    header = (f"{'configuration':28}{'tokens/s':>11}{'ex/s':>8}{'step ms':>9}{'TFLOP/s':>9}"
              f"{'MFU':>7}{'of matmul':>11}{'hw MFU':>8}{'GiB':>6}")  # fmt: skip
    print(header, flush=True)
    for policy in args.sdpa.split(","):
        set_sdpa_policy(policy)
        if args.profile and device.type == "cuda":
            print(f"--- profile, attention policy {policy}", flush=True)
            profile_steps(model)
            print(header, flush=True)
        for spec in configs:
            label = f"{spec['name']} [{policy}]"
            if time.perf_counter() - began > args.budget_s:
                print(f"skipped {label}: past --budget-s", flush=True)
                continue
            spec = dict(spec, name=label)
            kwargs = {
                "steps": spec.pop("steps", args.steps),
                "warmup": spec.pop("warmup", args.warmup),
            }
            try:
                row = run_config(model=model, **spec, **kwargs)
            except Exception as exc:  # report and go on: one failing variant must not lose the rest
                print(f"{label} failed: {type(exc).__name__}: {exc}", flush=True)
                continue
            rows.append(row)
            if args.json:
                args.json.write_text(json.dumps({
                    "device": name, "torch": torch.__version__, "datasheet_peak_tflops": peak,
                    "measured_matmul_tflops": ceiling, "size": args.size,
                    "rows": [asdict(r) for r in rows],
                }, indent=1))  # fmt: skip
            mfu = row.model_tflops() / peak if peak else math.nan
            hw = row.hardware_tflop / row.seconds / peak if peak else math.nan
            print(f"{row.name:28}{row.tokens_per_s():>11,.0f}{row.examples / row.seconds:>8,.0f}"
                  f"{1000 * row.seconds / row.steps:>9.1f}{row.model_tflops():>9.1f}{mfu:>7.1%}"
                  f"{row.model_tflops() / ceiling:>11.1%}{hw:>8.1%}{row.peak_memory_gib:>6.1f}",
                  flush=True)  # fmt: skip
    print(f"total {time.perf_counter() - began:.0f} s")
    bench = f"GPU step ({name}, XLM-R {args.size}, bf16)"
    for row in rows:
        record(bench, f"{row.name}: real tokens/s", row.tokens_per_s(), "tok/s")
    # a cell trains the same examples for the same epochs either way, so its wall time scales
    # with 1 / real tokens/s: the speed-up of a cell over XTREME's settings is the rate ratio
    for shape in ("xnli", "qa"):
        reference = [r for r in rows if r.name.startswith(f"{shape}-xtreme-padded")]
        ours = [r for r in rows if r.name.startswith(shape) and "xtreme" not in r.name]
        if reference and ours:
            fastest = max(ours, key=lambda r: r.tokens_per_s())
            ratio = fastest.tokens_per_s() / reference[0].tokens_per_s()
            print(f"{shape}: a cell is {ratio:.1f}x faster than XTREME's settings "
                  f"({fastest.name} vs {reference[0].name})", flush=True)  # fmt: skip
            record(bench, f"{shape}-shaped cell vs the reference settings ({fastest.name})",
                   fastest.tokens_per_s(), "tok/s", baseline=reference[0].tokens_per_s(),
                   at_least=8.0, target_on="ratio")  # fmt: skip
    if rows and peak:
        best = max(rows, key=lambda r: r.model_tflops())
        record(bench, f"model FLOPs utilisation, best ({best.name})",
               100 * best.model_tflops() / peak, "%", at_least=40.0,
               note=f"of the datasheet {peak} TFLOP/s; the target is for an H100")  # fmt: skip


if __name__ == "__main__":
    main()
