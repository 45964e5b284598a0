"""Task specifications: a YAML file validated by :class:`TaskSpec` (unknown fields are refused).

A spec names its kind (one of :func:`harness.kinds.names`); what a kind's examples hold, which
metrics it reports and which splits it needs come from the kind (:mod:`harness.kinds`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from harness import kinds
from harness.strict import no_bool_as_number

Role = Literal["intermediate", "target"]
XtremeGroup = Literal["classification", "tagging", "qa", "retrieval", "multi_choice"]

_NAME = re.compile(r"^[a-z][a-z0-9_]{1,63}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _no_bool_as_number(cls, data: Any) -> Any:
        return no_bool_as_number(cls, data)


LocalFormat = Literal["jsonl", "conllu", "panx", "squad_json", "bucc", "tatoeba", "mewslix", "tsv"]
"""``jsonl``: one JSON object per line. The others are the formats the raw data is distributed
in, read by :mod:`harness.data.readers`: ``conllu`` (Universal Dependencies, UPOS tags),
``panx`` (XTREME's WikiANN files, ``lang:token<TAB>tag``), ``squad_json`` (SQuAD v1.1 JSON:
XQuAD, MLQA, TyDiQA-GoldP, XQuAD-R), ``bucc`` (BUCC 2018 comparable corpora and gold pairs),
``tatoeba`` (XTREME's Tatoeba parallel files), ``mewslix`` (Mewsli-X JSONL), ``tsv`` (tab
separated with a header row, e.g. PAWS-X)."""


class LocalSource(_Strict):
    """Files on disk. ``files`` maps split -> file name under ``path``; ``{language}`` in a
    file name is replaced by the language code (``{language3}`` by its ISO 639-3 code as the
    Tatoeba files use it)."""

    type: Literal["local"]
    path: Path
    format: LocalFormat = "jsonl"
    files: dict[str, str]


class HubSource(_Strict):
    """A Hugging Face Hub dataset at a pinned revision. ``{language}`` in ``config`` is replaced
    by the language code; ``splits`` maps our split names to the dataset's."""

    type: Literal["hub"]
    id: str
    config: str | None = None
    revision: str = Field(min_length=7)
    splits: dict[str, str]
    snapshot: Path | None = None
    """The folder (relative to the repository) that ``harness fetch`` downloads the dataset
    repository into at ``revision``; the stages then read it from there, never from the
    network. ``None``: read through the Hugging Face cache (needs Hub access or a filled
    cache)."""


class BenchmarkEntry(_Strict):
    """A target task's place in one benchmark version (XTREME or XTREME-R)."""

    group: XtremeGroup
    languages: list[str] = Field(min_length=1)
    """The languages the version evaluates (its test languages)."""


class EnglishTraining(_Strict):
    """One stage of English training data for a target whose ``source`` holds only its
    evaluation data (XNLI is trained on MNLI, XQuAD on SQuAD v1.1, XCOPA on SIQA then COPA).
    :func:`training_spec` turns a stage into a task spec that the data loaders read."""

    name: str
    source: LocalSource | HubSource = Field(discriminator="type")
    columns: dict[str, str | list[str]] = Field(default_factory=dict)
    labels: list[str] = Field(default_factory=list)
    """The stage's label set where it differs from the task's (SIQA has three choices)."""
    value_map: dict[str, dict[str, str]] = Field(default_factory=dict)
    """The stage's own :attr:`TaskSpec.value_map` (a stage never inherits the task's)."""


class Upstream(_Strict):
    """Where data comes from, for people: Hub id/config/revision or a download URL, and notes
    (a revision is given only where a real commit was found; see ``note``)."""

    what: str
    hub_id: str | None = None
    config: str | None = None
    revision: str | None = None
    url: str | None = None
    note: str = ""


class FetchFile(_Strict):
    """One file of an official release, as its publisher distributes it (an archive is kept
    whole: the converter extracts what it needs)."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
    """The file's name in the release folder (``harness fetch --from DIR`` looks for it)."""
    url: str
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    """The official file's digest; ``null`` where the person who wrote the spec could not
    download it: the first fetch then records the digest it saw in ``<dataset>/FETCHED.json``
    and the DVC pin keeps it from then on."""
    manual: bool = False
    """No URL serves the file as the converter needs it (Mewsli-X's WikiNews text is restored
    by the publisher's script): the user supplies it in the mirror; ``url`` says how to make
    it."""
    note: str = ""


