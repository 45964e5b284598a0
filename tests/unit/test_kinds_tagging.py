"""Tagging with overlapping windows: every word of a long sentence is labelled and predicted."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import torch

from harness.data.cache import featurize
from harness.kinds.base import IGNORE_INDEX, Feature
from harness.kinds.tagging import tagging_windows
from harness.kinds.tagging import word_tags as _word_tags
from harness.tasks import TaskSpec

LABELS = ["O", "B-PER", "I-PER"]
WORDS = ["the", "a", "dog", "cat", "teacher", "saw", "chased", "big", "small", "red", "river"]


def _spec() -> TaskSpec:
    return TaskSpec.model_validate(
        {
            "name": "t_tags",
            "role": "target",
            "kind": "tagging",
            "xtreme_group": "tagging",
            "source": {
                "type": "local",
                "path": "d",
                "files": {"train": "a", "dev": "b", "test": "c"},
            },
            "labels": LABELS,
        }
    )


def _old_featurize(examples: list[dict[str, Any]], tokenizer: Any, max_length: int) -> list[Any]:
    """The single-window featuriser this change replaced (truncating), as it was."""
    label_ids = {label: i for i, label in enumerate(LABELS)}
    encoded = tokenizer(
        [ex["tokens"] for ex in examples],
        is_split_into_words=True,
        truncation=True,
        max_length=max_length,
    )
    out = []
    for i, ex in enumerate(examples):
        word_ids = encoded.word_ids(i)
        labels: list[int] = []
        previous = None
        for word in word_ids:
            if word is None or word == previous:
                labels.append(IGNORE_INDEX)
            else:
                labels.append(label_ids[ex["tags"][word]])
            previous = word
        out.append((encoded["input_ids"][i], labels, word_ids))
    return out


def _sentence(n: int, seed: int = 0) -> dict[str, Any]:
    g = torch.Generator().manual_seed(seed)
    words = [WORDS[int(k)] for k in torch.randint(len(WORDS), (n,), generator=g)]
    # a few long words split into several sub-tokens
    words = [w * 3 if i % 7 == 3 else w for i, w in enumerate(words)]
    tags = [LABELS[int(k)] for k in torch.randint(3, (n,), generator=g)]
    return {"id": str(seed), "tokens": words, "tags": tags}


def test_short_sentences_give_the_features_of_the_single_window_code(tokenizer: Any) -> None:
    examples = [_sentence(n, seed=n) for n in (1, 3, 8, 11)] + [
        {"id": "e", "tokens": [], "tags": []}
    ]
    new = featurize(_spec(), examples, tokenizer, max_length=32)
    old = _old_featurize(examples, tokenizer, 32)
    assert len(new) == len(old) == len(examples)
    for i, (feature, (ids, labels, word_ids)) in enumerate(zip(new, old, strict=True)):
        assert len(ids) <= 32
        assert feature == Feature(input_ids=ids, label=labels, word_ids=word_ids, example=i)


def test_a_300_word_sentence_is_windowed_and_every_word_is_labelled(tokenizer: Any) -> None:
    example = _sentence(300, seed=3)
    short = _sentence(5, seed=4)
    features = featurize(_spec(), [short, example], tokenizer, max_length=32)
    assert features[0].example == 0 and [f.example for f in features[1:]] == [1] * (
        len(features) - 1
    )
    windows = features[1:]
    assert len(windows) > 10
    label_ids = {label: i for i, label in enumerate(LABELS)}
    encoded = tokenizer(example["tokens"], is_split_into_words=True)
    full, full_words = encoded["input_ids"], encoded.word_ids()
    labelled: set[int] = set()
    for window in windows:
        assert len(window.input_ids) <= 32
        assert window.input_ids[0] == tokenizer.cls_token_id
        assert window.input_ids[-1] == tokenizer.sep_token_id
        assert window.word_ids is not None
        words = [w for w in window.word_ids if w is not None]
        # a window holds whole words, contiguous, and its ids are the sentence's ids
        first = full_words.index(words[0])
        assert window.input_ids[1:-1] == full[first : first + len(words)]
        assert sorted(set(words)) == list(range(words[0], words[-1] + 1))
        for position, (word, label) in enumerate(zip(window.word_ids, window.label, strict=True)):
            if label != IGNORE_INDEX:
                assert word is not None and window.word_ids[position - 1] != word
                assert label == label_ids[example["tags"][word]]
                labelled.add(word)
    assert labelled == set(range(300))
    # consecutive windows overlap by about half a window
    starts = [min(w for w in f.word_ids if w is not None) for f in windows]  # type: ignore[union-attr]
    ends = [max(w for w in f.word_ids if w is not None) for f in windows]  # type: ignore[union-attr]
    assert all(b > a for a, b in itertools.pairwise(starts))
    assert all(s <= e for s, e in zip(starts[1:], ends, strict=False))


def test_every_word_gets_a_tag_from_the_window_where_it_has_most_context(tokenizer: Any) -> None:
    example = _sentence(300, seed=5)
    features = featurize(_spec(), [example], tokenizer, max_length=32)
    # each window predicts "its" tag: window k predicts label k % 3 everywhere
    logits = [
        torch.nn.functional.one_hot(torch.full((len(f.input_ids),), k % 3), 3).float()
        for k, f in enumerate(features)
    ]
    (tags,) = _word_tags(features, logits, LABELS, [300])
    assert len(tags) == 300
    for word in range(300):
        best = None
        for k, f in enumerate(features):
            assert f.word_ids is not None
            content = [p for p, w in enumerate(f.word_ids) if w is not None]
            if word in f.word_ids:
                p = f.word_ids.index(word)
                context = min(p - content[0], content[-1] - p)
                if best is None or context > best[0]:
                    best = (context, k)
        assert best is not None
        assert tags[word] == LABELS[best[1] % 3]
    # a word in the middle of a later window is not taken from the edge of an earlier one
    assert len(set(tags)) > 1


@pytest.mark.parametrize("budget", [3, 5, 30])
def test_tagging_windows_cover_every_word_within_the_budget(budget: int) -> None:
    # word k has 1 + (k % 4) tokens; word 10 has 12 tokens (longer than a small budget)
    token_words = [w for w in range(40) for _ in range(12 if w == 10 else 1 + w % 4)]
    windows = tagging_windows(token_words, budget)
    starts = {i for i in range(len(token_words)) if i == 0 or token_words[i] != token_words[i - 1]}
    seen: set[int] = set()
    for a, b in windows:
        assert 0 < b - a <= budget and a in starts
        seen.add(token_words[a])
        seen |= {token_words[i] for i in range(a, b) if i in starts}
    assert seen == set(range(40))
    # the last window reaches the end, or holds the first tokens of a last word too long for it
    assert windows[-1][1] == len(token_words) or windows[-1][0] == max(starts)
    assert tagging_windows([0, 0, 1], 5) == [(0, 3)]


def _old_word_tags(word_ids: list[int | None], logits: torch.Tensor) -> list[str]:
    """The single-window decoding this change replaced, as it was."""
    tags: list[str] = []
    previous = None
    for position, word in enumerate(word_ids):
        if word is not None and word != previous:
            tags.append(LABELS[int(logits[position].argmax())])
        previous = word
    return tags


def test_short_sentences_decode_as_before_and_long_ones_are_scored(
    tokenizer: Any, tmp_path: Any
) -> None:
    from harness.config import ModelParams
    from harness.model.encoders import new_mlm_model, save_encoder
    from harness.model.heads import head_model
    from harness.model.predict import predict, predict_and_score

    torch.manual_seed(0)
    params = ModelParams(
        name="t", source="pretrain", vocab_size=len(tokenizer), hidden_size=32, num_layers=2,
        num_heads=2, intermediate_size=64, max_position=64,
    )  # fmt: skip
    save_encoder(new_mlm_model(params, tokenizer), tokenizer, tmp_path)
    spec = _spec()
    model = head_model(tmp_path, spec, seed=0)
    short = [_sentence(n, seed=10 + n) for n in (2, 5, 9)]
    features = featurize(spec, short, tokenizer, 32)
    logits = predict(model, features, tokenizer.pad_token_id, 2, "t")
    new = _word_tags(features, logits, LABELS, [len(ex["tokens"]) for ex in short])
    assert new == [_old_word_tags(f.word_ids, lg) for f, lg in zip(features, logits, strict=True)]  # type: ignore[arg-type]
    examples = [*short, _sentence(120, seed=1), _sentence(40, seed=2)]
    stats: dict[str, list[list[float]]] = {}
    scores = predict_and_score(model, tokenizer, spec, examples, 4, 16, "t", None, stats)
    assert set(scores) == {"f1", "token_accuracy"}
    assert [int(row[1]) for row in stats["token_accuracy"]] == [2, 5, 9, 120, 40]
