"""The English lexicon of the toy world and the tables derived from it.

Nouns by class (with the hypernym of every class), verbs with the classes of their subject
and object, adjectives with their ordering rank and the classes they modify, determiners,
adpositions, auxiliaries, time words and the words of proper names.

Lexeme keys carry a part-of-speech prefix: n: noun, v: verb, a: adjective, d: determiner,
p: adposition, f: auxiliary/negation, t: time word. Forms: nouns "sg"/"pl", verbs
"base"/"past"/"part", everything else "base".
"""

from __future__ import annotations

ANIMATE = ("animal", "person")

# fmt: off
NOUN_TABLE: dict[str, tuple[str, ...]] = {
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
    ("chase chased chased", ANIMATE, ANIMATE),
    ("follow followed followed", ANIMATE, ANIMATE),
    ("see saw seen", ANIMATE, (*ANIMATE, "vehicle", "object", "food", "tool")),
    ("watch watched watched", ANIMATE, (*ANIMATE, "vehicle")),
    ("help helped helped", ("person", "org"), ANIMATE),
    ("push pushed pushed", ANIMATE, (*ANIMATE, "vehicle", "object")),
    ("call called called", ("person", "org"), ("person",)),
    ("visit visited visited", ("person",), ("person", "place", "org")),
    ("find found found", ANIMATE, (*ANIMATE, "food", "tool", "object", "vehicle")),
    ("hear heard heard", ANIMATE, (*ANIMATE, "vehicle")),
    ("eat ate eaten", ANIMATE, ("food",)),
    ("cook cooked cooked", ("person",), ("food",)),
    ("buy bought bought", ("person", "org"), ("food", "vehicle", "tool", "object")),
    ("sell sold sold", ("person", "org"), ("food", "vehicle", "tool", "object", "animal")),
    ("carry carried carried", ANIMATE, ("food", "tool", "object", "animal")),
    ("drive drove driven", ("person",), ("vehicle",)),
    ("repair repaired repaired", ("person", "org"), ("vehicle", "tool", "object")),
    ("wash washed washed", ("person",), ("vehicle", "object", "animal", "tool")),
    ("paint painted painted", ("person",), ("vehicle", "object", "place")),
    ("hire hired hired", ("person", "org"), ("person",)),
    ("pay paid paid", ("person", "org"), ("person", "org")),
    ("use used used", ("person", "org"), ("tool", "vehicle")),
    ("lose lost lost", ANIMATE, ("tool", "object", "food")),
    ("drop dropped dropped", ANIMATE, ("tool", "object", "food")),
    ("bite bit bitten", ("animal",), (*ANIMATE, "food", "object")),
    ("kick kicked kicked", ANIMATE, (*ANIMATE, "object")),
    ("greet greeted greeted", ("person",), ANIMATE),
    ("thank thanked thanked", ("person",), ("person", "org")),
    ("teach taught taught", ("person",), ANIMATE),
    ("catch caught caught", ANIMATE, (*ANIMATE, "object")),
    ("feed fed fed", ("person",), ANIMATE),
    ("build built built", ("person", "org"), ("object", "place")),
    ("join joined joined", ("person",), ("org",)),
    ("sleep slept slept", ANIMATE, ()),
    ("arrive arrived arrived", (*ANIMATE, "vehicle"), ()),
    ("leave left left", (*ANIMATE, "vehicle"), ()),
    ("laugh laughed laughed", ("person",), ()),
    ("wait waited waited", ANIMATE, ()),
    ("run ran run", ANIMATE, ()),
    ("sing sang sung", ANIMATE, ()),
    ("dance danced danced", ("person",), ()),
    ("smile smiled smiled", ("person",), ()),
    ("cry cried cried", ("person",), ()),
    ("walk walked walked", ANIMATE, ()),
    ("swim swam swum", ANIMATE, ()),
    ("work worked worked", ("person",), ()),
    ("rest rested rested", ANIMATE, ()),
    ("fall fell fallen", (*ANIMATE, "object", "tool"), ()),
    ("stop stopped stopped", (*ANIMATE, "vehicle"), ()),
    ("shout shouted shouted", ("person",), ()),
    ("grow grew grown", (*ANIMATE, "org"), ()),
    ("fail failed failed", ("person", "org"), ()),
    ("win won won", ("person", "org"), ()),
)

