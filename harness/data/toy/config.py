"""Configuration of the toy benchmark: :class:`ToyConfig`, the public constants (languages,
tasks, labels, label noise) and the seeded random streams.

Randomness comes only from ``random.Random`` seeded with integers derived from strings by
SHA-256 (:func:`seeded_rng`), so every stream is the same on every platform.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

LANGUAGES: list[str] = ["en", "xa", "xb", "xc", "xd"]
"""Toy language codes, ordered by distance from English (``en`` first)."""

INTERMEDIATE_TASKS: dict[str, int] = {
    "toy_negation": 1,
    "toy_lexical": 2,
    "toy_extension": 3,
    "toy_relational": 4,
    "toy_roles": 5,
    "toy_compositional": 6,
}
"""Intermediate task name -> constructed difficulty rank (1 = easiest): what a model has to
relate to find the label (one word of sentence2; the two sentences' lengths; a word of each
sentence; the order of two noun phrases under a voice change; three features at once)."""

TARGET_TASKS: dict[str, str] = {
    "toy_nli": "pair_classification",
    "toy_ner": "tagging",
    "toy_mc": "multiple_choice",
    "toy_qa": "extractive_qa",
    "toy_retrieval": "retrieval",
}
"""Target task name -> task kind (one toy target per kind; the last three are built by
:func:`harness.data.toy.targets.build_kind_task`)."""

NLI_LABELS: tuple[str, ...] = ("entailment", "neutral", "contradiction")
NER_LABELS: tuple[str, ...] = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG")
TASK_LABELS: dict[str, tuple[str, ...]] = {
    "toy_negation": ("same", "negated"),
    "toy_lexical": ("same", "different"),
    "toy_extension": ("entailment", "neutral"),
    "toy_roles": ("same_roles", "swapped_roles"),
    "toy_relational": ("same_event", "different_event"),
    "toy_compositional": ("entailment", "contradiction"),
    "toy_nli": NLI_LABELS,
    "toy_ner": NER_LABELS,
    "toy_mc": ("0", "1"),  # index of the right choice
    "toy_qa": (),
    "toy_retrieval": (),
}
"""Ordered label set of every toy task (for ``toy_ner``: the tag set)."""

NOISE_PERMILLE: dict[str, int] = {
    "toy_negation": 0,
    "toy_lexical": 0,
    "toy_extension": 0,
    "toy_relational": 50,
    "toy_roles": 0,
    "toy_compositional": 150,
}
LABEL_NOISE: dict[str, float] = {task: p / 1000 for task, p in NOISE_PERMILLE.items()}
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


def _subseed(seed: int, *parts: str) -> int:
    """A 64-bit seed derived from ``seed`` and ``parts`` by SHA-256 (stable everywhere)."""
    text = "\x1f".join([str(seed), *parts])
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def seeded_rng(seed: int, *parts: str) -> random.Random:
    """A ``random.Random`` seeded by :func:`_subseed` (one independent stream per ``parts``)."""
    return random.Random(_subseed(seed, *parts))


def check_config(config: ToyConfig) -> None:
    """Raise ``ValueError`` unless every size is a non-negative integer and the seed an integer."""
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
