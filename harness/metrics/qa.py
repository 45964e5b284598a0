"""Extractive-QA exact match and F1 with the normalisation of the official evaluations.

Two normalisations exist, and XTREME uses both:

* **SQuAD v1.1** (XQuAD, TyDiQA-GoldP): lower-case; drop ASCII punctuation
  (``string.punctuation``); replace the English articles *a, an, the* (whole words) by a space;
  collapse whitespace. Tokens are whitespace-separated, so a Chinese or Japanese answer without
  spaces is one single token.
* **MLQA** (MLQA): lower-case; drop every character whose Unicode category starts with ``P``
  plus the ASCII punctuation of ``string.punctuation`` (which also holds symbols such as ``$``
  and ``+``); replace per-language articles (en: a/an/the; es: un/una/unos/unas/el/la/los/las;
  de: ein/eine/einen/einem/eines/einer/der/die/das/den/dem/des; vi: của/là/cái/chiếc/những;
  hi, zh: none; ar: *every* occurrence of the string "ال", also inside words, which is what the
  official regular expression does); then split on whitespace, and for zh additionally make
  every CJK character in U+4E00..U+9FA5 a token of its own ("mixed segmentation").

Quirks kept on purpose, because the official scripts have them:

* F1 is 0 whenever no token is shared, also when prediction and answer both normalise to the
  empty string (so a punctuation-only answer gets EM 1 but F1 0 for an empty prediction).
* A question is scored against each of its gold answers and keeps the best EM and best F1
  separately (they may come from different answers).
* A question without a prediction counts as 0 for both (it stays in the denominator); a
  prediction for an unknown question is ignored.
* The Unicode punctuation set comes from the running Python's Unicode database (the official
  script does the same), so a future Unicode version could move a rare character.
"""

from __future__ import annotations

import re
import string
import sys
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from typing import Literal

Normalisation = Literal["squad", "mlqa"]

_SQUAD_PUNCT = frozenset(string.punctuation)
_SQUAD_ARTICLES = re.compile(r"\b(a|an|the)\b")

