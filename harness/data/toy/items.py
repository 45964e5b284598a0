"""Sampling the items of one task split: labels balanced, a bounded number of attempts per
item, no item repeated within a task (``seen``).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import TypeVar

from harness.data.toy.config import TASK_LABELS, seeded_rng
from harness.data.toy.grammar import Clause
from harness.data.toy.sampler import Sampler
from harness.data.toy.world import ToyWorld

T = TypeVar("T")

PairMaker = Callable[[Sampler, str], "tuple[Clause, Clause] | None"]
"""(sampler, label) -> the clauses of sentence1 and sentence2, or None to try again."""
MAX_ATTEMPTS = 2000
"""Tries per item before sampling gives up."""
Record = dict[str, object]
"""One line of a task's JSON-lines file."""


def balanced(labels: Sequence[T], n: int, rng: random.Random) -> list[T]:
    """``n`` labels cycling through ``labels`` (counts differ by at most one), shuffled."""
    out = [labels[i % len(labels)] for i in range(n)]
    rng.shuffle(out)
    return out


def pair_items(
    task: str,
    split: str,
    n: int,
    world: ToyWorld,
    seed: int,
    seen: set[tuple[str, ...]],
    maker: PairMaker,
) -> list[tuple[str, Clause, Clause, str]]:
    """Items ``(id, sentence1, sentence2, label)`` of one split of a pair task, labels
    balanced. ``seen`` holds the English sentence pairs sampled for the task so far (earlier
    splits included); new items avoid them and are added to it."""
    rng = seeded_rng(seed, "items", task, split)
    s = Sampler(rng)
    out = []
    for i, label in enumerate(balanced(TASK_LABELS[task], n, rng)):
        for _ in range(MAX_ATTEMPTS):
            pair = maker(s, label)
            if pair is None:
                continue
            key = (world.sentence(pair[0], "en"), world.sentence(pair[1], "en"))
            if key[0] == key[1] or key in seen:
                continue
            seen.add(key)
            out.append((f"{task}-{split}-{i:06d}", pair[0], pair[1], label))
            break
        else:  # pragma: no cover
            raise RuntimeError(f"could not sample a {label!r} item of {task}")
    return out


def check_task(task: str, known: Sequence[str]) -> None:
    """Raise ``ValueError`` unless ``task`` is one of ``known``."""
    if task not in known:
        raise ValueError(f"unknown toy task {task!r}; expected one of {sorted(known)}")
