"""``toy_qa`` (like XQuAD): a context of 2-4 clauses with distinct verbs and a
who/what/where question about one of them.

The answer is the subject, object or locative noun phrase (without its determiner) as a
character span of the context, computed from the realised tokens. Question words are
invented per language like every other function word (nested keep rule).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from harness.data.toy.config import LANGUAGES, seeded_rng
from harness.data.toy.grammar import (
    NAME,
    NP,
    STOP,
    Clause,
    Tok,
    clause_toks,
    get_np,
    np_class,
    np_toks,
    put_np,
)
from harness.data.toy.items import MAX_ATTEMPTS, Record, balanced
from harness.data.toy.languages import SPECS, LangSpec, detransliterate, transliterate
from harness.data.toy.lexicon import NAME_WORDS, VERBS
from harness.data.toy.sampler import DEFAULT_DETS, Sampler
from harness.data.toy.world import ToyWorld

QUESTION_WORDS: tuple[str, ...] = ("q:what", "q:where", "q:who")
"""Lexeme keys of the question words (English forms: the key without ``q:``)."""

_LOCATIVE = frozenset({"p:in", "p:near", "p:behind", "p:at"})
_QA_TYPES = ("who", "what", "where")
_QUESTION_MARK = "?"


@cache
def question_lexicon(seed: int) -> dict[str, dict[str, str]]:
    """language -> question-word key -> word. A language keeps the English word for the top
    share (its ``shared_percent``) of one seeded ranking of the question words, so kept sets
    are nested like the rest of the lexicon; the others are invented from the language's
    syllables (``xd``: then transliterated), never equal to any other word of the toy world."""
    world = ToyWorld(seed)
    used = {detransliterate(w).lower() for lex in world.lexicon.values() for w in lex.values()}
    used |= {w.lower() for w in NAME_WORDS} | {"an"} | {k[2:] for k in QUESTION_WORDS}
    ranking = list(QUESTION_WORDS)
    seeded_rng(seed, "cognates", "question").shuffle(ranking)
    out: dict[str, dict[str, str]] = {}
    for lang in LANGUAGES:
        spec = SPECS[lang]
        kept = set(ranking[: (len(ranking) * spec.shared_percent + 50) // 100])
        words: dict[str, str] = {}
        for key in QUESTION_WORDS:
            word = key[2:] if key in kept else _invent_question_word(seed, spec, key, used)
            words[key] = transliterate(word) if spec.cyrillic else word
        out[lang] = words
    return out


def _invent_question_word(seed: int, spec: LangSpec, key: str, used: set[str]) -> str:
    rng = seeded_rng(seed, "invent-question", spec.code, key)
    n_syllables = 1 if len(key) - 2 <= 3 else 2
    for attempt in range(400):
        n = n_syllables + attempt // 100
        stem = "".join(rng.choice(spec.onsets) + rng.choice(spec.nuclei) for _ in range(n))
        stem += rng.choice(spec.codas)
        if stem not in used:
            used.add(stem)
            return stem
    raise RuntimeError(f"no free invented word for {key!r} in {spec.code}")  # pragma: no cover


def realise(world: ToyWorld, toks: Sequence[Tok], lang: str) -> list[str]:
    """Words of a token sequence in ``lang``: :meth:`ToyWorld.tokens` for any token list,
    question words and a final ``"?"`` included."""
    spec = SPECS[lang]
    lexicon = world.lexicon[lang]
    questions = question_lexicon(world.seed)[lang]
    words: list[str] = []
    for tok in toks:
        if tok.key == NAME:
            words.append(transliterate(tok.form) if spec.cyrillic else tok.form)
        elif tok.key == STOP:
            words.append(tok.form)
        elif tok.key in questions:
            words.append(questions[tok.key])
        else:
            words.append(lexicon[(tok.key, tok.form)])
    if lang == "en":
        for i, tok in enumerate(toks[:-1]):
            if tok.key == "d:a" and words[i + 1][0] in "aeiou":
                words[i] = "an"
    return words


@dataclass(frozen=True)
class QaItem:
    """A ``toy_qa`` item: the context clauses, the clause asked about and the answer's slot
    (``"subj"``, ``"obj"`` or ``"pp<i>"``)."""

    id: str
    clauses: tuple[Clause, ...]
    target: int
    slot: str
    qtype: str  # who (the agent), what (the object), where (the locative PP's noun phrase);
    # the question word itself is 'who' or 'what' by the class of the asked-for noun phrase


# no 'no' determiner: "who did the farmer push ?" has no answer in "the farmer pushed no boy"
_QA_DETS = tuple((d, w) for d, w in DEFAULT_DETS if d != "d:no")
_SUBJECT_CLASSES = frozenset(c for subj, _ in VERBS.values() for c in subj)
MAX_CONTEXT_WORDS = 64
"""Upper bound on the words of a ``toy_qa`` context (every final ``"."`` included)."""


def _qa_context(s: Sampler, k: int) -> list[Clause] | None:
    clauses: list[Clause] = []
    for _ in range(k):
        subject = None
        if clauses and s.percent(40):
            known = [np_ for c in clauses for np_ in (c.subj, c.obj) if np_ is not None]
            known = [np_ for np_ in known if np_class(np_) in _SUBJECT_CLASSES]
            if known:
                subject = s.pick(known)
        c = s.clause(
            neg_p=0,
            passive_p=20,
            time_p=30,
            name_p=30,
            pp_weights=(35, 45, 20),
            dets=_QA_DETS,
            subject=subject,
        )
        if any(c.verb == other.verb for other in clauses):
            return None  # distinct verbs: every question picks out exactly one clause
        clauses.append(c)
    return clauses


def _answer_slot(c: Clause, qtype: str) -> str | None:
    if qtype == "who":
        return "subj"
    if qtype == "what":
        return "obj" if c.obj is not None else None
    locative = [i for i, pp in enumerate(c.pps) if pp.prep in _LOCATIVE]
    return f"pp{locative[0]}" if len(locative) == 1 else None


def qa_items(
    split: str, n: int, world: ToyWorld, seed: int, seen: set[tuple[str, ...]]
) -> list[QaItem]:
    """The ``toy_qa`` items of one split (question types balanced)."""
    rng = seeded_rng(seed, "items", "toy_qa", split)
    s = Sampler(rng)
    out = []
    for i, qtype in enumerate(balanced(_QA_TYPES, n, rng)):
        for _ in range(MAX_ATTEMPTS):
            clauses = _qa_context(s, s.pick((2, 3, 4)))
            if clauses is None:
                continue
            options = [(j, x) for j, c in enumerate(clauses) if (x := _answer_slot(c, qtype))]
            if not options:
                continue
            target, slot = s.pick(options)
            context = tuple(world.sentence(c, "en") for c in clauses)
            if sum(len(x.split(" ")) for x in context) > MAX_CONTEXT_WORDS or context in seen:
                continue
            seen.add(context)
            out.append(QaItem(f"toy_qa-{split}-{i:06d}", tuple(clauses), target, slot, qtype))
            break
        else:  # pragma: no cover
            raise RuntimeError("could not sample an item of toy_qa")
    return out


def _wh(np_: NP) -> str:
    """'who' for people, animals and organisations, 'what' for things."""
    return "q:who" if np_class(np_) in ("person", "animal", "org") else "q:what"


def question_tokens(c: Clause, qtype: str, sov: bool) -> list[Tok]:
    """The question about ``c``: SVO languages front the question word (with 'did' support
    for non-subject questions), SOV languages leave it in place of the questioned phrase."""
    past = Tok(c.verb, "past", "O")
    base = Tok(c.verb, "base", "O")
    did = Tok("f:did", "base", "O")
    subj = np_toks(c.subj, sov)
    obj = np_toks(c.obj, sov) if c.obj is not None else []
    if qtype == "who":
        wh = Tok(_wh(c.subj), "base", "O")
        toks = [wh, *obj, past] if sov else [wh, past, *obj]
    elif qtype == "what":
        assert c.obj is not None
        wh = Tok(_wh(c.obj), "base", "O")
        toks = [*subj, wh, past] if sov else [wh, did, *subj, base]
    else:
        wh = Tok("q:where", "base", "O")
        toks = [*subj, *obj, wh, past] if sov else [wh, did, *subj, base, *obj]
    return [*toks, Tok(STOP, _QUESTION_MARK, "O")]


def answer_positions(c: Clause, slot: str, sov: bool) -> tuple[int, int]:
    """Token positions ``[start, end)`` of the answer in ``c`` realised with ``sov`` order: the
    noun phrase in ``slot`` without its determiner. Found by realising the clause with that
    noun phrase replaced by a marker of the same length (word order moves the marker as it
    moves the phrase), never by searching the words."""
    np_ = get_np(c, slot)
    n = len(np_toks(np_, sov))
    marker = NP(name=("",) * n, etype="ANSWER")
    toks = clause_toks(put_np(c, slot, marker), sov)
    positions = [i for i, tok in enumerate(toks) if tok.tag.endswith("-ANSWER")]
    assert positions == list(range(positions[0], positions[0] + n))
    return positions[0] + (1 if np_.det else 0), positions[0] + n


def qa_record(world: ToyWorld, item: QaItem, lang: str) -> Record:
    """The ``toy_qa`` record of ``item`` realised in ``lang``."""
    sov = SPECS[lang].sov
    words: list[str] = []
    start = end = 0
    for j, c in enumerate(item.clauses):
        clause_words = [w for w, _ in world.tokens(c, lang)]
        if j == item.target:
            first, last = answer_positions(c, item.slot, sov)
            start, end = len(words) + first, len(words) + last
        words += clause_words
    context = " ".join(words)
    offset = sum(len(w) + 1 for w in words[:start])
    text = " ".join(words[start:end])
    assert context[offset : offset + len(text)] == text
    question = question_tokens(item.clauses[item.target], item.qtype, sov)
    return {
        "id": item.id,
        "context": context,
        "question": " ".join(realise(world, question, lang)),
        "answers": {"text": [text], "answer_start": [offset]},
    }
