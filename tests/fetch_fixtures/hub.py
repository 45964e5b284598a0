"""The Hugging Face Hub dataset repositories the task specs snapshot, in miniature.

:func:`build_hub_mirror` writes, for every ``(id, revision)`` a spec of
``harness/tasks/paper`` or ``harness/tasks/xtreme/{xnli,xquad}.yaml`` reads through a Hub
``source`` with a ``snapshot``, the folder ``<mirror>/hub/<owner>__<name>@<revision>/`` that
``harness fetch --from <mirror>`` copies in place of ``huggingface_hub.snapshot_download``:
the repository's files at that revision, with a few seeded rows per split.

Layouts (each checked against the real repository at the pinned revision; see REPOSITORIES):

* The Hub's "Convert dataset to Parquet" layout (what ``push_to_hub`` writes): a README.md
  whose YAML front matter holds ``dataset_info`` (features, ClassLabel names, split sizes) and
  ``configs`` (``data_files`` per split, as globs ``<dir>/<split>-*``), and the shards
  ``<dir>/<split>-NNNNN-of-NNNNN.parquet``, ``<dir>`` being the config name, or ``data`` for a
  repository with the single config ``default``.
* The ``refs/convert/parquet`` branch (Cosmos QA, whose main branch is a loading script only):
  no README (the converter removes it), ``<config>/<split>/NNNN.parquet``.

The Parquet files carry the ``huggingface`` schema metadata (the features) as the Hub's own
files do. Rows are in the real column schemas and encodings: ClassLabel indices (SNLI's -1 for
pairs without a gold label, GLUE's -1 in its unlabelled test split), SQuAD-style ``answers``
(``{"text": [...], "answer_start": [...]}``, character offsets that hold in their context,
empty lists for SQuAD 2.0's unanswerable questions), CommonsenseQA's nested ``choices``,
HellaSwag's ``endings`` list and string labels, Cosmos QA's ``answer0..3`` and int label. The
text is made of small per-language vocabularies in the languages' scripts (Chinese and Thai
without spaces), so offsets are character offsets into non-ASCII text.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Row = dict[str, Any]
Schema = list[tuple[str, Any]]
"""Column name and type: a dtype (``"string"``, ``"int32"``), ``("class", names)``,
``("seq", dtype)``, ``("seq", Schema)`` (a sequence of records: a record of lists),
``("translation", languages)``, ``("translation_variable", languages)``."""

NLI = ["entailment", "neutral", "contradiction"]
XNLI_LANGUAGES = ["ar", "bg", "de", "el", "en", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur",
                  "vi", "zh"]  # fmt: skip
XQUAD_LANGUAGES = ["ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh"]

WORDS: dict[str, str] = {
    "en": "river city old bridge market children walked near quiet morning light summer",
    "de": "Fluss Stadt alte Brücke Markt Kinder gingen nahe ruhigen Morgen Licht Sommer",
    "fr": "rivière ville vieux pont marché enfants marchaient près calme matin lumière été",
    "es": "río ciudad viejo puente mercado niños caminaban cerca tranquila mañana luz verano",
    "ar": "النهر المدينة الجسر القديم السوق الأطفال مشوا قرب هادئ الصباح الضوء الصيف",
    "bg": "реката градът стария мост пазар децата вървяха близо тихо сутрин светлина лято",
    "el": "ποταμός πόλη παλιά γέφυρα αγορά παιδιά περπάτησαν κοντά ήσυχο πρωί φως καλοκαίρι",
    "hi": "नदी शहर पुराना पुल बाज़ार बच्चे चले पास शांत सुबह रोशनी गर्मी",
    "ro": "râul orașul podul vechi piața copiii mergeau aproape liniștit dimineața lumina vara",
    "ru": "река город старый мост рынок дети шли рядом тихое утро свет лето",
    "sw": "mto mji daraja zamani soko watoto walitembea karibu kimya asubuhi mwanga kiangazi",
    "th": "แม่น้ำ เมือง สะพาน เก่า ตลาด เด็ก เดิน ใกล้ เงียบ ตอนเช้า แสง ฤดูร้อน",
    "tr": "nehir şehir eski köprü pazar çocuklar yürüdü yakın sessiz sabah ışık yaz",  # noqa: RUF001
    "ur": "دریا شہر پرانا پل بازار بچے چلے قریب خاموش صبح روشنی گرمی",
    "vi": "sông phố cầu cũ chợ trẻ đi gần yên sáng ánh hè",
    "zh": "河流 城市 古老 桥梁 市场 孩子们 走过 附近 安静 早晨 光线 夏天",
}
JOIN = {"th": "", "zh": ""}  # no spaces between words
END = {"zh": "。", "hi": "।", "th": ""}  # sentence end


# --- text ------------------------------------------------------------------------------------


def _words(rng: random.Random, language: str, n: int) -> list[str]:
    vocabulary = WORDS[language].split()
    return [rng.choice(vocabulary) for _ in range(n)]


def _sentence(rng: random.Random, language: str = "en", n: int = 6) -> str:
    text = JOIN.get(language, " ").join(_words(rng, language, n))
    text = text[0].upper() + text[1:]
    return text + END.get(language, ".")


def _question(rng: random.Random, language: str = "en") -> str:
    return _sentence(rng, language, 5).rstrip(".。।") + "?"


def _passage(rng: random.Random, language: str) -> tuple[str, str, int]:
    """A context of three sentences, and an answer span (1-3 words of its second sentence)
    with its character offset."""
    sentences, answer, start = [], "", 0
    for k in range(3):
        words = _words(rng, language, rng.randint(5, 8))
        words[0] = words[0][0].upper() + words[0][1:]
        glue = JOIN.get(language, " ")
        if k == 1:
            first = rng.randrange(len(words) - 3)
            span = words[first : first + rng.randint(1, 3)]
            answer = glue.join(span)
            before = glue.join(words[:first]) + (glue if first else "")
            start = sum(len(s) + len(" ") for s in sentences) + len(before)
        sentences.append(glue.join(words) + END.get(language, "."))
    return " ".join(sentences), answer, start


def _hex(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(4 * digits):0{digits}x}"


def _upper_id(rng: random.Random, n: int = 30) -> str:
    return "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(n))


def _cycle(values: list[Any], n: int) -> list[Any]:
    return [values[i % len(values)] for i in range(n)]


# --- rows per dataset: (rng, split, n, language) -> rows --------------------------------------


def _nli_rows(rng: random.Random, labels: list[int], language: str = "en") -> list[Row]:
    return [
        {
            "premise": _sentence(rng, language, 8),
            "hypothesis": _sentence(rng, language, 5),
            "label": label,
        }
        for label in labels
    ]


def _parses(text: str) -> tuple[str, str]:
    tokens = [*text.rstrip(".").split(), "."]
    binary = "( " + " ".join(f"( {t} )" for t in tokens[:-1]) + " . )"
    tree = "(ROOT (S " + " ".join(f"(NN {t})" for t in tokens[:-1]) + " (. .)))"
    return binary, tree


def multi_nli(rng: random.Random, split: str, n: int, language: str) -> list[Row]:
    genres = (
        ["facetoface", "letters", "nineeleven", "oup", "verbatim"]
        if split == "validation_mismatched"
        else ["fiction", "government", "slate", "telephone", "travel"]
    )
    rows = []
    for i, row in enumerate(_nli_rows(rng, _cycle([0, 1, 2], n))):
        prompt = rng.randint(1, 150000)
        p_binary, p_parse = _parses(row["premise"])
        h_binary, h_parse = _parses(row["hypothesis"])
        rows.append(
            {
                "promptID": prompt,
                "pairID": f"{prompt}{'enc'[row['label']]}",
                "premise": row["premise"],
                "premise_binary_parse": p_binary,
                "premise_parse": p_parse,
                "hypothesis": row["hypothesis"],
                "hypothesis_binary_parse": h_binary,
                "hypothesis_parse": h_parse,
                "genre": genres[i % len(genres)],
                "label": row["label"],
            }
        )
    return rows


def xnli(rng: random.Random, split: str, n: int, language: str) -> list[Row]:
    return _nli_rows(rng, _cycle([0, 1, 2], n), language)


def xnli_all(rng: random.Random, split: str, n: int, language: str) -> list[Row]:
    return [
        {
            "premise": {lang: _sentence(rng, lang, 8) for lang in XNLI_LANGUAGES},
            "hypothesis": {lang: _sentence(rng, lang, 5) for lang in XNLI_LANGUAGES},
            "label": label,
        }
        for label in _cycle([0, 1, 2], n)
    ]


def anli(rng: random.Random, split: str, n: int, language: str) -> list[Row]:
    rows = []
    for row in _nli_rows(rng, _cycle([0, 1, 2], n)):
        uid = _hex(rng, 32)
        uid = f"{uid[:8]}-{uid[8:12]}-{uid[12:16]}-{uid[16:20]}-{uid[20:]}"
        reason = "" if split.startswith("train") else _sentence(rng, "en", 7)
        rows.append({"uid": uid, **row, "reason": reason})
    return rows


def snli(rng: random.Random, split: str, n: int, language: str) -> list[Row]:
    return _nli_rows(rng, _cycle([0, 1, 2, -1], n))  # -1: no gold label


def glue_qqp(rng: random.Random, split: str, n: int, language: str) -> list[Row]:
    labels = [-1] * n if split == "test" else _cycle([0, 1], n)
    return [
        {"question1": _question(rng), "question2": _question(rng), "label": label, "idx": i}
        for i, label in enumerate(labels)
    ]


def _squad(
    rng: random.Random, split: str, n: int, language: str, unanswerable: bool = False
) -> list[Row]:
    rows, title = [], ""
    for i in range(n):
        if i % 2 == 0:  # two questions per paragraph
            title = "_".join(w.capitalize() for w in _words(rng, "en", 2))
            context, answer, start = _passage(rng, language)
        if unanswerable and i % 3 == 2:
            answers: dict[str, list[Any]] = {"text": [], "answer_start": []}
        elif split == "validation" and language == "en":  # several annotators, as in dev
            first = answer.split(" ")[0]
            answers = {"text": [answer, first, answer], "answer_start": [start, start, start]}
        else:
            answers = {"text": [answer], "answer_start": [start]}
        rows.append(
            {
                "id": _hex(rng, 24),
                "title": title,
                "context": context,
                "question": _question(rng, language),
                "answers": answers,
            }
        )
    return rows


def squad(rng: random.Random, split: str, n: int, language: str) -> list[Row]:
    return _squad(rng, split, n, language)


def squad_v2(rng: random.Random, split: str, n: int, language: str) -> list[Row]:
    return _squad(rng, split, n, language, unanswerable=True)


def xquad(rng: random.Random, split: str, n: int, language: str) -> list[Row]:
    ids = random.Random("xquad ids")  # the same question ids in every language, as in XQuAD
    rows = _squad(rng, "train", n, language)  # one answer per question
    for row in rows:
        row["id"] = _hex(ids, 24)
        del row["title"]
    return rows


def hellaswag(rng: random.Random, split: str, n: int, language: str) -> list[Row]:
    rows = []
    labels = [""] * n if split == "test" else [str(x) for x in _cycle([0, 1, 2, 3], n)]
    for i, label in enumerate(labels):
        ctx_a = _sentence(rng, "en", 9)
        ctx_b = " ".join(_words(rng, "en", 4))
        wikihow = i % 2 == 1
        rows.append(
            {
                "ind": rng.randint(0, 50000),
                "activity_label": " ".join(w.capitalize() for w in _words(rng, "en", 3)),
                "ctx_a": ctx_a,
                "ctx_b": ctx_b,
                "ctx": f"{ctx_a} {ctx_b}",
                "endings": [" " + " ".join(_words(rng, "en", 5)) + "." for _ in range(4)],
                "source_id": f"wikihow~{rng.randint(1, 99999)}"
                if wikihow
                else f"activitynet~v_{_upper_id(rng, 11)}",
                "split": {"validation": "val"}.get(split, split),
                "split_type": "zeroshot" if i % 3 == 2 else "indomain",
                "label": label,
            }
        )
    return rows


def commonsense_qa(rng: random.Random, split: str, n: int, language: str) -> list[Row]:
    keys = [""] * n if split == "test" else _cycle(list("ABCDE"), n)
    return [
        {
            "id": _hex(rng, 32),
            "question": _question(rng),
            "question_concept": _words(rng, "en", 1)[0],
            "choices": {
                "label": list("ABCDE"),
                "text": [" ".join(_words(rng, "en", 2)) for _ in range(5)],
            },
            "answerKey": key,
        }
        for key in keys
    ]


def cosmos_qa(rng: random.Random, split: str, n: int, language: str) -> list[Row]:
    labels = [-1] * n if split == "test" else _cycle([0, 1, 2, 3], n)
    return [
        {
            "id": f"{_upper_id(rng)}##{_upper_id(rng)}##q{i % 3 + 1}_a1",
            "context": " ".join(_sentence(rng, "en", 7) for _ in range(3)),
            "question": _question(rng),
            **{f"answer{k}": _sentence(rng, "en", 6) for k in range(4)},
            "label": label,
        }
        for i, label in enumerate(labels)
    ]


# --- the repositories ---------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    name: str
    schema: Schema
    rows: Callable[[random.Random, str, int, str], list[Row]]
    splits: dict[str, int]
    """Split -> number of shards (the real repository's, for a sharded split)."""
    language: str = "en"
    minimum: int = 1
    """Rows per split at least (every class once, SNLI's -1 too)."""


@dataclass(frozen=True)
class Repository:
    id: str
    revision: str
    configs: list[Config]
    converted: bool = False
    """The ``refs/convert/parquet`` branch: ``<config>/<split>/NNNN.parquet``, no README."""
    card: dict[str, Any] = field(default_factory=dict)
    """Dataset card metadata besides ``dataset_info`` and ``configs``."""
    default: bool = False
    """The card marks its (only) config ``default: true``."""
    legacy_infos: bool = False
    """The repository still holds the legacy ``dataset_infos.json`` next to README.md."""

    @property
    def folder(self) -> str:
        return f"{self.id.replace('/', '__')}@{self.revision}"


NLI_SCHEMA: Schema = [("premise", "string"), ("hypothesis", "string"), ("label", ("class", NLI))]
SQUAD_SCHEMA: Schema = [
    ("id", "string"),
    ("title", "string"),
    ("context", "string"),
    ("question", "string"),
    ("answers", ("seq", [("text", "string"), ("answer_start", "int32")])),
]
MNLI_SCHEMA: Schema = [
    ("promptID", "int32"),
    ("pairID", "string"),
    ("premise", "string"),
    ("premise_binary_parse", "string"),
    ("premise_parse", "string"),
    ("hypothesis", "string"),
    ("hypothesis_binary_parse", "string"),
    ("hypothesis_parse", "string"),
    ("genre", "string"),
    ("label", ("class", NLI)),
]
TVT = {"train": 1, "validation": 1, "test": 1}

REPOSITORIES: list[Repository] = [
    # main at da70db2 "Convert dataset to Parquet (#5)": data/{split}-00000-of-00001.parquet
    Repository(
        "nyu-mll/multi_nli",
        "da70db2af9d09693783c3320c4249840212ee221",
        [
            Config(
                "default",
                MNLI_SCHEMA,
                multi_nli,
                {"train": 1, "validation_matched": 1, "validation_mismatched": 1},
                minimum=3,
            )
        ],
        card={"language": ["en"], "pretty_name": "Multi-Genre Natural Language Inference"},
    ),
    # main at b8dd5d7 "Convert dataset to Parquet (#10)": {config}/{split}-NNNNN-of-NNNNN.parquet
    # per language, and all_languages (train in four shards)
    Repository(
        "facebook/xnli",
        "b8dd5d7af51114dbda02c0e3f6133f332186418e",
        [
            Config(
                "all_languages",
                [
                    ("premise", ("translation", XNLI_LANGUAGES)),
                    ("hypothesis", ("translation_variable", XNLI_LANGUAGES)),
                    ("label", ("class", NLI)),
                ],
                xnli_all,
                {"train": 4, "test": 1, "validation": 1},
                minimum=3,
            ),
            *(Config(lang, NLI_SCHEMA, xnli, TVT, lang, 3) for lang in XNLI_LANGUAGES),
        ],
        card={
            "language": XNLI_LANGUAGES,
            "pretty_name": "Cross-lingual Natural Language Inference",
        },
    ),
    # main at 8e4813d "Convert dataset to Parquet (#5)": plain_text/{split}_r{n}-00000-of-00001
    Repository(
        "facebook/anli",
        "8e4813d81f46d313dac7892e1c28076917cfcdf9",
        [
            Config(
                "plain_text",
                [("uid", "string"), *NLI_SCHEMA, ("reason", "string")],
                anli,
                {f"{part}_r{r}": 1 for r in (1, 2, 3) for part in ("train", "dev", "test")},
                minimum=3,
            )
        ],
        card={"language": ["en"], "pretty_name": "Adversarial NLI"},
    ),
    # main at bcdcba7: {config}/{split}-00000-of-00001.parquet (as hf://datasets/nyu-mll/
    # glue@bcdcba7.../mrpc/train-00000-of-00001.parquet); only the qqp config is written here
    Repository(
        "nyu-mll/glue",
        "bcdcba79d07bc864c1c254ccfcedcce55bcc9a8c",
        [
            Config(
                "qqp",
                [
                    ("question1", "string"),
                    ("question2", "string"),
                    ("label", ("class", ["not_duplicate", "duplicate"])),
                    ("idx", "int32"),
                ],
                glue_qqp,
                TVT,
                minimum=2,
            )
        ],
        card={
            "language": ["en"],
            "pretty_name": "GLUE (General Language Understanding Evaluation benchmark)",
        },
    ),
    # main at cdb5c3d "Convert dataset to Parquet (#6)": plain_text/{test,train,validation}-...
    Repository(
        "stanfordnlp/snli",
        "cdb5c3d5eed6ead6e5a341c8e56e669bb666725b",
        [
            Config(
                "plain_text", NLI_SCHEMA, snli, {"test": 1, "validation": 1, "train": 1}, minimum=4
            )
        ],
        card={"language": ["en"], "pretty_name": "Stanford Natural Language Inference"},
    ),
    # main at 7b6d24c "Update dataset card (#8)": configs plain_text/train-*, validation-*
    Repository(
        "rajpurkar/squad",
        "7b6d24c440a36b6815f21b70d25016731768db1f",
        [Config("plain_text", SQUAD_SCHEMA, squad, {"train": 1, "validation": 1})],
        card={"language": ["en"], "pretty_name": "SQuAD"},
        default=True,
    ),
    # main at 3ffb306: configs squad_v2/train-*, squad_v2/validation-*
    Repository(
        "rajpurkar/squad_v2",
        "3ffb306f725f7d2ce8394bc1873b24868140c412",
        [Config("squad_v2", SQUAD_SCHEMA, squad_v2, {"train": 1, "validation": 1})],
        card={"language": ["en"], "pretty_name": "SQuAD2.0"},
        default=True,
    ),
    # main at 218ec52 (parquet, no loading script): data/{split}-00000-of-00001.parquet; the
    # legacy dataset_infos.json the community Parquet conversion (9c75cc0) kept is still in the
    # latest tree seen (049e808 "Delete loading script"), so it is kept here too
    Repository(
        "Rowan/hellaswag",
        "218ec52e09a7e7462a5400043bb9a69a41d06b76",
        [
            Config(
                "default",
                [
                    ("ind", "int32"),
                    ("activity_label", "string"),
                    ("ctx_a", "string"),
                    ("ctx_b", "string"),
                    ("ctx", "string"),
                    ("endings", ("seq", "string")),
                    ("source_id", "string"),
                    ("split", "string"),
                    ("split_type", "string"),
                    ("label", "string"),
                ],
                hellaswag,
                TVT,
                minimum=4,
            )
        ],
        card={"language": ["en"]},
        legacy_infos=True,
    ),
    # main at 94630fe: data/{train,validation,test}-00000-of-00001.parquet
    Repository(
        "tau/commonsense_qa",
        "94630fe30dad47192a8546eb75f094926d47e155",
        [
            Config(
                "default",
                [
                    ("id", "string"),
                    ("question", "string"),
                    ("question_concept", "string"),
                    ("choices", ("seq", [("label", "string"), ("text", "string")])),
                    ("answerKey", "string"),
                ],
                commonsense_qa,
                TVT,
                minimum=5,
            )
        ],
        card={"language": ["en"], "pretty_name": "CommonsenseQA"},
    ),
    # refs/convert/parquet at ed50fe8 (main is cosmos_qa.py only): default/{split}/0000.parquet;
    # the features of cosmos_qa.py (label: int32, -1 in the unlabelled test split)
    Repository(
        "allenai/cosmos_qa",
        "ed50fe83db62b355759053b1cd5eef344ee371e0",
        [
            Config(
                "default",
                [
                    ("id", "string"),
                    ("context", "string"),
                    ("question", "string"),
                    *((f"answer{k}", "string") for k in range(4)),
                    ("label", "int32"),
                ],
                cosmos_qa,
                {"train": 1, "test": 1, "validation": 1},
                minimum=4,
            )
        ],
        converted=True,
    ),
    # main at 51adfef: xquad.{lang}/validation-00000-of-00001.parquet, twelve languages
    Repository(
        "google/xquad",
        "51adfef1c1287aab1d2d91b5bead9bcfb9c68583",
        [
            Config(
                f"xquad.{lang}",
                [c for c in SQUAD_SCHEMA if c[0] != "title"],
                xquad,
                {"validation": 1},
                lang,
            )
            for lang in XQUAD_LANGUAGES
        ],
        card={"language": XQUAD_LANGUAGES, "pretty_name": "XQuAD"},
    ),
]


# --- writing ---------------------------------------------------------------------------------


def _feature(kind: Any) -> Any:
    import datasets

    if isinstance(kind, str):
        return datasets.Value(kind)
    tag, arg = kind
    if tag == "class":
        return datasets.ClassLabel(names=arg)
    if tag == "seq":
        inner = datasets.Value(arg) if isinstance(arg, str) else {n: _feature(k) for n, k in arg}
        return datasets.Sequence(inner)
    if tag == "translation":
        return datasets.Translation(languages=arg)
    if tag == "translation_variable":
        return datasets.TranslationVariableLanguages(languages=arg)
    raise ValueError(kind)


def features(schema: Schema) -> Any:
    """The ``datasets.Features`` of ``schema``."""
    import datasets

    return datasets.Features({name: _feature(kind) for name, kind in schema})


def _card_feature(name: str, kind: Any) -> dict[str, Any]:
    """One feature as the cards of these repositories write it (``datasets`` 2.x YAML)."""
    if isinstance(kind, str):
        return {"name": name, "dtype": kind}
    tag, arg = kind
    if tag == "class":
        names = {str(i): label for i, label in enumerate(arg)}
        return {"name": name, "dtype": {"class_label": {"names": names}}}
    if tag == "seq":
        inner = arg if isinstance(arg, str) else [_card_feature(n, k) for n, k in arg]
        return {"name": name, "sequence": inner}
    if tag == "translation":
        return {"name": name, "dtype": {"translation": {"languages": list(arg)}}}
    if tag == "translation_variable":
        spec = {"languages": list(arg), "num_languages": len(arg)}
        return {"name": name, "dtype": {"translation_variable_languages": spec}}
    raise ValueError(kind)


def _shard_paths(repo: Repository, config: Config, split: str, shards: int) -> list[str]:
    if repo.converted:
        return [f"{config.name}/{split}/{i:04d}.parquet" for i in range(shards)]
    folder = "data" if config.name == "default" else config.name
    return [f"{folder}/{split}-{i:05d}-of-{shards:05d}.parquet" for i in range(shards)]


def _write_parquet(rows: list[Row], feats: Any, path: Path) -> int:
    """Write ``rows`` as the Hub writes a shard (the features in the ``huggingface`` schema
    metadata); the Arrow size of the rows."""
    import datasets
    import pyarrow.parquet as pq

    table = datasets.Dataset.from_list(rows, features=feats).data.table
    table = table.replace_schema_metadata(feats.arrow_schema.metadata)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return int(table.nbytes)


def _write_repository(repo: Repository, target: Path, rows_per_split: int) -> dict[str, Any]:
    infos, configs, legacy = [], [], {}
    written: dict[str, dict[str, int]] = {}
    files: list[str] = []
    for config in repo.configs:
        feats = features(config.schema)
        split_infos, data_files, download = [], [], 0
        written[config.name] = {}
        for split, shards in config.splits.items():
            n = max(rows_per_split, config.minimum, shards)
            rng = random.Random(f"{repo.id}@{repo.revision}/{config.name}/{split}")
            rows = config.rows(rng, split, n, config.language)
            paths = _shard_paths(repo, config, split, shards)
            size = 0
            for k, rel in enumerate(paths):  # rows dealt to the shards in order
                part = rows[k * n // shards : (k + 1) * n // shards]
                size += _write_parquet(part, feats, target / rel)
                download += (target / rel).stat().st_size
            files += paths
            written[config.name][split] = len(rows)
            split_infos.append({"name": split, "num_bytes": size, "num_examples": len(rows)})
            data_files.append({"split": split, "path": paths[0].rsplit("-", 3)[0] + "-*"})
        info: dict[str, Any] = {}
        if config.name != "default":
            info["config_name"] = config.name
        info["features"] = [_card_feature(name, kind) for name, kind in config.schema]
        info["splits"] = split_infos
        info["download_size"] = download
        info["dataset_size"] = sum(s["num_bytes"] for s in split_infos)
        infos.append(info)
        entry: dict[str, Any] = {"config_name": config.name, "data_files": data_files}
        if repo.default:
            entry["default"] = True
        configs.append(entry)
        legacy[config.name] = {
            "features": feats.to_dict(),
            "config_name": config.name,
            "splits": {
                s["name"]: {**s, "dataset_name": repo.id.split("/")[1]} for s in split_infos
            },
            "download_size": download,
            "dataset_size": info["dataset_size"],
        }
    (target / ".gitattributes").write_text("*.parquet filter=lfs diff=lfs merge=lfs -text\n")
    files.append(".gitattributes")
    if not repo.converted:
        meta = {
            **repo.card,
            "dataset_info": infos[0] if len(infos) == 1 else infos,
            "configs": configs,
        }
        front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
        name = repo.id.split("/")[1]
        readme = f"---\n{front}---\n\n# Dataset Card for {name}\n\nA miniature copy for tests.\n"
        (target / "README.md").write_text(readme, encoding="utf-8")
        files.append("README.md")
    if repo.legacy_infos:
        (target / "dataset_infos.json").write_text(json.dumps(legacy), encoding="utf-8")
        files.append("dataset_infos.json")
    return {"folder": f"hub/{repo.folder}", "configs": written, "files": sorted(files)}


def repositories() -> list[tuple[str, str]]:
    """The ``(id, revision)`` pairs the mirror holds."""
    return [(repo.id, repo.revision) for repo in REPOSITORIES]


def build_hub_mirror(mirror: Path, rows_per_split: int = 6) -> dict[str, dict]:
    """Write ``mirror/hub/<owner>__<name>@<revision>/`` for every repository of
    :data:`REPOSITORIES`; return, per ``id@revision``, its folder (relative to ``mirror``), the
    rows written per config and split, and the files written."""
    described = {}
    for repo in REPOSITORIES:
        target = mirror / "hub" / repo.folder
        target.mkdir(parents=True, exist_ok=True)
        described[f"{repo.id}@{repo.revision}"] = _write_repository(repo, target, rows_per_split)
    return described
