"""The task-kind protocol: everything that depends on a task's kind, in one interface.

A *kind* (sequence classification, tagging, multiple choice, extractive QA, retrieval, ...)
decides what a task's examples hold, how they are checked, which head is trained on them, how
they become model inputs, how model outputs become predictions, and how predictions are
scored. :class:`TaskKind` declares all of it; each module of :mod:`harness.kinds` implements
it for one kind and :mod:`harness.kinds` registers it once. Every other module asks the
registry (``kinds.of(spec)``) and never branches on a kind's name.

The protocol, by concern:

* **fields**: :attr:`TaskKind.fields` (canonical example fields, in the order the featuriser
  reads them), :attr:`~TaskKind.field_types` (what each holds, for checks of submitted data),
  :attr:`~TaskKind.labelled` (examples carry a label of the spec's label set),
  :meth:`~TaskKind.check_example` (validate one canonical example), and which splits a task of
  the kind needs (:meth:`~TaskKind.required_splits`);
* **metrics**: :attr:`~TaskKind.primary_metrics` (a spec's ``metric`` is one of these; the
  first is the default), :attr:`~TaskKind.reported_metrics` (every metric a result file of the
  kind may hold), :meth:`~TaskKind.scored_languages`;
* **head**: :meth:`~TaskKind.head_class` (the Hugging Face ``AutoModelFor...`` class of
  single-task training), :meth:`~TaskKind.head_labels`, and for multi-task training
  :meth:`~TaskKind.shared_encoder_head` on a shared encoder, with the loss of a task's rows in
  a batch shared with other tasks (:attr:`~TaskKind.shares_batches`,
  :meth:`~TaskKind.shared_loss`) or the forward pass and loss of a batch of the task alone
  (:meth:`~TaskKind.shared_forward`);
* **featurise, collate**: :meth:`~TaskKind.featurize` (examples -> features),
  :meth:`~TaskKind.collate` (features -> a padded batch with labels);
* **decode, score**: :meth:`~TaskKind.logits` (model output -> logits per feature),
  :meth:`~TaskKind.decode` (logits -> one prediction per example), :meth:`~TaskKind.golds`,
  :meth:`~TaskKind.score` (corpus-level metrics) and :meth:`~TaskKind.example_stats`
  (per-example sufficient statistics, from which the analysis recomputes the metrics on any
  resample);
* **difficulty**: :attr:`~TaskKind.supports_pvi` and :meth:`~TaskKind.null_example`
  (pointwise V-information and dataset cartography need one label per example and a null
  input).

Heavy libraries (torch, transformers) are imported inside the methods that use them, so that
reading task specs, validating result files and serving the leaderboard never load them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from harness.errors import HarnessError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from harness.config import EvalParams, TrainParams
    from harness.tasks.spec import TaskSpec

Example = dict[str, Any]
"""One canonical example: the kind's fields plus ``id``."""
Batch = dict[str, "torch.Tensor"]
IGNORE_INDEX = -100
"""Label id the loss ignores (padding, sub-tokens after a word's first)."""

FieldType = Literal["text", "strings", "label", "answers"]
"""What a canonical field holds: a string, a list of strings, a label (a name of the spec's
label set, or its index), SQuAD-style answers."""


@dataclass
class Feature:
    """One model input: token ids, and a label id (sequence tasks) or per-token label ids."""

    input_ids: list[int]
    label: int | list[int]
    word_ids: list[int | None] | None = None
    """For tagging: the word index of every token (None for special tokens)."""
    example: int = 0
    """For tagging: the index of the sentence this window belongs to (several windows of a long
    sentence share it)."""


@dataclass(frozen=True)
class FeatureSettings:
    """Featurisation settings beyond ``max_length`` (extractive QA reads them; they are part of
    the feature cache key of the kinds that do)."""

    doc_stride: int = 128
    max_query_length: int = 64


