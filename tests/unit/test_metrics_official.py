"""The official XTREME / SQuAD / MLQA metric semantics, on hand-computed examples."""

from __future__ import annotations

import pytest

from harness.metrics import (
    average_precision_at_k,
    bucc_scores,
    exact_match,
    mean_average_precision_at_k,
    mewslix_map_at_k,
    normalize_mlqa,
    normalize_squad,
    qa_f1,
    qa_scores,
    seqeval_scores,
)
from harness.metrics.benchmark import (
    GROUPS,
    TASK_LANGUAGES,
    benchmark_summary,
    languages,
    task_average,
    tasks_of,
)
from harness.metrics.qa import qa_task_score

# --- SQuAD v1.1 (XQuAD, TyDiQA) --------------------------------------------------------------


def test_squad_normalisation() -> None:
    # lower, drop ASCII punctuation (the hyphen too: the words fuse), drop articles, squash
    assert normalize_squad("The  Eiffel-Tower!") == "eiffeltower"
    assert normalize_squad("An apple, a day") == "apple day"
    # 'the' inside a word is not an article
    assert normalize_squad("theatre") == "theatre"


def test_squad_f1_and_em() -> None:
    # tokens [cat, sat] vs [cat, sat, down]: P=1, R=2/3, F1=0.8
    assert qa_f1("the cat sat", "a cat sat down") == pytest.approx(0.8)
    assert exact_match("The cat.", "cat") == 1.0
    assert exact_match("cat", "cats") == 0.0


def test_squad_chinese_answer_is_one_token() -> None:
    # without spaces a Chinese answer is a single token: partial overlap scores nothing
    assert qa_f1("北京市", "北京") == 0.0
    # Chinese punctuation is not ASCII punctuation, so it is kept
    assert exact_match("北京。", "北京") == 0.0


def test_punctuation_only_and_empty_answers() -> None:
    # both normalise to '': exact match, but F1 is 0 because no token is shared
    assert exact_match("", "!!!") == 1.0
    assert qa_f1("", "!!!") == 0.0
    assert qa_f1("", "cat") == 0.0
    assert exact_match("", "cat") == 0.0


def test_qa_scores_best_answer_per_metric_and_missing_predictions() -> None:
    golds = {"q1": ["cat sat", "the dog"], "q2": ["Paris"], "q3": ["x"]}
    preds = {"q1": "dog sat", "q2": "paris", "unknown": "y"}
    # q1: EM 0; F1 max(0.5 vs 'cat sat', 2/3 vs 'dog') = 2/3. q2: 1, 1. q3 missing: 0, 0.
    scores = qa_scores(golds, preds)
    assert scores["exact_match"] == pytest.approx(1 / 3)
    assert scores["f1"] == pytest.approx((2 / 3 + 1) / 3)
    assert qa_task_score(scores["exact_match"], scores["f1"]) == pytest.approx((1 / 3 + 5 / 9) / 2)


def test_qa_scores_counts_a_repeated_question_twice() -> None:
    golds = [("q1", ["a b"]), ("q1", ["a b"]), ("q2", ["c"])]
    assert qa_scores(golds, {"q1": "a b"})["exact_match"] == pytest.approx(2 / 3)


def test_qa_scores_refuses_a_question_without_answers() -> None:
    with pytest.raises(ValueError, match="no gold answer"):
        qa_scores({"q": []}, {"q": "x"})


# --- MLQA --------------------------------------------------------------------------------------


def test_mlqa_chinese_mixed_segmentation() -> None:
    # every CJK character is a token; Latin runs are split on whitespace
    assert normalize_mlqa("iPhone手机 2", "zh") == "iphone 手 机 2"
    # 北 京 市 vs 北 京: P=2/3, R=1, F1=0.8
    assert qa_f1("北京市", "北京", "mlqa", "zh") == pytest.approx(0.8)
    # Unicode punctuation (the ideographic full stop) is removed
    assert exact_match("北京。", "北京", "mlqa", "zh") == 1.0


def test_mlqa_arabic_removes_every_al() -> None:
    assert normalize_mlqa("الكتاب", "ar") == "كتاب"
    assert exact_match("الكتاب", "كتاب", "mlqa", "ar") == 1.0
    # the official pattern also removes 'ال' inside a word: قال ('he said') -> ق
    assert normalize_mlqa("قال", "ar") == "ق"
    # Arabic comma (U+060C, category Po) is punctuation
    assert normalize_mlqa("كتاب،", "ar") == "كتاب"
    # the SQuAD normalisation knows no Arabic article
    assert exact_match("الكتاب", "كتاب") == 0.0


