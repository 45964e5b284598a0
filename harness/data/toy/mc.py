"""``toy_mc`` (like XCOPA): a premise and two candidate sentences.

One candidate is entailed by the premise (its other voice and/or the NLI task's entailment
operations), the other is the same sentence with agent and patient swapped (contradicted,
under the NLI task's same-scene convention). Both candidates have the same words (up to
was/were) and length, so neither word overlap with the premise nor length says which one is
right, and the voice switch of about half of the items keeps word-order overlap near chance
too.
"""

from __future__ import annotations

from dataclasses import replace

from harness.data.toy.config import seeded_rng
from harness.data.toy.grammar import Clause, swappable
from harness.data.toy.items import MAX_ATTEMPTS, balanced
from harness.data.toy.nli import (
    NLI_DETS,
    NliOp,
    op_drop_adj,
    op_drop_pp,
    op_drop_time,
    op_hypernym,
    op_move_time,
)
from harness.data.toy.sampler import THE, Sampler
from harness.data.toy.world import ToyWorld

MC_CHOICES = 2
"""Candidates per ``toy_mc`` item (labels are the indices ``"0"``, ``"1"``)."""


def _swap(c: Clause) -> Clause:
    assert c.obj is not None
    return replace(c, subj=c.obj, obj=c.subj)


# Entailed rewrites of a non-negated premise (the NLI task's entailment operations); the right
# candidate is the premise in the other voice (45 % of the items) and/or rewritten by some of
# them. Switching the voice of about half of the items keeps word order from giving the answer away:
# without it the right candidate would keep the premise's order and the swapped one would not.
_MC_OPS: tuple[NliOp, ...] = (
    op_move_time,
    op_drop_adj,
    op_drop_pp,
    op_drop_time,
    op_hypernym,
)


def _mc_item(s: Sampler) -> tuple[Clause, Clause, Clause] | None:
    """(premise, right, wrong): right is entailed by the premise, wrong is right with agent and
    patient swapped (a contradiction under the same-scene convention)."""
    premise = s.clause(
        animate_pair=True,
        neg_p=0,
        passive_p=25,
        time_p=40,
        name_p=20,
        pp_weights=(40, 45, 15),
        dets=NLI_DETS,
        obj_dets=NLI_DETS,
        pp_dets=THE,
        hypernym_p=10,
    )
    voice = s.percent(45)
    right = replace(premise, passive=not premise.passive) if voice else premise
    for _ in range(s.pick((0, 1)) if voice else s.pick((1, 2))):
        new = s.pick(_MC_OPS)(s, right)
        if new is not None:
            right = new
    if right == premise or not swappable(right):
        return None
    return premise, right, _swap(right)


def mc_items(
    split: str, n: int, world: ToyWorld, seed: int, seen: set[tuple[str, ...]]
) -> list[tuple[str, Clause, list[Clause], int]]:
    """Items ``(id, premise, choices, label)`` of one split, the right position balanced."""
    rng = seeded_rng(seed, "items", "toy_mc", split)
    s = Sampler(rng)
    out = []
    for i, label in enumerate(balanced(range(MC_CHOICES), n, rng)):
        for _ in range(MAX_ATTEMPTS):
            item = _mc_item(s)
            if item is None:
                continue
            premise, right, wrong = item
            key = tuple(world.sentence(c, "en") for c in item)
            if len(set(key)) != 3 or key[:2] in seen:
                continue
            seen.add(key[:2])
            choices = [wrong] * MC_CHOICES
            choices[label] = right
            out.append((f"toy_mc-{split}-{i:06d}", premise, choices, label))
            break
        else:  # pragma: no cover
            raise RuntimeError("could not sample an item of toy_mc")
    return out