#: MLQA's per-language article patterns (None: the language has no articles to remove)
_MLQA_ARTICLES: dict[str, re.Pattern[str] | None] = {
    "en": re.compile(r"\b(a|an|the)\b"),
    "es": re.compile(r"\b(un|una|unos|unas|el|la|los|las)\b"),
    "hi": None,
    "vi": re.compile(r"\b(của|là|cái|chiếc|những)\b"),
    "de": re.compile(r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b"),
    # The official pattern has a first alternative that can never match ('^' after text);
    # what remains replaces every "ال", wherever it occurs.
    "ar": re.compile("ال"),
    "zh": None,
}
MLQA_LANGUAGES = tuple(_MLQA_ARTICLES)
_MIXED_SEGMENTATION = frozenset({"zh"})


@cache
def mlqa_punctuation() -> frozenset[str]:
    """Every code point below ``sys.maxunicode`` in a Unicode ``P*`` category, plus ASCII
    ``string.punctuation`` (built once; about a second)."""
    chars = {chr(i) for i in range(sys.maxunicode) if unicodedata.category(chr(i)).startswith("P")}
    return frozenset(chars | _SQUAD_PUNCT)


def normalize_squad(text: str) -> str:
    """SQuAD v1.1 answer normalisation."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _SQUAD_PUNCT)
    text = _SQUAD_ARTICLES.sub(" ", text)
    return " ".join(text.split())


def _is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fa5"


def _mixed_segmentation(text: str, punct: frozenset[str]) -> list[str]:
    tokens: list[str] = []
    pending = ""
    for ch in text:
        if _is_cjk(ch) or ch in punct:
            tokens.extend(pending.split())
            pending = ""
            tokens.append(ch)
        else:
            pending += ch
    tokens.extend(pending.split())
    return tokens


def normalize_mlqa(text: str, language: str) -> str:
    """MLQA answer normalisation for one of :data:`MLQA_LANGUAGES`."""
    if language not in _MLQA_ARTICLES:
        raise ValueError(
            f"MLQA normalisation is defined for {', '.join(MLQA_LANGUAGES)}, not {language!r}"
        )
    punct = mlqa_punctuation()
    text = text.lower()
    text = "".join(ch for ch in text if ch not in punct)
    articles = _MLQA_ARTICLES[language]
    if articles is not None:
        text = articles.sub(" ", text)
    mixed = language in _MIXED_SEGMENTATION
    tokens = _mixed_segmentation(text, punct) if mixed else text.split()
    return " ".join(t for t in tokens if t.strip() != "")


def normalizer(normalisation: Normalisation, language: str | None = None) -> Callable[[str], str]:
    if normalisation == "squad":
        return normalize_squad
    if language is None:
        raise ValueError("MLQA normalisation needs the answer language")
    normalize_mlqa("", language)  # fail early on an unknown language
    return lambda text: normalize_mlqa(text, language)


def _f1_tokens(prediction: Sequence[str], gold: Sequence[str]) -> float:
    common = Counter(prediction) & Counter(gold)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision = same / len(prediction)
    recall = same / len(gold)
    return (2 * precision * recall) / (precision + recall)


def exact_match(
    prediction: str, gold: str, normalisation: Normalisation = "squad", language: str | None = None
) -> float:
    norm = normalizer(normalisation, language)
    return float(norm(prediction) == norm(gold))


def _f1_no_answer(prediction: Sequence[str], gold: Sequence[str]) -> float:
    """SQuAD v2.0's F1: where either side is empty (no answer), 1 if both are, else 0."""
    if not prediction or not gold:
        return float(list(prediction) == list(gold))
    return _f1_tokens(prediction, gold)


def qa_f1(
    prediction: str,
    gold: str,
    normalisation: Normalisation = "squad",
    language: str | None = None,
    no_answer: bool = False,
) -> float:
    """Bag-of-tokens F1 of one prediction against one gold answer (``no_answer``: SQuAD v2.0's
    rule for empty answers)."""
    norm = normalizer(normalisation, language)
    f1 = _f1_no_answer if no_answer else _f1_tokens
    return f1(norm(prediction).split(), norm(gold).split())


def no_answer_golds(
    answers: Sequence[str], normalisation: Normalisation = "squad", language: str | None = None
) -> list[str]:
    """The gold answers as SQuAD v2.0's evaluation takes them: those that normalise to nothing
    dropped, and ``[""]`` (the right answer is no answer) when none is left."""
    norm = normalizer(normalisation, language)
    kept = [a for a in answers if norm(a)]
    return kept or [""]


def qa_scores(
    golds: Mapping[str, Sequence[str]] | Sequence[tuple[str, Sequence[str]]],
    predictions: Mapping[str, str],
    normalisation: Normalisation = "squad",
    language: str | None = None,
    no_answer: bool = False,
) -> dict[str, float]:
    """Mean EM and F1 (fractions) over every question of ``golds`` (question id -> its gold
    answers, or a sequence of such pairs: a question listed twice counts twice, as in the
    official scripts), scoring each prediction against its best gold answer. ``no_answer``:
    SQuAD v2.0's evaluation (a question without gold answers is answered right by an empty
    prediction; :func:`no_answer_golds`, :func:`qa_f1`)."""
    pairs = list(golds.items()) if isinstance(golds, Mapping) else list(golds)
    if not pairs:
        raise ValueError("qa_scores needs at least one question")
    norm = normalizer(normalisation, language)
    em_sum = 0.0
    f1_sum = 0.0
    f1 = _f1_no_answer if no_answer else _f1_tokens
    for qid, answers in pairs:
        if no_answer:
            answers = no_answer_golds(answers, normalisation, language)
        if not answers:
            raise ValueError(f"question {qid!r} has no gold answer")
        if qid not in predictions:
            continue
        pred = norm(predictions[qid])
        pred_tokens = pred.split()
        normalised = [norm(a) for a in answers]
        em_sum += max(float(pred == g) for g in normalised)
        f1_sum += max(f1(pred_tokens, g.split()) for g in normalised)
    return {"exact_match": em_sum / len(pairs), "f1": f1_sum / len(pairs)}


def qa_task_score(exact_match_value: float, f1_value: float) -> float:
    """The XTREME task score of a QA task: the mean of EM and F1."""
    return (exact_match_value + f1_value) / 2


def answers_from_squad(articles: Iterable[Mapping[str, object]]) -> list[tuple[str, list[str]]]:
    """(question id, gold answer texts) in file order from SQuAD-format ``data``
    (articles -> paragraphs -> qas -> answers)."""
    golds: list[tuple[str, list[str]]] = []
    for article in articles:
        for paragraph in article["paragraphs"]:  # type: ignore[attr-defined]
            for qa in paragraph["qas"]:
                golds.append((qa["id"], [a["text"] for a in qa["answers"]]))
    return golds
