"""The toy world: the lexicon of every toy language (derived from the seed) and the
realisation of clauses as words.

Kept lexemes are nested (a lexeme kept by a more distant language is kept by every closer
one) and function words follow the same rule as content words; the other lexemes get words
invented from the language's syllables and suffixes.

Tokenisation: sentences are single-space-joined tokens; every sentence ends with the separate
token ``"."`` (it is a token of the tagging task, tagged ``O``). No sentence has more than
:data:`~harness.data.toy.config.MAX_SENTENCE_TOKENS` tokens (the final ``"."`` included).
English is lower-case except for proper names; the English indefinite article is ``an``
before a vowel letter (``en`` only).
"""

from __future__ import annotations

from harness.data.toy.config import LANGUAGES, seeded_rng
from harness.data.toy.grammar import NAME, STOP, Clause, clause_toks
from harness.data.toy.languages import SPECS, LangSpec, transliterate
from harness.data.toy.lexicon import EN_FORMS, NAME_WORDS, lexeme_group


class ToyWorld:
    """Lexicons of the toy languages (derived from the seed) and realisation of clauses."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.kept: dict[str, frozenset[str]] = {}
        self.lexicon: dict[str, dict[tuple[str, str], str]] = {}
        groups: dict[str, list[str]] = {}
        for key in sorted(EN_FORMS):
            groups.setdefault(lexeme_group(key), []).append(key)
        # One random "cognate ranking" per stratum; a language keeps the top share of it, so
        # kept sets are nested (xd within xb = xc within xa) and exact per stratum.
        ranking: dict[str, list[str]] = {}
        for group in sorted(groups):
            keys = list(groups[group])
            seeded_rng(seed, "cognates", group).shuffle(keys)
            ranking[group] = keys
        used = {w.lower() for forms in EN_FORMS.values() for w in forms.values()}
        used |= {w.lower() for w in NAME_WORDS} | {"an"}
        for lang in LANGUAGES:
            spec = SPECS[lang]
            kept: set[str] = set()
            for group in sorted(ranking):
                keys = ranking[group]
                kept.update(keys[: (len(keys) * spec.shared_percent + 50) // 100])
            lexicon: dict[tuple[str, str], str] = {}
            for key in sorted(EN_FORMS):
                forms = EN_FORMS[key] if key in kept else self._invent(spec, key, used)
                for form in sorted(forms):
                    word = forms[form]
                    lexicon[(key, form)] = transliterate(word) if spec.cyrillic else word
            self.kept[lang] = frozenset(kept)
            self.lexicon[lang] = lexicon

    def _invent(self, spec: LangSpec, key: str, used: set[str]) -> dict[str, str]:
        rng = seeded_rng(self.seed, "invent", spec.code, key)
        english = next(iter(EN_FORMS[key].values()))
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
        spec = SPECS[lang]
        lexicon = self.lexicon[lang]
        toks = clause_toks(clause, spec.sov)
        words: list[str] = []
        for tok in toks:
            if tok.key == NAME:
                words.append(transliterate(tok.form) if spec.cyrillic else tok.form)
            elif tok.key == STOP:
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