@dataclass(frozen=True)
class EvalSettings:
    """Featurisation and decoding settings of an evaluation (the defaults of
    :class:`harness.config.EvalParams`; extractive QA reads them)."""

    doc_stride: int = 128
    max_query_length: int = 64
    max_answer_length: int = 30
    n_best: int = 20
    packing: int = 0
    """Predict on packed batches of rows this wide (``train.packing``; kinds that are
    :attr:`~TaskKind.packable`), 0: padded batches."""

    @classmethod
    def of(cls, tp: TrainParams, evaluation: EvalParams) -> EvalSettings:
        """A task's evaluation settings: its windows as it was trained (``tp``: max_length is
        passed separately, doc_stride and max_query_length here), as the reference scripts
        window a context the same way for training and prediction; the answer decoding from
        ``evaluation``."""
        return cls(
            doc_stride=tp.doc_stride,
            max_query_length=tp.max_query_length,
            max_answer_length=evaluation.max_answer_length,
            n_best=evaluation.n_best,
            packing=tp.packing,
        )

    @property
    def features(self) -> FeatureSettings:
        return FeatureSettings(self.doc_stride, self.max_query_length)


def feature_length(feature: Any) -> int:
    """Tokens of a feature: one sequence, or the sum over a multiple-choice feature's
    sequences (what sorting by length for prediction orders by)."""
    ids = feature.input_ids
    return sum(len(x) for x in ids) if ids and isinstance(ids[0], list) else len(ids)


def pad_sequences(features: Sequence[Feature], pad_id: int) -> Batch:
    """Pad a batch of one-sequence features to its own longest sequence (dynamic padding); the
    labels are a class per row, or per token (padded with :data:`IGNORE_INDEX`)."""
    import torch

    width = max(len(f.input_ids) for f in features)
    input_ids = torch.full((len(features), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(features), width), dtype=torch.long)
    token_level = isinstance(features[0].label, list)
    if token_level:
        labels = torch.full((len(features), width), IGNORE_INDEX, dtype=torch.long)
    else:
        labels = torch.empty(len(features), dtype=torch.long)
    for row, feature in enumerate(features):
        n = len(feature.input_ids)
        input_ids[row, :n] = torch.tensor(feature.input_ids, dtype=torch.long)
        attention[row, :n] = 1
        if isinstance(feature.label, list):
            labels[row, :n] = torch.tensor(feature.label, dtype=torch.long)
        else:
            labels[row] = feature.label
    return {"input_ids": input_ids, "attention_mask": attention, "labels": labels}


def head_attribute(model: Any, name: str) -> Any:
    """A module of a Hugging Face head model that packed batches call directly (its
    ``classifier``, ``dropout``); a clear error for a model built otherwise."""
    module = getattr(model, name, None)
    if module is None:
        raise HarnessError(
            f"Packed batches call the head model's '{name}', and this {type(model).__name__} "
            "has none (XLM-R and RoBERTa heads do); set packing: 0 for this encoder."
        )
    return module


