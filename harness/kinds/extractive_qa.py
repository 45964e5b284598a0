"""Extractive QA as the reference scripts (``run_qa.py``, XTREME's ``run_squad.py``) do it.

Featurisation: question first (cut to ``max_query_length`` tokens), context second; a context
longer than the window is split by the fast tokenizer's overflow into windows of at most
``max_length`` tokens, consecutive windows sharing ``doc_stride`` tokens. A training window
that holds the whole (first) gold answer points its start and end at those tokens; one that
does not points both at position 0 (``<s>``, the CLS token).

Decoding (:func:`best_span`): in every window of an example, the ``n_best`` highest start and
end logits among the *context* tokens are paired (end >= start, at most ``max_answer_length``
tokens); the span with the highest start + end logit over all windows wins (ties: the earlier
window, then the earlier start, then the shorter span). The answer is the context's characters
from the start token's first to the end token's last character, without surrounding whitespace
(a SentencePiece token's offsets include the space before a word).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from harness.errors import HarnessError
from harness.kinds.base import Batch, EvalSettings, Example, FeatureSettings, TaskKind

if TYPE_CHECKING:
    import torch
    from torch import nn

    from harness.config import EvalParams, TrainParams
    from harness.metrics.qa import Normalisation
    from harness.tasks.spec import TaskSpec

SPECIAL_TOKENS_IN_PAIR = 4
"""XLM-R's pair format: ``<s> question </s></s> context </s>``."""


@dataclass
class QAFeature:
    input_ids: list[int]
    start: int
    """Start token of the gold answer in this window; 0 (``<s>``) when it is not inside."""
    end: int
    example: int
    """Index of the example this window belongs to."""
    offsets: list[tuple[int, int] | None] = field(default_factory=list)
    """Character span in the context of each token; None for question and special tokens."""


def _answer(example: Example, where: str, unanswerable: bool = False) -> tuple[int, int] | None:
    """Character span of the first gold answer, checked against the context; None for an
    unanswerable question (no gold answer) of a task whose spec allows them."""
    answers = example.get("answers") or {}
    texts, starts = answers.get("text") or [], answers.get("answer_start") or []
    if not texts:
        if unanswerable:
            return None
        raise HarnessError(
            f"{where} has no gold answer. If this is a test file whose answers were removed "
            "(XTREME's download script blanks the test answers of its QA tasks), it cannot be "
            "scored: use the release with answers (`harness fetch` keeps them). Unanswerable "
            "questions (SQuAD v2.0) need 'unanswerable: true' in the task's spec; otherwise "
            "leave them out of the data."
        )
    text, start = str(texts[0]), starts[0]
    context = str(example["context"])
    if (
        not isinstance(start, int)
        or isinstance(start, bool)
        or context[start : start + len(text)] != text
    ):
        found = context.find(text)
        hint = f" (the text occurs at {found})" if found >= 0 else " (the text is not in it)"
        raise HarnessError(
            f"{where}: answer {text!r} does not start at character {start!r} of the context"
            f"{hint}. Fix answer_start in the data (SQuAD format counts characters, not bytes "
            "or tokens)."
        )
    return start, start + len(text)


def _cut_question(question: str, tokenizer: Any, max_query_length: int) -> str:
    encoded = tokenizer(question, add_special_tokens=False, return_offsets_mapping=True)
    offsets = encoded["offset_mapping"]
    if len(offsets) <= max_query_length:
        return question
    return question[: offsets[max_query_length - 1][1]]


