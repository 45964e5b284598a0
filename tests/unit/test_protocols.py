"""The two reference protocols, value by value against their sources, and how a profile takes
one (``protocol:``; :func:`harness.profiles.apply_protocol`).

The expected values are written here from the source files themselves (read at the commits
named in harness/protocols/*.yaml), not from the protocol files, so an edit to a protocol that
drifts from its source fails here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.config import Params
from harness.errors import HarnessError
from harness.profiles import PROTOCOLS, apply_protocol, protocol, render

PAPER_TASKS = ["mnli", "qqp", "squad_v1", "squad_v2", "hellaswag", "commonsense_qa", "cosmos_qa",
               "ccg"]  # fmt: skip

# jiant (nyu-mll/jiant): e_run_models.sh --learning_rate 1e-5 --eval_every_steps 1000
# --no_improvements_for_n_evals 30; xtreme_runconfig_writer.py warmup_steps_proportion 0.1,
# train_batch_size 4, gradient_accumulation_steps 1, eval_subset_num 500, early stopping on the
# training task; runscript.py max_grad_norm 1.0; shared/model_setup.py weight decay 0.01
JIANT_COMMON = {
    "learning_rate": 1e-5, "warmup_ratio": 0.1, "weight_decay": 0.01, "max_grad_norm": 1.0,
    "batch_size": 4,
    "selection": {"every_steps": 1000, "subset": 500, "patience": 30, "dev": "training"},
}  # fmt: skip
# d_write_configs.sh (--epochs, --gradient_accumulation_steps) and c_tokenize_and_cache.sh
# (--max_seq_length: 256 for the classification and tagging tasks, 384 for QA)
JIANT_PHASE2 = {
    "xnli": (2, 8, 256), "pawsx": (5, 8, 256), "udpos": (10, 8, 256), "panx": (10, 8, 256),
    "xquad": (2, 4, 384), "mlqa": (2, 4, 384), "tydiqa": (2, 4, 384),
}  # fmt: skip
# the paper's text (not a config file): epochs and lengths of the intermediate tasks
PAPER_PHASE1 = {
    "mnli": (2, 256), "qqp": (2, 256), "squad_v1": (2, 384), "squad_v2": (2, 384),
    "hellaswag": (2, 256), "commonsense_qa": (3, 128), "cosmos_qa": (3, 256), "ccg": (3, 256),
}  # fmt: skip

# XTREME scripts/train_<task>.sh, xlm-roberta-large branch: (epochs, lr, batch, accumulation,
# max length, --save_steps of --save_only_best_checkpoint or None); run_classify.py / run_tag.py
# defaults: warm-up 0 steps, weight decay 0.0, max_grad_norm 1.0
XTREME_PHASE2 = {
    "xnli": (5, 3e-5, 2, 16, 128, 100),
    "pawsx": (5, 2e-5, 2, 16, 128, 200),
    "udpos": (10, 2e-5, 2, 16, 128, 500),
    "panx": (10, 2e-5, 2, 16, 128, 1000),
    "xcopa": (5, 3e-5, 2, 16, 128, None),
    "xquad": (3, 3e-5, 4, 8, 384, None),
    "mlqa": (3, 3e-5, 4, 8, 384, None),
    "tydiqa": (3, 3e-5, 4, 8, 384, None),
}
# the dual encoders: scripts/train_lareqa.sh (NUM_EPOCHS=3.0, LR=2e-5, PER_GPU_BATCH_SIZE=4,
# GRAD_ACC_STEPS=4, MAX_QUERY_LEN=96, MAX_ANSWER_LEN=256) and scripts/train_mewslix.sh
# (xlm-roberta-large: NUM_EPOCHS=2, LR=1e-5, PER_GPU_BATCH_SIZE=8, GRAD_ACC_STEPS=4,
# MAX_SEQ_LEN=64); both --warmup_steps 0 --weight_decay 0.0: (epochs, lr, batch, accumulation,
# query length, candidate length)
XTREME_R_DUAL = {"lareqa": (3, 2e-5, 4, 4, 96, 256), "mewslix": (2, 1e-5, 8, 4, 64, 64)}
# train_qa.sh: --warmup_steps 500 --weight_decay 0.0001 --doc_stride 128
XTREME_QA = {"warmup_steps": 500, "weight_decay": 0.0001, "doc_stride": 128}


def _rendered(name: str) -> Params:
    return Params.model_validate(yaml.safe_load(render(name)))


def test_the_paper_protocol_is_jiants() -> None:
    params = _rendered("paper")
    assert params.protocol == "paper"
    for task, (epochs, accumulation, length) in JIANT_PHASE2.items():
        tp = params.phase2[task]
        assert (tp.epochs, tp.grad_accumulation, tp.max_length) == (epochs, accumulation, length)
        assert tp.learning_rate == JIANT_COMMON["learning_rate"]
        assert tp.warmup_ratio == JIANT_COMMON["warmup_ratio"] and tp.warmup_steps is None
        assert tp.weight_decay == JIANT_COMMON["weight_decay"]
        assert tp.max_grad_norm == JIANT_COMMON["max_grad_norm"]
        assert tp.batch_size == JIANT_COMMON["batch_size"]
        assert tp.selection.model_dump() == {**JIANT_COMMON["selection"], "oracle": False}
    for task, (epochs, length) in PAPER_PHASE1.items():
        tp = params.phase1[task]
        assert (tp.epochs, tp.max_length, tp.grad_accumulation) == (epochs, length, 1)
        assert (tp.learning_rate, tp.batch_size, tp.warmup_ratio) == (1e-5, 4, 0.1)
        assert tp.selection.every_steps == 1000 and tp.selection.patience == 30
    for name in ("anli_plus", "all_nine"):
        setting = params.multitask[name]
        assert (setting.epochs, setting.max_length, setting.learning_rate) == (2, 256, 1e-5)
        assert setting.selection.every_steps == 1000
    # xtreme_runconfig_writer.py retrieval_layer 14; c_tokenize_and_cache.sh 512 for retrieval
    assert (params.retrieval.layer, params.retrieval.max_length) == (14, 512)


def test_the_xtreme_protocol_is_the_reference_scripts() -> None:
    params = _rendered("paper-xtreme")
    assert params.protocol == "xtreme"
    for task, (epochs, lr, batch, accumulation, length, save_steps) in XTREME_PHASE2.items():
        tp = params.phase2[task]
        assert (tp.epochs, tp.learning_rate, tp.batch_size) == (epochs, lr, batch), task
        assert (tp.grad_accumulation, tp.max_length) == (accumulation, length), task
        assert tp.max_grad_norm == 1.0
        if save_steps is None:
            assert tp.selection.every_steps == 0, task  # the last step's model
        else:  # best on the target's own English dev split, no patience
            assert tp.selection.every_steps == save_steps, task
            assert (tp.selection.dev, tp.selection.patience, tp.selection.subset) == (
                "target",
                0,
                0,
            )
        if task in ("xquad", "mlqa", "tydiqa"):
            assert tp.warmup_steps == XTREME_QA["warmup_steps"]
            assert tp.weight_decay == XTREME_QA["weight_decay"]
            assert tp.doc_stride == XTREME_QA["doc_stride"]
        else:
            assert (tp.warmup_steps or 0, tp.warmup_ratio, tp.weight_decay) == (0, 0.0, 0.0)
    # run_tatoeba.sh / run_bucc2018.sh MAXL=512, --specific_layer 13 (= our 14);
    # evaluate_retrieval.py searches with the English side; utils_retrieve.py neighborhood 4
    r = params.retrieval
    assert (r.layer, r.max_length, r.accuracy_direction, r.bucc_margin_k) == (
        14, 512, "target_to_query", 4
    )  # fmt: skip
    # LAReQA and Mewsli-X: dual encoders (both protocols: jiant never ran them)
    for name in ("paper", "paper-xtreme"):
        tuned = _rendered(name).retrieval.fine_tune
        assert set(tuned) == set(XTREME_R_DUAL)
        for task, (epochs, lr, batch, accumulation, query, candidate) in XTREME_R_DUAL.items():
            tp = tuned[task]
            assert (tp.epochs, tp.learning_rate, tp.batch_size) == (epochs, lr, batch)
            assert (tp.grad_accumulation, tp.max_query_length, tp.max_length) == (
                accumulation, query, candidate
            )  # fmt: skip
            assert (tp.warmup_ratio, tp.warmup_steps, tp.weight_decay) == (0.0, None, 0.0)
            assert tp.group_by_length == 0 and tp.selection.every_steps == 0
    # XTREME trains no intermediate task: phase 1 is the paper protocol's
    paper = _rendered("paper")
    assert {t: params.phase1[t] for t in PAPER_TASKS} == {t: paper.phase1[t] for t in PAPER_TASKS}
    assert params.multitask == paper.multitask


def test_the_protocols_differ_where_their_sources_do() -> None:
    paper, xtreme = _rendered("paper"), _rendered("paper-xtreme")
    assert paper.phase2["xnli"].max_length == 256 and xtreme.phase2["xnli"].max_length == 128
    assert paper.phase2["xnli"].selection.dev == "training"  # jiant: MNLI's dev
    assert xtreme.phase2["xnli"].selection.dev == "target"  # XTREME: XNLI's English dev
    assert paper.phase2["xquad"].warmup_steps is None and xtreme.phase2["xquad"].warmup_steps


def test_a_profiles_own_values_win_over_its_protocols() -> None:
    smoke = _rendered("paper-smoke")  # extends paper: one epoch, no accumulation
    assert smoke.protocol == "paper"
    assert smoke.phase2["xnli"].epochs == 1 and smoke.phase2["xnli"].grad_accumulation == 1
    assert smoke.phase2["xnli"].max_length == 256 and smoke.phase2["xnli"].learning_rate == 1e-5
    assert smoke.retrieval.layer == 2 and smoke.retrieval.max_length == 512
    data = {
        "protocol": "xtreme",
        "grid": {"intermediate": ["none", "mnli"]},
        "phase2": {"xnli": {"selection": {"every_steps": 7}}, "mine": {"epochs": 1}},
    }
    out = apply_protocol(data)
    assert out["phase2"]["xnli"]["selection"] == {"every_steps": 7, "dev": "target"}
    assert out["phase2"]["xnli"]["learning_rate"] == 3e-5
    assert out["phase2"]["mine"] == {"epochs": 1}  # a task the protocol lacks stays as written
    assert list(out["phase1"]) == ["mnli"]  # only what the grid trains
    assert out["multitask"] == {}  # the profile defines no multi-task setting


def test_an_unknown_protocol_is_refused(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match=r"Unknown protocol 'jiant'.*paper, xtreme"):
        apply_protocol({"protocol": "jiant"})
    (tmp_path / "mine.yaml").write_text("extends: toy\nprotocol: xtreme-r\n")
    (tmp_path / "toy.yaml").write_text(Path("profiles/toy.yaml").read_text())
    with pytest.raises(HarnessError, match="protocol"):
        render("mine", tmp_path)
    assert set(PROTOCOLS) == {"paper", "xtreme"}


@pytest.mark.parametrize("name", PROTOCOLS)
def test_every_protocol_value_names_its_source(name: str) -> None:
    """Each task entry and setting line of a protocol file carries a comment (its source)."""
    text = (Path("harness/protocols") / f"{name}.yaml").read_text()
    settings: dict[str, Any] = protocol(name)
    assert settings["name"] == name
    body = [
        line for line in text.splitlines()
        if line.startswith("  ") and ":" in line and not line.lstrip().startswith("#")
    ]  # fmt: skip
    unsourced = [
        line for line in body
        if "#" not in line and not line.rstrip().endswith(":")
        and not line.lstrip().startswith(("mnli", "qqp", "squad", "hellaswag", "commonsense",
                                          "cosmos", "ccg", "anli_plus", "all_nine"))
    ]  # fmt: skip
    assert unsourced == []
