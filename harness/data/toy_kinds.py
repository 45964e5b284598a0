"""Toy target tasks of the kinds multiple choice, extractive QA and retrieval.

Companion of :mod:`harness.data.toy` (which owns the world, the grammar and the two older
targets ``toy_nli`` and ``toy_ner``). Every task here draws from its own random streams
(``_rng(seed, "items", task, split)``), so adding them leaves every other generated file
byte-for-byte unchanged.

* ``toy_mc`` (like XCOPA): a premise and two candidate sentences; one is entailed by the
  premise (its other voice and/or the NLI task's entailment operations), the other is the same
  sentence with agent and patient swapped (contradicted, under the NLI task's same-scene
  convention). Both candidates have the same words (up to was/were) and length, so neither
  word overlap with the premise nor length says which one is right, and the voice switch of
  about half of the items keeps word-order overlap near chance too.
* ``toy_qa`` (like XQuAD): a context of 2-4 clauses with distinct verbs and a who/what/where
  question about one of them; the answer is the subject, object or locative noun phrase
  (without its determiner) as a character span of the context, computed from the realised
  tokens.
* ``toy_retrieval`` (like Tatoeba): a sentence in a non-English toy language and its English
  original; no training data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache

from harness.data import toy as _t
from harness.data.toy import NP, Clause, Record, ToyConfig, ToyWorld

__all__ = [
    "KIND_TASKS",
    "MAX_CONTEXT_WORDS",
    "MC_CHOICES",
    "QUESTION_WORDS",
    "RETRIEVAL_LANGUAGES",
    "QaItem",
    "answer_positions",
    "build_kind_task",
    "kind_task_sizes",
    "qa_items",
    "question_lexicon",
    "question_tokens",
    "realise",
    "task_languages",
]

KIND_TASKS: dict[str, str] = {
    "toy_mc": "multiple_choice",
    "toy_qa": "extractive_qa",
    "toy_retrieval": "retrieval",
}
"""The toy target tasks built here: name -> kind."""

MC_CHOICES = 2
"""Candidates per ``toy_mc`` item (labels are the indices ``"0"``, ``"1"``)."""

QUESTION_WORDS: tuple[str, ...] = ("q:what", "q:where", "q:who")
"""Lexeme keys of the question words (English forms: the key without ``q:``)."""

RETRIEVAL_LANGUAGES: list[str] = [lang for lang in _t.LANGUAGES if lang != "en"]
"""Query languages of ``toy_retrieval`` (the targets are English)."""

_LOCATIVE = frozenset({"p:in", "p:near", "p:behind", "p:at"})
_QA_TYPES = ("who", "what", "where")
_QUESTION_MARK = "?"


def kind_task_sizes(task: str, config: ToyConfig) -> dict[str, int]:
    """Split sizes of a task built here (dev/test per language)."""
    sizes = {"train": config.target_train, "dev": config.target_dev, "test": config.target_test}
    if task == "toy_retrieval":
        del sizes["train"]  # evaluated straight from the encoder
    elif task == "toy_qa":
        # question + context is about 1.8x the words of an NLI pair (34 vs 19 on average): half
        # as many training items keeps the phase-2 cost of toy_qa near that of toy_nli
        sizes["train"] = config.target_train // 2
    return sizes


# ---------------------------------------------------------------------------------------------
# Question words: invented per language like every other function word (nested keep rule)


@cache
def question_lexicon(seed: int) -> dict[str, dict[str, str]]:
    """language -> question-word key -> word. A language keeps the English word for the top
    share (its ``shared_percent``) of one seeded ranking of the question words, so kept sets
    are nested like the rest of the lexicon; the others are invented from the language's
    syllables (``xd``: then transliterated), never equal to any other word of the toy world."""
    world = ToyWorld(seed)
    used = {_t.detransliterate(w).lower() for lex in world.lexicon.values() for w in lex.values()}
    used |= {w.lower() for w in _t._NAME_WORDS} | {"an"} | {k[2:] for k in QUESTION_WORDS}
    ranking = list(QUESTION_WORDS)
    _t._rng(seed, "cognates", "question").shuffle(ranking)
    out: dict[str, dict[str, str]] = {}
    for lang in _t.LANGUAGES:
        spec = _t._SPECS[lang]
        kept = set(ranking[: (len(ranking) * spec.shared_percent + 50) // 100])
        words: dict[str, str] = {}
        for key in QUESTION_WORDS:
            word = key[2:] if key in kept else _invent_question_word(seed, spec, key, used)
            words[key] = _t.transliterate(word) if spec.cyrillic else word
        out[lang] = words
    return out


def _invent_question_word(seed: int, spec: _t._LangSpec, key: str, used: set[str]) -> str:
    rng = _t._rng(seed, "invent-question", spec.code, key)
    n_syllables = 1 if len(key) - 2 <= 3 else 2
    for attempt in range(400):
        n = n_syllables + attempt // 100
        stem = "".join(rng.choice(spec.onsets) + rng.choice(spec.nuclei) for _ in range(n))
        stem += rng.choice(spec.codas)
        if stem not in used:
            used.add(stem)
            return stem
    raise RuntimeError(f"no free invented word for {key!r} in {spec.code}")  # pragma: no cover


def realise(world: ToyWorld, toks: Sequence[_t._Tok], lang: str) -> list[str]:
    """Words of a token sequence in ``lang``: :meth:`ToyWorld.tokens` for any token list,
    question words and a final ``"?"`` included."""
    spec = _t._SPECS[lang]
    lexicon = world.lexicon[lang]
    questions = question_lexicon(world.seed)[lang]
    words: list[str] = []
    for tok in toks:
        if tok.key == _t._NAME:
            words.append(_t.transliterate(tok.form) if spec.cyrillic else tok.form)
        elif tok.key == _t._STOP:
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


# ---------------------------------------------------------------------------------------------
# toy_mc


def _swap(c: Clause) -> Clause:
    assert c.obj is not None
    return replace(c, subj=c.obj, obj=c.subj)


# Entailed rewrites of a non-negated premise (the NLI task's entailment operations); the right
# candidate is the premise in the other voice (45 % of the items) and/or rewritten by some of
# them. Switching the voice of about half of the items keeps word order from giving the answer away:
# without it the right candidate would keep the premise's order and the swapped one would not.
_MC_OPS: tuple[_t._NliOp, ...] = (
    _t._op_move_time,
    _t._op_drop_adj,
    _t._op_drop_pp,
    _t._op_drop_time,
    _t._op_hypernym,
)


def _mc_item(s: _t._Sampler) -> tuple[Clause, Clause, Clause] | None:
    """(premise, right, wrong): right is entailed by the premise, wrong is right with agent and
    patient swapped (a contradiction under the same-scene convention)."""
    premise = s.clause(
        animate_pair=True,
        neg_p=0,
        passive_p=25,
        time_p=40,
        name_p=20,
        pp_weights=(40, 45, 15),
        dets=_t._NLI_DETS,
        obj_dets=_t._NLI_DETS,
        pp_dets=_t._THE,
        hypernym_p=10,
    )
    voice = s.percent(45)
    right = replace(premise, passive=not premise.passive) if voice else premise
    for _ in range(s.pick((0, 1)) if voice else s.pick((1, 2))):
        new = s.pick(_MC_OPS)(s, right)
        if new is not None:
            right = new
    if right == premise or not _t._swappable(right):
        return None
    return premise, right, _swap(right)


def _mc(
    split: str, n: int, world: ToyWorld, seed: int, seen: set[tuple[str, ...]]
) -> list[tuple[str, Clause, list[Clause], int]]:
    rng = _t._rng(seed, "items", "toy_mc", split)
    s = _t._Sampler(rng)
    out = []
    for i, label in enumerate(_t._balanced(range(MC_CHOICES), n, rng)):
        for _ in range(_t._MAX_ATTEMPTS):
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


# ---------------------------------------------------------------------------------------------
# toy_qa


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
_QA_DETS = tuple((d, w) for d, w in _t._DEFAULT_DETS if d != "d:no")
_SUBJECT_CLASSES = frozenset(c for subj, _ in _t._VERBS.values() for c in subj)
MAX_CONTEXT_WORDS = 64
"""Upper bound on the words of a ``toy_qa`` context (every final ``"."`` included)."""


def _qa_context(s: _t._Sampler, k: int) -> list[Clause] | None:
    clauses: list[Clause] = []
    for _ in range(k):
        subject = None
        if clauses and s.percent(40):
            known = [np_ for c in clauses for np_ in (c.subj, c.obj) if np_ is not None]
            known = [np_ for np_ in known if _t._np_class(np_) in _SUBJECT_CLASSES]
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
    rng = _t._rng(seed, "items", "toy_qa", split)
    s = _t._Sampler(rng)
    out = []
    for i, qtype in enumerate(_t._balanced(_QA_TYPES, n, rng)):
        for _ in range(_t._MAX_ATTEMPTS):
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
    return "q:who" if _t._np_class(np_) in ("person", "animal", "org") else "q:what"


def question_tokens(c: Clause, qtype: str, sov: bool) -> list[_t._Tok]:
    """The question about ``c``: SVO languages front the question word (with 'did' support
    for non-subject questions), SOV languages leave it in place of the questioned phrase."""
    past = _t._Tok(c.verb, "past", "O")
    base = _t._Tok(c.verb, "base", "O")
    did = _t._Tok("f:did", "base", "O")
    subj = _t._np_toks(c.subj, sov)
    obj = _t._np_toks(c.obj, sov) if c.obj is not None else []
    if qtype == "who":
        wh = _t._Tok(_wh(c.subj), "base", "O")
        toks = [wh, *obj, past] if sov else [wh, past, *obj]
    elif qtype == "what":
        assert c.obj is not None
        wh = _t._Tok(_wh(c.obj), "base", "O")
        toks = [*subj, wh, past] if sov else [wh, did, *subj, base]
    else:
        wh = _t._Tok("q:where", "base", "O")
        toks = [*subj, *obj, wh, past] if sov else [wh, did, *subj, base, *obj]
    return [*toks, _t._Tok(_t._STOP, _QUESTION_MARK, "O")]


def answer_positions(c: Clause, slot: str, sov: bool) -> tuple[int, int]:
    """Token positions ``[start, end)`` of the answer in ``c`` realised with ``sov`` order: the
    noun phrase in ``slot`` without its determiner. Found by realising the clause with that
    noun phrase replaced by a marker of the same length (word order moves the marker as it
    moves the phrase), never by searching the words."""
    np_ = _t._get(c, slot)
    n = len(_t._np_toks(np_, sov))
    marker = NP(name=("",) * n, etype="ANSWER")
    toks = _t._clause_toks(_t._put(c, slot, marker), sov)
    positions = [i for i, tok in enumerate(toks) if tok.tag.endswith("-ANSWER")]
    assert positions == list(range(positions[0], positions[0] + n))
    return positions[0] + (1 if np_.det else 0), positions[0] + n


def _qa_record(world: ToyWorld, item: QaItem, lang: str) -> Record:
    sov = _t._SPECS[lang].sov
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


# ---------------------------------------------------------------------------------------------
# toy_retrieval


def _retrieval(
    split: str, n: int, world: ToyWorld, seed: int, seen: set[tuple[str, ...]]
) -> list[tuple[str, Clause]]:
    s = _t._Sampler(_t._rng(seed, "items", "toy_retrieval", split))
    out = []
    for i in range(n):
        for _ in range(_t._MAX_ATTEMPTS):
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


# ---------------------------------------------------------------------------------------------
# Building


def task_languages(task: str) -> list[str]:
    """Evaluation languages of a task built here."""
    return list(RETRIEVAL_LANGUAGES if task == "toy_retrieval" else _t.LANGUAGES)


def build_kind_task(task: str, config: ToyConfig, world: ToyWorld) -> dict[str, list[Record]]:
    """Records of ``toy_mc``, ``toy_qa`` or ``toy_retrieval``: ``"train"`` (English; none for
    retrieval) and ``"dev.{lang}"``/``"test.{lang}"`` for every language of the task."""
    sizes = kind_task_sizes(task, config)
    languages = task_languages(task)
    seen: set[tuple[str, ...]] = set()
    out: dict[str, list[Record]] = {}
    # test first, then dev, then train: evaluation sets do not change when train size changes
    for split in ("test", "dev", "train"):
        if split not in sizes:
            continue
        n = sizes[split]
        langs = ["en"] if split == "train" else languages
        names = {lang: split if split == "train" else f"{split}.{lang}" for lang in langs}
        if task == "toy_mc":
            items = _mc(split, n, world, config.seed, seen)
            for lang in langs:
                out[names[lang]] = [
                    {
                        "id": i,
                        "context": world.sentence(premise, lang),
                        "question": "",
                        "choices": [world.sentence(c, lang) for c in choices],
                        "label": label,
                    }
                    for i, premise, choices, label in items
                ]
        elif task == "toy_qa":
            qa = qa_items(split, n, world, config.seed, seen)
            for lang in langs:
                out[names[lang]] = [_qa_record(world, item, lang) for item in qa]
        elif task == "toy_retrieval":
            pairs = _retrieval(split, n, world, config.seed, seen)
            for lang in langs:
                out[names[lang]] = [
                    {"id": i, "query": world.sentence(c, lang), "target": world.sentence(c, "en")}
                    for i, c in pairs
                ]
        else:
            raise ValueError(f"unknown toy task {task!r}; expected one of {sorted(KIND_TASKS)}")
    order = (["train"] if "train" in sizes else []) + [
        f"{sp}.{lang}" for sp in ("dev", "test") for lang in languages
    ]
    return {k: out[k] for k in order}