_INANIMATE = ("vehicle", "object", "tool")
# adjective -> (English ordering rank: quality 0, size 1, age 2, colour 3; noun classes)
_ADJ_TABLE: dict[str, tuple[int, tuple[str, ...]]] = {
    "happy": (0, ANIMATE),
    "tired": (0, ANIMATE),
    "hungry": (0, ANIMATE),
    "angry": (0, ANIMATE),
    "clever": (0, ANIMATE),
    "lazy": (0, ANIMATE),
    "brave": (0, ANIMATE),
    "quiet": (0, (*ANIMATE, "place")),
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
    "old": (2, (*ANIMATE, *_INANIMATE, "place")),
    "young": (2, ANIMATE),
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
PLURAL_DETS = frozenset({"d:some", "d:many", "d:two", "d:three", "d:four", "d:five"})
NUMBER_DETS = ("d:two", "d:three", "d:four", "d:five")
_PREPOSITION_WORDS = ("in", "near", "behind", "at", "with", "by")
_AUX_WORDS = ("did", "not", "was", "were")
_TIME_WORDS = ("yesterday", "today", "earlier", "last", "week", "night", "this", "morning")
TIME_PHRASES: tuple[tuple[str, ...], ...] = (
    ("t:yesterday",),
    ("t:today",),
    ("t:earlier",),
    ("t:last", "t:week"),
    ("t:last", "t:night"),
    ("t:this", "t:morning"),
)

PER_FIRST = ("Anna", "John", "Maria", "Peter", "Lena", "Omar", "Sara", "Tom", "Elena", "David",
              "Nora", "Ivan", "Laura", "Samuel", "Mina", "Victor", "Clara", "Hugo", "Rosa", "Felix")
PER_LAST = ("Berg", "Smith", "Lopez", "Miller", "Haddad", "Novak", "Weber", "Santos", "Olsen",
             "Fischer", "Moreau", "Kowalski", "Brandt", "Costa", "Lind", "Petrov")
LOCATIONS = ("New Harbor", "Green Valley", "Stonebridge", "Port Elmer", "North Hill", "Riverton",
              "Lake Mira", "East Bay", "Oakford", "Silver Coast", "Westfield", "Cape Rowan",
              "Fort Ansel", "Maplewood", "Old Town", "Red Rock Canyon", "San Telmo")
ORGANISATIONS = ("Blue River Bank", "Acme", "Northwind Airlines", "Silver Star Bakery",
                  "City Hospital", "Delta Motors", "Green Leaf Foods", "Union Bank", "Harbor Times",
                  "Orion Labs", "Bright Future School", "Atlas Logistics", "Nova Pharma",
                  "Red Rock Mining", "Lakeside Library")
# fmt: on
NAME_CLASS = {"PER": "person", "LOC": "place", "ORG": "org"}


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
    for cls, specs in NOUN_TABLE.items():
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


EN_FORMS, NOUN_CLASS, HYPONYMS, HYPERNYM, VERBS = _english_tables()
TRANSITIVE = tuple(sorted(k for k, (_, obj) in VERBS.items() if obj))
INTRANSITIVE = tuple(sorted(k for k, (_, obj) in VERBS.items() if not obj))
ADJ_RANK = {"a:" + a: rank for a, (rank, _) in _ADJ_TABLE.items()}
ADJ_CLASSES = {"a:" + a: classes for a, (_, classes) in _ADJ_TABLE.items()}
EXCLUSIVE = tuple(tuple("a:" + a for a in group) for group in _EXCLUSIVE_GROUPS)
HYPERNYM_KEYS = frozenset(HYPERNYM.values())
NAME_WORDS = tuple(
    sorted({w for n in (*PER_FIRST, *PER_LAST, *LOCATIONS, *ORGANISATIONS) for w in n.split()})
)


def lexeme_group(key: str) -> str:
    """Overlap-rule stratum of a lexeme: nouns, verbs, adjectives, time words, function words."""
    return {"n": "noun", "v": "verb", "a": "adjective", "t": "time"}.get(key[0], "function")
