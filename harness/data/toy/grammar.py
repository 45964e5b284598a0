"""Sentence structures (:class:`NP`, :class:`PP`, :class:`Clause`) and their word order.

Sentences are structured objects that can be realised in any language, so the dev/test sets
of the target tasks are exact translations of the same English items (same ids, same
labels), like XNLI; word-order changes move tags with their words. :func:`clause_toks` lays
a clause out as lexeme tokens in SVO or SOV order;
:meth:`harness.data.toy.world.ToyWorld.tokens` turns the tokens into words of a language.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple

from harness.data.toy.lexicon import NAME_CLASS, NOUN_CLASS, VERBS


@dataclass(frozen=True)
class NP:
    """A noun phrase: a common noun with determiner and adjectives, or a proper name."""

    noun: str = ""  # noun lexeme key ("" for a name)
    det: str = ""  # determiner lexeme key ("" for a name)
    plural: bool = False
    adjs: tuple[str, ...] = ()  # adjective keys in English order
    name: tuple[str, ...] = ()  # words of a proper name
    etype: str = ""  # PER / LOC / ORG for a name


@dataclass(frozen=True)
class PP:
    """An adpositional phrase (a preposition in SVO languages, a postposition in SOV ones)."""

    prep: str
    np: NP


@dataclass(frozen=True)
class Clause:
    """A past-tense clause; realised in any toy language by :meth:`ToyWorld.tokens`."""

    subj: NP
    verb: str
    obj: NP | None = None
    neg: bool = False
    pps: tuple[PP, ...] = ()
    time: tuple[str, ...] = ()
    time_front: bool = False
    passive: bool = False


def np_class(np_: NP) -> str:
    """The noun class of a noun phrase (``person``, ``place`` or ``org`` for a name)."""
    return NAME_CLASS[np_.etype] if np_.name else NOUN_CLASS[np_.noun]


def same_referent_word(a: NP, b: NP) -> bool:
    """Whether two noun phrases use the same name or the same noun."""
    return (bool(a.name) and a.name == b.name) or (bool(a.noun) and a.noun == b.noun)


class Tok(NamedTuple):
    """A token of a clause laid out in one word order, before realisation."""

    key: str  # lexeme key, NAME for a word of a proper name, STOP for the full stop
    form: str  # form of the lexeme, or the word of a name
    tag: str


NAME = "<name>"
STOP = "<stop>"


def np_toks(np_: NP, sov: bool) -> list[Tok]:
    """Tokens of a noun phrase; ``sov`` puts adjectives after the noun, in mirror order."""
    if np_.name:
        return [
            Tok(NAME, w, ("B-" if i == 0 else "I-") + np_.etype) for i, w in enumerate(np_.name)
        ]
    out = [Tok(np_.det, "base", "O")] if np_.det else []
    noun = Tok(np_.noun, "pl" if np_.plural else "sg", "O")
    adjs = [Tok(a, "base", "O") for a in np_.adjs]
    # SOV languages put adjectives after the noun, in mirror order
    out += [noun, *reversed(adjs)] if sov else [*adjs, noun]
    return out


def _pp_toks(pp: PP, sov: bool) -> list[Tok]:
    prep = Tok(pp.prep, "base", "O")
    return [*np_toks(pp.np, sov), prep] if sov else [prep, *np_toks(pp.np, sov)]


def clause_toks(c: Clause, sov: bool) -> list[Tok]:
    """Tokens of a clause in SVO or (``sov``) SOV order, final ``"."`` included."""
    time = [Tok(t, "base", "O") for t in c.time]
    out: list[Tok] = list(time) if c.time_front else []
    late_time = [] if c.time_front else time
    pps = [t for pp in c.pps for t in _pp_toks(pp, sov)]
    neg = [Tok("f:not", "base", "O")] if c.neg else []
    if c.passive:
        assert c.obj is not None
        aux = Tok("f:were" if c.obj.plural else "f:was", "base", "O")
        part = Tok(c.verb, "part", "O")
        agent = _pp_toks(PP("p:by", c.subj), sov)
        if sov:
            out += [*np_toks(c.obj, sov), *agent, *pps, *late_time, part, aux, *neg]
        else:
            out += [*np_toks(c.obj, sov), aux, *neg, part, *agent, *pps, *late_time]
    else:
        obj = np_toks(c.obj, sov) if c.obj is not None else []
        if sov:
            verb = [Tok(c.verb, "past", "O"), *neg]
            out += [*np_toks(c.subj, sov), *obj, *pps, *late_time, *verb]
        else:
            if c.neg:
                verb = [Tok("f:did", "base", "O"), *neg, Tok(c.verb, "base", "O")]
            else:
                verb = [Tok(c.verb, "past", "O")]
            out += [*np_toks(c.subj, sov), *verb, *obj, *pps, *late_time]
    out.append(Tok(STOP, ".", "O"))
    return out


def swappable(c: Clause) -> bool:
    """Whether agent and patient can swap roles (both fit both roles of the verb)."""
    if c.obj is None or same_referent_word(c.subj, c.obj):
        return False
    subj_classes, obj_classes = VERBS[c.verb]
    return np_class(c.obj) in subj_classes and np_class(c.subj) in obj_classes


def entity_count(c: Clause) -> int:
    """Number of proper names among the noun phrases of a clause."""
    nps = [c.subj, *([c.obj] if c.obj is not None else []), *(pp.np for pp in c.pps)]
    return sum(1 for np_ in nps if np_.name)


# Noun-phrase slots of a clause: "subj", "obj", "pp0", "pp1".


def np_slots(c: Clause, with_pps: bool = True) -> list[str]:
    """The noun-phrase slots of a clause (``with_pps``: those of its PPs too)."""
    out = ["subj"]
    if c.obj is not None:
        out.append("obj")
    if with_pps:
        out += [f"pp{i}" for i in range(len(c.pps))]
    return out


def get_np(c: Clause, slot: str) -> NP:
    """The noun phrase in ``slot``."""
    if slot == "subj":
        return c.subj
    if slot == "obj":
        assert c.obj is not None
        return c.obj
    return c.pps[int(slot[2:])].np


def put_np(c: Clause, slot: str, np_: NP) -> Clause:
    """``c`` with the noun phrase in ``slot`` replaced by ``np_``."""
    if slot == "subj":
        return replace(c, subj=np_)
    if slot == "obj":
        return replace(c, obj=np_)
    i = int(slot[2:])
    pps = list(c.pps)
    pps[i] = PP(pps[i].prep, np_)
    return replace(c, pps=tuple(pps))


def clause_nouns(c: Clause) -> list[str]:
    """The common nouns of a clause, slot by slot."""
    return [get_np(c, s).noun for s in np_slots(c) if get_np(c, s).noun]
