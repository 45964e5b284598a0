"""``toy_mc`` (like XCOPA): a premise and two candidate sentences.

One candidate is entailed by the premise (its other voice and/or the NLI task's entailment
operations), the other is the same sentence contradicted in one of three ways, a third of the
items each (:data:`WRONG_KINDS`): negated (one word decides: the skill of toy_negation),
one noun or name replaced by another of its class (word overlap with the premise decides), or
agent and patient swapped (the skill of toy_roles). Swapped candidates have the same words
(up to was/were) and length as the right one, and the voice switch of about half of the items
keeps word-order overlap near chance for them; with swaps alone the tiny encoder stayed at
chance.
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
    op_negate,
    op_replace,
)
from harness.data.toy.sampler import THE, Sampler
from harness.data.toy.world import ToyWorld

MC_CHOICES = 2
"""Candidates per ``toy_mc`` item (labels are the indices ``"0"``, ``"1"``)."""
WRONG_KINDS = ("negated", "replaced", "swapped")
"""How the wrong candidate contradicts the right one (a third of the items each)."""


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


def _mc_item(s: Sampler, wrong: str) -> tuple[Clause, Clause, Clause] | None:
    """(premise, right, wrong): right is entailed by the premise, wrong is right contradicted
    as ``wrong`` says (one of :data:`WRONG_KINDS`: negated, a noun replaced, or agent and
    patient swapped)."""
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
    if wrong == "swapped":
        return premise, right, _swap(right)
    contradicted = op_negate(s, right) if wrong == "negated" else op_replace(s, right)
    return None if contradicted is None else (premise, right, contradicted)


def mc_items(
    split: str, n: int, world: ToyWorld, seed: int, seen: set[tuple[str, ...]]
) -> list[tuple[str, Clause, list[Clause], int]]:
    """Items ``(id, premise, choices, label)`` of one split, the right position balanced."""
    rng = seeded_rng(seed, "items", "toy_mc", split)
    s = Sampler(rng)
    out = []
    labels = balanced(range(MC_CHOICES), n, rng)
    wrongs = balanced(WRONG_KINDS, n, seeded_rng(seed, "wrong", "toy_mc", split))
    for i, (label, wrong) in enumerate(zip(labels, wrongs, strict=True)):
        for _ in range(MAX_ATTEMPTS):
            item = _mc_item(s, wrong)
            if item is None:
                continue
            premise, right, contradicted = item
            key = tuple(world.sentence(c, "en") for c in item)
            if len(set(key)) != 3 or key[:2] in seen:
                continue
            seen.add(key[:2])
            choices = [contradicted] * MC_CHOICES
            choices[label] = right
            out.append((f"toy_mc-{split}-{i:06d}", premise, choices, label))
            break
        else:  # pragma: no cover
            raise RuntimeError("could not sample an item of toy_mc")
    return out
