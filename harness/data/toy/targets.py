"""The records of the target tasks, in English (train) and translated into every language
(dev and test, same ids and labels).

``toy_nli`` and ``toy_ner`` are built by :func:`build_target_task` itself; ``toy_mc``,
``toy_qa`` and ``toy_retrieval`` by :func:`build_kind_task` from the items of
:mod:`~harness.data.toy.mc`, :mod:`~harness.data.toy.qa` and
:mod:`~harness.data.toy.retrieval`. Each of these three draws from its own random streams
(``seeded_rng(seed, "items", task, split)``), so adding them left every other generated file
byte-for-byte unchanged.
"""

from __future__ import annotations

from harness.data.toy.config import LANGUAGES, TARGET_TASKS, ToyConfig
from harness.data.toy.items import Record, check_task, pair_items
from harness.data.toy.mc import mc_items
from harness.data.toy.ner import tagged_items
from harness.data.toy.nli import nli_pair
from harness.data.toy.qa import qa_items, qa_record
from harness.data.toy.retrieval import RETRIEVAL_LANGUAGES, retrieval_items
from harness.data.toy.world import ToyWorld

KIND_TASKS: dict[str, str] = {
    "toy_mc": "multiple_choice",
    "toy_qa": "extractive_qa",
    "toy_retrieval": "retrieval",
}
"""The toy target tasks built by :func:`build_kind_task`: name -> kind."""


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


def task_languages(task: str) -> list[str]:
    """Evaluation languages of a task built here."""
    return list(RETRIEVAL_LANGUAGES if task == "toy_retrieval" else LANGUAGES)


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
            items = mc_items(split, n, world, config.seed, seen)
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
                out[names[lang]] = [qa_record(world, item, lang) for item in qa]
        elif task == "toy_retrieval":
            pairs = retrieval_items(split, n, world, config.seed, seen)
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


def build_target_task(
    task: str, config: ToyConfig, world: ToyWorld | None = None
) -> dict[str, list[Record]]:
    """Records of a target task: ``"train"`` (English) and ``"dev.{lang}"``/``"test.{lang}"``
    for every language (translations of the same English items). ``toy_retrieval`` has no
    ``"train"`` and no English eval split (its targets are English)."""
    check_task(task, list(TARGET_TASKS))
    world = world or ToyWorld(config.seed)
    if TARGET_TASKS[task] not in ("pair_classification", "tagging"):
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
            tagged = tagged_items(task, split, n, world, config.seed, seen)
            for lang in langs:
                rows: list[Record] = []
                for i, c in tagged:
                    pairs = world.tokens(c, lang)
                    rows.append(
                        {"id": i, "tokens": [w for w, _ in pairs], "tags": [t for _, t in pairs]}
                    )
                out[split if split == "train" else f"{split}.{lang}"] = rows
        else:
            items = pair_items(task, split, n, world, config.seed, seen, nli_pair)
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