def label_index(spec: TaskSpec, value: Any) -> Any:
    """A label given as a class index (as Hub datasets store them, in the order of the spec's
    labels) as its name; anything else unchanged."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(spec.labels):
        return spec.labels[value]
    return value


def argmax_labels(logits: Sequence[torch.Tensor], labels: Sequence[str]) -> list[str]:
    """The label of each row's highest logit (its index as text when the label set is
    shorter than the logits, as a multiple-choice head over more choices than labels)."""
    out = []
    for lg in logits:
        best = int(lg.argmax())
        out.append(labels[best] if best < len(labels) else str(best))
    return out


def accuracy_stats(
    predictions: Sequence[Any], golds: Sequence[Any]
) -> dict[str, list[list[float]]]:
    """``accuracy``: one row ``[correct]`` per example (the metric is their mean)."""
    return {
        "accuracy": [[float(str(p) == str(g))] for p, g in zip(predictions, golds, strict=True)]
    }


class TaskKind:
    """One task kind. Subclasses set the class attributes and override what differs; the
    defaults describe a labelled kind trained with a task head whose examples are scored on
    every language of the task."""

    name: str = ""
    fields: tuple[str, ...] = ()
    field_types: Mapping[str, FieldType] = {}
    labelled: bool = False
    primary_metrics: tuple[str, ...] = ()
    reported_metrics: frozenset[str] = frozenset()
    trainable: bool = True
    """Trained with a task head (phase 1, phase 2); retrieval is scored from the encoder."""
    fixed_label_set: bool = False
    """The head's size is the number of labels, so every English training stage of a target
    must use the task's label set (classification, tagging; not multiple choice or QA)."""
    every_label_in_train: bool = False
    """A submitted intermediate task must use every label of its label set in its train split
    (one label per example)."""
    supports_pvi: bool = False
    """Pointwise V-information and cartography apply (one label per example, a null input)."""
    multitask: bool = False
    """Can join a multi-task setting (:meth:`shared_encoder_head` builds its head)."""
    shares_batches: bool = False
    """Multi-task training: a row is one sequence with a class or a label per token, so rows of
    tasks of such kinds share batches (one encoder pass, each row scored by its task's head,
    :meth:`shared_loss`); the batches of any other task hold that task alone
    (:meth:`collate`, :meth:`shared_forward`)."""
    token_level: bool = False
    """Multi-task training: the labels are per token (else one per row, at position 0)."""
    packable: bool = False
    """Training and prediction on packed batches (``train.packing``,
    :mod:`harness.model.packing`): one sequence per feature, scored by a head over its states
    (:meth:`packed_head`) with :meth:`shared_loss`."""
    unanswerable: bool = False
    """Whether a spec of this kind may say ``unanswerable: true`` (examples without a gold
    answer, trained and scored as SQuAD v2.0 does)."""

    # ---- fields -------------------------------------------------------------------------

    def required_splits(self, role: str) -> list[str]:
        """The splits a task of this kind in ``role`` must name in its source."""
        return ["train", "dev"] + (["test"] if role == "target" else [])

    def train_language_scored(self, role: str) -> bool:
        """Whether a task's ``languages`` must include its ``train_language``."""
        return True

    def check_spec(self, spec: TaskSpec) -> None:
        """Kind-specific checks of a spec (raise ``ValueError`` with the fix)."""
        if self.labelled and len(spec.labels) < 2:
            raise ValueError(f"a {self.name} task needs at least 2 labels")
        if not self.labelled and spec.labels:
            raise ValueError(f"a {self.name} task has no label set: remove labels")
        if spec.unanswerable and not self.unanswerable:
            raise ValueError(f"unanswerable is for extractive_qa tasks, not {self.name}")

    def check_example(self, spec: TaskSpec, example: Example, where: str) -> None:
        """Validate one canonical example read from the source (labels given as indices are
        replaced by their names); raise :class:`HarnessError` naming ``where`` and the fix."""
        if "label" in example:
            example["label"] = label_index(spec, example["label"])
            if example["label"] not in set(spec.labels):
                raise HarnessError(
                    f"{where} has label {example['label']!r}, not one of the spec's labels "
                    f"{spec.labels}."
                )

    # ---- metrics ------------------------------------------------------------------------

    def scored_languages(self, spec: TaskSpec) -> list[str]:
        """The languages a result of ``spec`` scores (every language of the task)."""
        return list(spec.languages)

    # ---- head ---------------------------------------------------------------------------

    def head_class(self, spec: TaskSpec) -> Any:
        """The ``AutoModelFor...`` class of single-task training."""
        raise HarnessError(
            f"Task '{spec.name}' is of kind '{self.name}', which has no task head (heads exist "
            "for the trainable kinds); retrieval tasks are evaluated from the encoder. Leave it "
            "out of the training grid in params.yaml."
        )

    def head_labels(self, spec: TaskSpec) -> list[str]:
        """The head's outputs, by name (the spec's labels by default)."""
        return list(spec.labels)

    def shared_encoder_head(self, hidden: int, labels: int, dropout: float) -> nn.Module | None:
        """A head over a shared encoder's hidden states for multi-task training, or None when
        the kind cannot join a multi-task setting."""
        return None

    def shared_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Multi-task training, kinds that share batches (:attr:`shares_batches`): the mean
        loss of one task's rows of a batch, from its head's ``logits`` and its rows of the
        batch's ``labels`` (rows, width): per token (:attr:`token_level`), or the class at
        position 0."""
        from torch import nn

        loss_fn = nn.CrossEntropyLoss(ignore_index=IGNORE_INDEX, reduction="mean")
        if self.token_level:
            return loss_fn(logits.reshape(-1, logits.shape[-1]).float(), labels.reshape(-1))
        return loss_fn(logits.float(), labels[:, 0])

    def packed_head(self, model: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
        """Packed batches (:attr:`packable`): the single-task head model's own head as a
        function of per-sequence hidden states (sequences, positions, hidden): only the
        ``<s>`` state (positions 1) for a sequence-level kind, every token's for a token-level
        one. Returns (sequences, labels) or (sequences, positions, labels) logits."""
        raise HarnessError(
            f"Kind '{self.name}' cannot be trained on packed batches; set packing: 0 for it."
        )

    def shared_forward(self, encoder: nn.Module, head: nn.Module, batch: Batch) -> Any:
        """Multi-task training, kinds that do not share batches: the output of ``encoder`` and
        the task's ``head`` on a batch of one task (as :meth:`collate` builds it), with
        ``.loss`` (None without labels) and the logits :meth:`logits` reads."""
        raise HarnessError(
            f"Kind '{self.name}' has no multi-task forward pass of its own; it cannot join a "
            "multi-task setting."
        )

    # ---- featurise, collate -------------------------------------------------------------

    def check_trainable(self, spec: TaskSpec) -> None:
        if not self.trainable:
            raise HarnessError(
                f"Task '{spec.name}' is of kind '{self.name}', which cannot be trained or "
                "evaluated with a task head; retrieval targets are evaluated from the encoder. "
                "Leave it out of the training grid in params.yaml."
            )

    def featurize(
        self,
        spec: TaskSpec,
        examples: Sequence[Example],
        tokenizer: Any,
        max_length: int,
        settings: FeatureSettings,
    ) -> list[Any]:
        """Model inputs of ``examples`` (some kinds give several features to a long example);
        called for trainable kinds only (:func:`harness.data.cache.featurize`)."""
        raise NotImplementedError

    def feature_key(self, settings: FeatureSettings) -> dict[str, Any] | None:
        """The settings that change this kind's features (part of the feature cache key), or
        None when only ``max_length`` does."""
        return None

    def collate(self, features: Sequence[Any], pad_id: int) -> Batch:
        """A padded training batch of ``features``, labels included."""
        return pad_sequences(features, pad_id)

    # ---- decode, score ------------------------------------------------------------------

    def eval_max_length(self, tp: TrainParams, evaluation: EvalParams) -> int:
        """Tokens per evaluated sequence (``evaluation.max_length`` by default)."""
        return evaluation.max_length

    def logits(self, output: Any) -> torch.Tensor:
        """The logits of a batch from the head model's output."""
        return output.logits

    def decode(
        self,
        spec: TaskSpec,
        features: Sequence[Any],
        logits: Sequence[torch.Tensor],
        examples: Sequence[Example],
        settings: EvalSettings,
        language: str | None = None,
    ) -> list[Any]:
        """One prediction per example (a label by default), as the XTREME submission layout
        takes it; ``language``: the examples' language, for a kind whose decoding depends on
        it (extractive QA's Chinese answers)."""
        return argmax_labels(logits, spec.labels)

    def golds(self, examples: Sequence[Example]) -> list[Any]:
        return [ex["label"] for ex in examples]

    def score(
        self,
        spec: TaskSpec,
        predictions: Sequence[Any],
        golds: Sequence[Any],
        language: str | None = None,
    ) -> dict[str, float]:
        """Every reported metric of the predictions (fractions in [0, 1])."""
        from harness.metrics import accuracy

        return {"accuracy": accuracy([str(x) for x in predictions], [str(x) for x in golds])}

    def example_stats(
        self,
        spec: TaskSpec,
        predictions: Sequence[Any],
        golds: Sequence[Any],
        language: str | None = None,
    ) -> dict[str, list[list[float]]]:
        """Per metric, one row of sufficient statistics per example; the corpus-level metric
        is a function of their column sums (:func:`harness.results.stats.metric_of`)."""
        return accuracy_stats(predictions, golds)

    # ---- difficulty ---------------------------------------------------------------------

    def null_example(self, example: Example) -> Example:
        """The example with its input emptied and its label kept (V-information's null input)."""
        raise HarnessError(
            f"Pointwise V-information is defined here for one label per example; kind "
            f"'{self.name}' has no null input."
        )

    def __repr__(self) -> str:
        return f"<task kind {self.name}>"
