"""Extractive QA as the reference scripts (``run_qa.py``, XTREME's ``run_squad.py``) do it.

Featurisation: question first (cut to ``max_query_length`` tokens), context second; a context
longer than the window is split by the fast tokenizer's overflow into windows of at most
``max_length`` tokens, consecutive windows sharing ``doc_stride`` tokens. A training window
that holds the whole (first) gold answer points its start and end at those tokens; one that
does not points both at position 0 (``<s>``, the CLS token). Each window keeps its tokens'
strings (for the answer text, below).

Decoding (:func:`best_span`) follows ``compute_predictions_logits`` of the transformers version
XTREME pins (jiant, used by Phang et al. 2020, ports the same logic), for every QA task:

* Candidates: in every window of an example, the ``n_best`` highest start and end logits among
  the *context* tokens are paired (end >= start, at most ``max_answer_length`` tokens).
* Maximum context: a start token is a candidate only in the window where it has the most
  context. A context token shared by overlapping windows scores, in each window holding it,
  min(context tokens of the window left of it, context tokens right of it) + 0.01 * the
  window's number of context tokens; the highest score owns it (ties: the earlier window).
  Windows are placed on the example's context-token sequence by their shared token offsets.
* The span with the highest start + end logit over all windows wins (ties: the earlier
  window, then the earlier start, then the shorter span).
* Answer text (the reference's ``get_final_text``): the *whole words* covering the span
  (``orig_text``: the maximal runs of characters other than space, tab, CR, LF and U+202F, as
  the reference's ``doc_tokens`` split the context; a token of whitespace only belongs to the
  word after it), joined by single spaces, are cut down to the span's *token text*
  (``tok_text``: the span's token strings concatenated, SentencePiece's ``▁`` read as a space,
  whitespace collapsed). ``orig_text`` is basic-tokenised as BERT's ``BasicTokenizer`` does
  (control characters dropped, other whitespace to spaces, spaces around CJK ideographs,
  punctuation split off; lower-cased and accents stripped only with ``do_lower_case``, False
  for XLM-R); where ``tok_text`` first occurs in it, and both texts have the same length with
  their spaces (U+0020 only) removed, the characters are aligned one to one and the aligned
  part of ``orig_text`` is the answer. Otherwise (``tok_text`` not found, a length mismatch,
  an empty ``tok_text``) the answer is ``orig_text``: whole words. So an answer inside a word
  such as ``Berg's`` is cut where the basic tokenisation splits it, and a token text that the
  tokenizer normalised (NFKC, ``<unk>``) gives the whole words. Windows without token strings
  (built by hand, or cached before they were kept) use the context's characters as ``tok_text``.
  Chinese is the exception (:meth:`ExtractiveQA.decode` with language ``zh``): as jiant does,
  the answer is ``tok_text`` itself, since the basic tokenisation puts a space around every
  ideograph and a multi-character answer would never align.
* Unanswerable questions (a spec with ``unanswerable``, SQuAD v2.0 as ``run_squad.py
  --version_2_with_negative`` decodes it with ``null_score_diff_threshold`` 0): the answer is
  empty when the lowest ``<s>`` start + end logit over the example's windows exceeds the best
  span's score (the best span after the maximum-context filter).
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from bisect import bisect_right
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
    tokens: list[str] | None = None
    """The string of each token (``▁Berg``); None where unknown (the answer text then comes from
    the context's characters)."""


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
    strings: dict[int, str] = {}  # one string object per token id, shared by the windows
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
        for i in ids:
            if i not in strings:
                strings[i] = str(tokenizer.convert_ids_to_tokens(int(i)))
        features.append(
            QAFeature(
                input_ids=list(ids),
                start=start,
                end=end,
                example=example,
                offsets=offsets,
                tokens=[strings[i] for i in ids],
            )
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


_WORD_BREAKS = frozenset(" \t\r\n\u202f")
"""What separates the reference's whole words (``doc_tokens``); no other whitespace does."""
_WORD = re.compile("[^ \t\r\n\u202f]+")

_CJK_BLOCKS = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B820, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)
"""The CJK ideograph blocks that BERT's basic tokenisation sets apart as words of their own."""


def _basic_kind(char: str) -> str:
    """How BERT's basic tokenisation treats a character: ``drop`` (NUL, U+FFFD, a control or
    format character other than tab, LF and CR), ``space`` (those three and the Zs spaces),
    ``cjk`` (an ideograph), ``punct`` (ASCII symbols and the P categories) or ``text``."""
    if char in "\t\n\r" or char == " ":
        return "space"
    category = unicodedata.category(char)
    code = ord(char)
    if code in (0, 0xFFFD) or category.startswith("C"):
        return "drop"
    if category == "Zs":
        return "space"
    if any(low <= code <= high for low, high in _CJK_BLOCKS):
        return "cjk"
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return "punct"
    return "punct" if category.startswith("P") else "text"


def basic_tokens(text: str, do_lower_case: bool = False) -> list[str]:
    """``text`` cut into words as BERT's ``BasicTokenizer`` (no NFC step, as in the version
    the reference pins) does it: control characters dropped, whitespace splits, each CJK
    ideograph and each punctuation character a word of its own; with ``do_lower_case`` each
    word lower-cased and stripped of its combining marks (NFD, category Mn) first."""
    spaced: list[str] = []
    for char in text:
        kind = _basic_kind(char)
        if kind == "space":
            spaced.append(" ")
        elif kind == "cjk":
            spaced.append(f" {char} ")
        elif kind != "drop":
            spaced.append(char)
    words: list[str] = []
    for word in "".join(spaced).split():
        if do_lower_case:
            decomposed = unicodedata.normalize("NFD", word.lower())
            word = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
        run: list[str] = []
        for char in word:
            if _basic_kind(char) == "punct":
                if run:
                    words.append("".join(run))
                    run = []
                words.append(char)
            else:
                run.append(char)
        if run:
            words.append("".join(run))
    return " ".join(words).split()


def _without_spaces(text: str) -> tuple[str, list[int]]:
    """``text`` without its U+0020 spaces (other whitespace stays), and the index in ``text`` of
    each character kept."""
    kept = [i for i, char in enumerate(text) if char != " "]
    return "".join(text[i] for i in kept), kept


def final_text(tok_text: str, orig_text: str, do_lower_case: bool = False) -> str:
    """The part of ``orig_text`` (whole words) that ``tok_text`` (the span's token text) covers,
    by a one-to-one character alignment through the basic tokenisation of ``orig_text``;
    ``orig_text`` itself where that alignment fails (see the module docstring)."""
    basic = " ".join(basic_tokens(orig_text, do_lower_case))
    first = basic.find(tok_text)
    if first < 0:
        return orig_text
    last = first + len(tok_text) - 1
    orig_bare, orig_index = _without_spaces(orig_text)
    basic_bare, basic_index = _without_spaces(basic)
    if len(orig_bare) != len(basic_bare):
        return orig_text
    bare_of = {at: k for k, at in enumerate(basic_index)}
    if first not in bare_of or last not in bare_of:
        return orig_text
    return orig_text[orig_index[bare_of[first]] : orig_index[bare_of[last]] + 1]


def token_text(tokens: Sequence[str]) -> str:
    """The text of a run of SentencePiece tokens: concatenated, ``▁`` read as a space, runs of
    whitespace collapsed to one space, no space at either end."""
    return " ".join("".join(tokens).replace("\u2581", " ").split())


def _whole_words(context: str, first: int, last: int) -> str:
    """The whole words (runs of characters other than :data:`_WORD_BREAKS`) from the word of the
    token starting at character ``first`` to that of the token starting at ``last``, joined by
    single spaces. A token's word is the one holding its first character that is not a word
    break (a token of whitespace only belongs to the next word; at the end, to the last)."""
    words = [m.span() for m in _WORD.finditer(context)]
    if not words:
        return ""
    starts = [a for a, _ in words]

    def word_of(at: int) -> int:
        while at < len(context) and context[at] in _WORD_BREAKS:
            at += 1
        return len(words) - 1 if at >= len(context) else bisect_right(starts, at) - 1

    return " ".join(context[a:b] for a, b in words[word_of(first) : word_of(last) + 1])


def _window_starts(spans: Sequence[list[tuple[int, int]]]) -> list[int]:
    """Where each window's context tokens start in the example's sequence of context tokens:
    the next window starts after the previous one's tokens less those it shares with it (the
    longest run ending the previous window's context that, by character offsets, begins the
    next one's)."""
    starts: list[int] = []
    for w, current in enumerate(spans):
        if w == 0:
            starts.append(0)
            continue
        previous = spans[w - 1]
        shared = 0
        if current:
            for k, span in enumerate(previous):
                overlap = len(previous) - k
                if span == current[0] and previous[k:] == current[:overlap]:
                    shared = overlap
                    break
        starts.append(starts[-1] + len(previous) - shared)
    return starts


def _max_context_window(position: int, starts: Sequence[int], lengths: Sequence[int]) -> int:
    """The window that owns context token ``position``: of the windows holding it, the one where
    min(tokens left of it, tokens right of it) + 0.01 * the window's context length is highest
    (ties: the earlier window)."""
    best: float | None = None
    owner = -1
    for w, (start, length) in enumerate(zip(starts, lengths, strict=True)):
        if not start <= position < start + length:
            continue
        score = min(position - start, start + length - 1 - position) + 0.01 * length
        if best is None or score > best:
            best, owner = score, w
    return owner


def best_span(
    windows: Sequence[tuple[QAFeature, torch.Tensor]],
    context: str,
    max_answer_length: int,
    n_best: int,
    unanswerable: bool = False,
    do_lower_case: bool = False,
    align: bool = True,
) -> str:
    """The answer text of one example from its windows' (feature, logits) pairs, in order,
    ``logits`` of shape (tokens, 2): start and end logits. A start token counts only in the
    window where it has the most context; the text is cut from the covering whole words by
    :func:`final_text` (``do_lower_case``: the model's, False for XLM-R; ``align`` False: the
    span's token text as it is, as jiant decodes Chinese). Empty when no window
    has a valid span, and, for a task with unanswerable questions, when the ``<s>`` span of some
    window scores above the best answer span (as SQuAD v2.0 is decoded: the lowest ``<s>``
    score of the example's windows against the best span, null threshold 0)."""
    spans = [[o for o in feature.offsets if o is not None] for feature, _ in windows]
    starts = _window_starts(spans)
    lengths = [len(s) for s in spans]
    best: tuple[float, int, int, int] | None = None  # score, -window, -start, -length
    answer = (0, 0, 0)  # window, start token, end token
    null: float | None = None
    for w, (feature, logits) in enumerate(windows):
        starts_all, ends_all = logits[:, 0].tolist(), logits[:, 1].tolist()
        window_null = starts_all[0] + ends_all[0]
        null = window_null if null is None else min(null, window_null)
        context_tokens = [k for k, o in enumerate(feature.offsets) if o is not None]
        place = {k: starts[w] + j for j, k in enumerate(context_tokens)}
        by_start = sorted(context_tokens, key=lambda k: (-starts_all[k], k))[:n_best]
        by_end = sorted(context_tokens, key=lambda k: (-ends_all[k], k))[:n_best]
        for s in by_start:
            if _max_context_window(place[s], starts, lengths) != w:
                continue
            for e in by_end:
                if e < s or e - s + 1 > max_answer_length:
                    continue
                key = (starts_all[s] + ends_all[e], -w, -s, -(e - s))
                if best is None or key > best:
                    best = key
                    answer = (w, s, e)
    if best is None or (unanswerable and null is not None and null > best[0]):
        return ""
    feature = windows[answer[0]][0]
    first, last = feature.offsets[answer[1]], feature.offsets[answer[2]]
    assert first is not None and last is not None
    if feature.tokens is not None:
        tok_text = token_text(feature.tokens[answer[1] : answer[2] + 1])
    else:
        tok_text = " ".join(context[first[0] : last[1]].split())
    if not align:
        return tok_text
    return final_text(tok_text, _whole_words(context, first[0], last[0]), do_lower_case)


def decode_answers(
    features: Sequence[QAFeature],
    logits: Sequence[torch.Tensor],
    examples: Sequence[Example],
    max_answer_length: int,
    n_best: int,
    unanswerable: bool = False,
    do_lower_case: bool = False,
    align: bool = True,
) -> list[str]:
    """The predicted answer text of every example (see :func:`best_span`); the windows of an
    example in their order in ``features``."""
    grouped: list[list[tuple[QAFeature, torch.Tensor]]] = [[] for _ in examples]
    for feature, lg in zip(features, logits, strict=True):
        grouped[feature.example].append((feature, lg))
    return [
        best_span(
            windows,
            str(ex["context"]),
            max_answer_length,
            n_best,
            unanswerable,
            do_lower_case,
            align,
        )
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
        language: str | None = None,
    ) -> list[Any]:
        """The answer texts (:func:`decode_answers`). For Chinese (``language`` ``zh``) the
        span's token text is the answer, without the whole-word alignment, as jiant decodes
        MLQA and XQuAD (the alignment splits every ideograph and so returns whole runs of
        unspaced text); ``language`` None aligns every answer."""
        return decode_answers(
            features,
            logits,
            examples,
            settings.max_answer_length,
            settings.n_best,
            spec.unanswerable,
            do_lower_case=False,  # XLM-R is cased (XTREME runs run_squad.py without it)
            align=language != "zh",
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
