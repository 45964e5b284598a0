"""``toy_nli``: premise -> hypothesis operations (also the rewrites of ``toy_mc``, of the skill
intermediate tasks and the restatements of the corpus).

Pairs are read as descriptions of the same scene (the SNLI convention), with definite noun
phrases referring to the same entities. :data:`NLI_OPS` covers negated premises too (the
corpus restatements use it); there, premises contain only definite noun phrases, so that
entailment reasoning under negation is sound (dropping a PP under negation is not entailed;
adding one is). ``toy_nli`` itself samples positive premises and :data:`TARGET_OPS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from harness.data.toy.grammar import (
    Clause,
    clause_nouns,
    get_np,
    np_class,
    np_slots,
    put_np,
    swappable,
)
from harness.data.toy.lexicon import (
    ADJ_CLASSES,
    EXCLUSIVE,
    HYPERNYM,
    HYPERNYM_KEYS,
    HYPONYMS,
    NOUN_CLASS,
    NUMBER_DETS,
)
from harness.data.toy.sampler import THE, Sampler, adj_order, conflicts

NliOp = Callable[[Sampler, Clause], "Clause | None"]
"""An operation: (sampler, premise) -> hypothesis, or None where it does not apply."""


def op_drop_adj(s: Sampler, c: Clause) -> Clause | None:
    slots = [x for x in np_slots(c, with_pps=not c.neg) if get_np(c, x).adjs]
    if not slots:
        return None
    slot = s.pick(slots)
    np_ = get_np(c, slot)
    drop = s.pick(np_.adjs)
    return put_np(c, slot, replace(np_, adjs=tuple(a for a in np_.adjs if a != drop)))


def op_drop_pp(s: Sampler, c: Clause) -> Clause | None:
    if not c.pps:
        return None
    i = s.rng.randrange(len(c.pps))
    return replace(c, pps=c.pps[:i] + c.pps[i + 1 :])


def op_drop_time(s: Sampler, c: Clause) -> Clause | None:
    return replace(c, time=(), time_front=False) if c.time else None


def op_move_time(s: Sampler, c: Clause) -> Clause | None:
    return replace(c, time_front=not c.time_front) if c.time else None


def op_add_pp(s: Sampler, c: Clause) -> Clause | None:
    if len(c.pps) >= 2:
        return None
    new = s.pps(1, np_class(c.subj), c.obj is not None, 20, THE, clause_nouns(c))
    if not new or any(pp.prep == new[0].prep for pp in c.pps):
        return None
    return replace(c, pps=(*c.pps, *new))


def op_add_time(s: Sampler, c: Clause) -> Clause | None:
    if c.time:
        return None
    time, front = s.time()
    return replace(c, time=time, time_front=front)


def op_hypernym(s: Sampler, c: Clause) -> Clause | None:
    slots = [
        x
        for x in np_slots(c, with_pps=False)
        if get_np(c, x).noun and get_np(c, x).noun not in HYPERNYM_KEYS
    ]
    if not slots:
        return None
    slot = s.pick(slots)
    np_ = get_np(c, slot)
    hyper = HYPERNYM[NOUN_CLASS[np_.noun]]
    if hyper in clause_nouns(c):
        return None
    return put_np(c, slot, replace(np_, noun=hyper))


def op_specialise(s: Sampler, c: Clause) -> Clause | None:
    slots = [x for x in np_slots(c, with_pps=False) if get_np(c, x).noun in HYPERNYM_KEYS]
    if not slots:
        return None
    slot = s.pick(slots)
    np_ = get_np(c, slot)
    options = [n for n in HYPONYMS[NOUN_CLASS[np_.noun]] if n not in clause_nouns(c)]
    return put_np(c, slot, replace(np_, noun=s.pick(options)))


def op_negate(s: Sampler, c: Clause) -> Clause | None:
    return replace(c, neg=not c.neg)


def op_swap(s: Sampler, c: Clause) -> Clause | None:
    if not swappable(c):
        return None
    assert c.obj is not None
    return replace(c, subj=c.obj, obj=c.subj)


def op_replace(s: Sampler, c: Clause) -> Clause | None:
    slots = [x for x in np_slots(c) if get_np(c, x).noun not in HYPERNYM_KEYS]
    if not slots:
        return None
    slot = s.pick(slots)
    np_ = get_np(c, slot)
    if np_.name:
        for _ in range(10):
            other = s.name(np_.etype)
            if other.name != np_.name and all(other.name != get_np(c, x).name for x in np_slots(c)):
                return put_np(c, slot, other)
        return None
    options = [n for n in HYPONYMS[NOUN_CLASS[np_.noun]] if n not in clause_nouns(c)]
    return put_np(c, slot, replace(np_, noun=s.pick(options)))


def op_number(s: Sampler, c: Clause) -> Clause | None:
    slots = [x for x in np_slots(c) if get_np(c, x).det in NUMBER_DETS]
    if not slots:
        return None
    slot = s.pick(slots)
    np_ = get_np(c, slot)
    return put_np(c, slot, replace(np_, det=s.pick([d for d in NUMBER_DETS if d != np_.det])))


def op_exclusive_adj(s: Sampler, c: Clause) -> Clause | None:
    """Replace an adjective by an incompatible one (big -> small, red -> blue)."""
    choices: list[tuple[str, str, str]] = []
    for slot in np_slots(c, with_pps=not c.neg):
        np_ = get_np(c, slot)
        if not np_.noun:
            continue
        cls = NOUN_CLASS[np_.noun]
        for adj in np_.adjs:
            rest = [a for a in np_.adjs if a != adj]
            for group in EXCLUSIVE:
                if adj not in group:
                    continue
                for new in group:
                    if (
                        new != adj
                        and cls in ADJ_CLASSES[new]
                        and not any(conflicts(new, r) for r in rest)
                    ):
                        choices.append((slot, adj, new))
    if not choices:
        return None
    slot, adj, new = s.pick(sorted(set(choices)))
    np_ = get_np(c, slot)
    return put_np(c, slot, replace(np_, adjs=adj_order([new if a == adj else a for a in np_.adjs])))


def op_add_adj(s: Sampler, c: Clause) -> Clause | None:
    slots = [
        x for x in np_slots(c, with_pps=False) if get_np(c, x).noun and len(get_np(c, x).adjs) < 2
    ]
    if not slots:
        return None
    slot = s.pick(slots)
    np_ = get_np(c, slot)
    options = s.adjective_options(NOUN_CLASS[np_.noun], np_.adjs)
    if not options:
        return None
    return put_np(c, slot, replace(np_, adjs=adj_order([*np_.adjs, s.pick(options)])))


NLI_OPS: dict[tuple[str, bool], tuple[NliOp, ...]] = {
    ("entailment", False): (op_drop_adj, op_drop_pp, op_drop_time, op_hypernym, op_move_time),
    ("entailment", True): (op_drop_adj, op_hypernym, op_move_time, op_add_pp, op_add_time),
    ("contradiction", False): (op_negate, op_swap, op_replace, op_number, op_exclusive_adj),
    ("contradiction", True): (op_negate, op_exclusive_adj),
    ("neutral", False): (op_add_adj, op_add_pp, op_add_time, op_specialise),
    ("neutral", True): (op_add_adj, op_drop_pp, op_drop_time, op_specialise),
}
NLI_DETS: tuple[tuple[str, int], ...] = (
    ("d:the", 60),
    ("d:a", 20),
    ("d:two", 10),
    ("d:three", 10),
)


TARGET_OPS: dict[str, tuple[NliOp, ...]] = {
    "entailment": (op_drop_adj, op_drop_pp, op_drop_time, op_hypernym),
    "neutral": (op_add_adj, op_add_pp, op_add_time, op_specialise),
    "contradiction": (op_negate, op_replace, op_exclusive_adj, op_number),
}
"""The operations of ``toy_nli``, on positive premises: a subset of :data:`NLI_OPS` (all of
which the corpus restatements use) whose label does not flip with the premise's polarity, so
that the tiny encoder can learn the task from its English training set (with negated premises
and agent-patient swaps as well it stayed near chance). Each label has one operation a single
word decides (negation), two that need the sentences compared (drop or add a modifier:
toy_extension's skill) and lexical ones (hypernyms: toy_lexical's)."""


def positive_premise(s: Sampler) -> Clause:
    """A premise of ``toy_nli`` (and sentence1 of the skill tasks toy_negation and
    toy_extension): a positive clause, active voice, two PPs at most."""
    return s.clause(
        transitive_p=70,
        neg_p=0,
        time_p=35,
        name_p=20,
        pp_weights=(50, 50, 0),
        dets=NLI_DETS,
        obj_dets=NLI_DETS,
        pp_dets=THE,
        hypernym_p=15,
    )


def nli_pair(s: Sampler, label: str) -> tuple[Clause, Clause] | None:
    """A ``(premise, hypothesis)`` pair with relation ``label``, or None after 30 failed tries."""
    op = s.pick(TARGET_OPS[label])
    for _ in range(30):
        premise = positive_premise(s)
        hypothesis = op(s, premise)
        if hypothesis is not None and hypothesis != premise:
            return premise, hypothesis
    return None
