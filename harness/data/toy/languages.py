"""The toy languages: their specs (resource level, share of English words, word order,
script, syllables and suffixes of invented words), the Cyrillic transliteration of ``xd``
and the records of ``languages.json``.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.data.toy.config import LANGUAGES, ToyConfig

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
class LangSpec:
    """How a toy language derives from English (see :func:`language_metadata`)."""

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
SPECS: dict[str, LangSpec] = {
    "en": LangSpec(
        code="en", name="Toy English", genus="Toy-SVO", script="Latn", resource_percent=100,
        resource_class=5, shared_percent=100, sov=False, cyrillic=False,
    ),
    "xa": LangSpec(
        code="xa", name="Toy A (70% shared words)", genus="Toy-SVO", script="Latn",
        resource_percent=50, resource_class=4, shared_percent=70, sov=False, cyrillic=False,
        onsets=("b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "br", "tr", "st"),
        nuclei=("a", "e", "i", "o", "u"), codas=("", "n", "r", "l", "s"),
        plural="s", past="ed", participle="en",
    ),
    "xb": LangSpec(
        code="xb", name="Toy B (35% shared words)", genus="Toy-SVO", script="Latn",
        resource_percent=50, resource_class=4, shared_percent=35, sov=False, cyrillic=False,
        onsets=("k", "t", "m", "n", "s", "h", "r", "y", "w"), nuclei=("a", "i", "u", "e", "o"),
        codas=("", "n"), plural="i", past="ta", participle="tan",
    ),
    "xc": LangSpec(
        code="xc", name="Toy C (35% shared words, SOV)", genus="Toy-SOV", script="Latn",
        resource_percent=35, resource_class=3, shared_percent=35, sov=True, cyrillic=False,
        onsets=("z", "v", "g", "d", "b", "l", "r", "zh", "dr", "gr"), nuclei=("a", "o", "u", "e"),
        codas=("", "k", "z", "m"), plural="ku", past="ro", participle="rom",
    ),
    "xd": LangSpec(
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
        spec = SPECS[code]
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
                "corpus_sentences": corpus_size(code, config),
                "distance_rank": rank,
                "transformations": transformations,
            }
        )
    return out


def corpus_size(lang: str, config: ToyConfig) -> int:
    """Sentences of the ``lang`` corpus: ``corpus_sentences`` scaled by its resource level."""
    return config.corpus_sentences * SPECS[lang].resource_percent // 100
