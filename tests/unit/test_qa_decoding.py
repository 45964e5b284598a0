# ruff: noqa: RUF001 (full-width characters on purpose)
"""Extractive-QA decoding as the reference scripts do it: the maximum-context filter of the start
token and the whole-word alignment of the answer text (``get_final_text``).

Expected values follow the reference's rules by hand (XTREME's ``run_squad.py`` with the
``squad_metrics`` of the transformers version it pins; jiant's port of the same logic)."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from harness.data.cache import featurize
from harness.kinds.base import EvalSettings, FeatureSettings
from harness.kinds.extractive_qa import EXTRACTIVE_QA, QAFeature, best_span, final_text
from harness.model.encoders import train_tokenizer
from harness.tasks import TaskSpec

TEXTS = [
    "the teacher saw Anna Berg near the river in New Harbor .",
    "老师 在 新港 的 河边 看见 了 安娜 伯格 。",
    "who saw her ? 谁 看见 了 她 ？",
]


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    return train_tokenizer(TEXTS * 30, vocab_size=300)


def _spec() -> TaskSpec:
    return TaskSpec.model_validate(
        {
            "name": "t_qa",
            "role": "target",
            "kind": "extractive_qa",
            "xtreme_group": "qa",
            "source": {
                "type": "local",
                "path": "d",
                "files": {"train": "a", "dev": "b", "test": "c"},
            },
        }
    )


def _example(context: str, answer: str) -> dict[str, Any]:
    start = context.index(answer)
    return {"id": "0", "context": context, "question": "who ?",
            "answers": {"text": [answer], "answer_start": [start]}}  # fmt: skip


def _window(offsets: list[tuple[int, int] | None], tokens: list[str] | None = None) -> QAFeature:
    strings: dict[str, Any] = {} if tokens is None else {"tokens": tokens}
    return QAFeature([0] * len(offsets), 0, 0, 0, offsets, **strings)


def _at(feature: QAFeature, char: int) -> int:
    """The token of ``feature`` whose characters hold ``char``."""
    return next(k for k, o in enumerate(feature.offsets) if o is not None and o[0] <= char < o[1])


def _logits(feature: QAFeature, *spans: tuple[int, int, float]) -> torch.Tensor:
    """-10 everywhere but the (start token, end token, logit) spans."""
    logits = torch.full((len(feature.offsets), 2), -10.0)
    for start, end, value in spans:
        logits[start, 0], logits[end, 1] = value, value
    return logits


# --- maximum context -------------------------------------------------------------------------

CONTEXT = "aa bb cc dd ee ff"
TOKENS = [(0, 2), (2, 5), (5, 8), (8, 11), (11, 14), (14, 17)]  # aa .. ff
QUESTION: list[tuple[int, int] | None] = [None, None, None, None]  # <s> q </s> </s>


def _hand_window(first: int, count: int) -> QAFeature:
    return _window([*QUESTION, *TOKENS[first : first + count], None])


def test_a_start_token_counts_only_in_the_window_where_it_has_most_context() -> None:
    """aa bb cc dd | cc dd ee ff: dd has min(3, 0) + 0.04 in the first window and
    min(1, 2) + 0.04 in the second, which owns it; cc is the first window's (1.04 against
    0.04). Spans starting at a token a window does not own are not candidates."""
    first, second = _hand_window(0, 4), _hand_window(2, 4)
    dd_first, cc_second, ee_second = 4 + 3, 4 + 0, 4 + 2
    high = _logits(first, (dd_first, dd_first, 10.0))  # dd: 20, but not dd's window
    low = _logits(second, (ee_second, ee_second, 7.0), (cc_second, cc_second, 9.0))  # ee 14, cc 18
    assert best_span([(first, high), (second, low)], CONTEXT, 30, 20) == "ee"
    # alone, a window owns all its tokens
    assert best_span([(first, high)], CONTEXT, 30, 20) == "dd"
    # the null score is compared with the best span that passes the filter: 16 > 14
    high[0], low[0] = torch.tensor([8.0, 8.0]), torch.tensor([9.0, 9.0])
    assert best_span([(first, high), (second, low)], CONTEXT, 30, 20, unanswerable=True) == ""
    assert best_span([(first, high)], CONTEXT, 30, 20, unanswerable=True) == "dd"


def test_a_max_context_tie_goes_to_the_earlier_window() -> None:
    """aa bb cc dd | bb cc dd ee: cc scores min(2, 1) + 0.04 in both windows; the first owns it."""
    first, second = _hand_window(0, 4), _hand_window(1, 4)
    bb_first, cc_second = 4 + 1, 4 + 1
    windows = [
        (first, _logits(first, (bb_first, bb_first, 6.0))),
        (second, _logits(second, (cc_second, cc_second, 10.0))),
    ]
    assert best_span(windows, CONTEXT, 30, 20) == "bb"


def test_max_context_on_the_tokenizers_overflow_windows(tokenizer: Any) -> None:
    """Two windows of 14 context tokens sharing 4 (doc_stride): of the shared ``Harbor . the
    teacher``, the first window owns ``Harbor`` and ``.``, the second ``the`` and ``teacher``."""
    context = f"{TEXTS[0]} {TEXTS[0]}"
    features = featurize(
        _spec(), [_example(context, "river")], tokenizer, 20, FeatureSettings(4, 4)
    )
    assert len(features) == 2
    first, second = features
    harbor, teacher = context.index("Harbor"), context.index("teacher", 50)
    shared = [o for o in first.offsets if o is not None][-4:]
    assert shared == [o for o in second.offsets if o is not None][:4]
    assert shared[0][0] <= harbor and shared[-1][1] > teacher
    the = teacher - 4
    logits_first = _logits(first, (_at(first, teacher), _at(first, teacher), 10.0))  # 20
    logits_second = _logits(
        second,
        (_at(second, harbor), _at(second, harbor), 15.0),  # 30, but Harbor is the first's
        (_at(second, the), _at(second, teacher), 6.0),  # 12
    )
    windows = [(first, logits_first), (second, logits_second)]
    assert best_span(windows, context, 30, 20) == "the teacher"


# --- answer text: whole-word alignment -------------------------------------------------------


ONE_WINDOW = FeatureSettings(doc_stride=8, max_query_length=8)


def _decode_span(tokenizer: Any, context: str, first: str, last: str, **kw: Any) -> str:
    """The answer of a one-window example whose best span runs from the token holding the first
    character of ``first`` to the token holding the last character of ``last``."""
    (feature,) = featurize(_spec(), [_example(context, first)], tokenizer, 64, ONE_WINDOW)
    start = _at(feature, context.index(first))
    end = _at(feature, context.index(last) + len(last) - 1)
    return best_span([(feature, _logits(feature, (start, end, 5.0)))], context, 30, 20, **kw)


@pytest.mark.parametrize(
    ("context", "first", "last", "expected"),
    [
        # ▁Berg . An na: tok_text ".Anna" is not in "Berg . Anna": the whole word
        ("the teacher saw Berg.Anna near", ".", "Anna", "Berg.Anna"),
        # a sub-word start that aligns: "Anna" found in "Berg . Anna", cut from the word
        ("the teacher saw Berg.Anna near", "Anna", "Anna", "Anna"),
        ("the teacher saw Berg.Anna near", "Berg", "Berg", "Berg"),
        # "Berg." is not in "Berg . Anna"
        ("the teacher saw Berg.Anna near", "Berg", ".", "Berg.Anna"),
        # U+00A0 does not split the reference's words; the basic tokenisation makes it a
        # space, so the lengths without spaces differ: the whole word
        ("the teacher saw Anna\u00a0Berg near", "Berg", "Berg", "Anna\u00a0Berg"),
        ("the teacher saw Anna\u202fBerg near", "Berg", "Berg", "Berg"),  # U+202F splits
        # NFKC folds the full-width letter: tok_text "Berg" is not in its basic tokens
        ("the teacher saw Ｂerg. near", "Ｂerg", "Ｂerg", "Ｂerg."),
        # spaces around every ideograph: a multi-character answer never aligns
        ("老师 看见了安娜伯格。", "安", "娜", "看见了安娜伯格。"),
        ("the teacher saw Anna Berg near", "Anna", "Berg", "Anna Berg"),
    ],
)
def test_the_answer_text_is_aligned_to_whole_words_as_the_reference_does(
    tokenizer: Any, context: str, first: str, last: str, expected: str
) -> None:
    assert _decode_span(tokenizer, context, first, last) == expected


def test_chinese_answers_are_the_token_text_as_jiant_decodes_them(tokenizer: Any) -> None:
    context = "老师 看见了安娜伯格。"
    assert _decode_span(tokenizer, context, "安", "娜", align=False) == "安娜"
    (feature,) = featurize(_spec(), [_example(context, "安娜")], tokenizer, 64, ONE_WINDOW)
    logits = _logits(feature, (_at(feature, 6), _at(feature, 7), 5.0))
    example = [_example(context, "安娜")]
    settings = EvalSettings()
    assert EXTRACTIVE_QA.decode(_spec(), [feature], [logits], example, settings, "zh") == ["安娜"]
    assert EXTRACTIVE_QA.decode(_spec(), [feature], [logits], example, settings, "de") == [
        "看见了安娜伯格。"
    ]


def test_a_token_of_whitespace_only_belongs_to_the_next_word(tokenizer: Any) -> None:
    """``  Anna``: ▁ (the first space) and ▁Anna. The lone ▁ has the empty token text, which
    never aligns: its word, ``Anna``."""
    context = "  Anna"
    (feature,) = featurize(_spec(), [_example(context, "Anna")], tokenizer, 64, ONE_WINDOW)
    lone = _at(feature, 0)
    assert best_span([(feature, _logits(feature, (lone, lone, 5.0)))], context, 30, 20) == "Anna"
    assert feature.tokens == tokenizer.convert_ids_to_tokens(feature.input_ids)
    assert feature.tokens[lone] == "\u2581"


def _cased(context: str, pieces: list[tuple[str, tuple[int, int]]]) -> QAFeature:
    offsets: list[tuple[int, int] | None] = [*QUESTION, *(o for _, o in pieces), None]
    return _window(offsets, ["<s>", "▁q", "</s>", "</s>", *(p for p, _ in pieces), "</s>"])


def test_lower_cased_token_text_aligns_only_with_do_lower_case() -> None:
    """An uncased model's tokens: with do_lower_case the basic tokenisation lower-cases and
    strips accents too, and the original characters come back; without it the texts differ
    and the whole words are the answer."""
    context = "Anna Berg's"
    feature = _cased(
        context, [("▁anna", (0, 4)), ("▁berg", (4, 9)), ("'", (9, 10)), ("s", (10, 11))]
    )
    logits = _logits(feature, (4, 5, 5.0))  # anna .. berg
    assert best_span([(feature, logits)], context, 30, 20, do_lower_case=True) == "Anna Berg"
    assert best_span([(feature, logits)], context, 30, 20) == "Anna Berg's"
    context = "Émile Zola's"
    feature = _cased(
        context, [("▁emile", (0, 5)), ("▁zola", (5, 10)), ("'", (10, 11)), ("s", (11, 12))]
    )
    logits = _logits(feature, (4, 5, 5.0))
    assert best_span([(feature, logits)], context, 30, 20, do_lower_case=True) == "Émile Zola"
    # a cased model's tokens after an apostrophe: "'s" is not in "Berg ' s"
    context = "Berg's boat"
    feature = _cased(context, [("▁Berg", (0, 4)), ("'", (4, 5)), ("s", (5, 6)), ("▁boat", (6, 11))])
    assert best_span([(feature, _logits(feature, (5, 6, 5.0)))], context, 30, 20) == "Berg's"
    assert best_span([(feature, _logits(feature, (6, 7, 5.0)))], context, 30, 20) == "s boat"


@pytest.mark.parametrize(
    ("tok_text", "orig_text", "lower", "expected"),
    [
        ("s boat", "Berg's boat", False, "s boat"),
        ("'s", "Berg's", False, "Berg's"),
        ("10", "(10)", False, "10"),
        ("anna berg", "Anna Berg's", True, "Anna Berg"),
        ("anna berg", "Anna Berg's", False, "Anna Berg's"),
        ("emile zola", "Émile Zola's", True, "Émile Zola"),
        # a decomposed accent: 6 characters against 5 after stripping it
        ("emile", "E\u0301mile", True, "E\u0301mile"),
        # "İ".lower() is i + a combining dot, which accent stripping drops: aligned
        ("i", "İstanbul", True, "İ"),
        ("İ", "İstanbul", True, "İstanbul"),  # not found in the lower-cased text
        # a zero-width space is dropped by the basic tokenisation: lengths differ
        ("x", "a\u200bx", False, "a\u200bx"),
        ("", "abc", False, "abc"),  # an empty token text
        ("安", "看见了安娜", False, "安"),  # one ideograph aligns
    ],
)
def test_final_text_follows_the_reference_rules(
    tok_text: str, orig_text: str, lower: bool, expected: str
) -> None:
    assert final_text(tok_text, orig_text, lower) == expected
