"""Tokenised-feature cache: featurising a large pair-classification training set, cold (miss:
tokenise and store) against warm (hit: hash the examples and load), in the same session.

Uses the toy profile's tokenizer when `models/encoders/none` exists (after `dvc repro`), else one
trained here on the fly. Run: ``python benchmarks/bench_features.py [--examples 100000]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks._report import record  # noqa: E402
from harness.data.cache import cached_featurize  # noqa: E402
from harness.model.encoders import load_tokenizer, train_tokenizer  # noqa: E402
from harness.tasks import Registry  # noqa: E402

WORDS = (
    "the",
    "a",
    "every",
    "some",
    "no",
    "many",
    "two",
    "three",
    "dog",
    "cat",
    "teacher",
    "pilot",
    "river",
    "park",
    "kitchen",
    "saw",
    "chased",
    "visited",
    "repaired",
    "did",
    "not",
    "quickly",
    "old",
    "red",
    "small",
    "big",
    "near",
    "behind",
    "with",
    "in",
    "yesterday",
    "today",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=100_000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    encoder = REPO / "models" / "encoders" / "none"
    if (encoder / "tokenizer.json").is_file():
        tokenizer = load_tokenizer(encoder)
    else:
        lines = [" ".join(rng.choice(WORDS, size=12)) for _ in range(5000)]
        tokenizer = train_tokenizer(lines, vocab_size=500)

    def sentence() -> str:
        return " ".join(rng.choice(WORDS, size=int(rng.integers(6, 30)))) + " ."

    examples = [
        {"sentence1": sentence(), "sentence2": sentence(), "label": "neutral"}
        for _ in range(args.examples)
    ]
    spec = Registry.load().get("toy_nli")
    with tempfile.TemporaryDirectory() as tmp:
        timings = {}
        for name in ("cold (miss)", "warm (hit)"):
            started = time.perf_counter()
            features = cached_featurize(spec, examples, tokenizer, 128, Path(tmp))
            timings[name] = time.perf_counter() - started
            assert len(features) == len(examples)
    cold, warm = timings["cold (miss)"], timings["warm (hit)"]
    print(f"{args.examples:,} pair examples: cold {cold:.2f} s, warm {warm:.2f} s, "
          f"{cold / warm:.1f}x")  # fmt: skip
    record("tokenised-feature cache", "pairs/s featurised, warm (cache hit) vs cold",
           args.examples / warm, "ex/s", baseline=args.examples / cold)  # fmt: skip


if __name__ == "__main__":
    main()
