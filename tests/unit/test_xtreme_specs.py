"""The XTREME / XTREME-R target task specs and the paper phase-2 hyperparameters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from harness.config import TrainParams
from harness.data.sources import load_examples
from harness.errors import HarnessError
from harness.metrics.benchmark import GROUPS, TASK_LANGUAGES, group_of
from harness.profiles import render
from harness.tasks import HubSource, LocalSource, Registry, TaskSpec, training_spec
from tests.conftest import REPO

XTREME_DIR = REPO / "harness" / "tasks" / "xtreme"
TARGETS = sorted(TASK_LANGUAGES)


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry.load([XTREME_DIR])


def test_all_twelve_targets(registry: Registry) -> None:
    names = [n for n in registry.names() if not n.startswith("toy_")]
    assert names == TARGETS
    assert len(names) == 12


def test_toy_profile_does_not_load_them() -> None:
    assert not set(Registry.load().names()) & set(TARGETS)


@pytest.mark.parametrize("name", TARGETS)
def test_versions_languages_and_groups(registry: Registry, name: str) -> None:
    spec = registry.get(name, "target")
    assert set(spec.benchmarks) == set(TASK_LANGUAGES[name])
    for version, entry in spec.benchmarks.items():
        assert sorted(entry.languages) == sorted(TASK_LANGUAGES[name][version])
        if (name, version) == ("lareqa", "xtreme_r"):
            # the reference evaluator puts LAReQA in no group; the XTREME-R paper's category
            assert group_of(name, version) is None and entry.group == "retrieval"
            continue
        assert entry.group == group_of(name, version)
        assert name in GROUPS[version][entry.group]
    assert spec.train_language == "en"
    # English is evaluated wherever the release has English data; XCOPA's has none
    assert ("en" in spec.languages) == (name != "xcopa")
    # an English training source: the task's own train split or explicit stages
    if spec.kind != "retrieval" or spec.english_training:
        splits = spec.source.files if isinstance(spec.source, LocalSource) else spec.source.splits
        assert "train" in splits or spec.english_training
    for source in [spec.source, *(s.source for s in spec.english_training)]:
        if isinstance(source, HubSource):
            assert len(source.revision) == 40 and int(source.revision, 16) >= 0


def test_english_training_sources(registry: Registry) -> None:
    assert [s.name for s in registry.get("xnli").english_training] == ["mnli"]
    assert [s.name for s in registry.get("xcopa").english_training] == ["siqa", "copa"]
    for name in ("xquad", "mlqa", "lareqa"):
        assert [s.name for s in registry.get(name).english_training] == ["squad_v1_1"]
    assert [s.name for s in registry.get("mewslix").english_training] == ["wikipedia_pairs"]
    mnli = training_spec(registry.get("xnli"))
    assert isinstance(mnli.source, HubSource) and mnli.source.id == "nyu-mll/multi_nli"
    # specs that train on their own source are their own training spec
    assert training_spec(registry.get("panx")) is registry.get("panx")


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_specs_read_fixture_files(registry: Registry, tmp_path: Path) -> None:
    root = tmp_path
    base = root / "data" / "xtreme"
    _write(base / "udpos/lt/test.conllu", "1\tLabas\tlabas\tINTJ\t_\t_\t0\troot\t_\t_\n\n")
    _write(base / "panx/qu/test", "qu:Lima\tB-LOC\nqu:llaqta\tO\n\n")
    _write(
        base / "pawsx/de/test_2k.tsv", "id\tsentence1\tsentence2\tlabel\n7\tEin Satz.\tSatz.\t1\n"
    )
    xcopa_row = {"premise": "P", "choice1": "A", "choice2": "B", "question": "cause", "label": 1}
    _write(base / "xcopa/ht/test.ht.jsonl", json.dumps(xcopa_row) + "\n")
    squad = {
        "data": [
            {
                "paragraphs": [
                    {
                        "context": "Hanoi la thu do.",
                        "qas": [
                            {
                                "id": "m1",
                                "question": "?",
                                "answers": [{"text": "Hanoi", "answer_start": 0}],
                            }
                        ],
                    }
                ]
            }
        ]
    }
    _write(base / "mlqa/MLQA_V1/test/test-context-vi-question-vi.json", json.dumps(squad))
    _write(base / "tatoeba/tatoeba.ukr-eng.ukr", "Привіт.\n")
    _write(base / "tatoeba/tatoeba.ukr-eng.eng", "Hello.\n")

    pos = load_examples(registry.get("udpos"), "test", "lt", root)
    assert pos[0]["tokens"] == ["Labas"] and pos[0]["tags"] == ["INTJ"]
    ner = load_examples(registry.get("panx"), "test", "qu", root)
    assert ner[0]["tokens"] == ["Lima", "llaqta"] and ner[0]["tags"] == ["B-LOC", "O"]
    paws = load_examples(registry.get("pawsx"), "test", "de", root)
    assert paws[0]["sentence1"] == "Ein Satz." and paws[0]["label"] == "1"
    copa = load_examples(registry.get("xcopa"), "test", "ht", root)
    assert copa[0]["choices"] == ["A", "B"] and copa[0]["label"] == "1"
    assert copa[0]["question"] == "What was the cause of this?"
    qa = load_examples(registry.get("mlqa"), "test", "vi", root)
    assert qa[0]["answers"] == {"text": ["Hanoi"], "answer_start": [0]}
    tat = load_examples(registry.get("tatoeba"), "test", "uk", root)
    assert tat[0]["query"] == "Привіт." and tat[0]["target"] == "Hello."


def test_siqa_stage_has_three_choices(registry: Registry, tmp_path: Path) -> None:
    row = {
        "context": "C",
        "question": "Q",
        "answerA": "a",
        "answerB": "b",
        "answerC": "c",
        "label": "3",
    }
    _write(tmp_path / "data/xtreme/xcopa/siqa/train.jsonl", json.dumps(row) + "\n")
    siqa = training_spec(registry.get("xcopa"), 0)
    examples = load_examples(siqa, "train", "en", tmp_path)
    assert examples[0]["choices"] == ["a", "b", "c"] and examples[0]["label"] == "3"


def test_english_training_relaxes_only_the_train_split() -> None:
    spec = {
        "name": "t_x",
        "role": "target",
        "kind": "pair_classification",
        "source": {"type": "local", "path": "d", "files": {"test": "t.jsonl"}},
        "labels": ["a", "b"],
        "xtreme_group": "classification",
    }
    with pytest.raises(ValueError, match="does not name the split"):
        TaskSpec.model_validate(spec)
    stage = {"name": "s", "source": {"type": "local", "path": "d", "files": {"dev": "x"}}}
    with pytest.raises(ValueError, match="does not name a train split"):
        TaskSpec.model_validate({**spec, "english_training": [stage]})
    stage["source"]["files"] = {"train": "x", "dev": "y"}  # type: ignore[index]
    assert TaskSpec.model_validate({**spec, "english_training": [stage]}).english_training


def test_benchmark_languages_must_be_task_languages() -> None:
    spec = {
        "name": "t_y",
        "role": "target",
        "kind": "retrieval",
        "source": {"type": "local", "path": "d", "files": {"test": "t.jsonl"}},
        "xtreme_group": "retrieval",
        "languages": ["en", "de"],
        "benchmarks": {"xtreme": {"group": "retrieval", "languages": ["de", "fr"]}},
    }
    with pytest.raises(ValueError, match=r"\['fr'\] are not in languages"):
        TaskSpec.model_validate(spec)


def test_paper_phase2_hyperparameters() -> None:
    # the profile as params.yaml gets it: its protocol's settings under its own
    data = yaml.safe_load(render("paper", REPO / "profiles"))
    phase2 = {name: TrainParams.model_validate(v) for name, v in data["phase2"].items()}
    # every fine-tuned target has an entry; the retrieval targets are scored from the encoder
    # (LAReQA and Mewsli-X after training it as a dual encoder: retrieval.fine_tune)
    retrieval = {"bucc2018", "tatoeba", "lareqa", "mewslix"}
    assert sorted(phase2) == sorted(set(TARGETS) - retrieval)
    assert sorted(data["retrieval"]["fine_tune"]) == ["lareqa", "mewslix"]
    assert phase2["xquad"].max_length == 384
    assert phase2["udpos"].batch_size * phase2["udpos"].grad_accumulation == 32


def test_xcopa_reads_the_question_in_words_as_jiant_does(
    registry: Registry, tmp_path: Path
) -> None:
    """jiant's COPA / XCOPA tasks put "What was the cause of this?" or "What happened as a
    result?" after the premise; the release stores the words cause / effect. The XCOPA
    languages and the COPA training stage read the question in words, SIQA keeps its own
    questions, and a value the map does not list is refused."""
    from harness.kinds.multiple_choice import _first_segment

    rows = [
        {"premise": "The man fell.", "choice1": "A", "choice2": "B", "question": q, "label": 0}
        for q in ("cause", "effect")
    ]
    text = "".join(json.dumps(r) + "\n" for r in rows)
    _write(tmp_path / "data/xtreme/xcopa/et/test.et.jsonl", text)
    _write(tmp_path / "data/xtreme/xcopa/copa/train.jsonl", text)
    xcopa = registry.get("xcopa")
    test = load_examples(xcopa, "test", "et", tmp_path)
    assert [_first_segment(e) for e in test] == [
        "The man fell. What was the cause of this?",
        "The man fell. What happened as a result?",
    ]
    copa = load_examples(training_spec(xcopa, 1), "train", "en", tmp_path)
    assert [e["question"] for e in copa] == [e["question"] for e in test]
    assert training_spec(xcopa, 0).value_map == {}  # SIQA: questions in words already
    bad = {**rows[0], "question": "Cause"}
    _write(tmp_path / "data/xtreme/xcopa/et/test.et.jsonl", json.dumps(bad) + "\n")
    with pytest.raises(HarnessError, match=r"'Cause' in field 'question'.*\['cause', 'effect'\]"):
        load_examples(xcopa, "test", "et", tmp_path)


def test_value_maps_name_text_fields_only() -> None:
    spec = {
        "name": "t_mc",
        "role": "intermediate",
        "kind": "multiple_choice",
        "source": {"type": "local", "path": "d", "files": {"train": "t", "dev": "d"}},
        "labels": ["0", "1"],
    }
    assert TaskSpec.model_validate({**spec, "value_map": {"question": {"a": "b"}}}).value_map
    with pytest.raises(ValueError, match=r"maps field 'label'.*text fields"):
        TaskSpec.model_validate({**spec, "value_map": {"label": {"a": "b"}}})
    with pytest.raises(ValueError, match="lists no values"):
        TaskSpec.model_validate({**spec, "value_map": {"question": {}}})


def test_only_a_target_trained_on_other_english_data_may_leave_english_out() -> None:
    spec = {
        "name": "t_z",
        "role": "target",
        "kind": "multiple_choice",
        "source": {"type": "local", "path": "d", "files": {"train": "t", "dev": "v", "test": "x"}},
        "labels": ["0", "1"],
        "xtreme_group": "classification",
        "languages": ["et"],
    }
    with pytest.raises(ValueError, match="languages must include train_language"):
        TaskSpec.model_validate(spec)
    stage = {"name": "s", "source": {"type": "local", "path": "e", "files": {"train": "t"}}}
    assert TaskSpec.model_validate({**spec, "english_training": [stage]}).languages == ["et"]
