"""Random clauses over the English grammar: :class:`Sampler`, with the determiner weights
and the adjective constraints it samples under.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace
from typing import TypeVar

from harness.data.toy.grammar import NP, PP, Clause, np_class, same_referent_word
from harness.data.toy.lexicon import (
    ADJ_CLASSES,
    ADJ_RANK,
    ANIMATE,
    EXCLUSIVE,
    HYPERNYM,
    HYPONYMS,
    INTRANSITIVE,
    LOCATIONS,
    NOUN_TABLE,
    ORGANISATIONS,
    PER_FIRST,
    PER_LAST,
    PLURAL_DETS,
    TIME_PHRASES,
    TRANSITIVE,
    VERBS,
)

T = TypeVar("T")

DEFAULT_DETS: tuple[tuple[str, int], ...] = (
    ("d:the", 45),
    ("d:a", 20),
    ("d:two", 4),
    ("d:three", 3),
    ("d:four", 2),
    ("d:five", 1),
    ("d:some", 8),
    ("d:many", 7),
    ("d:every", 6),
    ("d:no", 4),
)
THE: tuple[tuple[str, int], ...] = (("d:the", 1),)


_CONFLICTS = {a: frozenset({a, *(b for g in EXCLUSIVE if a in g for b in g)}) for a in ADJ_CLASSES}
_ADJS_FOR_CLASS = {
    cls: tuple(a for a in sorted(ADJ_CLASSES) if cls in ADJ_CLASSES[a]) for cls in NOUN_TABLE
}


def conflicts(a: str, b: str) -> bool:
    """Whether two adjectives cannot modify one noun together (same word or same scale)."""
    return b in _CONFLICTS[a]


def adj_order(adjs: Sequence[str]) -> tuple[str, ...]:
    """Adjectives in English order (quality, size, age, colour)."""
    return tuple(sorted(adjs, key=lambda a: (ADJ_RANK[a], a)))


class Sampler:
    """Random choices over the English grammar (one ``random.Random``)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def pick(self, seq: Sequence[T]) -> T:
        return seq[self.rng.randrange(len(seq))]

    def weighted(self, items: Sequence[tuple[T, int]]) -> T:
        x = self.rng.randrange(sum(w for _, w in items))
        for item, w in items:
            if x < w:
                return item
            x -= w
        raise AssertionError("unreachable")  # pragma: no cover

    def percent(self, p: int) -> bool:
        return self.rng.randrange(100) < p

    def name(self, etype: str) -> NP:
        if etype == "PER":
            words: tuple[str, ...] = (self.pick(PER_FIRST),)
            if self.percent(60):
                words += (self.pick(PER_LAST),)
        else:
            words = tuple(self.pick(LOCATIONS if etype == "LOC" else ORGANISATIONS).split())
        return NP(name=words, etype=etype)

    def adjective_options(self, cls: str, existing: Sequence[str]) -> list[str]:
        options = _ADJS_FOR_CLASS[cls]
        return [a for a in options if not any(conflicts(a, b) for b in existing)]

    def adjectives(self, cls: str, k: int) -> tuple[str, ...]:
        chosen: list[str] = []
        for _ in range(k):
            options = self.adjective_options(cls, chosen)
            if options:
                chosen.append(self.pick(options))
        return adj_order(chosen)

    def determiner(self, dets: Sequence[tuple[str, int]]) -> tuple[str, bool]:
        det = self.weighted(dets)
        plural = det in PLURAL_DETS or (det == "d:the" and self.percent(25))
        return det, plural

    def common(
        self,
        cls: str,
        dets: Sequence[tuple[str, int]],
        max_adjs: int,
        hypernym_p: int,
        avoid: Sequence[str] = (),
    ) -> NP:
        options = [n for n in HYPONYMS[cls] if n not in avoid]
        noun = HYPERNYM[cls] if self.percent(hypernym_p) else self.pick(options)
        if noun in avoid:
            noun = self.pick(options)
        det, plural = self.determiner(dets)
        k = min(max_adjs, self.weighted(((0, 50), (1, 35), (2, 15))))
        return NP(noun=noun, det=det, plural=plural, adjs=self.adjectives(cls, k))

    def np_for(
        self,
        cls: str,
        *,
        dets: Sequence[tuple[str, int]],
        name_p: int,
        max_adjs: int,
        hypernym_p: int,
        avoid: Sequence[str] = (),
    ) -> NP:
        if cls == "org":
            return self.name("ORG")
        if cls in ("person", "place") and self.percent(name_p):
            return self.name("PER" if cls == "person" else "LOC")
        return self.common(cls, dets, max_adjs, hypernym_p, avoid)

    def _pp(
        self, variant: str, name_p: int, dets: Sequence[tuple[str, int]], avoid: Sequence[str]
    ) -> PP:
        if variant == "with_tool":
            return PP("p:with", self.common("tool", dets, 1, 0, avoid))
        if variant == "with_per":
            return PP("p:with", self.name("PER"))
        if variant == "at":
            if self.percent(name_p):
                return PP("p:at", self.name("ORG"))
            return PP("p:at", self.common("place", dets, 1, 0, avoid))
        prep = self.pick(("p:in", "p:near", "p:behind"))
        if self.percent(name_p):
            return PP(prep, self.name("LOC"))
        return PP(prep, self.common("place", dets, 1, 0, avoid))

    def pp(
        self, variant: str, name_p: int, dets: Sequence[tuple[str, int]], avoid: Sequence[str]
    ) -> PP:
        pp = self._pp(variant, name_p, dets, avoid)
        # places and instruments are singular unless the determiner asks for a plural
        if pp.np.noun and pp.np.plural and pp.np.det not in PLURAL_DETS:
            return PP(pp.prep, replace(pp.np, plural=False))
        return pp

    def pps(
        self,
        n: int,
        subj_cls: str,
        transitive: bool,
        name_p: int,
        dets: Sequence[tuple[str, int]],
        avoid: Sequence[str],
    ) -> tuple[PP, ...]:
        variants = ["loc", "at"]
        if subj_cls in ANIMATE:
            variants.append("with_per")
            if subj_cls == "person" and transitive:
                variants.append("with_tool")
        out: list[PP] = []
        used_nouns = list(avoid)
        for _ in range(n):
            used_preps = {pp.prep for pp in out}
            options = [
                k
                for k in variants
                if not (
                    (k in ("with_per", "with_tool") and "p:with" in used_preps)
                    or (k == "at" and "p:at" in used_preps)
                )
            ]
            pp = self.pp(self.pick(options), name_p, dets, used_nouns)
            if pp.prep in used_preps or any(pp.np == o.np for o in out):
                continue
            out.append(pp)
            if pp.np.noun:
                used_nouns.append(pp.np.noun)
        return tuple(out)

    def time(self) -> tuple[tuple[str, ...], bool]:
        return self.pick(TIME_PHRASES), self.percent(40)

    def clause(
        self,
        *,
        transitive_p: int = 60,
        neg_p: int = 15,
        passive_p: int = 0,
        time_p: int = 30,
        name_p: int = 20,
        pp_weights: tuple[int, int, int] = (55, 35, 10),
        dets: Sequence[tuple[str, int]] = DEFAULT_DETS,
        obj_dets: Sequence[tuple[str, int]] | None = None,
        pp_dets: Sequence[tuple[str, int]] = (("d:the", 3), ("d:a", 1)),
        max_adjs: int = 2,
        hypernym_p: int = 8,
        subject: NP | None = None,
        animate_pair: bool = False,
    ) -> Clause:
        """A random clause; ``subject`` fixes the subject, ``animate_pair`` asks for a verb and
        arguments whose roles can be swapped (both arguments fit both roles)."""
        if subject is not None:
            scls = np_class(subject)
            verbs = [v for v in (*TRANSITIVE, *INTRANSITIVE) if scls in VERBS[v][0]]
            transitive = [v for v in verbs if VERBS[v][1]]
            intransitive = [v for v in verbs if not VERBS[v][1]]
            if transitive and (not intransitive or self.percent(transitive_p)):
                verb = self.pick(transitive)
            else:
                verb = self.pick(intransitive)
        elif animate_pair:
            verb = self.pick(
                [v for v in TRANSITIVE if set(VERBS[v][0]) & set(VERBS[v][1]) & set(ANIMATE)]
            )
        else:
            verb = self.pick(TRANSITIVE if self.percent(transitive_p) else INTRANSITIVE)
        subj_classes, obj_classes = VERBS[verb]
        if animate_pair:
            shared = sorted(set(subj_classes) & set(obj_classes) & set(ANIMATE))
            subj_classes = obj_classes = tuple(shared)
        if subject is None:
            scls = self.weighted([(c, 1 if c == "org" else 4) for c in subj_classes])
            subject = self.np_for(
                scls, dets=dets, name_p=name_p, max_adjs=max_adjs, hypernym_p=hypernym_p
            )
        scls = np_class(subject)
        obj: NP | None = None
        avoid = [subject.noun] if subject.noun else []
        if obj_classes:
            for _ in range(20):
                ocls = self.weighted([(c, 1 if c == "org" else 3) for c in obj_classes])
                obj = self.np_for(
                    ocls,
                    dets=obj_dets or dets,
                    name_p=name_p,
                    max_adjs=max_adjs,
                    hypernym_p=hypernym_p,
                    avoid=avoid,
                )
                if not same_referent_word(obj, subject):
                    break
            assert obj is not None
            if obj.noun:
                avoid.append(obj.noun)
        n_pps = self.weighted(tuple(zip((0, 1, 2), pp_weights, strict=True)))
        pps = self.pps(n_pps, scls, obj is not None, name_p, pp_dets, avoid)
        time: tuple[str, ...] = ()
        front = False
        if self.percent(time_p):
            time, front = self.time()
        return Clause(
            subj=subject,
            verb=verb,
            obj=obj,
            neg=self.percent(neg_p),
            pps=pps,
            time=time,
            time_front=front,
            passive=obj is not None and self.percent(passive_p),
        )