def test_mlqa_articles_per_language() -> None:
    assert normalize_mlqa("Der Hund", "de") == "hund"
    assert normalize_mlqa("la casa", "es") == "casa"
    assert normalize_mlqa("la casa", "en") == "la casa"
    assert normalize_mlqa("the house", "hi") == "the house"
    assert normalize_mlqa("cái bàn", "vi") == "bàn"


def test_mlqa_punctuation_is_unicode_p_plus_ascii_punctuation() -> None:
    # '$' is a symbol (Sc) but in string.punctuation: removed; '€' (Sc) is kept
    assert normalize_mlqa("$100", "en") == "100"
    assert normalize_mlqa("€100", "en") == "€100"
    # « » are Unicode punctuation (Pi/Pf) but not ASCII: only MLQA removes them
    assert normalize_mlqa("«hola»", "es") == "hola"
    assert normalize_squad("«hola»") == "«hola»"


def test_mlqa_unknown_language() -> None:
    with pytest.raises(ValueError, match="not 'fr'"):
        normalize_mlqa("x", "fr")


# --- seqeval span F1 (PAN-X, UD-POS) -------------------------------------------------------------


def test_repeated_b_tags_are_separate_entities() -> None:
    gold = [["B-PER", "B-PER", "O"]]
    pred = [["B-PER", "I-PER", "O"]]
    # gold: two one-token PER entities; pred: one two-token entity -> nothing right
    assert seqeval_scores(pred, gold) == {"f1": 0.0, "precision": 0.0, "recall": 0.0}
    assert seqeval_scores(gold, gold)["f1"] == 1.0


def test_i_tag_after_o_opens_an_entity() -> None:
    # non-strict IOB: I-LOC after O starts an entity, so it equals B-LOC
    assert seqeval_scores([["O", "B-LOC"]], [["O", "I-LOC"]])["f1"] == 1.0


def test_pos_f1_merges_repeated_tags() -> None:
    # seqeval reads NOUN as prefix 'N' + type 'OUN': NOUN NOUN is one span
    gold = [["NOUN", "NOUN", "VERB"]]
    pred = [["NOUN", "VERB", "VERB"]]
    # gold spans (OUN 0-1) (ERB 2-2); pred spans (OUN 0-0) (ERB 1-2): no span right,
    # although two of three tokens are
    assert seqeval_scores(pred, gold)["f1"] == 0.0
    assert seqeval_scores([["NOUN", "VERB"]], [["NOUN", "VERB"]])["f1"] == 1.0
    # gold: three spans (ET 0-0) (OUN 1-1) (DJ 2-2); pred: two (ET 0-0) (OUN 1-2);
    # one right: P = 1/2, R = 1/3, F1 = 2 * (1/6) / (5/6) = 0.4
    scores = seqeval_scores([["DET", "NOUN", "NOUN"]], [["DET", "NOUN", "ADJ"]])
    assert scores["precision"] == pytest.approx(0.5)
    assert scores["recall"] == pytest.approx(1 / 3)
    assert scores["f1"] == pytest.approx(0.4)


def test_tag_lengths_must_match() -> None:
    with pytest.raises(ValueError, match="sentence 1"):
        seqeval_scores([["O"]], [["O", "O"]])


# --- retrieval ---------------------------------------------------------------------------------


def test_bucc_f1_on_id_pairs() -> None:
    gold = [("de-1", "en-1"), ("de-2", "en-2")]
    # the duplicate counts once: 1 right of 2 predicted, 1 of 2 gold
    pred = [("de-1", "en-1"), ("de-1", "en-1"), ("de-3", "en-3")]
    assert bucc_scores(pred, gold) == {"f1": 0.5, "precision": 0.5, "recall": 0.5}
    assert bucc_scores([("de-9", "en-9")], gold) == {"f1": 0.0, "precision": 0.0, "recall": 0.0}


def test_average_precision_at_k() -> None:
    assert average_precision_at_k({1, 3}, [1, 2, 3, 4, 5], 3) == pytest.approx(5 / 6)
    # a candidate repeated in the ranking counts once
    assert average_precision_at_k({1, 2, 3}, [1, 1, 1], 3) == pytest.approx(1 / 3)
    assert average_precision_at_k({1, 2, 3}, [1, 2, 1], 3) == pytest.approx(2 / 3)
    # the divisor is min(#correct, k): 25 correct answers, all 20 slots right -> 1
    assert average_precision_at_k(set(range(25)), list(range(20)), 20) == 1.0
    # a correct candidate at rank 21 is beyond the cut-off
    assert average_precision_at_k({"a"}, [str(i) for i in range(20)] + ["a"], 20) == 0.0


