"""``toy_retrieval`` (like Tatoeba): a sentence in a non-English toy language and its
English original; no training data.
"""

from __future__ import annotations

from harness.data.toy.config import LANGUAGES, seeded_rng
from harness.data.toy.grammar import Clause
from harness.data.toy.items import MAX_ATTEMPTS
from harness.data.toy.sampler import Sampler
from harness.data.toy.world import ToyWorld

RETRIEVAL_LANGUAGES: list[str] = [lang for lang in LANGUAGES if lang != "en"]
"""Query languages of ``toy_retrieval`` (the targets are English)."""


def retrieval_items(
    split: str, n: int, world: ToyWorld, seed: int, seen: set[tuple[str, ...]]
) -> list[tuple[str, Clause]]:
    """Items ``(id, clause)`` of one split, their English sentences distinct."""
    s = Sampler(seeded_rng(seed, "items", "toy_retrieval", split))
    out = []
    for i in range(n):
        for _ in range(MAX_ATTEMPTS):
            c = s.clause(passive_p=10)
            key = (world.sentence(c, "en"),)
            if key in seen:
                continue
            seen.add(key)
            out.append((f"toy_retrieval-{split}-{i:06d}", c))
            break
        else:  # pragma: no cover
            raise RuntimeError("could not sample an item of toy_retrieval")
    return out