def featurize_qa(
    examples: Sequence[Example],
    tokenizer: Any,
    max_length: int,
    doc_stride: int,
    max_query_length: int,
    unanswerable: bool = False,
) -> list[QAFeature]:
    """The windows of every example (``doc_stride`` tokens of overlap), each with the gold span's
    tokens, or ``<s>`` (0, 0) where the answer is not inside the window or there is none
    (``unanswerable``: SQuAD v2.0's questions without an answer are trained to point there)."""
    room = max_length - max_query_length - SPECIAL_TOKENS_IN_PAIR
    if room < 2:
        raise HarnessError(
            f"max_length {max_length} leaves no room for the context after a question of up to "
            f"max_query_length {max_query_length} tokens: raise max_length above "
            f"{max_query_length + SPECIAL_TOKENS_IN_PAIR + 1} or lower max_query_length (both in "
            "the task's phase1/phase2 and evaluation settings of params.yaml)."
        )
    if doc_stride >= room:
        raise HarnessError(
            f"doc_stride {doc_stride} leaves no new context per window with max_length "
            f"{max_length} and max_query_length {max_query_length}: set doc_stride below "
            f"{room} (or raise max_length)."
        )
    if not getattr(tokenizer, "is_fast", False):
        raise HarnessError("Extractive QA needs a fast tokenizer (offset mappings).")
    spans = [
        _answer(ex, f"Example {ex.get('id', i)!r}", unanswerable) for i, ex in enumerate(examples)
    ]
    questions = [
        _cut_question(str(ex["question"]).lstrip(), tokenizer, max_query_length) for ex in examples
    ]
    contexts = [str(ex["context"]) for ex in examples]
    if not examples:
        return []
    encoded = tokenizer(
        questions,
        contexts,
        truncation="only_second",
        max_length=max_length,
        stride=doc_stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
    )
    features: list[QAFeature] = []
    for w, ids in enumerate(encoded["input_ids"]):
        example = int(encoded["overflow_to_sample_mapping"][w])
        sequence = encoded.sequence_ids(w)
        offsets: list[tuple[int, int] | None] = [
            (int(o[0]), int(o[1])) if s == 1 else None
            for o, s in zip(encoded["offset_mapping"][w], sequence, strict=True)
        ]
        start = end = 0
        span = spans[example]
        spans_in = [(k, o) for k, o in enumerate(offsets) if o is not None]
        if (
            span is not None
            and spans_in
            and spans_in[0][1][0] <= span[0]
            and spans_in[-1][1][1] >= span[1]
        ):
            first, last = span
            start = next(k for k, o in spans_in if o[1] > first)
            end = max(k for k, o in spans_in if o[0] < last)
        features.append(
            QAFeature(input_ids=list(ids), start=start, end=end, example=example, offsets=offsets)
        )
    return features


def collate_qa(features: Sequence[QAFeature], pad_id: int) -> Batch:
    import torch

    width = max(len(f.input_ids) for f in features)
    input_ids = torch.full((len(features), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(features), width), dtype=torch.long)
    for row, feature in enumerate(features):
        input_ids[row, : len(feature.input_ids)] = torch.tensor(feature.input_ids)
        attention[row, : len(feature.input_ids)] = 1
    return {
        "input_ids": input_ids,
        "attention_mask": attention,
        "start_positions": torch.tensor([f.start for f in features], dtype=torch.long),
        "end_positions": torch.tensor([f.end for f in features], dtype=torch.long),
    }


def best_span(
    windows: Sequence[tuple[QAFeature, torch.Tensor]],
    context: str,
    max_answer_length: int,
    n_best: int,
    unanswerable: bool = False,
) -> str:
    """The answer text of one example from its windows' (feature, logits) pairs, ``logits`` of
    shape (tokens, 2): start and end logits. Empty when no window has a valid span, and, for
    a task with unanswerable questions, when the ``<s>`` span of some window scores above the
    best answer span (as SQuAD v2.0 is decoded: the lowest ``<s>`` score of the example's
    windows against the best span, null threshold 0)."""
    best: tuple[float, int, int, int] | None = None  # score, -window, -start, -length
    answer = (0, 0)
    null: float | None = None
    for w, (feature, logits) in enumerate(windows):
        starts_all, ends_all = logits[:, 0].tolist(), logits[:, 1].tolist()
        window_null = starts_all[0] + ends_all[0]
        null = window_null if null is None else min(null, window_null)
        context_tokens = [k for k, o in enumerate(feature.offsets) if o is not None]
        by_start = sorted(context_tokens, key=lambda k: (-starts_all[k], k))[:n_best]
        by_end = sorted(context_tokens, key=lambda k: (-ends_all[k], k))[:n_best]
        for s in by_start:
            for e in by_end:
                if e < s or e - s + 1 > max_answer_length:
                    continue
                key = (starts_all[s] + ends_all[e], -w, -s, -(e - s))
                if best is None or key > best:
                    best = key
                    answer = (feature.offsets[s][0], feature.offsets[e][1])  # type: ignore[index]
    if best is None or (unanswerable and null is not None and null > best[0]):
        return ""
    return context[answer[0] : answer[1]].strip()