def test_mean_average_precision_missing_query_scores_zero() -> None:
    golds = {"q1": ["a"], "q2": ["b", "c"]}
    preds = {"q1": ["x", "a"], "q3": ["b"]}
    assert mean_average_precision_at_k(golds, preds, 20) == pytest.approx((0.5 + 0) / 2)


def test_mewslix_uses_first_gold_stripped() -> None:
    golds = {"m1": ["Q1 "], "m2": ["Q2", "Q9"], "m3": ["Q3"]}
    preds = {"m1": ["Q5", "Q1"], "m2": ["Q9", "Q2"], "m4": ["Q4"]}
    # m1: rank 2 -> 1/2; m2: only Q2 counts -> 1/2; m3: no predictions -> 0
    assert mewslix_map_at_k(golds, preds) == pytest.approx(1 / 3)


# --- benchmark tables and averages ---------------------------------------------------------------


def test_language_tables_match_the_language_list() -> None:
    from harness.results.languages import benchmark_languages

    langs = benchmark_languages()
    xtreme = {row.code for row in langs if row.xtreme}
    xtreme_r = {row.code for row in langs if row.xtreme_r}
    for version, expected in (("xtreme", xtreme), ("xtreme_r", xtreme_r)):
        union = {lang for t in tasks_of(version) for lang in languages(t, version)}  # type: ignore[arg-type]
        assert union == expected
    assert len(tasks_of("xtreme")) == 9 and len(tasks_of("xtreme_r")) == 10
    for task, versions in TASK_LANGUAGES.items():
        for version, codes in versions.items():
            assert len(set(codes)) == len(codes), (task, version)
            grouped = any(task in g for g in GROUPS[version].values())
            assert grouped == ((task, version) != ("lareqa", "xtreme_r")), (task, version)


def test_task_average_qa_is_mean_of_em_and_f1() -> None:
    avg = task_average(
        "xquad", {"en": {"exact_match": 60.0, "f1": 80.0}, "de": {"exact_match": 40.0, "f1": 50.0}}
    )
    assert avg == {"avg_exact_match": 50.0, "avg_f1": 65.0, "avg_metric": 57.5}
    assert (
        task_average("panx", {"en": {"f1": 80.0, "precision": 70.0, "recall": 90.0}})["avg_metric"]
        == 80.0
    )
    assert task_average("lareqa", {"en": {"map@20": 30.0}})["avg_metric"] == 30.0


def test_benchmark_summary_complete_and_partial() -> None:
    scores = {t: float(i * 10) for i, t in enumerate(tasks_of("xtreme"))}
    summary = benchmark_summary("xtreme", scores)
    assert summary["all_task"] == pytest.approx(sum(scores.values()) / 9)
    assert summary["qa"] == pytest.approx((scores["xquad"] + scores["mlqa"] + scores["tydiqa"]) / 3)
    del scores["tatoeba"]
    partial = benchmark_summary("xtreme", scores)
    assert "all_task" not in partial and "retrieval" not in partial and "qa" in partial


def test_xtreme_r_overall_includes_lareqa() -> None:
    scores = dict.fromkeys(tasks_of("xtreme_r"), 50.0)
    scores["lareqa"] = 10.0
    scores["xcopa"] = 80.0
    summary = benchmark_summary("xtreme_r", scores)
    assert summary["all_task"] == pytest.approx((8 * 50 + 10 + 80) / 10)
    # the reference evaluator's groups: LAReQA in none, XCOPA in two
    assert summary["retrieval"] == pytest.approx(50)
    assert summary["classification"] == pytest.approx((50 + 80) / 2)
    assert summary["multi_choice"] == pytest.approx(80)
    assert set(summary) == {"all_task", "classification", "tagging", "qa", "retrieval",
                            "multi_choice", "category_average"}  # fmt: skip
    assert summary["category_average"] == pytest.approx((65 + 50 + 50 + 50) / 4)
    # without LAReQA: every group, but neither overall score's first form
    del scores["lareqa"]
    assert "all_task" not in benchmark_summary("xtreme_r", scores)
