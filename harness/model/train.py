"""One training loop for every task kind.

Dynamic padding (each batch padded to its own longest sequence), seeded data order with
optional length grouping (:mod:`harness.data.batching`), gradient accumulation, linear warm-up
and decay, gradient clipping, bfloat16 autocast on CUDA, and crash-resume checkpoints
(:class:`Checkpointing`), and best-checkpoint selection on dev data (:class:`Selection`).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn
from transformers import get_linear_schedule_with_warmup

from harness.config import CheckpointParams, TrainParams
from harness.data.batching import epoch_batches
from harness.device import pick_device
from harness.errors import HarnessError
from harness.io import (
    ManifestError,
    fsync_dir,
    require_output_folder,
    verify_manifest,
    write_manifest,
)
from harness.kinds.base import IGNORE_INDEX
from harness.model.throughput import Meter, sequence_lengths
from harness.progress import progress_bar

Batch = dict[str, torch.Tensor]

CHECKPOINT_FORMAT = 3  # 2: the epoch's batches (length-grouped orders); 3: the compute context
STATE_FILE = "state.pt"
META_FILE = "meta.json"


class BatchOrder(Protocol):
    """The batches (lists of feature indices) of one epoch, drawn from the data-order generator,
    in place of :func:`~harness.data.batching.epoch_batches` (multi-task runs whose tasks
    cannot share a batch: :class:`harness.data.mixture.PooledBatches`). Drawn inside the loop,
    so a checkpoint holds the epoch's batches and the generator, and a resumed run replays
    them."""

    @property
    def batches_per_epoch(self) -> int: ...

    def __call__(self, generator: torch.Generator) -> list[list[int]]: ...


@dataclass
class TrainSummary:
    steps: int
    examples_seen: int
    tokens_seen: int
    final_loss: float
    seconds: float
    device: str
    resumed_from_step: int = 0
    padded_tokens: int = 0
    """Positions the model computed (real tokens and padding; packed rows included)."""
    check_seconds: float = 0.0
    """Of ``seconds``, the time spent in selection checks (dev passes)."""
    throughput: dict[str, Any] | None = None
    """Real and padded tokens, tokens/s, model TFLOP/s and MFU of the training steps
    (:meth:`harness.model.throughput.Meter.record`; selection checks excluded)."""
    selection: dict[str, Any] | None = None
    """With a :class:`Selection`: its checks and the selected step (:meth:`Selection.record`)."""
    oracle_state: dict[str, torch.Tensor] | None = None
    """With a :class:`Selection` that observes target-dev scores: the model state of the
    oracle's check (host memory; not part of :meth:`as_dict`)."""

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "steps": self.steps,
            "examples_seen": self.examples_seen,
            "tokens_seen": self.tokens_seen,
            "padded_tokens": self.padded_tokens,
            "final_loss": self.final_loss,
            "seconds": round(self.seconds, 3),
            "device": self.device,
        }
        if self.check_seconds:
            out["check_seconds"] = round(self.check_seconds, 3)
        if self.throughput is not None:
            out["throughput"] = self.throughput
        if self.selection is not None:
            out["selection"] = self.selection
        return out


@dataclass
class Selection:
    """Best-checkpoint selection: every ``every_steps`` optimizer steps and at the last step,
    ``score()`` is called with the model in eval mode (the English dev score, higher is better)
    and, when given, ``observe()`` (the target-dev oracle's scores per language, recorded but
    never used to select; the state of the check with the best mean of them is kept too, as
    :attr:`TrainSummary.oracle_state`). The best-scoring state (the earliest on ties) is kept in
    host memory and loaded into the model when training ends; ``patience`` consecutive checks
    without a better score end training early (0: never). Checkpoints carry the kept state and
    every check, so a resumed run selects as the uninterrupted one would."""

    every_steps: int
    score: Callable[[], float]
    metric: str
    data: str
    """What ``score`` scores, for the record (e.g. ``mnli dev (first 500)``)."""
    patience: int = 0
    observe: Callable[[], dict[str, float]] | None = None

    def __post_init__(self) -> None:
        if self.every_steps <= 0:
            raise ValueError("Selection.every_steps must be positive")

    def record(
        self, checks: list[dict[str, Any]], best: int | None, stopped: int | None
    ) -> dict[str, Any]:
        """The summary of a run's selection: every check, the selected one, and, with
        ``observe``, the target-dev oracle (the check with the best mean of its scores)."""
        out: dict[str, Any] = {
            "metric": self.metric,
            "data": self.data,
            "every_steps": self.every_steps,
            "patience": self.patience,
            "checks": checks,
            "selected_step": None if best is None else checks[best]["step"],
            "selected_score": None if best is None else checks[best]["score"],
            "stopped_early_at": stopped,
        }
        observed = [c for c in checks if c.get("target_dev")]
        if observed:
            means = [sum(c["target_dev"].values()) / len(c["target_dev"]) for c in observed]
            at = max(range(len(observed)), key=lambda i: (means[i], -i))
            out["oracle"] = {
                "step": observed[at]["step"],
                "target_dev_mean": means[at],
                "target_dev": observed[at]["target_dev"],
                "english_dev": observed[at]["score"],
            }
        return out