def decode_answers(
    features: Sequence[QAFeature],
    logits: Sequence[torch.Tensor],
    examples: Sequence[Example],
    max_answer_length: int,
    n_best: int,
    unanswerable: bool = False,
) -> list[str]:
    """The predicted answer text of every example (``unanswerable``: see :func:`best_span`)."""
    grouped: list[list[tuple[QAFeature, torch.Tensor]]] = [[] for _ in examples]
    for feature, lg in zip(features, logits, strict=True):
        grouped[feature.example].append((feature, lg))
    return [
        best_span(windows, str(ex["context"]), max_answer_length, n_best, unanswerable)
        for windows, ex in zip(grouped, examples, strict=True)
    ]


def qa_normalisation(spec: TaskSpec) -> Normalisation:
    """The answer normalisation of a QA task, chosen as :func:`harness.results.xtreme.score_files`
    chooses it: MLQA's language-specific one for MLQA, SQuAD v1.1's for every other task."""
    return "mlqa" if spec.name == "mlqa" else "squad"


class ExtractiveQA(TaskKind):
    name = "extractive_qa"
    # answers as in SQuAD: {"text": [...], "answer_start": [...]}; empty lists: unanswerable
    fields = ("context", "question", "answers")
    field_types = MappingProxyType({"context": "text", "question": "text", "answers": "answers"})
    primary_metrics = ("f1", "exact_match")
    reported_metrics = frozenset({"f1", "exact_match"})
    multitask = True
    unanswerable = True

    def check_example(self, spec: TaskSpec, example: Example, where: str) -> None:
        answers = example["answers"]
        if (
            not isinstance(answers, dict)
            or not isinstance(answers.get("text"), list)
            or not isinstance(answers.get("answer_start"), list)
            or len(answers["text"]) != len(answers["answer_start"])
        ):
            raise HarnessError(
                f"{where}: answers must be {{'text': [...], 'answer_start': [...]}} with lists of "
                "the same length (SQuAD format; empty lists for an unanswerable question)."
            )

    def head_class(self, spec: TaskSpec) -> Any:
        from transformers import AutoModelForQuestionAnswering

        return AutoModelForQuestionAnswering

    def head_labels(self, spec: TaskSpec) -> list[str]:
        return ["start", "end"]  # span start and end logits

    def featurize(
        self,
        spec: TaskSpec,
        examples: Sequence[Example],
        tokenizer: Any,
        max_length: int,
        settings: FeatureSettings,
    ) -> list[Any]:
        return list(
            featurize_qa(
                examples,
                tokenizer,
                max_length,
                settings.doc_stride,
                settings.max_query_length,
                spec.unanswerable,
            )
        )

    def feature_key(self, settings: FeatureSettings) -> dict[str, Any] | None:
        return dataclasses.asdict(settings)

    def collate(self, features: Sequence[Any], pad_id: int) -> Batch:
        return collate_qa(features, pad_id)

    def shared_encoder_head(self, hidden: int, labels: int, dropout: float) -> nn.Module:
        from harness.kinds.heads import SpanHead

        return SpanHead(hidden)

    def shared_forward(self, encoder: nn.Module, head: nn.Module, batch: Batch) -> Any:
        """As ``AutoModelForQuestionAnswering``: start and end logits per token; the loss is the
        mean of the start and end positions' cross-entropies (a position beyond the window is
        clamped to its width and ignored)."""
        from types import SimpleNamespace

        from torch import nn

        states = encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])[0]
        logits = head(states)
        start_logits = logits[..., 0].contiguous()
        end_logits = logits[..., 1].contiguous()
        loss = None
        if "start_positions" in batch and "end_positions" in batch:
            width = start_logits.shape[1]
            loss_fn = nn.CrossEntropyLoss(ignore_index=width)
            starts = batch["start_positions"].clamp(0, width)
            ends = batch["end_positions"].clamp(0, width)
            loss = (loss_fn(start_logits.float(), starts) + loss_fn(end_logits.float(), ends)) / 2
        return SimpleNamespace(loss=loss, start_logits=start_logits, end_logits=end_logits)

    def eval_max_length(self, tp: TrainParams, evaluation: EvalParams) -> int:
        """Contexts are windowed at evaluation as in training (the task's ``max_length``)."""
        return tp.max_length

    def logits(self, output: Any) -> torch.Tensor:
        import torch

        return torch.stack([output.start_logits, output.end_logits], dim=-1)

    def decode(
        self,
        spec: TaskSpec,
        features: Sequence[Any],
        logits: Sequence[torch.Tensor],
        examples: Sequence[Example],
        settings: EvalSettings,
    ) -> list[Any]:
        return decode_answers(
            features,
            logits,
            examples,
            settings.max_answer_length,
            settings.n_best,
            spec.unanswerable,
        )

    def golds(self, examples: Sequence[Example]) -> list[Any]:
        return [list(ex["answers"]["text"]) for ex in examples]

    def _normalisation(
        self, spec: TaskSpec, language: str | None
    ) -> tuple[Normalisation, str | None]:
        from harness.metrics.qa import MLQA_LANGUAGES

        normalisation = qa_normalisation(spec)
        if normalisation != "mlqa":
            return normalisation, None
        answer_language = language or spec.train_language
        if answer_language not in MLQA_LANGUAGES:
            raise HarnessError(
                f"MLQA is scored for {', '.join(MLQA_LANGUAGES)}, not '{answer_language}'; "
                "remove that language from the task's languages."
            )
        return normalisation, answer_language

    def score(
        self,
        spec: TaskSpec,
        predictions: Sequence[Any],
        golds: Sequence[Any],
        language: str | None = None,
    ) -> dict[str, float]:
        """EM and F1 with the official semantics of :func:`harness.metrics.qa.qa_scores`."""
        from harness.metrics.qa import qa_scores

        normalisation, answer_language = self._normalisation(spec, language)
        pairs = [(str(i), [str(a) for a in g]) for i, g in enumerate(golds)]
        answers = {str(i): str(p) for i, p in enumerate(predictions)}
        return qa_scores(pairs, answers, normalisation, answer_language, spec.unanswerable)

    def example_stats(
        self,
        spec: TaskSpec,
        predictions: Sequence[Any],
        golds: Sequence[Any],
        language: str | None = None,
    ) -> dict[str, list[list[float]]]:
        """``exact_match``: ``[em]`` (mean); ``f1``: ``[f1, 1]`` (mean; two columns, so not read
        as span F1). Each answer against each question's gold texts, best gold."""
        from harness.metrics.qa import exact_match, no_answer_golds, qa_f1

        normalisation, answer_language = self._normalisation(spec, language)
        em_rows: list[list[float]] = []
        f1_rows: list[list[float]] = []
        for p, g in zip(predictions, golds, strict=True):
            if spec.unanswerable:
                g = no_answer_golds([str(a) for a in g], normalisation, answer_language)
            if not g:
                raise HarnessError(
                    "An extractive-QA example without a gold answer cannot be scored (a task "
                    "with unanswerable questions says 'unanswerable: true' in its spec)."
                )
            no_answer = spec.unanswerable
            em_rows.append(
                [max(exact_match(str(p), str(a), normalisation, answer_language) for a in g)]
            )
            f1_rows.append(
                [
                    max(
                        qa_f1(str(p), str(a), normalisation, answer_language, no_answer) for a in g
                    ),
                    1.0,
                ]
            )
        return {"exact_match": em_rows, "f1": f1_rows}


EXTRACTIVE_QA = ExtractiveQA()
