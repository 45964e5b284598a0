"""Deterministic synthetic multilingual benchmark: the data of the ``toy`` profile.

The toy world has one English-like base language (``en``: real English words and a small
grammar) and four pseudo-languages derived from it by controlled, documented transformations,
at graded distance from English:

* ``xa``: 70 % of English lexemes kept, the others replaced by invented words; English order.
* ``xb``: 35 % kept; English order.
* ``xc``: the same 35 % kept as ``xb`` but its own invented words; SOV order, adjectives after
  the noun, postpositions, negation after the verb.
* ``xd``: 10 % kept; the order of ``xc``; every word (proper names included) written in
  Cyrillic by a fixed one-to-one letter map.

Kept lexemes are nested (a lexeme kept by a more distant language is kept by every closer one)
and function words follow the same rule as content words. Sentences are structured objects
(:class:`Clause`) that can be realised in any language, so the dev/test sets of the target tasks
are exact translations of the same English items (same ids, same labels), like XNLI; word-order
changes move tags with their words.

Everything written is byte-for-byte deterministic for a given :class:`ToyConfig`: randomness
comes only from ``random.Random`` seeded with integers derived from strings by SHA-256, iteration
is over sorted sequences, and files are UTF-8 with ``\\n`` newlines and JSON with sorted keys.

Tokenisation: sentences are single-space-joined tokens; every sentence ends with the separate
token ``"."`` (it is a token of the tagging task, tagged ``O``). No sentence has more than
:data:`MAX_SENTENCE_TOKENS` tokens (the final ``"."`` included). English is lower-case except
for proper names; the English indefinite article is ``an`` before a vowel letter (``en`` only).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple, TypeVar

__all__ = [
    "DISCOURSE_PERCENT",
    "INTERMEDIATE_TASKS",
    "LABEL_NOISE",
    "LANGUAGES",
    "MAX_SENTENCE_TOKENS",
    "NER_LABELS",
    "NLI_LABELS",
    "NP",
    "PP",
    "TARGET_TASKS",
    "TASK_LABELS",
    "Clause",
    "ToyConfig",
    "ToyWorld",
    "build_corpus",
    "build_intermediate_task",
    "build_target_task",
    "detransliterate",
    "generate",
    "language_metadata",
    "transliterate",
]

T = TypeVar("T")

# ---------------------------------------------------------------------------------------------
# Public constants

LANGUAGES: list[str] = ["en", "xa", "xb", "xc", "xd"]
"""Toy language codes, ordered by distance from English (``en`` first)."""

INTERMEDIATE_TASKS: dict[str, int] = {
    "toy_lexical": 1,
    "toy_relational": 2,
    "toy_compositional": 3,
}
"""Intermediate task name -> difficulty rank (1 = easiest)."""

TARGET_TASKS: dict[str, str] = {
    "toy_nli": "pair_classification",
    "toy_ner": "tagging",
    "toy_mc": "multiple_choice",
    "toy_qa": "extractive_qa",
    "toy_retrieval": "retrieval",
}
"""Target task name -> task kind (one toy target per kind; the last three are built by
:mod:`harness.data.toy_kinds`)."""

NLI_LABELS: tuple[str, ...] = ("entailment", "neutral", "contradiction")
NER_LABELS: tuple[str, ...] = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG")
TASK_LABELS: dict[str, tuple[str, ...]] = {
    "toy_lexical": ("same", "different"),
    "toy_relational": ("same_event", "different_event"),
    "toy_compositional": ("entailment", "contradiction"),
    "toy_nli": NLI_LABELS,
    "toy_ner": NER_LABELS,
    "toy_mc": ("0", "1"),  # index of the right choice
    "toy_qa": (),
    "toy_retrieval": (),
}
"""Ordered label set of every toy task (for ``toy_ner``: the tag set)."""

_NOISE_PERMILLE: dict[str, int] = {"toy_lexical": 0, "toy_relational": 50, "toy_compositional": 150}
LABEL_NOISE: dict[str, float] = {task: p / 1000 for task, p in _NOISE_PERMILLE.items()}
"""Fraction of train and dev labels of each intermediate task replaced by another label."""

MAX_SENTENCE_TOKENS = 24
"""Upper bound on the tokens of any generated sentence, final ``"."`` included."""


@dataclass(frozen=True)
class ToyConfig:
    """Sizes and seed of the toy benchmark."""

    seed: int = 1234
    corpus_sentences: int = 12000  # English; other languages scale by their resource level
    intermediate_train: int = 2000  # per intermediate task
    intermediate_dev: int = 400
    target_train: int = 2000  # English training set per target task
    target_dev: int = 300  # per language
    target_test: int = 500  # per language


# ---------------------------------------------------------------------------------------------
# Seeds


def _subseed(seed: int, *parts: str) -> int:
    """A 64-bit seed derived from ``seed`` and ``parts`` by SHA-256 (stable everywhere)."""
    text = "\x1f".join([str(seed), *parts])
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def _rng(seed: int, *parts: str) -> random.Random:
    return random.Random(_subseed(seed, *parts))


# ---------------------------------------------------------------------------------------------
# English lexicon. Lexeme keys carry a part-of-speech prefix: n: noun, v: verb, a: adjective,
# d: determiner, p: adposition, f: auxiliary/negation, t: time word. Forms: nouns "sg"/"pl",
# verbs "base"/"past"/"part", everything else "base".

_ANIMATE = ("animal", "person")

# fmt: off
_NOUN_TABLE: dict[str, tuple[str, ...]] = {
    "animal": ("dog", "cat", "horse", "cow", "bird", "fox/foxes", "rabbit", "goat", "duck",
               "wolf/wolves", "bear", "mouse/mice", "lion", "tiger", "monkey", "frog"),
    "person": ("teacher", "doctor", "farmer", "student", "baker", "child/children", "nurse",
               "driver", "singer", "soldier", "pilot", "lawyer", "woman/women", "man/men", "boy",
               "girl"),
    "vehicle": ("car", "bus/buses", "truck", "bicycle", "train", "boat", "tractor", "van", "taxi",
                "plane"),
    "food": ("apple", "cake", "pie", "sandwich/sandwiches", "egg", "orange", "banana", "carrot",
             "potato/potatoes", "pizza", "cookie", "pear"),
    "tool": ("hammer", "knife/knives", "shovel", "brush/brushes", "ladder", "rope", "drill", "axe",
             "wrench/wrenches", "spoon", "needle", "broom"),
    "object": ("box/boxes", "bag", "book", "letter", "ball", "cup", "table", "chair", "lamp", "key",
               "basket", "bottle", "clock", "blanket"),
    "place": ("garden", "kitchen", "park", "market", "station", "house", "school", "forest",
              "bridge", "field", "office", "river", "village", "shop", "yard"),
}
_HYPERNYM_TABLE: dict[str, str] = {
    "animal": "animal",
    "person": "person/people",
    "vehicle": "vehicle",
    "food": "food/foods",
    "tool": "tool",
    "object": "thing",
    "place": "place",
}

# base past participle, subject classes, object classes (empty: intransitive)
_VERB_TABLE: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("chase chased chased", _ANIMATE, _ANIMATE),
    ("follow followed followed", _ANIMATE, _ANIMATE),
    ("see saw seen", _ANIMATE, (*_ANIMATE, "vehicle", "object", "food", "tool")),
    ("watch watched watched", _ANIMATE, (*_ANIMATE, "vehicle")),
    ("help helped helped", ("person", "org"), _ANIMATE),
    ("push pushed pushed", _ANIMATE, (*_ANIMATE, "vehicle", "object")),
    ("call called called", ("person", "org"), ("person",)),
    ("visit visited visited", ("person",), ("person", "place", "org")),
    ("find found found", _ANIMATE, (*_ANIMATE, "food", "tool", "object", "vehicle")),
    ("hear heard heard", _ANIMATE, (*_ANIMATE, "vehicle")),
    ("eat ate eaten", _ANIMATE, ("food",)),
    ("cook cooked cooked", ("person",), ("food",)),
    ("buy bought bought", ("person", "org"), ("food", "vehicle", "tool", "object")),
    ("sell sold sold", ("person", "org"), ("food", "vehicle", "tool", "object", "animal")),
    ("carry carried carried", _ANIMATE, ("food", "tool", "object", "animal")),
    ("drive drove driven", ("person",), ("vehicle",)),
    ("repair repaired repaired", ("person", "org"), ("vehicle", "tool", "object")),
    ("wash washed washed", ("person",), ("vehicle", "object", "animal", "tool")),
    ("paint painted painted", ("person",), ("vehicle", "object", "place")),
    ("hire hired hired", ("person", "org"), ("person",)),
    ("pay paid paid", ("person", "org"), ("person", "org")),
    ("use used used", ("person", "org"), ("tool", "vehicle")),
    ("lose lost lost", _ANIMATE, ("tool", "object", "food")),
    ("drop dropped dropped", _ANIMATE, ("tool", "object", "food")),
    ("bite bit bitten", ("animal",), (*_ANIMATE, "food", "object")),
    ("kick kicked kicked", _ANIMATE, (*_ANIMATE, "object")),
    ("greet greeted greeted", ("person",), _ANIMATE),
    ("thank thanked thanked", ("person",), ("person", "org")),
    ("teach taught taught", ("person",), _ANIMATE),
    ("catch caught caught", _ANIMATE, (*_ANIMATE, "object")),
    ("feed fed fed", ("person",), _ANIMATE),
    ("build built built", ("person", "org"), ("object", "place")),
    ("join joined joined", ("person",), ("org",)),
    ("sleep slept slept", _ANIMATE, ()),
    ("arrive arrived arrived", (*_ANIMATE, "vehicle"), ()),
    ("leave left left", (*_ANIMATE, "vehicle"), ()),
    ("laugh laughed laughed", ("person",), ()),
    ("wait waited waited", _ANIMATE, ()),
    ("run ran run", _ANIMATE, ()),
    ("sing sang sung", _ANIMATE, ()),
    ("dance danced danced", ("person",), ()),
    ("smile smiled smiled", ("person",), ()),
    ("cry cried cried", ("person",), ()),
    ("walk walked walked", _ANIMATE, ()),
    ("swim swam swum", _ANIMATE, ()),
    ("work worked worked", ("person",), ()),
    ("rest rested rested", _ANIMATE, ()),
    ("fall fell fallen", (*_ANIMATE, "object", "tool"), ()),
    ("stop stopped stopped", (*_ANIMATE, "vehicle"), ()),
    ("shout shouted shouted", ("person",), ()),
    ("grow grew grown", (*_ANIMATE, "org"), ()),
    ("fail failed failed", ("person", "org"), ()),
    ("win won won", ("person", "org"), ()),
)

_INANIMATE = ("vehicle", "object", "tool")
# adjective -> (English ordering rank: quality 0, size 1, age 2, colour 3; noun classes)
_ADJ_TABLE: dict[str, tuple[int, tuple[str, ...]]] = {
    "happy": (0, _ANIMATE),
    "tired": (0, _ANIMATE),
    "hungry": (0, _ANIMATE),
    "angry": (0, _ANIMATE),
    "clever": (0, _ANIMATE),
    "lazy": (0, _ANIMATE),
    "brave": (0, _ANIMATE),
    "quiet": (0, (*_ANIMATE, "place")),
    "busy": (0, ("place",)),
    "dark": (0, ("place",)),
    "sunny": (0, ("place",)),
    "cheap": (0, (*_INANIMATE, "food")),
    "clean": (0, (*_INANIMATE, "place", "animal")),
    "dirty": (0, (*_INANIMATE, "place", "animal")),
    "fresh": (0, ("food",)),
    "sweet": (0, ("food",)),
    "ripe": (0, ("food",)),
    "warm": (0, ("food", "place")),
    "cold": (0, ("food", "place")),
    "big": (1, ("animal", *_INANIMATE, "place")),
    "small": (1, ("animal", *_INANIMATE, "place")),
    "tall": (1, ("person",)),
    "heavy": (1, ("object", "tool")),
    "old": (2, (*_ANIMATE, *_INANIMATE, "place")),
    "young": (2, _ANIMATE),
    "new": (2, (*_INANIMATE, "place")),
    "red": (3, _INANIMATE),
    "blue": (3, _INANIMATE),
    "green": (3, _INANIMATE),
    "yellow": (3, _INANIMATE),
    "black": (3, ("animal", *_INANIMATE)),
    "white": (3, ("animal", *_INANIMATE)),
    "brown": (3, ("animal", *_INANIMATE)),
}
# Adjectives of one group exclude each other (used for contradictions and to avoid clashes).
_EXCLUSIVE_GROUPS: tuple[tuple[str, ...], ...] = (
    ("big", "small"),
    ("old", "young"),
    ("old", "new"),
    ("clean", "dirty"),
    ("warm", "cold"),
    ("quiet", "busy"),
    ("happy", "angry"),
    ("red", "blue", "green", "yellow", "black", "white", "brown"),
)

_DETERMINER_WORDS = ("the", "a", "every", "some", "no", "many", "two", "three", "four", "five")
_PLURAL_DETS = frozenset({"d:some", "d:many", "d:two", "d:three", "d:four", "d:five"})
_NUMBER_DETS = ("d:two", "d:three", "d:four", "d:five")
_PREPOSITION_WORDS = ("in", "near", "behind", "at", "with", "by")
_AUX_WORDS = ("did", "not", "was", "were")
_TIME_WORDS = ("yesterday", "today", "earlier", "last", "week", "night", "this", "morning")
_TIME_PHRASES: tuple[tuple[str, ...], ...] = (
    ("t:yesterday",),
    ("t:today",),
    ("t:earlier",),
    ("t:last", "t:week"),
    ("t:last", "t:night"),
    ("t:this", "t:morning"),
)

_PER_FIRST = ("Anna", "John", "Maria", "Peter", "Lena", "Omar", "Sara", "Tom", "Elena", "David",
              "Nora", "Ivan", "Laura", "Samuel", "Mina", "Victor", "Clara", "Hugo", "Rosa", "Felix")
_PER_LAST = ("Berg", "Smith", "Lopez", "Miller", "Haddad", "Novak", "Weber", "Santos", "Olsen",
             "Fischer", "Moreau", "Kowalski", "Brandt", "Costa", "Lind", "Petrov")
_LOCATIONS = ("New Harbor", "Green Valley", "Stonebridge", "Port Elmer", "North Hill", "Riverton",
              "Lake Mira", "East Bay", "Oakford", "Silver Coast", "Westfield", "Cape Rowan",
              "Fort Ansel", "Maplewood", "Old Town", "Red Rock Canyon", "San Telmo")
_ORGANISATIONS = ("Blue River Bank", "Acme", "Northwind Airlines", "Silver Star Bakery",
                  "City Hospital", "Delta Motors", "Green Leaf Foods", "Union Bank", "Harbor Times",
                  "Orion Labs", "Bright Future School", "Atlas Logistics", "Nova Pharma",
                  "Red Rock Mining", "Lakeside Library")
# fmt: on
_NAME_CLASS = {"PER": "person", "LOC": "place", "ORG": "org"}


def _noun_forms(spec: str) -> tuple[str, str]:
    if "/" in spec:
        sg, pl = spec.split("/")
        return sg, pl
    return spec, spec + "s"


def _english_tables() -> tuple[
    dict[str, dict[str, str]],
    dict[str, str],
    dict[str, tuple[str, ...]],
    dict[str, str],
    dict[str, tuple[tuple[str, ...], tuple[str, ...]]],
]:
    forms: dict[str, dict[str, str]] = {}
    noun_class: dict[str, str] = {}
    hyponyms: dict[str, tuple[str, ...]] = {}
    hypernym: dict[str, str] = {}
    for cls, specs in _NOUN_TABLE.items():
        keys = []
        for spec in specs:
            sg, pl = _noun_forms(spec)
            forms["n:" + sg] = {"sg": sg, "pl": pl}
            noun_class["n:" + sg] = cls
            keys.append("n:" + sg)
        hyponyms[cls] = tuple(sorted(keys))
        sg, pl = _noun_forms(_HYPERNYM_TABLE[cls])
        forms["n:" + sg] = {"sg": sg, "pl": pl}
        noun_class["n:" + sg] = cls
        hypernym[cls] = "n:" + sg
    for word in ("week", "night", "morning", "yesterday", "today", "earlier", "last", "this"):
        forms["t:" + word] = {"base": word}
    verbs: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    for spec, subj, obj in _VERB_TABLE:
        base, past, part = spec.split()
        forms["v:" + base] = {"base": base, "past": past, "part": part}
        verbs["v:" + base] = (subj, obj)
    for adj in _ADJ_TABLE:
        forms["a:" + adj] = {"base": adj}
    for prefix, words in (
        ("d:", _DETERMINER_WORDS),
        ("p:", _PREPOSITION_WORDS),
        ("f:", _AUX_WORDS),
    ):
        for word in words:
            forms[prefix + word] = {"base": word}
    assert all(k[2:] in _TIME_WORDS for k in forms if k.startswith("t:"))
    return forms, noun_class, hyponyms, hypernym, verbs


_EN_FORMS, _NOUN_CLASS, _HYPONYMS, _HYPERNYM, _VERBS = _english_tables()
_TRANSITIVE = tuple(sorted(k for k, (_, obj) in _VERBS.items() if obj))
_INTRANSITIVE = tuple(sorted(k for k, (_, obj) in _VERBS.items() if not obj))
_ADJ_RANK = {"a:" + a: rank for a, (rank, _) in _ADJ_TABLE.items()}
_ADJ_CLASSES = {"a:" + a: classes for a, (_, classes) in _ADJ_TABLE.items()}
_EXCLUSIVE = tuple(tuple("a:" + a for a in group) for group in _EXCLUSIVE_GROUPS)
_HYPERNYM_KEYS = frozenset(_HYPERNYM.values())
_NAME_WORDS = tuple(
    sorted({w for n in (*_PER_FIRST, *_PER_LAST, *_LOCATIONS, *_ORGANISATIONS) for w in n.split()})
)


def _lexeme_group(key: str) -> str:
    """Overlap-rule stratum of a lexeme: nouns, verbs, adjectives, time words, function words."""
    return {"n": "noun", "v": "verb", "a": "adjective", "t": "time"}.get(key[0], "function")


# ---------------------------------------------------------------------------------------------
# Languages

# Cyrillic letters for a..z (a, be, tse, de, ie, ef, ghe, ha, i, short i, ka, el, em, en, o, pe,
# che, er, es, te, u, ve, sha, zhe, yeru, ze), written as escapes because many of them look like
# Latin letters.
_CYRILLIC_LETTERS = (
    "\u0430\u0431\u0446\u0434\u0435\u0444\u0433\u0445\u0438\u0439\u043a\u043b\u043c"
    "\u043d\u043e\u043f\u0447\u0440\u0441\u0442\u0443\u0432\u0448\u0436\u044b\u0437"
)
_LATIN_TO_CYRILLIC_LOWER = dict(zip("abcdefghijklmnopqrstuvwxyz", _CYRILLIC_LETTERS, strict=True))
_LATIN_TO_CYRILLIC = {
    **_LATIN_TO_CYRILLIC_LOWER,
    **{k.upper(): v.upper() for k, v in _LATIN_TO_CYRILLIC_LOWER.items()},
}
_CYRILLIC_TO_LATIN = {v: k for k, v in _LATIN_TO_CYRILLIC.items()}


def transliterate(word: str) -> str:
    """Latin -> Cyrillic letter by letter (the ``xd`` script); other characters unchanged."""
    return "".join(_LATIN_TO_CYRILLIC.get(ch, ch) for ch in word)


def detransliterate(word: str) -> str:
    """Inverse of :func:`transliterate` (the letter map is one-to-one)."""
    return "".join(_CYRILLIC_TO_LATIN.get(ch, ch) for ch in word)


@dataclass(frozen=True)
class _LangSpec:
    code: str
    name: str
    genus: str
    script: str
    resource_percent: int
    resource_class: int
    shared_percent: int
    sov: bool
    cyrillic: bool
    onsets: tuple[str, ...] = ()
    nuclei: tuple[str, ...] = ()
    codas: tuple[str, ...] = ()
    plural: str = ""
    past: str = ""
    participle: str = ""


# fmt: off
_SPECS: dict[str, _LangSpec] = {
    "en": _LangSpec(
        code="en", name="Toy English", genus="Toy-SVO", script="Latn", resource_percent=100,
        resource_class=5, shared_percent=100, sov=False, cyrillic=False,
    ),
    "xa": _LangSpec(
        code="xa", name="Toy A (70% shared words)", genus="Toy-SVO", script="Latn",
        resource_percent=50, resource_class=4, shared_percent=70, sov=False, cyrillic=False,
        onsets=("b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "br", "tr", "st"),
        nuclei=("a", "e", "i", "o", "u"), codas=("", "n", "r", "l", "s"),
        plural="s", past="ed", participle="en",
    ),
    "xb": _LangSpec(
        code="xb", name="Toy B (35% shared words)", genus="Toy-SVO", script="Latn",
        resource_percent=50, resource_class=4, shared_percent=35, sov=False, cyrillic=False,
        onsets=("k", "t", "m", "n", "s", "h", "r", "y", "w"), nuclei=("a", "i", "u", "e", "o"),
        codas=("", "n"), plural="i", past="ta", participle="tan",
    ),
    "xc": _LangSpec(
        code="xc", name="Toy C (35% shared words, SOV)", genus="Toy-SOV", script="Latn",
        resource_percent=35, resource_class=3, shared_percent=35, sov=True, cyrillic=False,
        onsets=("z", "v", "g", "d", "b", "l", "r", "zh", "dr", "gr"), nuclei=("a", "o", "u", "e"),
        codas=("", "k", "z", "m"), plural="ku", past="ro", participle="rom",
    ),
    "xd": _LangSpec(
        code="xd", name="Toy D (10% shared words, SOV, Cyrillic)", genus="Toy-SOV", script="Cyrl",
        resource_percent=25, resource_class=2, shared_percent=10, sov=True, cyrillic=True,
        onsets=("p", "t", "k", "s", "m", "n", "l", "d", "v", "z"),
        nuclei=("a", "e", "i", "o", "u", "y"), codas=("", "t", "k", "r", "n"),
        plural="y", past="la", participle="no",
    ),
}
# fmt: on


def language_metadata(config: ToyConfig) -> list[dict[str, object]]:
    """The language records of ``languages.json``, in :data:`LANGUAGES` order."""
    out: list[dict[str, object]] = []
    for rank, code in enumerate(LANGUAGES):
        spec = _SPECS[code]
        invented = code != "en"
        transformations: dict[str, object] = {
            "shared_vocabulary": spec.shared_percent / 100,
            "invented_vocabulary": invented,
            "word_order": "SOV" if spec.sov else "SVO",
            "adjective_position": "after_noun" if spec.sov else "before_noun",
            "adposition": "postposition" if spec.sov else "preposition",
            "negation": "after_verb" if spec.sov else "before_verb",
            "script": spec.script,
            "transliteration": dict(sorted(_LATIN_TO_CYRILLIC_LOWER.items()))
            if spec.cyrillic
            else None,
            "morphology": {
                "plural": "-" + spec.plural,
                "past": "-" + spec.past,
                "participle": "-" + spec.participle,
            }
            if invented
            else None,
            "syllables": {
                "onsets": list(spec.onsets),
                "nuclei": list(spec.nuclei),
                "codas": list(spec.codas),
            }
            if invented
            else None,
            "proper_names": "transliterated" if spec.cyrillic else "as in English",
        }
        out.append(
            {
                "code": code,
                "name": spec.name,
                "family": "Toy",
                "genus": spec.genus,
                "script": spec.script,
                "resource_class": spec.resource_class,
                "resource_level": spec.resource_percent / 100,
                "corpus_sentences": _corpus_size(code, config),
                "distance_rank": rank,
                "transformations": transformations,
            }
        )
    return out


def _corpus_size(lang: str, config: ToyConfig) -> int:
    return config.corpus_sentences * _SPECS[lang].resource_percent // 100


# ---------------------------------------------------------------------------------------------
# Sentence structures


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


def _np_class(np_: NP) -> str:
    return _NAME_CLASS[np_.etype] if np_.name else _NOUN_CLASS[np_.noun]


def _same_referent_word(a: NP, b: NP) -> bool:
    """Whether two noun phrases use the same name or the same noun."""
    return (bool(a.name) and a.name == b.name) or (bool(a.noun) and a.noun == b.noun)


class _Tok(NamedTuple):
    key: str  # lexeme key, _NAME for a word of a proper name, _STOP for the full stop
    form: str  # form of the lexeme, or the word of a name
    tag: str


_NAME = "<name>"
_STOP = "<stop>"


def _np_toks(np_: NP, sov: bool) -> list[_Tok]:
    if np_.name:
        return [
            _Tok(_NAME, w, ("B-" if i == 0 else "I-") + np_.etype) for i, w in enumerate(np_.name)
        ]
    out = [_Tok(np_.det, "base", "O")] if np_.det else []
    noun = _Tok(np_.noun, "pl" if np_.plural else "sg", "O")
    adjs = [_Tok(a, "base", "O") for a in np_.adjs]
    # SOV languages put adjectives after the noun, in mirror order
    out += [noun, *reversed(adjs)] if sov else [*adjs, noun]
    return out


def _pp_toks(pp: PP, sov: bool) -> list[_Tok]:
    prep = _Tok(pp.prep, "base", "O")
    return [*_np_toks(pp.np, sov), prep] if sov else [prep, *_np_toks(pp.np, sov)]


def _clause_toks(c: Clause, sov: bool) -> list[_Tok]:
    time = [_Tok(t, "base", "O") for t in c.time]
    out: list[_Tok] = list(time) if c.time_front else []
    late_time = [] if c.time_front else time
    pps = [t for pp in c.pps for t in _pp_toks(pp, sov)]
    neg = [_Tok("f:not", "base", "O")] if c.neg else []
    if c.passive:
        assert c.obj is not None
        aux = _Tok("f:were" if c.obj.plural else "f:was", "base", "O")
        part = _Tok(c.verb, "part", "O")
        agent = _pp_toks(PP("p:by", c.subj), sov)
        if sov:
            out += [*_np_toks(c.obj, sov), *agent, *pps, *late_time, part, aux, *neg]
        else:
            out += [*_np_toks(c.obj, sov), aux, *neg, part, *agent, *pps, *late_time]
    else:
        obj = _np_toks(c.obj, sov) if c.obj is not None else []
        if sov:
            verb = [_Tok(c.verb, "past", "O"), *neg]
            out += [*_np_toks(c.subj, sov), *obj, *pps, *late_time, *verb]
        else:
            if c.neg:
                verb = [_Tok("f:did", "base", "O"), *neg, _Tok(c.verb, "base", "O")]
            else:
                verb = [_Tok(c.verb, "past", "O")]
            out += [*_np_toks(c.subj, sov), *verb, *obj, *pps, *late_time]
    out.append(_Tok(_STOP, ".", "O"))
    return out


# ---------------------------------------------------------------------------------------------
# The world: lexicons of every language and realisation of clauses


class ToyWorld:
    """Lexicons of the toy languages (derived from the seed) and realisation of clauses."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.kept: dict[str, frozenset[str]] = {}
        self.lexicon: dict[str, dict[tuple[str, str], str]] = {}
        groups: dict[str, list[str]] = {}
        for key in sorted(_EN_FORMS):
            groups.setdefault(_lexeme_group(key), []).append(key)
        # One random "cognate ranking" per stratum; a language keeps the top share of it, so
        # kept sets are nested (xd within xb = xc within xa) and exact per stratum.
        ranking: dict[str, list[str]] = {}
        for group in sorted(groups):
            keys = list(groups[group])
            _rng(seed, "cognates", group).shuffle(keys)
            ranking[group] = keys
        used = {w.lower() for forms in _EN_FORMS.values() for w in forms.values()}
        used |= {w.lower() for w in _NAME_WORDS} | {"an"}
        for lang in LANGUAGES:
            spec = _SPECS[lang]
            kept: set[str] = set()
            for group in sorted(ranking):
                keys = ranking[group]
                kept.update(keys[: (len(keys) * spec.shared_percent + 50) // 100])
            lexicon: dict[tuple[str, str], str] = {}
            for key in sorted(_EN_FORMS):
                forms = _EN_FORMS[key] if key in kept else self._invent(spec, key, used)
                for form in sorted(forms):
                    word = forms[form]
                    lexicon[(key, form)] = transliterate(word) if spec.cyrillic else word
            self.kept[lang] = frozenset(kept)
            self.lexicon[lang] = lexicon

    def _invent(self, spec: _LangSpec, key: str, used: set[str]) -> dict[str, str]:
        rng = _rng(self.seed, "invent", spec.code, key)
        english = next(iter(_EN_FORMS[key].values()))
        n_syllables = 1 if len(english) <= 3 else 2 if len(english) <= 6 else 3
        for attempt in range(400):
            n = n_syllables + attempt // 100
            stem = "".join(rng.choice(spec.onsets) + rng.choice(spec.nuclei) for _ in range(n))
            stem += rng.choice(spec.codas)
            if key.startswith("n:"):
                forms = {"sg": stem, "pl": stem + spec.plural}
            elif key.startswith("v:"):
                forms = {"base": stem, "past": stem + spec.past, "part": stem + spec.participle}
            else:
                forms = {"base": stem}
            words = [forms[f] for f in sorted(forms)]
            if len(set(words)) == len(words) and not any(w in used for w in words):
                used.update(words)
                return forms
        raise RuntimeError(f"no free invented word for {key!r} in {spec.code}")  # pragma: no cover

    def tokens(self, clause: Clause, lang: str) -> list[tuple[str, str]]:
        """(word, BIO tag) pairs of ``clause`` realised in ``lang``."""
        spec = _SPECS[lang]
        lexicon = self.lexicon[lang]
        toks = _clause_toks(clause, spec.sov)
        words: list[str] = []
        for tok in toks:
            if tok.key == _NAME:
                words.append(transliterate(tok.form) if spec.cyrillic else tok.form)
            elif tok.key == _STOP:
                words.append(".")
            else:
                words.append(lexicon[(tok.key, tok.form)])
        if lang == "en":
            for i, tok in enumerate(toks[:-1]):
                if tok.key == "d:a" and words[i + 1][0] in "aeiou":
                    words[i] = "an"
        return [(w, t.tag) for w, t in zip(words, toks, strict=True)]

    def sentence(self, clause: Clause, lang: str) -> str:
        """``clause`` realised in ``lang`` as one space-separated string."""
        return " ".join(w for w, _ in self.tokens(clause, lang))

    def forms(self, lang: str, prefix: str) -> set[str]:
        """Surface words of ``lang`` whose lexeme key starts with ``prefix`` (e.g. ``"v:"``)."""
        return {w for (k, _), w in self.lexicon[lang].items() if k.startswith(prefix)}


# ---------------------------------------------------------------------------------------------
# Sampling clauses

_DEFAULT_DETS: tuple[tuple[str, int], ...] = (
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
_THE: tuple[tuple[str, int], ...] = (("d:the", 1),)


_CONFLICTS = {
    a: frozenset({a, *(b for g in _EXCLUSIVE if a in g for b in g)}) for a in _ADJ_CLASSES
}
_ADJS_FOR_CLASS = {
    cls: tuple(a for a in sorted(_ADJ_CLASSES) if cls in _ADJ_CLASSES[a]) for cls in _NOUN_TABLE
}


def _conflicts(a: str, b: str) -> bool:
    """Whether two adjectives cannot modify one noun together (same word or same scale)."""
    return b in _CONFLICTS[a]


def _adj_order(adjs: Sequence[str]) -> tuple[str, ...]:
    return tuple(sorted(adjs, key=lambda a: (_ADJ_RANK[a], a)))


class _Sampler:
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
            words: tuple[str, ...] = (self.pick(_PER_FIRST),)
            if self.percent(60):
                words += (self.pick(_PER_LAST),)
        else:
            words = tuple(self.pick(_LOCATIONS if etype == "LOC" else _ORGANISATIONS).split())
        return NP(name=words, etype=etype)

    def adjective_options(self, cls: str, existing: Sequence[str]) -> list[str]:
        options = _ADJS_FOR_CLASS[cls]
        return [a for a in options if not any(_conflicts(a, b) for b in existing)]

    def adjectives(self, cls: str, k: int) -> tuple[str, ...]:
        chosen: list[str] = []
        for _ in range(k):
            options = self.adjective_options(cls, chosen)
            if options:
                chosen.append(self.pick(options))
        return _adj_order(chosen)

    def determiner(self, dets: Sequence[tuple[str, int]]) -> tuple[str, bool]:
        det = self.weighted(dets)
        plural = det in _PLURAL_DETS or (det == "d:the" and self.percent(25))
        return det, plural

    def common(
        self,
        cls: str,
        dets: Sequence[tuple[str, int]],
        max_adjs: int,
        hypernym_p: int,
        avoid: Sequence[str] = (),
    ) -> NP:
        options = [n for n in _HYPONYMS[cls] if n not in avoid]
        noun = _HYPERNYM[cls] if self.percent(hypernym_p) else self.pick(options)
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
        self, kind: str, name_p: int, dets: Sequence[tuple[str, int]], avoid: Sequence[str]
    ) -> PP:
        if kind == "with_tool":
            return PP("p:with", self.common("tool", dets, 1, 0, avoid))
        if kind == "with_per":
            return PP("p:with", self.name("PER"))
        if kind == "at":
            if self.percent(name_p):
                return PP("p:at", self.name("ORG"))
            return PP("p:at", self.common("place", dets, 1, 0, avoid))
        prep = self.pick(("p:in", "p:near", "p:behind"))
        if self.percent(name_p):
            return PP(prep, self.name("LOC"))
        return PP(prep, self.common("place", dets, 1, 0, avoid))

    def pp(
        self, kind: str, name_p: int, dets: Sequence[tuple[str, int]], avoid: Sequence[str]
    ) -> PP:
        pp = self._pp(kind, name_p, dets, avoid)
        # places and instruments are singular unless the determiner asks for a plural
        if pp.np.noun and pp.np.plural and pp.np.det not in _PLURAL_DETS:
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
        kinds = ["loc", "at"]
        if subj_cls in _ANIMATE:
            kinds.append("with_per")
            if subj_cls == "person" and transitive:
                kinds.append("with_tool")
        out: list[PP] = []
        used_nouns = list(avoid)
        for _ in range(n):
            used_preps = {pp.prep for pp in out}
            options = [
                k
                for k in kinds
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
        return self.pick(_TIME_PHRASES), self.percent(40)

    def clause(
        self,
        *,
        transitive_p: int = 60,
        neg_p: int = 15,
        passive_p: int = 0,
        time_p: int = 30,
        name_p: int = 20,
        pp_weights: tuple[int, int, int] = (55, 35, 10),
        dets: Sequence[tuple[str, int]] = _DEFAULT_DETS,
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
            scls = _np_class(subject)
            verbs = [v for v in (*_TRANSITIVE, *_INTRANSITIVE) if scls in _VERBS[v][0]]
            transitive = [v for v in verbs if _VERBS[v][1]]
            intransitive = [v for v in verbs if not _VERBS[v][1]]
            if transitive and (not intransitive or self.percent(transitive_p)):
                verb = self.pick(transitive)
            else:
                verb = self.pick(intransitive)
        elif animate_pair:
            verb = self.pick(
                [v for v in _TRANSITIVE if set(_VERBS[v][0]) & set(_VERBS[v][1]) & set(_ANIMATE)]
            )
        else:
            verb = self.pick(_TRANSITIVE if self.percent(transitive_p) else _INTRANSITIVE)
        subj_classes, obj_classes = _VERBS[verb]
        if animate_pair:
            shared = sorted(set(subj_classes) & set(obj_classes) & set(_ANIMATE))
            subj_classes = obj_classes = tuple(shared)
        if subject is None:
            scls = self.weighted([(c, 1 if c == "org" else 4) for c in subj_classes])
            subject = self.np_for(
                scls, dets=dets, name_p=name_p, max_adjs=max_adjs, hypernym_p=hypernym_p
            )
        scls = _np_class(subject)
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
                if not _same_referent_word(obj, subject):
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


def _swappable(c: Clause) -> bool:
    if c.obj is None or _same_referent_word(c.subj, c.obj):
        return False
    subj_classes, obj_classes = _VERBS[c.verb]
    return _np_class(c.obj) in subj_classes and _np_class(c.subj) in obj_classes


def _entity_count(c: Clause) -> int:
    nps = [c.subj, *([c.obj] if c.obj is not None else []), *(pp.np for pp in c.pps)]
    return sum(1 for np_ in nps if np_.name)


# Noun-phrase slots of a clause: "subj", "obj", "pp0", "pp1".


def _slots(c: Clause, with_pps: bool = True) -> list[str]:
    out = ["subj"]
    if c.obj is not None:
        out.append("obj")
    if with_pps:
        out += [f"pp{i}" for i in range(len(c.pps))]
    return out


def _get(c: Clause, slot: str) -> NP:
    if slot == "subj":
        return c.subj
    if slot == "obj":
        assert c.obj is not None
        return c.obj
    return c.pps[int(slot[2:])].np


def _put(c: Clause, slot: str, np_: NP) -> Clause:
    if slot == "subj":
        return replace(c, subj=np_)
    if slot == "obj":
        return replace(c, obj=np_)
    i = int(slot[2:])
    pps = list(c.pps)
    pps[i] = PP(pps[i].prep, np_)
    return replace(c, pps=tuple(pps))


def _nouns(c: Clause) -> list[str]:
    return [_get(c, s).noun for s in _slots(c) if _get(c, s).noun]


# ---------------------------------------------------------------------------------------------
# toy_nli: premise -> hypothesis operations. Pairs are read as descriptions of the same scene
# (the SNLI convention), with definite noun phrases referring to the same entities. Negated
# premises contain only definite noun phrases, so that entailment reasoning under negation is
# sound (dropping a PP under negation is not entailed; adding one is).

_NliOp = Callable[[_Sampler, Clause], "Clause | None"]


def _op_drop_adj(s: _Sampler, c: Clause) -> Clause | None:
    slots = [x for x in _slots(c, with_pps=not c.neg) if _get(c, x).adjs]
    if not slots:
        return None
    slot = s.pick(slots)
    np_ = _get(c, slot)
    drop = s.pick(np_.adjs)
    return _put(c, slot, replace(np_, adjs=tuple(a for a in np_.adjs if a != drop)))


def _op_drop_pp(s: _Sampler, c: Clause) -> Clause | None:
    if not c.pps:
        return None
    i = s.rng.randrange(len(c.pps))
    return replace(c, pps=c.pps[:i] + c.pps[i + 1 :])


def _op_drop_time(s: _Sampler, c: Clause) -> Clause | None:
    return replace(c, time=(), time_front=False) if c.time else None


def _op_move_time(s: _Sampler, c: Clause) -> Clause | None:
    return replace(c, time_front=not c.time_front) if c.time else None


def _op_add_pp(s: _Sampler, c: Clause) -> Clause | None:
    if len(c.pps) >= 2:
        return None
    new = s.pps(1, _np_class(c.subj), c.obj is not None, 20, _THE, _nouns(c))
    if not new or any(pp.prep == new[0].prep for pp in c.pps):
        return None
    return replace(c, pps=(*c.pps, *new))


def _op_add_time(s: _Sampler, c: Clause) -> Clause | None:
    if c.time:
        return None
    time, front = s.time()
    return replace(c, time=time, time_front=front)


def _op_hypernym(s: _Sampler, c: Clause) -> Clause | None:
    slots = [
        x
        for x in _slots(c, with_pps=False)
        if _get(c, x).noun and _get(c, x).noun not in _HYPERNYM_KEYS
    ]
    if not slots:
        return None
    slot = s.pick(slots)
    np_ = _get(c, slot)
    hyper = _HYPERNYM[_NOUN_CLASS[np_.noun]]
    if hyper in _nouns(c):
        return None
    return _put(c, slot, replace(np_, noun=hyper))


def _op_specialise(s: _Sampler, c: Clause) -> Clause | None:
    slots = [x for x in _slots(c, with_pps=False) if _get(c, x).noun in _HYPERNYM_KEYS]
    if not slots:
        return None
    slot = s.pick(slots)
    np_ = _get(c, slot)
    options = [n for n in _HYPONYMS[_NOUN_CLASS[np_.noun]] if n not in _nouns(c)]
    return _put(c, slot, replace(np_, noun=s.pick(options)))


def _op_negate(s: _Sampler, c: Clause) -> Clause | None:
    return replace(c, neg=not c.neg)


def _op_swap(s: _Sampler, c: Clause) -> Clause | None:
    if not _swappable(c):
        return None
    assert c.obj is not None
    return replace(c, subj=c.obj, obj=c.subj)


def _op_replace(s: _Sampler, c: Clause) -> Clause | None:
    slots = [x for x in _slots(c) if _get(c, x).noun not in _HYPERNYM_KEYS]
    if not slots:
        return None
    slot = s.pick(slots)
    np_ = _get(c, slot)
    if np_.name:
        for _ in range(10):
            other = s.name(np_.etype)
            if other.name != np_.name and all(other.name != _get(c, x).name for x in _slots(c)):
                return _put(c, slot, other)
        return None
    options = [n for n in _HYPONYMS[_NOUN_CLASS[np_.noun]] if n not in _nouns(c)]
    return _put(c, slot, replace(np_, noun=s.pick(options)))


def _op_number(s: _Sampler, c: Clause) -> Clause | None:
    slots = [x for x in _slots(c) if _get(c, x).det in _NUMBER_DETS]
    if not slots:
        return None
    slot = s.pick(slots)
    np_ = _get(c, slot)
    return _put(c, slot, replace(np_, det=s.pick([d for d in _NUMBER_DETS if d != np_.det])))


def _op_exclusive_adj(s: _Sampler, c: Clause) -> Clause | None:
    """Replace an adjective by an incompatible one (big -> small, red -> blue)."""
    choices: list[tuple[str, str, str]] = []
    for slot in _slots(c, with_pps=not c.neg):
        np_ = _get(c, slot)
        if not np_.noun:
            continue
        cls = _NOUN_CLASS[np_.noun]
        for adj in np_.adjs:
            rest = [a for a in np_.adjs if a != adj]
            for group in _EXCLUSIVE:
                if adj not in group:
                    continue
                for new in group:
                    if (
                        new != adj
                        and cls in _ADJ_CLASSES[new]
                        and not any(_conflicts(new, r) for r in rest)
                    ):
                        choices.append((slot, adj, new))
    if not choices:
        return None
    slot, adj, new = s.pick(sorted(set(choices)))
    np_ = _get(c, slot)
    return _put(c, slot, replace(np_, adjs=_adj_order([new if a == adj else a for a in np_.adjs])))


def _op_add_adj(s: _Sampler, c: Clause) -> Clause | None:
    slots = [x for x in _slots(c, with_pps=False) if _get(c, x).noun and len(_get(c, x).adjs) < 2]
    if not slots:
        return None
    slot = s.pick(slots)
    np_ = _get(c, slot)
    options = s.adjective_options(_NOUN_CLASS[np_.noun], np_.adjs)
    if not options:
        return None
    return _put(c, slot, replace(np_, adjs=_adj_order([*np_.adjs, s.pick(options)])))


_NLI_OPS: dict[tuple[str, bool], tuple[_NliOp, ...]] = {
    ("entailment", False): (_op_drop_adj, _op_drop_pp, _op_drop_time, _op_hypernym, _op_move_time),
    ("entailment", True): (_op_drop_adj, _op_hypernym, _op_move_time, _op_add_pp, _op_add_time),
    ("contradiction", False): (_op_negate, _op_swap, _op_replace, _op_number, _op_exclusive_adj),
    ("contradiction", True): (_op_negate, _op_exclusive_adj),
    ("neutral", False): (_op_add_adj, _op_add_pp, _op_add_time, _op_specialise),
    ("neutral", True): (_op_add_adj, _op_drop_pp, _op_drop_time, _op_specialise),
}
_NLI_DETS: tuple[tuple[str, int], ...] = (
    ("d:the", 60),
    ("d:a", 20),
    ("d:two", 10),
    ("d:three", 10),
)


def _nli_pair(s: _Sampler, label: str) -> tuple[Clause, Clause] | None:
    neg = s.percent(35)
    op = s.pick(_NLI_OPS[(label, neg)])
    for _ in range(30):
        premise = s.clause(
            transitive_p=70,
            neg_p=100 if neg else 0,
            time_p=35,
            name_p=20,
            pp_weights=(50, 50, 0),
            dets=_THE if neg else _NLI_DETS,
            obj_dets=_THE if neg else _NLI_DETS,
            pp_dets=_THE,
            hypernym_p=15,
        )
        hypothesis = op(s, premise)
        if hypothesis is not None and hypothesis != premise:
            return premise, hypothesis
    return None


# ---------------------------------------------------------------------------------------------
# The intermediate tasks: a scene and a claim about its subject. sentence1 (the scene) is a
# positive clause whose subject is a person or an animal named by a specific noun (never a
# hypernym) and whose other noun phrases are neither persons nor animals, so the subject is the
# only person or animal in the scene. sentence2 changes only the subject's noun phrase (and, in
# toy_compositional, its determiner). The three labels are parities of one, two and three
# binary features: toy_lexical's is visible in sentence2 alone (is the new noun a hypernym?);
# toy_relational's relates the two sentences (is the hypernym the one of sentence1's subject?);
# toy_compositional's composes that relation with the polarity of sentence2's determiner (an
# indefinite or 'no'). The verb admits persons and animals alike and the rest of the scene is
# sampled for either class alike. In toy_compositional every feature and every pair of features
# is balanced across labels, so neither sentence alone nor word overlap tells anything; in
# toy_relational sentence1 alone tells nothing, but sentence2's hypernym is a partial cue (more
# subjects are persons), like the hypothesis-only artefacts of real NLI datasets.

_SCENE_VERBS = frozenset(v for v in _VERBS if set(_ANIMATE) <= set(_VERBS[v][0]))


def _scene(s: _Sampler, cls: str) -> Clause | None:
    """sentence1 of every intermediate task: its subject a specific noun of class ``cls``
    (person or animal), the only person or animal of the clause; no negation, no hypernym.
    Everything but the subject is sampled for either class alike (the verb admits both, no
    'with' PP), so that the rest of the clause says nothing about the class."""
    start = NP(noun=s.pick(_HYPONYMS[s.pick(_ANIMATE)]), det="d:the")
    c = s.clause(neg_p=0, time_p=30, name_p=20, hypernym_p=0, subject=start)
    if c.verb not in _SCENE_VERBS or any(pp.prep == "p:with" for pp in c.pps):
        return None
    others = [_get(c, slot) for slot in _slots(c)[1:]]
    if any(_np_class(np_) in _ANIMATE or np_.noun in _HYPERNYM_KEYS for np_ in others):
        return None
    det, plural = s.determiner((("d:the", 3), ("d:a", 1)))
    k = s.weighted(((0, 50), (1, 35), (2, 15)))
    subj = NP(noun=s.pick(_HYPONYMS[cls]), det=det, plural=plural, adjs=s.adjectives(cls, k))
    return replace(c, subj=subj)


def _other_animate(cls: str) -> str:
    return _ANIMATE[1 - _ANIMATE.index(cls)]


def _lexical_pair(s: _Sampler, label: str) -> tuple[Clause, Clause] | None:
    """'same': sentence2 names sentence1's subject by its hypernym (the dog -> the animal);
    'different': by another noun of its class (the dog -> the cat). Determiner, adjectives and
    the rest of the clause are kept."""
    cls = s.pick(_ANIMATE)
    c1 = _scene(s, cls)
    if c1 is None:
        return None
    if label == "same":
        noun = _HYPERNYM[cls]
    else:
        noun = s.pick([n for n in _HYPONYMS[cls] if n != c1.subj.noun])
    return c1, replace(c1, subj=replace(c1.subj, noun=noun))


def _claim(c1: Clause, hypernym_cls: str, negative: bool) -> Clause:
    """sentence2 of toy_relational and toy_compositional: 'a/some HYPERNYM ...' (or 'no
    HYPERNYM ...' when ``negative``) doing what sentence1's subject did; adjectives dropped."""
    det = "d:no" if negative else ("d:some" if c1.subj.plural else "d:a")
    subj = NP(noun=_HYPERNYM[hypernym_cls], det=det, plural=c1.subj.plural)
    return replace(c1, subj=subj)


_RELATIONAL_PERSON_PERCENT = 65
"""Share of toy_relational scenes whose subject is a person, in both labels: sentence2's
hypernym is a partial cue to the label (an artefact, as in real NLI data), sentence1 is none."""


def _relational_pair(s: _Sampler, label: str) -> tuple[Clause, Clause] | None:
    """'same_event': sentence2 says that some person (animal) did what sentence1's subject
    did, and sentence1's subject is a person (animal); 'different_event': it names the other
    class. sentence1 is the whole scene (closed world), so a different_event claim is false."""
    cls = "person" if s.percent(_RELATIONAL_PERSON_PERCENT) else "animal"
    c1 = _scene(s, cls)
    if c1 is None:
        return None
    claimed = cls if label == "same_event" else _other_animate(cls)
    return c1, _claim(c1, claimed, negative=False)


def _compositional_pair(s: _Sampler, label: str) -> tuple[Clause, Clause] | None:
    """sentence2 says that some person (animal) did, or that no person (animal) did, what
    sentence1's subject did. With sentence1 as the whole scene (closed world) the claim is
    entailed iff the claimed class matches the subject's class XOR the claim is negative."""
    cls = s.pick(_ANIMATE)
    c1 = _scene(s, cls)
    if c1 is None:
        return None
    negative = s.percent(50)
    match = (label == "entailment") != negative
    return c1, _claim(c1, cls if match else _other_animate(cls), negative)


# ---------------------------------------------------------------------------------------------
# toy_ner


def _ner_clause(s: _Sampler, k: int) -> Clause | None:
    c = s.clause(name_p=60, passive_p=10, pp_weights=(25, 45, 30))
    return c if _entity_count(c) == k else None


# ---------------------------------------------------------------------------------------------
# Building tasks

_PairMaker = Callable[[_Sampler, str], "tuple[Clause, Clause] | None"]
_PAIR_MAKERS: dict[str, _PairMaker] = {
    "toy_lexical": _lexical_pair,
    "toy_relational": _relational_pair,
    "toy_compositional": _compositional_pair,
    "toy_nli": _nli_pair,
}
_MAX_ATTEMPTS = 2000
Record = dict[str, object]


def _balanced(labels: Sequence[T], n: int, rng: random.Random) -> list[T]:
    out = [labels[i % len(labels)] for i in range(n)]
    rng.shuffle(out)
    return out


def _pairs(
    task: str, split: str, n: int, world: ToyWorld, seed: int, seen: set[tuple[str, ...]]
) -> list[tuple[str, Clause, Clause, str]]:
    rng = _rng(seed, "items", task, split)
    s = _Sampler(rng)
    maker = _PAIR_MAKERS[task]
    out = []
    for i, label in enumerate(_balanced(TASK_LABELS[task], n, rng)):
        for _ in range(_MAX_ATTEMPTS):
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


def _tagged(
    task: str, split: str, n: int, world: ToyWorld, seed: int, seen: set[tuple[str, ...]]
) -> list[tuple[str, Clause]]:
    rng = _rng(seed, "items", task, split)
    s = _Sampler(rng)
    out = []
    for i, k in enumerate(_balanced((1, 2, 3), n, rng)):
        for _ in range(_MAX_ATTEMPTS):
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


def _add_noise(
    records: list[Record], labels: Sequence[str], permille: int, rng: random.Random
) -> None:
    """Replace the labels of exactly round(permille/1000 * n) records by another label."""
    n_noisy = (len(records) * permille + 500) // 1000
    for i in sorted(rng.sample(range(len(records)), n_noisy)):
        label = records[i]["label"]
        records[i]["label"] = rng.choice([x for x in labels if x != label])


def _check_task(task: str, known: Sequence[str]) -> None:
    if task not in known:
        raise ValueError(f"unknown toy task {task!r}; expected one of {sorted(known)}")


def build_intermediate_task(
    task: str, config: ToyConfig, world: ToyWorld | None = None, *, label_noise: float | None = None
) -> dict[str, list[Record]]:
    """Records of an intermediate task: ``{"train": [...], "dev": [...]}`` (English).

    ``label_noise`` overrides the task's configured noise (``0.0`` gives the clean labels; the
    items themselves do not depend on it).
    """
    _check_task(task, list(INTERMEDIATE_TASKS))
    world = world or ToyWorld(config.seed)
    permille = _NOISE_PERMILLE[task] if label_noise is None else round(label_noise * 1000)
    seen: set[tuple[str, ...]] = set()
    out: dict[str, list[Record]] = {}
    for split, n in (("dev", config.intermediate_dev), ("train", config.intermediate_train)):
        items = _pairs(task, split, n, world, config.seed, seen)
        records: list[Record] = [
            {
                "id": i,
                "sentence1": world.sentence(a, "en"),
                "sentence2": world.sentence(b, "en"),
                "label": label,
            }
            for i, a, b, label in items
        ]
        _add_noise(records, TASK_LABELS[task], permille, _rng(config.seed, "noise", task, split))
        out[split] = records
    return {"train": out["train"], "dev": out["dev"]}


def build_target_task(
    task: str, config: ToyConfig, world: ToyWorld | None = None
) -> dict[str, list[Record]]:
    """Records of a target task: ``"train"`` (English) and ``"dev.{lang}"``/``"test.{lang}"``
    for every language (translations of the same English items). ``toy_retrieval`` has no
    ``"train"`` and no English eval split (its targets are English)."""
    _check_task(task, list(TARGET_TASKS))
    world = world or ToyWorld(config.seed)
    if TARGET_TASKS[task] not in ("pair_classification", "tagging"):
        from harness.data.toy_kinds import build_kind_task

        return build_kind_task(task, config, world)
    seen: set[tuple[str, ...]] = set()
    out: dict[str, list[Record]] = {}
    # test first, then dev, then train: evaluation sets do not change when train size changes
    for split, n in (
        ("test", config.target_test),
        ("dev", config.target_dev),
        ("train", config.target_train),
    ):
        langs = ["en"] if split == "train" else LANGUAGES
        if TARGET_TASKS[task] == "tagging":
            tagged = _tagged(task, split, n, world, config.seed, seen)
            for lang in langs:
                rows: list[Record] = []
                for i, c in tagged:
                    pairs = world.tokens(c, lang)
                    rows.append(
                        {"id": i, "tokens": [w for w, _ in pairs], "tags": [t for _, t in pairs]}
                    )
                out[split if split == "train" else f"{split}.{lang}"] = rows
        else:
            items = _pairs(task, split, n, world, config.seed, seen)
            for lang in langs:
                out[split if split == "train" else f"{split}.{lang}"] = [
                    {
                        "id": i,
                        "sentence1": world.sentence(a, lang),
                        "sentence2": world.sentence(b, lang),
                        "label": label,
                    }
                    for i, a, b, label in items
                ]
    order = ["train"] + [f"{sp}.{lang}" for sp in ("dev", "test") for lang in LANGUAGES]
    return {k: out[k] for k in order}


# Operations that relate a corpus sentence to the one before it (discourse: a restatement
# with one detail changed), drawn from every NLI relation alike.
_DISCOURSE_OPS: tuple[_NliOp, ...] = tuple(
    sorted({op for ops in _NLI_OPS.values() for op in ops}, key=lambda op: op.__name__)
)
DISCOURSE_PERCENT = 50
"""Share of corpus sentences that restate the previous sentence with one change."""


def build_corpus(lang: str, config: ToyConfig, world: ToyWorld | None = None) -> list[str]:
    """Monolingual pretraining sentences of ``lang`` (independently sampled per language).

    Like running text, the corpus has discourse: about :data:`DISCOURSE_PERCENT` % of the
    sentences restate the sentence before them with one detail changed (an adjective, a PP, the
    time, a hypernym, negation, swapped roles...), so entities recur between neighbouring
    sentences. Pretraining packs neighbouring sentences into one sequence, where this teaches
    the encoder to relate words across sentences, as real documents do.
    """
    if lang not in _SPECS:
        raise ValueError(f"unknown toy language {lang!r}; expected one of {LANGUAGES}")
    world = world or ToyWorld(config.seed)
    s = _Sampler(_rng(config.seed, "corpus", lang))
    out: list[str] = []
    previous: Clause | None = None
    for _ in range(_corpus_size(lang, config)):
        restated: Clause | None = None
        if previous is not None and s.percent(DISCOURSE_PERCENT):
            restated = s.pick(_DISCOURSE_OPS)(s, previous)
            if restated == previous:
                restated = None
        if restated is not None:
            out.append(world.sentence(restated, lang))
            previous = None  # a restatement is not restated again: chains stay short
        else:
            previous = s.clause(passive_p=5)
            out.append(world.sentence(previous, lang))
    return out


# ---------------------------------------------------------------------------------------------
# Task descriptions

_SCENE_RULE = (
    "sentence1 is a scene: a positive clause whose subject is a person or an animal named by a "
    "specific noun, the only person or animal in it (every other noun phrase is a thing, place "
    "or organisation; the verb admits persons and animals alike). "
)
_RULES: dict[str, str] = {
    "toy_lexical": (
        _SCENE_RULE + "sentence2 repeats it with the subject's noun replaced: 'same' iff the new "
        "noun is the subject's hypernym (the dog -> the animal, the nurse -> the person), "
        "'different' iff it is another noun of the same class (the dog -> the cat). One word "
        "of sentence2 decides (a parity of one feature), overlap is equal for both labels."
    ),
    "toy_relational": (
        _SCENE_RULE + "sentence2 says that 'a/some person' or 'a/some animal' did what the "
        "subject did (adjectives dropped). Reading sentence1 as the whole scene (closed world), "
        "'same_event' iff the hypernym is the class of sentence1's subject, 'different_event' "
        "otherwise: a parity of two features, one in each sentence. Like the hypothesis-only "
        "artefacts of real NLI data, the subject is a person in 65% of the pairs of either "
        "label, so 'a person' in sentence2 leans to 'same_event' (65%) and 'an animal' to "
        "'different_event'; sentence1 alone and word overlap tell nothing. 5% label noise."
    ),
    "toy_compositional": (
        _SCENE_RULE + "sentence2 says that 'a/some person (animal)' or that 'no person "
        "(animal)' did what the subject did (adjectives dropped). Reading sentence1 as the "
        "whole scene (closed world), sentence2 is 'entailment' iff the class matches "
        "sentence1's subject and the claim is positive, or the class does not match and it is "
        "negative ('no'); 'contradiction' otherwise: a parity of three features (the subject's "
        "class, the claimed class, the polarity), each, and each pair, balanced across labels. "
        "15% label noise."
    ),
}
_DESCRIPTIONS: dict[str, str] = {
    "toy_nli": (
        "Three-way NLI. The hypothesis is derived from the premise by one operation; pairs "
        "describe the same scene (SNLI convention). entailment: drop an adjective, PP or time "
        "adverbial, replace a noun by its hypernym, move the time adverbial, or (negated "
        "premise) add a PP or time adverbial. contradiction: negate or un-negate, swap agent "
        "and patient, replace a noun or name by another of its class, change a number, replace "
        "an adjective by an incompatible one. neutral: add an adjective, PP or time adverbial, "
        "replace a hypernym by a hyponym, or (negated premise) drop a PP or time adverbial."
    ),
    "toy_ner": (
        "Named-entity tagging with BIO tags for PER, LOC and ORG; every sentence has one to "
        "three entities, many of them multi-word. Tokens include the final '.' (tag O)."
    ),
    "toy_mc": (
        "Two-way multiple choice (like XCOPA): a premise (context; question empty) and two "
        "candidates; label is the index of the right one, balanced over positions. The right "
        "candidate is entailed: the premise rewritten by one or two of active/passive voice, "
        "moving the time adverbial, dropping an adjective, PP or time adverbial, a hypernym. "
        "The wrong one is the right one with agent and patient swapped (a contradiction), so "
        "both candidates have the same words and the same length: only who-did-what-to-whom "
        "decides."
    ),
    "toy_qa": (
        "Extractive QA (like XQuAD): a context of 2-4 sentences with distinct verbs and a "
        "who/what/where question about one of them; the answer is the agent, the object or the "
        "noun phrase of the only locative PP, without its determiner, as a SQuAD span "
        "(answers.text, answers.answer_start in characters). Question words are invented per "
        "language like other function words; SVO languages front them ('did' support), SOV "
        "languages keep them in place. Questions end with '?'. Train is half of target_train "
        "(longer inputs)."
    ),
    "toy_retrieval": (
        "Sentence retrieval (like Tatoeba): dev and test only; each query is a sentence in xa, "
        "xb, xc or xd and its target is the English original (same id); the task is to find "
        "the target among all targets of the split. Sentences are sampled on their own stream, "
        "not taken from the other tasks."
    ),
}


def _task_json(task: str, config: ToyConfig) -> dict[str, object]:
    if task in INTERMEDIATE_TASKS:
        return {
            "name": task,
            "role": "intermediate",
            "kind": "pair_classification",
            "labels": list(TASK_LABELS[task]),
            "languages": ["en"],
            "sizes": {"train": config.intermediate_train, "dev": config.intermediate_dev},
            "difficulty": {
                "rank": INTERMEDIATE_TASKS[task],
                "label_noise": LABEL_NOISE[task],
                "rule": _RULES[task],
            },
        }
    from harness.data.toy_kinds import KIND_TASKS, kind_task_sizes, task_languages

    sizes = {"train": config.target_train, "dev": config.target_dev, "test": config.target_test}
    return {
        "name": task,
        "role": "target",
        "kind": TARGET_TASKS[task],
        "labels": list(TASK_LABELS[task]),
        "languages": task_languages(task) if task in KIND_TASKS else list(LANGUAGES),
        "train_language": "en",
        "sizes": kind_task_sizes(task, config) if task in KIND_TASKS else sizes,
        "sizes_note": "no train (evaluated from the encoder); dev and test sizes are per query "
        "language"
        if TARGET_TASKS[task] == "retrieval"
        else "train is English only; dev and test sizes are per language",
        "description": _DESCRIPTIONS[task],
    }


# ---------------------------------------------------------------------------------------------
# Writing


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))


def _write_json(path: Path, obj: object) -> None:
    _write_text(path, json.dumps(obj, ensure_ascii=False, sort_keys=True, indent=2) + "\n")


def _write_jsonl(path: Path, records: Sequence[Record]) -> None:
    _write_text(
        path, "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in records)
    )


def _check_config(config: ToyConfig) -> None:
    for name in (
        "corpus_sentences",
        "intermediate_train",
        "intermediate_dev",
        "target_train",
        "target_dev",
        "target_test",
    ):
        value = getattr(config, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"ToyConfig.{name} must be a non-negative integer, got {value!r}")
    if not isinstance(config.seed, int) or isinstance(config.seed, bool):
        raise ValueError(f"ToyConfig.seed must be an integer, got {config.seed!r}")


def generate(out_dir: Path, config: ToyConfig) -> None:
    """Write the whole toy benchmark under ``out_dir``.

    ``out_dir`` is created; it must be absent or an empty directory, else ``ValueError``.
    Layout: ``languages.json``, ``README.md``, ``corpus/{lang}.txt``,
    ``tasks/{task}/task.json``, ``tasks/{task}/train.jsonl``, and ``tasks/{task}/dev.jsonl``
    (intermediate tasks) or ``tasks/{task}/dev.{lang}.jsonl`` and ``test.{lang}.jsonl``
    (target tasks).
    """
    out_dir = Path(out_dir)
    _check_config(config)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ValueError(
            f"toy data output {out_dir} exists and is not an empty directory; "
            "remove it or choose another path"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    world = ToyWorld(config.seed)
    _write_json(out_dir / "languages.json", language_metadata(config))
    for lang in LANGUAGES:
        lines = build_corpus(lang, config, world)
        _write_text(out_dir / "corpus" / f"{lang}.txt", "".join(line + "\n" for line in lines))
    for task in INTERMEDIATE_TASKS:
        splits = build_intermediate_task(task, config, world)
        for split, records in splits.items():
            _write_jsonl(out_dir / "tasks" / task / f"{split}.jsonl", records)
        _write_json(out_dir / "tasks" / task / "task.json", _task_json(task, config))
    for task in TARGET_TASKS:
        for split, records in build_target_task(task, config, world).items():
            _write_jsonl(out_dir / "tasks" / task / f"{split}.jsonl", records)
        _write_json(out_dir / "tasks" / task / "task.json", _task_json(task, config))
    _write_text(out_dir / "README.md", _readme(config, world))


_README_LANGUAGES = (
    "Every other language keeps a share of the English lexemes (nouns, verbs, adjectives, time "
    "words and function words alike, exact per part of speech) and replaces the rest by "
    "invented words built from its own syllable inventory, inflected with its own suffixes "
    "(plural, past, participle). Kept sets are nested: a lexeme kept by a more distant language "
    "is kept by every closer one; `xc` keeps exactly the lexemes of `xb` but invents its own "
    "words for the others. `xc` and `xd` put the verb last (SOV), adjectives after the noun "
    "(mirror order), postpositions instead of prepositions, and negation after the verb (no "
    "'did'). `xd` is written in Cyrillic by a fixed one-to-one letter map, proper names "
    "included; `xa` to `xc` keep names as in English. Invented words never coincide with an "
    "English word or with each other."
)


def _readme(config: ToyConfig, world: ToyWorld) -> str:
    s = _Sampler(_rng(config.seed, "readme"))
    example = s.clause(
        transitive_p=100,
        neg_p=100,
        time_p=0,
        name_p=0,
        pp_weights=(0, 100, 0),
        dets=_THE,
        pp_dets=_THE,
        max_adjs=1,
    )
    n_forms = len({w for forms in _EN_FORMS.values() for w in forms.values()})
    lines = [
        "# Toy benchmark (generated)",
        "",
        "Generated by `harness.data.toy.generate` with "
        f"`ToyConfig(seed={config.seed}, corpus_sentences={config.corpus_sentences}, "
        f"intermediate_train={config.intermediate_train}, "
        f"intermediate_dev={config.intermediate_dev}, target_train={config.target_train}, "
        f"target_dev={config.target_dev}, target_test={config.target_test})`. "
        "The output is byte-for-byte deterministic for a given configuration.",
        "",
        "## Languages",
        "",
        "| code | name | genus | script | shared words | order | resource class "
        "| corpus sentences |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for lang in LANGUAGES:
        spec = _SPECS[lang]
        lines.append(
            f"| {lang} | {spec.name} | {spec.genus} | {spec.script} | {spec.shared_percent}% "
            f"| {'SOV' if spec.sov else 'SVO'} | {spec.resource_class} "
            f"| {_corpus_size(lang, config)} |"
        )
    lines += [
        "",
        f"`en` uses real English words: {len(_EN_FORMS)} lexemes with {n_forms} word forms "
        f"(plus 'an'), and {len(_NAME_WORDS)} words of proper names. " + _README_LANGUAGES,
        "",
        "One sentence in every language:",
        "",
    ]
    for lang in LANGUAGES:
        lines.append(f"* `{lang}`: {world.sentence(example, lang)}")
    lines += [
        "",
        "## Files",
        "",
        "* `languages.json`: language metadata (code, name, family, genus, script, "
        "resource_class, distance_rank, transformations).",
        "* `corpus/{lang}.txt`: monolingual pretraining text, one sentence per line, tokens "
        "separated by single spaces, final ' .'; sampled independently per language. "
        f"About {DISCOURSE_PERCENT} % of fresh sentences are followed by a restatement with "
        "one detail changed (discourse), so entities recur between neighbouring lines.",
        "* `tasks/{task}/task.json`: name, role, kind, labels, sizes, languages (and the "
        "difficulty of intermediate tasks).",
        "* intermediate tasks: `train.jsonl`, `dev.jsonl` (English).",
        "* target tasks: `train.jsonl` (English), `dev.{lang}.jsonl`, `test.{lang}.jsonl` for "
        "every language: translations of the same English items (same ids and labels). "
        "`toy_retrieval` has no `train.jsonl` and no English eval files (queries in `xa` to "
        "`xd`, English targets).",
        "",
        "## Tasks",
        "",
        "| task | role | kind | labels | difficulty rank | label noise |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for task, rank in INTERMEDIATE_TASKS.items():
        lines.append(
            f"| {task} | intermediate | pair_classification | "
            f"{', '.join(TASK_LABELS[task])} | {rank} | {LABEL_NOISE[task]} |"
        )
    for task, kind in TARGET_TASKS.items():
        lines.append(f"| {task} | target | {kind} | {', '.join(TASK_LABELS[task])} | | |")
    lines.append("")
    for task in INTERMEDIATE_TASKS:
        lines += [f"### {task}", "", _RULES[task], ""]
    for task in TARGET_TASKS:
        lines += [f"### {task}", "", _DESCRIPTIONS[task], ""]
    lines += [
        "Label noise: in the train and dev sets of an intermediate task, exactly "
        "round(label_noise x n) labels (half rounded up) are replaced by a uniformly random "
        "other label.",
        "",
    ]
    return "\n".join(lines)