@dataclass(frozen=True)
class Checkpointing:
    """Periodic crash-resume checkpoints of one training run, in ``folder``.

    A checkpoint holds the model, optimizer and scheduler state, every RNG (Python, NumPy, torch
    CPU and CUDA, the data-order generator and any ``extra_generators`` of :func:`train`) and the
    position in the current epoch's data order, so a run resumed from it continues exactly as
    the uninterrupted run would have (bit-identical on CPU). Each checkpoint folder is written
    under a temporary name, closed by a sha256 manifest and renamed; on resume the newest one
    whose manifest verifies and whose fingerprint (parameters, data, initial weights) matches
    is used, anything else is skipped with a warning.
    """

    folder: Path
    every_steps: int = 0
    every_seconds: float = 0.0
    keep: int = 2

    @property
    def enabled(self) -> bool:
        return self.every_steps > 0 or self.every_seconds > 0


def checkpointing_of(settings: CheckpointParams, out_dir: Path) -> Checkpointing:
    """The crash-resume checkpoints (``params.checkpoint``) of the stage writing ``out_dir``."""
    return Checkpointing(
        folder=checkpoint_folder(out_dir),
        every_steps=settings.every_steps,
        every_seconds=settings.every_minutes * 60,
        keep=settings.keep,
    )


def checkpoint_folder(out_dir: Path) -> Path:
    """Where the checkpoints of the stage writing ``out_dir`` live: beside it, outside DVC."""
    require_output_folder(out_dir)
    return out_dir.with_name(out_dir.name + ".ckpt")


def clear_checkpoints(out_dir: Path) -> None:
    """Remove the checkpoints of a finished stage."""
    shutil.rmtree(checkpoint_folder(out_dir), ignore_errors=True)


def _param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (no_decay if param.ndim < 2 or "LayerNorm" in name else decay).append(param)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


