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

The modules, each importing only the ones listed before it:

* :mod:`~harness.data.toy.config`: :class:`ToyConfig`, the public constants, seeded streams.
* :mod:`~harness.data.toy.lexicon`: the English lexicon and the tables derived from it.
* :mod:`~harness.data.toy.languages`: language specs, transliteration, ``languages.json``.
* :mod:`~harness.data.toy.grammar`: noun phrases, clauses and their word order.
* :mod:`~harness.data.toy.world`: :class:`ToyWorld`, the lexicons and the realisation (and the
  tokenisation rules).
* :mod:`~harness.data.toy.sampler`: random clauses.
* :mod:`~harness.data.toy.items`: sampling the items of one split.
* :mod:`~harness.data.toy.nli`: the premise -> hypothesis operations of ``toy_nli``.
* :mod:`~harness.data.toy.intermediate`: the intermediate tasks.
* :mod:`~harness.data.toy.ner`, :mod:`~harness.data.toy.mc`, :mod:`~harness.data.toy.qa`,
  :mod:`~harness.data.toy.retrieval`: the items of those target tasks.
* :mod:`~harness.data.toy.targets`: the records of every target task.
* :mod:`~harness.data.toy.corpus`: the pretraining corpora.
* :mod:`~harness.data.toy.descriptions`: task rules and descriptions, ``task.json``.
* :mod:`~harness.data.toy.readme`: the generated ``README.md``.
* :mod:`~harness.data.toy.writer`: :func:`generate`, writing everything.
"""

from __future__ import annotations

from harness.data.toy.config import (
    INTERMEDIATE_TASKS,
    LABEL_NOISE,
    LANGUAGES,
    MAX_SENTENCE_TOKENS,
    NER_LABELS,
    NLI_LABELS,
    TARGET_TASKS,
    TASK_LABELS,
    ToyConfig,
)
from harness.data.toy.corpus import DISCOURSE_PERCENT, build_corpus
from harness.data.toy.grammar import NP, PP, Clause
from harness.data.toy.intermediate import build_intermediate_task
from harness.data.toy.items import Record
from harness.data.toy.languages import detransliterate, language_metadata, transliterate
from harness.data.toy.mc import MC_CHOICES
from harness.data.toy.qa import (
    MAX_CONTEXT_WORDS,
    QUESTION_WORDS,
    QaItem,
    answer_positions,
    qa_items,
    question_lexicon,
    question_tokens,
    realise,
)
from harness.data.toy.retrieval import RETRIEVAL_LANGUAGES
from harness.data.toy.targets import (
    KIND_TASKS,
    build_kind_task,
    build_target_task,
    kind_task_sizes,
    task_languages,
)
from harness.data.toy.world import ToyWorld
from harness.data.toy.writer import generate

__all__ = [
    "DISCOURSE_PERCENT",
    "INTERMEDIATE_TASKS",
    "KIND_TASKS",
    "LABEL_NOISE",
    "LANGUAGES",
    "MAX_CONTEXT_WORDS",
    "MAX_SENTENCE_TOKENS",
    "MC_CHOICES",
    "NER_LABELS",
    "NLI_LABELS",
    "NP",
    "PP",
    "QUESTION_WORDS",
    "RETRIEVAL_LANGUAGES",
    "TARGET_TASKS",
    "TASK_LABELS",
    "Clause",
    "QaItem",
    "Record",
    "ToyConfig",
    "ToyWorld",
    "answer_positions",
    "build_corpus",
    "build_intermediate_task",
    "build_kind_task",
    "build_target_task",
    "detransliterate",
    "generate",
    "kind_task_sizes",
    "language_metadata",
    "qa_items",
    "question_lexicon",
    "question_tokens",
    "realise",
    "task_languages",
    "transliterate",
]
