# ruff: noqa: RUF001 (Cyrillic and full-width characters on purpose)
"""Extractive QA: context windows, n-best decoding, official scoring, per-example statistics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from harness.config import ModelParams, TrainParams
from harness.data.cache import featurize
from harness.errors import HarnessError
from harness.kinds.base import EvalSettings, FeatureSettings
from harness.kinds.extractive_qa import QAFeature, best_span, decode_answers
from harness.metrics.qa import qa_scores
from harness.model.encoders import new_mlm_model, save_encoder, train_tokenizer
from harness.model.heads import head_model
from harness.model.predict import predict_and_score
from harness.model.train import train
from harness.results.stats import metric_of
from harness.tasks import TaskSpec
from tests.conftest import collate_for
from tests.conftest import kind_example_stats as example_stats
from tests.conftest import kind_score as score

TEXTS = [
    "the teacher saw Anna Berg near the river in New Harbor .",
    "учитель видел Анну Берг у реки в Новой Гавани .",
    "老师 在 新港 的 河边 看见 了 安娜 伯格 。",
    "رأى المعلم آنا بيرغ بالقرب من النهر في الميناء الجديد .",
    "who saw her ? где она ? 谁 看见 了 她 ？ من رأى ؟",
]


@pytest.fixture(scope="module")
def qa_tokenizer() -> Any:
    return train_tokenizer(TEXTS * 30, vocab_size=300)


def _spec(name: str = "t_qa") -> TaskSpec:
    return TaskSpec.model_validate(
        {
            "name": name,
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


def _example(i: int, context: str, answer: str, question: str = "who saw her ?") -> dict[str, Any]:
    start = context.index(answer)
    return {
        "id": str(i),
        "context": context,
        "question": question,
        "answers": {"text": [answer], "answer_start": [start]},
    }


LONG = [
    _example(0, " ".join(TEXTS[:4]) + " " + TEXTS[1], "Анну Берг"),
    _example(1, " ".join(TEXTS[:4]), "安娜 伯格", "谁 看见 了 她 ？"),
    _example(2, " ".join(TEXTS[:4]), "آنا بيرغ", "من رأى ؟"),
    _example(3, " ".join([TEXTS[1], TEXTS[2], TEXTS[3], TEXTS[0]]), "Anna Berg"),
]


def test_every_window_decodes_back_to_the_gold_answer(qa_tokenizer: Any) -> None:
    settings = FeatureSettings(doc_stride=4, max_query_length=8)
    features = featurize(_spec(), LONG, qa_tokenizer, 20, settings)
    assert all(isinstance(f, QAFeature) for f in features)
    for i, example in enumerate(LONG):
        windows = [f for f in features if f.example == i]
        assert len(windows) > 2  # the context is much longer than a window
        gold = example["answers"]["text"][0]
        holding = 0
        for f in windows:
            assert len(f.input_ids) <= 20
            if f.start == 0:
                assert f.end == 0
                # the answer is not entirely inside this window
                spans = [o for o in f.offsets if o is not None]
                first = example["answers"]["answer_start"][0]
                assert not (spans[0][0] <= first and spans[-1][1] >= first + len(gold))
                continue
            holding += 1
            assert 0 < f.start <= f.end
            start, end = f.offsets[f.start], f.offsets[f.end]
            assert start is not None and end is not None
            assert example["context"][start[0] : end[1]].strip() == gold
        assert holding >= 1
    # consecutive windows of one example share doc_stride tokens of context
    first, second = [f for f in features if f.example == 0][:2]
    shared = [o for o in first.offsets if o is not None][-4:]
    assert [o for o in second.offsets if o is not None][:4] == shared


def test_questions_are_cut_to_max_query_length(qa_tokenizer: Any) -> None:
    example = _example(0, TEXTS[0], "Anna Berg", question=" ".join([TEXTS[4]] * 5))
    (feature,) = featurize(_spec(), [example], qa_tokenizer, 96, FeatureSettings(4, 5))
    question = feature.input_ids[1 : feature.input_ids.index(qa_tokenizer.sep_token_id)]
    assert len(question) <= 5


def _window(offsets: list[tuple[int, int] | None]) -> QAFeature:
    return QAFeature(input_ids=[0] * len(offsets), start=0, end=0, example=0, offsets=offsets)


def test_n_best_decoding_on_hand_set_logits() -> None:
    context = "aa bb cc dd ee"
    # tokens: <s> q </s> </s> aa bb cc dd ee </s>
    offsets: list[tuple[int, int] | None] = [None, None, None, None]
    offsets += [(0, 2), (2, 5), (5, 8), (8, 11), (11, 14), None]
    feature = _window(offsets)
    logits = torch.full((len(offsets), 2), -10.0)
    logits[1] = torch.tensor([50.0, 50.0])  # a question token: never part of an answer
    logits[6, 0], logits[7, 1] = 5.0, 4.0  # the best valid span: cc dd (9)
    logits[8, 0], logits[4, 1] = 9.0, 9.0  # ee .. aa ends before it starts: invalid (18)
    assert best_span([(feature, logits)], context, max_answer_length=30, n_best=20) == "cc dd"
    # n_best=1 keeps the top start (ee) and the top end (aa) only: no valid pair
    assert best_span([(feature, logits)], context, 30, 1) == ""
    longer = torch.full((len(offsets), 2), -10.0)
    longer[4, 0], longer[6, 0], longer[7, 1] = 6.0, 5.0, 4.0  # aa .. dd (10, 4 tokens), cc dd (9)
    assert best_span([(feature, longer)], context, 30, 20) == "aa bb cc dd"
    assert best_span([(feature, longer)], context, 3, 20) == "cc dd"
    # across windows the highest start + end logit wins (a second window: the next tokens)
    whole = context + " ff gg"
    second = _window([None, None, None, None, (14, 17), (17, 20), None])
    other = torch.full((7, 2), -10.0)
    other[4, 0], other[4, 1] = 8.0, 8.0
    assert best_span([(feature, logits), (second, other)], whole, 30, 20) == "ff"
    assert decode_answers([feature, second], [logits, other], [{"context": whole}], 30, 20) == [
        "ff"
    ]


def test_bad_qa_inputs_are_refused(qa_tokenizer: Any) -> None:
    bad = _example(0, TEXTS[0], "Anna Berg")
    bad["answers"]["answer_start"] = [3]
    with pytest.raises(HarnessError, match=r"does not start at character 3.*occurs at 16"):
        featurize(_spec(), [bad], qa_tokenizer, 64, FeatureSettings(8, 16))
    bad["answers"] = {"text": [], "answer_start": []}  # as XTREME's download leaves test files
    with pytest.raises(HarnessError, match=r"no gold answer\. If this is a test file.*blanks"):
        featurize(_spec(), [bad], qa_tokenizer, 64, FeatureSettings(8, 16))
    with pytest.raises(HarnessError, match="set doc_stride below 28"):
        featurize(_spec(), LONG, qa_tokenizer, 48, FeatureSettings(30, 16))


def test_per_example_stats_equal_the_official_scores() -> None:
    predictions = ["Anna Berg", "the river", "安娜", "", "New Harbor!"]
    golds = [["anna berg"], ["a river", "river bank"], ["安娜 伯格"], ["x"]]
    golds.append(["Harbor", "New Harbor"])
    official = qa_scores(
        [(str(i), g) for i, g in enumerate(golds)], {str(i): p for i, p in enumerate(predictions)}
    )
    assert score("extractive_qa", predictions, golds) == pytest.approx(official)
    rows = example_stats("extractive_qa", predictions, golds)
    assert [len(r) for r in rows["f1"]] == [2] * 5
    assert metric_of("exact_match", np.array(rows["exact_match"])) == pytest.approx(
        official["exact_match"]
    )
    assert metric_of("f1", np.array(rows["f1"])) == pytest.approx(official["f1"])
    # MLQA's normalisation (Chinese: one token per character) changes F1
    mlqa = qa_scores(
        [(str(i), g) for i, g in enumerate(golds)],
        {str(i): p for i, p in enumerate(predictions)},
        "mlqa",
        "zh",
    )
    assert mlqa["f1"] != official["f1"]
    zh = example_stats("extractive_qa", predictions, golds, "mlqa", "zh")
    assert metric_of("f1", np.array(zh["f1"])) == pytest.approx(mlqa["f1"])
    assert score("extractive_qa", predictions, golds, "mlqa", "zh") == pytest.approx(mlqa)
    # tagging's span F1 (three columns) is unchanged
    tags = example_stats("tagging", [["B-X", "O"]], [["B-X", "B-X"]])
    assert metric_of("f1", np.array(tags["f1"])) == pytest.approx(2 / 3)


def test_a_tiny_qa_model_overfits_a_small_set(qa_tokenizer: Any, tmp_path: Path) -> None:
    torch.manual_seed(0)
    params = ModelParams(
        name="t", source="pretrain", vocab_size=len(qa_tokenizer), hidden_size=32, num_layers=2,
        num_heads=2, intermediate_size=64, max_position=64, dropout=0.0,
    )  # fmt: skip
    save_encoder(new_mlm_model(params, qa_tokenizer), qa_tokenizer, tmp_path / "enc")
    spec = _spec()
    model = head_model(tmp_path / "enc", spec, seed=0)
    assert type(model).__name__ == "XLMRobertaForQuestionAnswering"
    names = ["Anna Berg", "New Harbor", "the teacher", "the river"]
    examples = [
        _example(i, f"{filler} saw {name} .", name)
        for i, (filler, name) in enumerate(
            (f, n) for f in ("the teacher", "Anna", "учитель") for n in names
        )
    ]
    settings = FeatureSettings(doc_stride=4, max_query_length=8)
    features = featurize(spec, examples, qa_tokenizer, 24, settings)
    tp = TrainParams(epochs=60, learning_rate=3e-3, batch_size=4, max_length=24, warmup_ratio=0)
    train(model, features, collate_for("extractive_qa", qa_tokenizer.pad_token_id), tp,
          torch.Generator().manual_seed(0), "qa", device=torch.device("cpu"))  # fmt: skip
    stats: dict[str, list[list[float]]] = {}
    scores = predict_and_score(
        model, qa_tokenizer, spec, examples, 8, 24, "eval", None, stats,
        EvalSettings(doc_stride=4, max_query_length=8, max_answer_length=5, n_best=5),
    )  # fmt: skip
    assert scores["exact_match"] >= 0.9
    assert set(scores) == {"exact_match", "f1"}
    assert metric_of("f1", np.array(stats["f1"])) == pytest.approx(scores["f1"])


def test_qa_statistics_resample_in_the_paired_bootstrap() -> None:
    from harness.results.stats import paired_bootstrap_gain

    golds = [["anna berg"], ["the river"], ["new harbor"], ["a dog"]]
    system = example_stats("extractive_qa", ["Anna Berg", "river", "harbor", "dog"], golds)
    baseline = example_stats("extractive_qa", ["Anna", "", "New Harbor", "cat"], golds)
    for metric in ("f1", "exact_match"):
        gain, draws = paired_bootstrap_gain(
            [np.array(system[metric])], [np.array(baseline[metric])], metric, samples=200
        )
        expected = np.mean([r[0] for r in system[metric]]) - np.mean(
            [r[0] for r in baseline[metric]]
        )
        assert gain.gain == pytest.approx(expected)
        assert draws.shape == (200,) and np.all((draws >= -1) & (draws <= 1))


def test_the_feature_cache_keys_on_the_qa_settings(qa_tokenizer: Any, tmp_path: Path) -> None:
    from harness.data.cache import cache_key, cached_featurize

    spec = _spec()
    a, b = FeatureSettings(4, 8), FeatureSettings(5, 8)
    assert cache_key(spec, LONG, qa_tokenizer, 20, a) != cache_key(spec, LONG, qa_tokenizer, 20, b)
    assert cache_key(spec, LONG, qa_tokenizer, 20, a) != cache_key(
        spec, LONG, qa_tokenizer, 20, FeatureSettings(4, 9)
    )
    first = cached_featurize(spec, LONG, qa_tokenizer, 20, tmp_path, a)
    assert len(first) > len(LONG)  # several windows per example, cached as they are
    assert cached_featurize(spec, LONG, qa_tokenizer, 20, tmp_path, a) == first
    assert cached_featurize(spec, LONG, qa_tokenizer, 20, tmp_path, b) != first


def _v2_spec() -> TaskSpec:
    return _spec("t_qa2").model_copy(update={"unanswerable": True})


def test_unanswerable_questions_train_to_the_start_token(qa_tokenizer: Any) -> None:
    """SQuAD v2.0: a question without an answer points at <s> (0, 0) in every window; an
    answerable one keeps its span. A task whose spec does not allow them refuses it."""
    none = {"id": "n", "context": LONG[0]["context"], "question": "who ?", "answers": {
        "text": [], "answer_start": []}}  # fmt: skip
    settings = FeatureSettings(8, 16)
    features = featurize(_v2_spec(), [none, LONG[3]], qa_tokenizer, 40, settings)
    unanswerable = [f for f in features if f.example == 0]
    assert len(unanswerable) > 1 and all((f.start, f.end) == (0, 0) for f in unanswerable)
    answerable = [f for f in features if f.example == 1]
    alone = featurize(_spec(), [LONG[3]], qa_tokenizer, 40, settings)
    assert [(f.input_ids, f.start, f.end) for f in answerable] == [
        (f.input_ids, f.start, f.end) for f in alone
    ]
    assert any(f.start > 0 for f in answerable)
    with pytest.raises(HarnessError, match=r"no gold answer.*unanswerable: true"):
        featurize(_spec(), [none], qa_tokenizer, 40, settings)
    with pytest.raises(ValueError, match="unanswerable is for extractive_qa"):
        TaskSpec.model_validate({**_spec().model_dump(), "kind": "classification",
                                 "labels": ["a", "b"], "unanswerable": True})  # fmt: skip


def test_unanswerable_decoding_compares_the_null_span_with_the_best_span() -> None:
    context = "aa bb cc dd ee"
    offsets: list[tuple[int, int] | None] = [None, None, None, None]
    offsets += [(0, 2), (2, 5), (5, 8), (8, 11), (11, 14), None]
    feature = _window(offsets)
    logits = torch.full((len(offsets), 2), -10.0)
    logits[6, 0], logits[7, 1] = 5.0, 4.0  # best span cc dd: 9
    logits[0] = torch.tensor([5.0, 5.0])  # <s> <s>: 10 > 9
    assert best_span([(feature, logits)], context, 30, 20, unanswerable=True) == ""
    assert best_span([(feature, logits)], context, 30, 20) == "cc dd"  # v1.1: never null
    lower = logits.clone()
    lower[0] = torch.tensor([4.0, 4.0])  # 8 < 9
    assert best_span([(feature, lower)], context, 30, 20, unanswerable=True) == "cc dd"
    # the null score is the lowest over the example's windows (8 here): the span wins
    assert best_span([(feature, logits), (feature, lower)], context, 30, 20, True) == "cc dd"


def test_unanswerable_scores_follow_the_squad_v2_evaluation() -> None:
    """Hand-computed with evaluate-v2.0's rules: no gold answer (or only answers that normalise
    to nothing) means the right answer is the empty one; F1 with an empty side is 1 if both
    are empty, else 0."""
    from harness.kinds.extractive_qa import EXTRACTIVE_QA

    predictions = ["", "Anna Berg", "", "the river", "", "river"]
    golds = [[], ["Anna Berg"], ["New Harbor"], [], ["the"], ["the"]]
    # EM: 1, 1, 0, 0, 1 ("the" normalises to nothing: gold [""]), 0
    # F1: 1, 1, 0, 0, 1, 0
    expected = {"exact_match": 3 / 6, "f1": 3 / 6}
    pairs = [(str(i), g) for i, g in enumerate(golds)]
    answers = {str(i): p for i, p in enumerate(predictions)}
    assert qa_scores(pairs, answers, no_answer=True) == pytest.approx(expected)
    assert EXTRACTIVE_QA.score(_v2_spec(), predictions, golds) == pytest.approx(expected)
    rows = EXTRACTIVE_QA.example_stats(_v2_spec(), predictions, golds)
    assert metric_of("f1", np.array(rows["f1"])) == pytest.approx(expected["f1"])
    assert metric_of("exact_match", np.array(rows["exact_match"])) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="no gold answer"):  # v1.1 scoring is unchanged
        qa_scores(pairs, answers)
