"""``toy_ner``: clauses with one to three named entities (persons, locations,
organisations), tagged in BIO by the realisation.
"""

from __future__ import annotations

from harness.data.toy.config import seeded_rng
from harness.data.toy.grammar import Clause, entity_count
from harness.data.toy.items import MAX_ATTEMPTS, balanced
from harness.data.toy.sampler import Sampler
from harness.data.toy.world import ToyWorld


def _ner_clause(s: Sampler, k: int) -> Clause | None:
    c = s.clause(name_p=60, passive_p=10, pp_weights=(25, 45, 30))
    return c if entity_count(c) == k else None


def tagged_items(
    task: str, split: str, n: int, world: ToyWorld, seed: int, seen: set[tuple[str, ...]]
) -> list[tuple[str, Clause]]:
    """Items ``(id, clause)`` of one split, the entity counts 1, 2 and 3 balanced."""
    rng = seeded_rng(seed, "items", task, split)
    s = Sampler(rng)
    out = []
    for i, k in enumerate(balanced((1, 2, 3), n, rng)):
        for _ in range(MAX_ATTEMPTS):
            c = _ner_clause(s, k)
            if c is None:
                continue
            key = (world.sentence(c, "en"),)
            if key in seen:
                continue
            seen.add(key)
            out.append((f"{task}-{split}-{i:06d}", c))
            break
        else:  # pragma: no cover
            raise RuntimeError(f"could not sample an item of {task}")
    return out
