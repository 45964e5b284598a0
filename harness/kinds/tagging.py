"""Token classification (``tagging``: UD-POS, PAN-X, CCG supertags, the toy NER task).

Featurisation labels the first sub-token of every word (the others are ignored by the loss). A
sentence that fits ``max_length`` gives one feature, exactly as a single truncating tokenizer
call would; a longer one gives overlapping windows (:func:`tagging_windows`), so every word is
in at least one window with its first sub-token. Decoding takes each word's tag from the window
where its first sub-token has the most context. Scores: seqeval's span F1 (as the official
XTREME evaluation scores PAN-X and UD-POS) and token accuracy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from harness.errors import HarnessError
from harness.kinds.base import (
    IGNORE_INDEX,
    EvalSettings,
    Example,
    Feature,
    FeatureSettings,
    TaskKind,
    head_attribute,
    label_index,
)

if TYPE_CHECKING:
    import torch
    from torch import nn

    from harness.tasks.spec import TaskSpec


def tagging_windows(token_words: Sequence[int], budget: int) -> list[tuple[int, int]]:
    """Overlapping windows ``[start, end)`` over the content tokens of one sentence, where
    ``token_words[i]`` is the word of content token ``i`` (non-decreasing).

    Windows hold at most ``budget`` tokens and start at a word's first token, so a window cuts
    no word (except a single word longer than ``budget``, cut to ``budget`` tokens). Each next
    window starts at the first word beginning at least ``budget // 2`` tokens after the start of
    the previous one (the stride is half a window), and the last window reaches the end.
    """
    n = len(token_words)
    if n <= budget:
        return [(0, n)]
    word_starts = [i for i in range(n) if i == 0 or token_words[i] != token_words[i - 1]]
    windows: list[tuple[int, int]] = []
    start = 0
    while True:
        end = start + budget
        if end >= n:
            windows.append((start, n))
            return windows
        following = [s for s in word_starts if s > start]
        inside = [s for s in following if s <= end]
        if not inside:
            # one word longer than the budget: keep its first ``budget`` tokens only
            windows.append((start, end))
            if not following:
                return windows
            start = following[0]
            continue
        cut = inside[-1]  # the window ends before the last word it cannot hold entirely
        windows.append((start, cut))
        target = start + max(1, budget // 2)
        stride_start = next((s for s in following if s >= target), cut)
        start = min(stride_start, cut)  # never skip a word


def featurize_tagging(
    examples: Sequence[Example], tokenizer: Any, max_length: int, label_ids: dict[str, int]
) -> list[Feature]:
    """Label the first sub-token of every word; other sub-tokens are ignored by the loss (see
    the module docstring for windows)."""
    encoded = tokenizer([ex["tokens"] for ex in examples], is_split_into_words=True)
    features = []
    for i, ex in enumerate(examples):
        ids = list(encoded["input_ids"][i])
        word_ids = encoded.word_ids(i)
        if len(ids) <= max_length:
            spans = [(ids, word_ids)]
        else:
            # the encoding is <s> content </s>: slice the content per window, as the words are
            # tokenised one by one (is_split_into_words), a window's slice is what tokenising
            # its words alone would give
            content = [k for k, w in enumerate(word_ids) if w is not None]
            first, last = content[0], content[-1] + 1
            specials = len(ids) - (last - first)
            budget = max_length - specials
            if budget < 1:
                raise HarnessError(
                    f"max_length {max_length} leaves no room for words; raise max_length."
                )
            head, tail = ids[:first], ids[last:]
            body_ids, body_words = ids[first:last], word_ids[first:last]
            spans = [
                (head + body_ids[a:b] + tail, [None] * first + body_words[a:b] + [None] * len(tail))
                for a, b in tagging_windows([int(w) for w in body_words if w is not None], budget)
            ]
        for window_ids, window_words in spans:
            labels: list[int] = []
            previous = None
            for word in window_words:
                if word is None or word == previous:
                    labels.append(IGNORE_INDEX)
                else:
                    labels.append(label_ids[ex["tags"][word]])
                previous = word
            features.append(
                Feature(input_ids=window_ids, label=labels, word_ids=window_words, example=i)
            )
    return features


def word_tags(
    features: Sequence[Feature],
    logits: Sequence[torch.Tensor],
    labels: Sequence[str],
    n_words: Sequence[int],
) -> list[list[str]]:
    """The tag of each word of every sentence: the prediction at its first sub-token, taken,
    when the sentence was split into windows, from the window where that first sub-token has
    the most context: the largest ``min(tokens before it, tokens after it)`` within the window
    (ties: the earlier window)."""
    best: list[dict[int, tuple[int, str]]] = [{} for _ in n_words]
    for feature, lg in zip(features, logits, strict=True):
        assert feature.word_ids is not None
        content = [k for k, w in enumerate(feature.word_ids) if w is not None]
        if not content:
            continue
        first, last = content[0], content[-1]
        chosen = best[feature.example]
        previous = None
        for position, word in enumerate(feature.word_ids):
            if word is not None and word != previous:
                context = min(position - first, last - position)
                if word not in chosen or context > chosen[word][0]:
                    chosen[word] = (context, labels[int(lg[position].argmax())])
            previous = word
    # a word without any token (one the tokenizer drops entirely) has nothing to predict from:
    # it gets "O", and the words after it keep their own predictions
    return [
        [chosen[word][1] if word in chosen else "O" for word in range(n)]
        for chosen, n in zip(best, n_words, strict=True)
    ]


def _entities(tags: Sequence[str]) -> set[tuple[str, int, int]]:
    from seqeval.metrics.sequence_labeling import get_entities

    return set(get_entities(list(tags)))


class Tagging(TaskKind):
    name = "tagging"
    fields = ("tokens", "tags")
    field_types = MappingProxyType({"tokens": "strings", "tags": "strings"})
    labelled = True
    primary_metrics = ("f1", "token_accuracy")
    reported_metrics = frozenset({"f1", "token_accuracy"})
    fixed_label_set = True
    token_level = True
    multitask = True
    shares_batches = True
    packable = True

    def check_example(self, spec: TaskSpec, example: Example, where: str) -> None:
        tokens, tags = example["tokens"], example["tags"]
        if isinstance(tags, list):
            # Hub datasets store tags as class indices in the order of the spec's labels
            example["tags"] = tags = [label_index(spec, t) for t in tags]
        if not isinstance(tokens, list) or not isinstance(tags, list) or len(tokens) != len(tags):
            raise HarnessError(f"{where}: tokens and tags must be lists of the same length.")
        bad = sorted({t for t in tags if t not in set(spec.labels)})
        if bad:
            raise HarnessError(
                f"{where} has tags {bad} that are not in the spec's labels {spec.labels}."
            )

    def head_class(self, spec: TaskSpec) -> Any:
        from transformers import AutoModelForTokenClassification

        return AutoModelForTokenClassification

    def shared_encoder_head(self, hidden: int, labels: int, dropout: float) -> nn.Module:
        from harness.kinds.heads import TokenHead

        return TokenHead(hidden, labels, dropout)

    def packed_head(self, model: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
        # as XLM-R's token-classification forward: dropout, then the output layer, per token
        dropout: Any = head_attribute(model, "dropout")
        classifier: Any = head_attribute(model, "classifier")
        return lambda states: classifier(dropout(states))

    def featurize(
        self,
        spec: TaskSpec,
        examples: Sequence[Example],
        tokenizer: Any,
        max_length: int,
        settings: FeatureSettings,
    ) -> list[Any]:
        label_ids = {label: i for i, label in enumerate(spec.labels)}
        return list(featurize_tagging(examples, tokenizer, max_length, label_ids))

    def decode(
        self,
        spec: TaskSpec,
        features: Sequence[Any],
        logits: Sequence[torch.Tensor],
        examples: Sequence[Example],
        settings: EvalSettings,
        language: str | None = None,
    ) -> list[Any]:
        return word_tags(features, logits, spec.labels, [len(ex["tags"]) for ex in examples])

    def golds(self, examples: Sequence[Example]) -> list[Any]:
        return [ex["tags"] for ex in examples]

    def score(
        self,
        spec: TaskSpec,
        predictions: Sequence[Any],
        golds: Sequence[Any],
        language: str | None = None,
    ) -> dict[str, float]:
        from harness.metrics import span_f1, token_accuracy

        p = [list(x) for x in predictions]
        g = [list(x) for x in golds]
        return {"f1": span_f1(p, g), "token_accuracy": token_accuracy(p, g)}

    def example_stats(
        self,
        spec: TaskSpec,
        predictions: Sequence[Any],
        golds: Sequence[Any],
        language: str | None = None,
    ) -> dict[str, list[list[float]]]:
        """``f1`` (seqeval span F1): ``[true-positive spans, predicted spans, gold spans]``;
        ``token_accuracy``: ``[correct tokens, tokens]``."""
        f1_rows: list[list[float]] = []
        token_rows: list[list[float]] = []
        for p, g in zip(predictions, golds, strict=True):
            pred, gold = _entities(p), _entities(g)
            f1_rows.append([float(len(pred & gold)), float(len(pred)), float(len(gold))])
            token_rows.append([float(sum(a == b for a, b in zip(p, g, strict=True))), len(g)])
        return {"f1": f1_rows, "token_accuracy": token_rows}


TAGGING = Tagging()