class Fetch(_Strict):
    """How ``harness fetch`` acquires one dataset: the release files, the converter that turns
    them into the layout ``source`` reads, and the example counts of the official release."""

    dataset: str = Field(pattern=r"^[A-Za-z0-9_]+(/[A-Za-z0-9_.-]+)+$")
    """The folder the converter writes, relative to the repository (``data/xtreme/udpos``: the
    ``source.path`` it feeds). One DVC pin per folder; tasks sharing a dataset, such as SQuAD
    v1.1, name the same folder and it is fetched once."""
    converter: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    """The module ``harness.fetch.converters.<converter>``."""
    files: list[FetchFile] = Field(min_length=1)
    counts: dict[str, int] = Field(default_factory=dict)
    """Examples per converted file (path relative to ``dataset``) in the official release:
    a fetch of files whose digests match checks its conversion against them."""


class Difficulty(_Strict):
    """Difficulty of an intermediate task set by construction (toy tasks)."""

    rank: int = Field(ge=1)
    label_noise: float = Field(ge=0, lt=1)
    rule: str


class TaskSpec(_Strict):
    name: str
    role: Role
    kind: str
    """One of the registered task kinds (:func:`harness.kinds.names`)."""
    description: str = ""
    source: LocalSource | HubSource = Field(discriminator="type")
    columns: dict[str, str | list[str]] = Field(default_factory=dict)
    """Canonical field -> source column, where they differ (for ``choices``: a list of source
    columns, one per choice, is also accepted). A dotted name (``choices.text``) reaches into a
    nested column; ``""`` leaves the field empty (a multiple-choice task without a context)."""
    value_map: dict[str, dict[str, str]] = Field(default_factory=dict)
    """Canonical field -> {source value -> text}: the field's values are replaced as they are
    read, and a value the map does not list is an error. XCOPA and COPA store the question as
    ``cause`` / ``effect``; the references read it as a question in words."""
    train_language: str = "en"
    languages: list[str] = Field(default_factory=lambda: ["en"])
    """Languages evaluated (targets: every language of the task, English included, except
    that a retrieval target may leave out the language it retrieves into, and a target
    trained on other English data (``english_training``) may have no English evaluation
    data: XCOPA's release has none)."""
    labels: list[str] = Field(default_factory=list)
    """The label set (classification, multiple choice: the choice labels, tagging: the tags);
    empty for extractive QA and retrieval."""
    skip_labels: list[str | int] = Field(default_factory=list)
    """Source label values whose rows are left out when reading (SNLI marks pairs without
    annotator agreement with -1)."""
    unanswerable: bool = False
    """Extractive QA: the data holds questions without an answer (empty ``answers`` lists,
    SQuAD v2.0). They are trained to point at ``<s>``, a prediction is empty where the ``<s>``
    span outscores every answer span, and EM/F1 follow SQuAD v2.0's evaluation. Otherwise an
    example without an answer is an error."""
    metric: str | None = None
    """Primary metric; defaults to the first metric of the kind."""
    xtreme_group: XtremeGroup | None = None
    difficulty: Difficulty | None = None
    benchmarks: dict[Literal["xtreme", "xtreme_r"], BenchmarkEntry] = Field(default_factory=dict)
    """Membership per benchmark version (targets of the paper profile)."""
    english_training: list[EnglishTraining] = Field(default_factory=list)
    """English training stages, in order, when ``source`` has no train split of its own."""
    upstream: list[Upstream] = Field(default_factory=list)
    fetch: list[Fetch] = Field(default_factory=list)
    """How ``harness fetch`` acquires the local-file data (Hub sources are snapshotted at
    their revisions without an entry here)."""

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        if value not in kinds.names():
            # reported as pydantic reports a Literal: the registered kinds are the choices
            names = [repr(name) for name in kinds.names()]
            expected = ", ".join(names[:-1]) + f" or {names[-1]}"
            raise PydanticCustomError(
                "literal_error", "Input should be {expected}", {"expected": expected}
            )
        return value

    @model_validator(mode="after")
    def _check(self) -> TaskSpec:
        if not _NAME.match(self.name):
            raise ValueError(
                "name must be 2-64 characters of lower-case letters, digits and '_', starting "
                f"with a letter (got {self.name!r})"
            )
        kind = kinds.get(self.kind)
        unknown = set(self.columns) - set(kind.fields)
        if unknown:
            raise ValueError(
                f"columns maps unknown fields {sorted(unknown)}; a {self.kind} task has "
                f"{list(kind.fields)}"
            )
        for field, column in self.columns.items():
            if isinstance(column, list) and field != "choices":
                raise ValueError(
                    f"columns.{field} must name one source column; only 'choices' takes a list"
                )
        kind.check_spec(self)
        if len(set(self.labels)) != len(self.labels):
            raise ValueError("labels lists a label twice")
        if self.metric is not None and self.metric not in kind.primary_metrics:
            raise ValueError(
                f"metric {self.metric!r} is not available for {self.kind}; choose one of "
                f"{list(kind.primary_metrics)}"
            )
        if self.role == "target" and self.xtreme_group is None:
            raise ValueError("a target task needs xtreme_group")
        english_elsewhere = self.role == "target" and bool(self.english_training)
        if (
            self.train_language not in self.languages
            and kind.train_language_scored(self.role)
            and not english_elsewhere
        ):
            raise ValueError("languages must include train_language")
        maps = [("value_map", self.value_map)]
        maps += [
            (f"english_training '{t.name}' value_map", t.value_map) for t in self.english_training
        ]
        for owner, value_map in maps:
            for field, mapping in value_map.items():
                if field not in kind.fields or kind.field_types.get(field) != "text":
                    texts = [f for f in kind.fields if kind.field_types.get(f) == "text"]
                    raise ValueError(
                        f"{owner} maps field {field!r}; a {self.kind} task maps only its text "
                        f"fields {texts}"
                    )
                if not mapping:
                    raise ValueError(f"{owner}.{field} lists no values")
        splits = self.source.files if isinstance(self.source, LocalSource) else self.source.splits
        needed = kind.required_splits(self.role)
        if self.english_training:
            # the evaluation source needs test only; every training stage needs train
            needed = ["test"] if self.role == "target" else []
            for stage in self.english_training:
                src = stage.source
                stage_splits = src.files if isinstance(src, LocalSource) else src.splits
                if "train" not in stage_splits:
                    raise ValueError(f"english_training '{stage.name}' does not name a train split")
        missing = [s for s in needed if s not in splits]
        if missing:
            raise ValueError(f"source does not name the split(s) {missing}")
        for version, entry in self.benchmarks.items():
            extra = sorted(set(entry.languages) - set(self.languages))
            if extra:
                raise ValueError(f"benchmarks.{version}.languages {extra} are not in languages")
        return self

    @property
    def primary_metric(self) -> str:
        return self.metric or kinds.get(self.kind).primary_metrics[0]

    @property
    def metrics(self) -> tuple[str, ...]:
        """The metrics the spec's ``metric`` may choose (the first is the default)."""
        return kinds.get(self.kind).primary_metrics

    @property
    def split_names(self) -> list[str]:
        """The splits the source names."""
        source = self.source
        return list(source.files if isinstance(source, LocalSource) else source.splits)

    def column(self, field: str) -> str | list[str]:
        return self.columns.get(field, field)


def training_spec(spec: TaskSpec, stage: int = -1) -> TaskSpec:
    """The task spec of one English training stage of ``spec`` (default: the last one, the
    stage right before evaluation), for the data loaders; ``spec`` itself when it trains on
    its own source."""
    if not spec.english_training:
        return spec
    train = spec.english_training[stage]
    return spec.model_copy(
        update={
            "source": train.source,
            "columns": train.columns or spec.columns,
            "labels": train.labels or spec.labels,
            "value_map": train.value_map,
            "english_training": [],
        }
    )
