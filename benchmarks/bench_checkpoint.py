"""Cost of crash-resume checkpoints in the training loop.

Trains the toy-size encoder (the toy profile's model sizes) with a classification head on
synthetic XNLI-like data for one epoch, from the same initial weights, with checkpointing off (the
baseline), with the toy profile's default (every 10 minutes: on the toy profile only the run
fingerprint is computed, no checkpoint is written) and with a checkpoint every 25 and every 5
steps. Variants are interleaved (in a rotated order each repeat) and repeated; the table reports
the median and the fastest wall time of each as ratios to the baseline measured in the same run
(on a shared machine the fastest is the less noisy estimate), the checkpoint size, and the time
to resume (find, verify and load the newest checkpoint). Final weights must be identical in
every variant.

Run: ``python benchmarks/bench_checkpoint.py [--repeats 3] [--examples 960]``.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks._report import record  # noqa: E402
from benchmarks.bench_training import PAD, SIZES, VOCAB, make_features  # noqa: E402
from harness.config import TrainParams  # noqa: E402
from harness.kinds.base import pad_sequences as collate  # noqa: E402
from harness.model.train import Checkpointing, _load_checkpoint, run_fingerprint, train  # noqa: E402

VARIANTS = {
    "off (baseline)": None,
    "toy default (every 10 min)": {"every_seconds": 600.0},
    "every 25 steps": {"every_steps": 25},
    "every 5 steps": {"every_steps": 5},
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--examples", type=int, default=960)
    args = parser.parse_args()
    from transformers import XLMRobertaConfig, XLMRobertaForSequenceClassification

    torch.manual_seed(0)
    config = XLMRobertaConfig(
        vocab_size=VOCAB, max_position_embeddings=132, num_labels=3, pad_token_id=PAD,
        type_vocab_size=1, **SIZES["toy"],
    )  # fmt: skip
    config._attn_implementation = "eager"
    initial = XLMRobertaForSequenceClassification(config).state_dict()
    features = make_features(args.examples, seed=1)
    params = TrainParams(epochs=1, learning_rate=3e-4, batch_size=32, max_length=128)
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    weights: dict[str, dict[str, torch.Tensor]] = {}
    sizes: dict[str, int] = {}
    resume: list[float] = []
    names = list(VARIANTS)
    for repeat in range(args.repeats):
        # rotate the order each repeat, so load that drifts during a run hits every variant
        for name in names[repeat % len(names) :] + names[: repeat % len(names)]:
            settings = VARIANTS[name]
            model = XLMRobertaForSequenceClassification(config)
            model.load_state_dict(copy.deepcopy(initial))
            generator = torch.Generator()
            generator.manual_seed(13)
            torch.manual_seed(13)
            with tempfile.TemporaryDirectory() as folder:
                checkpointing = Checkpointing(Path(folder), **settings) if settings else None
                start = time.perf_counter()
                train(
                    model, features, lambda fs: collate(fs, PAD), params, generator, name,
                    torch.device("cpu"), checkpointing,
                )  # fmt: skip
                times[name].append(time.perf_counter() - start)
                saved = sorted(Path(folder).glob("step-*"))
                if saved:
                    sizes[name] = sum(f.stat().st_size for f in saved[-1].iterdir())
                if name == "every 5 steps":
                    fresh = XLMRobertaForSequenceClassification(config)
                    fresh.load_state_dict(copy.deepcopy(initial))
                    g = torch.Generator()
                    g.manual_seed(13)
                    start = time.perf_counter()
                    fingerprint = run_fingerprint(fresh, features, params, g)
                    assert checkpointing is not None
                    _load_checkpoint(checkpointing, fingerprint, torch.device("cpu"))
                    resume.append(time.perf_counter() - start)
            weights[name] = {k: v.clone() for k, v in model.state_dict().items()}
    reference = weights["off (baseline)"]
    identical = all(
        all(torch.equal(w[k], reference[k]) for k in reference) for w in weights.values()
    )
    base = statistics.median(times["off (baseline)"])
    fastest = min(times["off (baseline)"])
    print(
        f"| variant | median of {args.repeats} | ratio to off | fastest of {args.repeats} | "
        "ratio to off | checkpoint size |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, values in times.items():
        size = f"{sizes[name] / 2**20:.1f} MiB" if name in sizes else "-"
        median, low = statistics.median(values), min(values)
        print(f"| {name} | {median:.2f} s | {median / base:.3f}x | {low:.2f} s | "
              f"{low / fastest:.3f}x | {size} |")  # fmt: skip
        if name != "off (baseline)":
            record("checkpoints (toy training run)", f"training time, checkpoints {name}",
                   median, "s", baseline=base)  # fmt: skip
    median_resume = statistics.median(resume)
    print(f"\nresume (fingerprint + verify + load newest): median {median_resume:.2f} s")
    print(f"final weights identical in every variant: {identical}")
    steps = -(-args.examples // params.batch_size)
    print(f"{steps} steps per run, {args.examples} examples, toy-size model, CPU")


if __name__ == "__main__":
    main()