def _info(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def compute_context(device: torch.device) -> dict[str, Any]:
    """What, besides the run's parameters, data and initial weights, changes the numbers a run
    computes: the torch release, the device type, the CPU threads of its kernels (the order of
    floating-point reductions: ``compute.threads``), TF32 on CUDA (``compute.tf32``) and whether
    deterministic algorithms are on."""
    cuda = device.type == "cuda"
    return {
        "torch": torch.__version__,
        "device": device.type,
        "threads": torch.get_num_threads(),
        "tf32": bool(torch.backends.cuda.matmul.allow_tf32) if cuda else None,
        "deterministic": torch.are_deterministic_algorithms_enabled(),
    }


def run_fingerprint(
    model: nn.Module,
    features: Sequence[Any],
    params: TrainParams,
    generator: torch.Generator,
    context: dict[str, Any] | None = None,
) -> str:
    """Identity of a training run before its first step: hyperparameters, the compute context
    (:func:`compute_context`), the training data (in order), the model's modules with their
    settings (dropout rates, norm epsilons: ``repr(model)``), the initial weights and the
    data-order generator's state. A checkpoint is resumed only by a run with the same
    fingerprint."""
    digest = hashlib.sha256()
    digest.update(json.dumps(params.model_dump(mode="json"), sort_keys=True).encode("utf-8"))
    if context is None:
        context = compute_context(torch.device("cpu"))
    digest.update(json.dumps(context, sort_keys=True).encode("utf-8"))
    digest.update(repr(model).encode("utf-8"))
    digest.update(str(len(features)).encode("ascii"))
    for feature in features:
        digest.update(repr(feature).encode("utf-8"))
    for name, tensor in model.state_dict().items():
        digest.update(name.encode("utf-8"))
        flat = tensor.detach().to("cpu").contiguous().reshape(-1)
        digest.update(flat.view(torch.uint8).numpy().tobytes())
    digest.update(generator.get_state().numpy().tobytes())
    return digest.hexdigest()


def _rng_state(generators: dict[str, torch.Generator]) -> dict[str, Any]:
    version, keys, gauss = random.getstate()
    np_state: Any = np.random.get_state()
    return {
        "python": [version, list(keys), gauss],
        "numpy": [
            str(np_state[0]),
            torch.from_numpy(np.asarray(np_state[1], dtype=np.int64)),
            int(np_state[2]),
            int(np_state[3]),
            float(np_state[4]),
        ],
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "generators": {name: g.get_state() for name, g in generators.items()},
    }


def _set_rng_state(state: dict[str, Any], generators: dict[str, torch.Generator]) -> None:
    version, keys, gauss = state["python"]
    random.setstate((version, tuple(keys), gauss))
    name, keys_np, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys_np.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    for gen_name, generator in generators.items():
        generator.set_state(state["generators"][gen_name])


def _flatten(batches: list[list[int]] | None) -> dict[str, torch.Tensor | None]:
    if batches is None:
        return {"order": None, "batch_sizes": None}
    return {
        "order": torch.tensor([i for batch in batches for i in batch], dtype=torch.long),
        "batch_sizes": torch.tensor([len(batch) for batch in batches], dtype=torch.long),
    }


def _unflatten(order: torch.Tensor | None, sizes: torch.Tensor | None) -> list[list[int]] | None:
    if order is None or sizes is None:
        return None
    flat = [int(i) for i in order]
    out, start = [], 0
    for size in sizes.tolist():
        out.append(flat[start : start + int(size)])
        start += int(size)
    return out


def _save_checkpoint(
    checkpointing: Checkpointing,
    fingerprint: str,
    step: int,
    state: dict[str, Any],
    context: dict[str, Any] | None = None,
) -> None:
    """Write one checkpoint atomically (temporary folder, manifest last, rename), then drop all
    but the newest ``keep``. A failed write (disk full, permission) leaves no partial checkpoint
    and does not stop training: the run goes on and warns."""
    folder = checkpointing.folder
    final = folder / f"step-{step:09d}"
    partial = folder / f".step-{step:09d}.partial"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir()
        torch.save(state, partial / STATE_FILE)
        meta = {
            "format": CHECKPOINT_FORMAT,
            "fingerprint": fingerprint,
            "step": step,
            "context": context,
        }
        (partial / META_FILE).write_text(json.dumps(meta, sort_keys=True), encoding="utf-8")
        write_manifest(partial)
        shutil.rmtree(final, ignore_errors=True)
        partial.rename(final)
        fsync_dir(folder)
    except (OSError, RuntimeError) as exc:  # torch.save reports write failures as RuntimeError
        shutil.rmtree(partial, ignore_errors=True)
        _warn(
            f"could not write the checkpoint at step {step} to '{folder}' ({exc}); training "
            "goes on without it. Free disk space or fix the folder's permissions."
        )
        return
    for old in sorted(folder.glob("step-*"))[: -checkpointing.keep]:
        shutil.rmtree(old, ignore_errors=True)


def _load_checkpoint(
    checkpointing: Checkpointing,
    fingerprint: str,
    device: torch.device,
    context: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """The newest usable checkpoint's state, or None. Corrupt checkpoints and checkpoints of a
    different run (other parameters, data, initial weights, or compute context: resuming one
    would give a result equal to no uninterrupted run) are skipped with a warning naming
    them and what differs."""
    folder = checkpointing.folder
    if not folder.is_dir():
        return None
    for stale in folder.glob(".step-*.partial"):
        shutil.rmtree(stale, ignore_errors=True)  # a write interrupted by the crash
    for candidate in sorted(folder.glob("step-*"), reverse=True):
        try:
            verify_manifest(candidate)
            meta = json.loads((candidate / META_FILE).read_text(encoding="utf-8"))
        except (ManifestError, OSError, ValueError) as exc:
            _warn(f"ignoring corrupt checkpoint '{candidate}': {exc}")
            continue
        if meta.get("format") != CHECKPOINT_FORMAT or meta.get("fingerprint") != fingerprint:
            _warn(
                f"ignoring checkpoint '{candidate}': it belongs to a different run "
                f"({_what_differs(meta, context)}); starting from scratch."
            )
            shutil.rmtree(folder, ignore_errors=True)
            return None
        try:
            state: dict[str, Any] = torch.load(
                candidate / STATE_FILE, map_location=device, weights_only=True
            )
        except Exception as exc:  # verified bytes that still do not load: skip, never trust
            _warn(f"ignoring unreadable checkpoint '{candidate}': {exc}")
            continue
        return state
    return None


def _what_differs(meta: dict[str, Any], context: dict[str, Any] | None) -> str:
    """Why a checkpoint's run is not this one, as far as its meta data tells."""
    if meta.get("format") != CHECKPOINT_FORMAT:
        return f"checkpoint format {meta.get('format')}, this harness writes {CHECKPOINT_FORMAT}"
    before = meta.get("context")
    if isinstance(before, dict) and context is not None and before != context:
        changes = [
            f"{key} {before.get(key)!r} -> {context.get(key)!r}"
            for key in sorted(set(before) | set(context))
            if before.get(key) != context.get(key)
        ]
        return "compute context changed: " + ", ".join(changes)
    return "parameters, data or initial weights changed"


def feature_length(feature: Any) -> int | None:
    """Tokens of one feature (its ``input_ids``, or the feature itself when it is a list of token
    ids); for a list of sequences (one per choice of a multiple-choice example) their sum. None
    for a feature of another shape."""
    ids = getattr(feature, "input_ids", feature)
    if isinstance(ids, list) and ids:
        if isinstance(ids[0], int):
            return len(ids)
        if isinstance(ids[0], list):
            return sum(len(row) for row in ids)
    return None


def _lengths(features: Sequence[Any], group_by_length: int) -> tuple[list[int], int]:
    """Feature lengths for length grouping, and the grouping to use: off (0) when asked so or
    when some feature has no length."""
    if group_by_length <= 1:
        return [0] * len(features), 0
    lengths = [feature_length(f) for f in features]
    if any(n is None for n in lengths):
        return [0] * len(features), 0
    return [int(n or 0) for n in lengths], group_by_length


def pad_to_multiple(
    batch: dict[str, torch.Tensor], multiple: int, cap: int, pad_id: int
) -> dict[str, torch.Tensor]:
    """Widen a collated batch's sequence dimension (the last of ``input_ids``) to the next
    multiple of ``multiple``, at most ``cap`` (or the batch's own width if that is wider).

    Padding is what the collate functions pad with: ``input_ids`` with ``pad_id``, ``labels``
    with ``IGNORE_INDEX``, every other tensor of the same leading shape (attention mask) with
    0. Tensors without the sequence dimension (sequence labels, answer positions, task indices)
    are unchanged.
    """
    shape = batch["input_ids"].shape
    width = shape[-1]
    target = min(-(-width // multiple) * multiple, max(cap, width))
    if target == width:
        return batch
    widened = {}
    for key, tensor in batch.items():
        if tensor.dim() == len(shape) and tensor.shape == shape:
            fill = pad_id if key == "input_ids" else IGNORE_INDEX if key == "labels" else 0
            tensor = torch.nn.functional.pad(tensor, (0, target - width), value=fill)
        widened[key] = tensor
    return widened


def _pad_id(model: nn.Module) -> int:
    """The padding token id of ``model``'s configuration (or its encoder's)."""
    for owner in (model, getattr(model, "encoder", None)):
        pad = getattr(getattr(owner, "config", None), "pad_token_id", None)
        if isinstance(pad, int):
            return pad
    raise HarnessError(
        f"pad_to_multiple needs the padding token id, and this {type(model).__name__} has no "
        "config.pad_token_id: set pad_to_multiple: 1 for it."
    )


def train(
    model: nn.Module,
    features: Sequence[Any],
    collate: Callable[[Sequence[Any]], Batch],
    params: TrainParams,
    generator: torch.Generator,
    description: str,
    device: torch.device | None = None,
    checkpointing: Checkpointing | None = None,
    extra_generators: dict[str, torch.Generator] | None = None,
    on_epoch_end: Callable[[int], None] | None = None,
    batch_order: BatchOrder | None = None,
    selection: Selection | None = None,
    forward_module: nn.Module | None = None,
) -> TrainSummary:
    """Train ``model`` in place on ``features``; the model's forward must return ``.loss``.

    With ``checkpointing`` enabled, the run saves periodic checkpoints and first resumes from
    the newest valid one of the same run (see :class:`Checkpointing`). ``extra_generators`` are
    RNGs the caller's ``collate`` draws from (e.g. MLM masking): they are checkpointed too.
    ``on_epoch_end(epoch)`` (0-based) is called after each epoch whose batches all ran, with
    the model in eval mode (the difficulty measures probe the model there); a run with a hook
    takes no checkpoints, since the hook's own state could not be resumed. ``batch_order``
    draws each epoch's batches instead of :func:`~harness.data.batching.epoch_batches` (an
    epoch is then its ``batches_per_epoch`` batches). ``selection``: best-checkpoint
    selection on dev data (:class:`Selection`); the model ends in the selected state.
    ``forward_module``: what runs a batch in place of ``model`` (a module that wraps it, e.g.
    :class:`~harness.model.packing.PackedForward` for packed batches); ``model`` is still what
    is optimised, checkpointed and selected.
    """
    device = device or pick_device()
    model.to(device)
    model.train()
    n = len(features)
    if n == 0:
        raise ValueError("no training examples")
    lengths, group_by_length = _lengths(features, params.group_by_length)
    per_step = params.batch_size * params.grad_accumulation
    if batch_order is None:
        steps_per_epoch = max(1, math.ceil(n / per_step))
    else:
        steps_per_epoch = max(
            1, math.ceil(batch_order.batches_per_epoch / params.grad_accumulation)
        )
    total_steps = max(1, round(params.epochs * steps_per_epoch))
    use_cuda = device.type == "cuda"
    # the fused kernel on CPUs too (as transformers' Trainer does): 8.8 % more training
    # tokens/s on the toy encoder (BENCHMARKS.md, issue 19); results differ from the foreach
    # kernel's in the last bits, bit-identical run to run for the same thread count
    optimizer = torch.optim.AdamW(
        _param_groups(model, params.weight_decay),
        lr=params.learning_rate,
        fused=device.type in ("cuda", "cpu"),
    )
    warmup = (
        round(params.warmup_ratio * total_steps)
        if params.warmup_steps is None
        else min(params.warmup_steps, total_steps)
    )
    scheduler = get_linear_schedule_with_warmup(optimizer, warmup, total_steps)
    autocast_enabled = use_cuda and params.bf16
    # torch.compile wraps the same parameters: the optimizer, checkpoints and the caller all keep
    # using ``model`` itself
    mode = None if params.compile_mode == "default" else params.compile_mode
    runner = forward_module if forward_module is not None else model
    forward = torch.compile(runner, mode=mode) if params.compile else runner
    # CUDA graph trees free a graph's outputs when the next step begins; the loop says when
    cuda_graphs = (
        params.compile and use_cuda and params.compile_mode in ("reduce-overhead", "max-autotune")
    )
    pad_id = _pad_id(model) if params.pad_to_multiple > 1 else 0
    generators = {"data_order": generator, **(extra_generators or {})}
    start = time.perf_counter()
    step = examples = tokens = padded = 0
    meter = Meter(training=True)
    check_seconds = 0.0
    loss_value = float("nan")
    batches: list[list[int]] | None = None
    position = 0
    seconds_before = 0.0
    resumed_from = 0
    fingerprint = ""
    context = compute_context(device)
    if on_epoch_end is not None:
        checkpointing = None
    epochs_done = 0
    checks: list[dict[str, Any]] = []
    best: int | None = None  # index into checks
    since_best = 0
    stopped: int | None = None  # the step at which patience ended the run
    best_state: dict[str, torch.Tensor] | None = None
    oracle_best: float | None = None  # the best mean target-dev score so far
    oracle_state: dict[str, torch.Tensor] | None = None
    if checkpointing is not None and checkpointing.enabled:
        fingerprint = run_fingerprint(model, features, params, generator, context)
        state = _load_checkpoint(checkpointing, fingerprint, device, context)
        if state is not None:
            try:
                model.load_state_dict(state["model"])
                optimizer.load_state_dict(state["optimizer"])
                scheduler.load_state_dict(state["scheduler"])
            except (KeyError, RuntimeError, ValueError) as exc:
                raise HarnessError(
                    f"The checkpoint in '{checkpointing.folder}' passed its checksums but does "
                    f"not fit this model ({exc}). Delete '{checkpointing.folder}' and rerun."
                ) from exc
            _set_rng_state(state["rng"], generators)
            step, examples, tokens = (
                int(state["step"]),
                int(state["examples"]),
                int(state["tokens"]),
            )
            loss_value = float(state["loss"])
            padded = int(state.get("padded", 0))
            meter.real_tokens, meter.padded_tokens = tokens, padded
            meter.attention = int(state.get("attention", 0))
            meter.sequences = int(state.get("sequences", 0))
            check_seconds = float(state.get("check_seconds", 0.0))
            batches = _unflatten(state["order"], state["batch_sizes"])
            position = int(state["position"])
            chosen = state.get("selection")
            if selection is not None and isinstance(chosen, dict):
                checks = list(chosen["checks"])
                best = chosen["best"]
                since_best = int(chosen["since_best"])
                stopped = chosen["stopped"]
                best_state = {k: v.detach().to("cpu") for k, v in state["best_model"].items()}
                oracle_best = chosen.get("oracle_best")
                oracle_state = {
                    k: v.detach().to("cpu") for k, v in state.get("oracle_model", {}).items()
                } or None
            seconds_before = float(state["seconds"])
            resumed_from = step
            _info(f"{description}: resuming from the checkpoint at step {step}/{total_steps}")
    last_save = time.monotonic()

    def save() -> None:
        nonlocal last_save
        assert checkpointing is not None
        state = {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "rng": _rng_state(generators),
            "step": step,
            "examples": examples,
            "tokens": tokens,
            "padded": padded,
            "attention": meter.attention,
            "sequences": meter.sequences,
            "check_seconds": check_seconds,
            "loss": loss_value,
            **_flatten(batches),
            "position": position,
            "seconds": seconds_before + time.perf_counter() - start,
        }
        if selection is not None:
            state["selection"] = {
                "checks": checks,
                "best": best,
                "since_best": since_best,
                "stopped": stopped,
                "oracle_best": oracle_best,
            }
            state["best_model"] = best_state or {}
            state["oracle_model"] = oracle_state or {}
        _save_checkpoint(checkpointing, fingerprint, step, state, context)
        last_save = time.monotonic()

    def check() -> None:
        """Score the model now (a selection check) and keep its state if it is the best."""
        nonlocal best, since_best, stopped, best_state, oracle_best, oracle_state, check_seconds
        assert selection is not None
        began = time.perf_counter()
        model.eval()
        with torch.no_grad():
            score = float(selection.score())
            observed = selection.observe() if selection.observe is not None else None
        model.train()
        entry: dict[str, Any] = {"step": step, "score": score}
        if observed:
            entry["target_dev"] = {k: float(v) for k, v in observed.items()}
            mean = sum(entry["target_dev"].values()) / len(entry["target_dev"])
            if oracle_best is None or mean > oracle_best:
                oracle_best = mean
                oracle_state = {
                    k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()
                }
        checks.append(entry)
        if best is None or score > checks[best]["score"]:
            best, since_best = len(checks) - 1, 0
            best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        else:
            since_best += 1
            if selection.patience and since_best >= selection.patience:
                stopped = step
        _info(
            f"{description}: step {step}: dev {selection.metric} {score:.4f} (best "
            f"{checks[best]['score']:.4f} at step {checks[best]['step']})"
        )
        check_seconds += time.perf_counter() - began

    def due() -> bool:
        if checkpointing is None or not checkpointing.enabled or step >= total_steps:
            return False
        if checkpointing.every_steps and step % checkpointing.every_steps == 0:
            return True
        return bool(
            checkpointing.every_seconds
            and time.monotonic() - last_save >= checkpointing.every_seconds
        )

    # On CUDA, reading the loss (``.item()``) waits for the GPU and keeps the CPU from queueing
    # the next step's kernels, so the loss stays on the device and is read about twice a second
    # (for the progress bar), before a checkpoint and at the end. The sums are the same float64
    # operations in the same order as reading it every step: the value is identical.
    pending_loss: torch.Tensor | None = None
    last_read = time.monotonic()

    def read_loss() -> None:
        nonlocal pending_loss, loss_value, last_read
        if pending_loss is not None:
            loss_value = float(pending_loss.item())
            pending_loss = None
        last_read = time.monotonic()

    with progress_bar(description, total_steps) as advance:
        for _ in range(step):
            advance(None)
        while step < total_steps and stopped is None:
            if batches is None:
                if batch_order is None:
                    batches = epoch_batches(lengths, params.batch_size, generator, group_by_length)
                else:
                    batches = batch_order(generator)
                position = 0
            while position < len(batches) and step < total_steps and stopped is None:
                group = batches[position : position + params.grad_accumulation]
                group_size = sum(len(g) for g in group)
                optimizer.zero_grad(set_to_none=True)
                group_loss = torch.zeros((), dtype=torch.float64, device=device)
                for indices in group:
                    chosen = [features[i] for i in indices]
                    cpu_batch = collate(chosen)
                    if params.pad_to_multiple > 1 and "segments" not in cpu_batch:
                        cpu_batch = pad_to_multiple(
                            cpu_batch, params.pad_to_multiple, params.max_length, pad_id
                        )
                    tokens += int(cpu_batch["attention_mask"].sum())
                    padded += cpu_batch["input_ids"].numel()
                    meter.add(
                        (n for f in chosen for n in sequence_lengths(f)),
                        cpu_batch["input_ids"].numel(),
                    )
                    batch = {k: v.to(device, non_blocking=True) for k, v in cpu_batch.items()}
                    if cuda_graphs:
                        torch.compiler.cudagraph_mark_step_begin()
                    with torch.autocast(
                        device.type, dtype=torch.bfloat16, enabled=autocast_enabled
                    ):
                        loss = forward(**batch).loss
                    (loss * len(indices) / group_size).backward()
                    group_loss += loss.detach().double() * len(indices)
                    examples += len(indices)
                torch.nn.utils.clip_grad_norm_(model.parameters(), params.max_grad_norm)
                optimizer.step()
                scheduler.step()
                step += 1
                position += params.grad_accumulation
                pending_loss = group_loss / group_size
                if not use_cuda or time.monotonic() - last_read >= 0.5:
                    read_loss()
                    advance(loss_value)
                else:
                    advance(None)
                if selection is not None and (
                    step % selection.every_steps == 0 or step == total_steps
                ):
                    read_loss()
                    check()
                if due():
                    read_loss()
                    save()
            if position >= len(batches):
                batches = None
                if on_epoch_end is not None:
                    read_loss()
                    model.eval()
                    on_epoch_end(epochs_done)
                    model.train()
                epochs_done += 1
        read_loss()
    record = None
    if selection is not None:
        if best is not None and best_state is not None and checks[best]["step"] != step:
            model.load_state_dict(best_state)
            _info(f"{description}: selected the model of step {checks[best]['step']}")
        record = selection.record(checks, best, stopped)
    model.eval()
    seconds = seconds_before + time.perf_counter() - start
    meter.seconds = seconds - check_seconds
    return TrainSummary(
        steps=step,
        examples_seen=examples,
        tokens_seen=tokens,
        final_loss=loss_value,
        seconds=seconds,
        device=str(device),
        resumed_from_step=resumed_from,
        padded_tokens=padded,
        check_seconds=check_seconds,
        throughput=meter.record(model, device),
        selection=record,
        oracle_state=oracle_state,
    )
