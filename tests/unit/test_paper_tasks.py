"""The paper's intermediate tasks: every spec read through the real loader from rows in its
Hub dataset's real schema; CCG from CCGbank AUTO files; the paper phase-1 settings."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.config import MultitaskParams, TrainParams
from harness.data.ccg import UNK, prepare_ccg, read_auto
from harness.data.sources import load_examples
from harness.errors import HarnessError
from harness.profiles import render
from harness.tasks import HubSource, Registry, load_spec
from tests.conftest import REPO

PAPER_DIR = REPO / "harness" / "tasks" / "paper"
NINE = {
    "anli_plus": ["anli_r1", "anli_r2", "anli_r3", "mnli", "snli"],
    "mnli": ["mnli"],
    "qqp": ["qqp"],
    "squad_v1": ["squad_v1"],
    "squad_v2": ["squad_v2"],
    "hellaswag": ["hellaswag"],
    "commonsense_qa": ["commonsense_qa"],
    "cosmos_qa": ["cosmos_qa"],
    "ccg": ["ccg"],
}

# Rows as the Hub datasets serve them (column names, nesting and label encodings).
NLI_ROW = {"premise": "A man eats.", "hypothesis": "Someone eats.", "label": 0}
HUB_ROWS: dict[str, list[dict[str, Any]]] = {
    "mnli": [
        {**NLI_ROW, "promptID": 1, "pairID": "1e", "genre": "fiction"},
        {**NLI_ROW, "label": 2, "promptID": 2, "pairID": "2c", "genre": "travel"},
    ],
    "snli": [NLI_ROW, {**NLI_ROW, "label": -1}, {**NLI_ROW, "label": 1}],
    "anli_r1": [{"uid": "a1", **NLI_ROW, "label": 2, "reason": ""}],
    "anli_r2": [{"uid": "a2", **NLI_ROW, "label": 1, "reason": ""}],
    "anli_r3": [{"uid": "a3", **NLI_ROW, "reason": "r"}],
    "qqp": [{"question1": "How?", "question2": "Why?", "label": 1, "idx": 0}],
    "squad_v1": [
        {
            "id": "5733be28",
            "title": "University_of_Notre_Dame",
            "context": "Architecturally, the school has a Catholic character.",
            "question": "What character does the school have?",
            "answers": {"text": ["Catholic"], "answer_start": [34]},
        }
    ],
    "squad_v2": [
        {
            "id": "56be85543",
            "title": "Beyonce",
            "context": "Beyonce was born in Houston.",
            "question": "Where was Beyonce born?",
            "answers": {"text": ["Houston"], "answer_start": [20]},
        },
        {
            "id": "5a8d7bf7",
            "title": "Beyonce",
            "context": "Beyonce was born in Houston.",
            "question": "Where was Jay-Z born?",
            "answers": {"text": [], "answer_start": []},
        },
    ],
    "hellaswag": [
        {
            "ind": 4,
            "activity_label": "Removing ice from car",
            "ctx_a": "Then, the man writes over the snow covering the window of a car.",
            "ctx_b": "a woman wearing winter clothes",
            "ctx": "Then, the man writes ... a woman wearing winter clothes",
            "endings": [", smiles.", ", laughs.", ", walks.", ", sits."],
            "source_id": "activitynet~v_-1IBHYS3L-Y",
            "split": "train",
            "split_type": "indomain",
            "label": "3",
        }
    ],
    "commonsense_qa": [
        {
            "id": "075e483d21c29a511267ef62bedc0461",
            "question": "The sanctions against the school were a punishing blow?",
            "question_concept": "punishing",
            "choices": {
                "label": ["A", "B", "C", "D", "E"],
                "text": ["ignore", "enforce", "authoritarian", "yell at", "avoid"],
            },
            "answerKey": "A",
        }
    ],
    "cosmos_qa": [
        {
            "id": "3Q9SPIIRWJKVQ8244310E8TUS6YWAC##34V1S5K3GTZMDUBNBIGY93FLDV969D##q1_a1",
            "context": "Good Old War and person L : I saw both of these bands Wednesday night.",
            "question": "In the future , will this person go to see other bands play ?",
            "answer0": "None of the above choices .",
            "answer1": "This person likes music and likes to see the show .",
            "answer2": "This person only likes Good Old War and Person L .",
            "answer3": "Other Bands is not on tour .",
            "label": 1,
        }
    ],
}

EXPECTED_LABEL = {
    "mnli": ["entailment", "contradiction"],
    "snli": ["entailment", "neutral"],  # the -1 row is left out
    "anli_r1": ["contradiction"],
    "anli_r2": ["neutral"],
    "anli_r3": ["entailment"],
    "qqp": ["duplicate"],
    "hellaswag": ["3"],
    "commonsense_qa": ["A"],
    "cosmos_qa": ["1"],
}


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry.load([PAPER_DIR])


def test_every_task_of_the_nine_has_a_spec(registry: Registry) -> None:
    names = set(registry.names())
    for setting, parts in NINE.items():
        if setting == "ccg":
            continue  # generated from CCGbank by `harness tasks import-ccg` (licensed)
        assert set(parts) <= names, setting
    for name in HUB_ROWS:
        spec = registry.get(name, role="intermediate")
        assert isinstance(spec.source, HubSource)
        # a full 40-hex commit, with its provenance in `upstream`
        assert re.fullmatch(r"[0-9a-f]{40}", spec.source.revision), name
        assert spec.upstream and spec.upstream[0].revision == spec.source.revision


def test_toy_profile_does_not_load_them() -> None:
    assert not set(Registry.load().names()) & set(HUB_ROWS)


@pytest.mark.parametrize("name", sorted(HUB_ROWS))
def test_reader_on_rows_in_the_real_schema(
    registry: Registry, name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import datasets

    spec = registry.get(name)
    assert isinstance(spec.source, HubSource) and spec.source.snapshot is not None
    calls: list[tuple[Any, ...]] = []

    def fake_load(path: str, config: Any = None, split: Any = None, revision: Any = None) -> Any:
        calls.append((path, config, split, revision))
        return HUB_ROWS[name]

    monkeypatch.setattr(datasets, "load_dataset", fake_load)
    # read from the snapshot `harness fetch` writes at the pinned revision ...
    (tmp_path / spec.source.snapshot).mkdir(parents=True)
    examples = load_examples(spec, "train", "en", tmp_path)
    folder = str(tmp_path / spec.source.snapshot)
    assert calls == [(folder, spec.source.config, spec.source.splits["train"], None)]
    # ... or, without a snapshot folder in the spec, from the Hub at that revision
    hub = spec.model_copy(update={"source": spec.source.model_copy(update={"snapshot": None})})
    assert load_examples(hub, "train", "en", tmp_path) == examples
    assert calls[1] == (
        spec.source.id,
        spec.source.config,
        spec.source.splits["train"],
        spec.source.revision,
    )
    if name in EXPECTED_LABEL:
        assert [ex["label"] for ex in examples] == EXPECTED_LABEL[name]
    if spec.kind == "pair_classification":
        assert examples[0]["sentence1"] and examples[0]["sentence2"]
    if spec.kind == "multiple_choice":
        assert all(len(ex["choices"]) == len(spec.labels) for ex in examples)
        assert all(isinstance(c, str) for ex in examples for c in ex["choices"])
    if name == "commonsense_qa":
        assert examples[0]["context"] == ""  # no passage
        assert examples[0]["choices"][0] == "ignore"  # from the nested choices.text
    if name == "hellaswag":
        assert examples[0]["question"] == "a woman wearing winter clothes"
    if name == "squad_v2":
        assert examples[1]["answers"] == {"text": [], "answer_start": []}  # unanswerable kept
    if spec.kind == "extractive_qa":
        first = examples[0]
        start = first["answers"]["answer_start"][0]
        assert first["context"][start:].startswith(first["answers"]["text"][0])


AUTO = (
    "ID=wsj_0201.1 PARSER=GOLD NUMPARSE=1\n"
    "(<T S[dcl] 0 2> (<T NP 0 2> (<L NP[nb]/N DT DT The NP[nb]_1/N_1>) (<L N NN NN cat N>) ) "
    "(<T S[dcl]\\NP 0 2> (<L (S[dcl]\\NP)/NP VBD VBD saw (S[dcl]\\NP_2)/NP_3>) "
    "(<L NP NNP NNP Anna NP>) ) )\n"
    "ID=wsj_0201.2 PARSER=GOLD NUMPARSE=1\n"
    "(<T S[dcl] 0 2> (<L NP NNP NNP Anna NP>) (<L S[dcl]\\NP VBD VBD slept S[dcl]\\NP_1>) )\n"
)


def _ccgbank(root: Path) -> Path:
    for section, text in (
        ("02", AUTO),
        ("00", AUTO.replace("slept S[dcl]", "ran S[dcl]")),
        ("23", AUTO.replace("<L N NN NN cat N>", "<L N/PP NN NN cat N/PP>")),
    ):
        folder = root / "ccgbank" / "data" / "AUTO" / section
        folder.mkdir(parents=True)
        (folder / f"wsj_{section}01.auto").write_text(text)
    return root / "ccgbank"


def test_ccgbank_auto_reader(tmp_path: Path) -> None:
    rows = read_auto(_ccgbank(tmp_path) / "data/AUTO/02/wsj_0201.auto")
    assert rows[0] == {
        "id": "wsj_0201.1",
        "tokens": ["The", "cat", "saw", "Anna"],
        "tags": ["NP[nb]/N", "N", "(S[dcl]\\NP)/NP", "NP"],
    }
    assert rows[1]["tokens"] == ["Anna", "slept"]
    bad = tmp_path / "bad.auto"
    bad.write_text("not a derivation\n")
    with pytest.raises(HarnessError, match="AUTO format"):
        read_auto(bad)


def test_ccg_task_from_ccgbank_loads_through_the_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ccgbank = _ccgbank(tmp_path)
    monkeypatch.chdir(tmp_path)
    spec_path = prepare_ccg(ccgbank, Path("data/ccg"))
    spec = load_spec(spec_path)
    assert spec.kind == "tagging" and spec.name == "ccg"
    tags = ["NP[nb]/N", "N", "(S[dcl]\\NP)/NP", "NP", "S[dcl]\\NP"]
    assert spec.labels == [*sorted(tags), UNK]
    train = load_examples(spec, "train", "en")
    assert [ex["tokens"] for ex in train] == [["The", "cat", "saw", "Anna"], ["Anna", "slept"]]
    test = load_examples(spec, "test", "en")
    assert test[0]["tags"][1] == UNK  # N/PP never occurs in training
    lines = (tmp_path / "data/ccg/dev.jsonl").read_text().splitlines()
    assert json.loads(lines[1])["tokens"] == ["Anna", "ran"]
    with pytest.raises(HarnessError, match="CCGbank release folder"):
        prepare_ccg(tmp_path / "nowhere", Path("out"))


def test_paper_phase1_settings_are_valid(registry: Registry) -> None:
    # the profile as params.yaml gets it: its protocol's settings under its own
    raw = yaml.safe_load(render("paper", REPO / "profiles"))
    tasks = set(registry.names()) | {"ccg"}
    # single settings are trained alone; ANLI+'s parts are components of ANLI+ only
    assert set(raw["phase1"]) == set(NINE) - {"anli_plus"}
    for name, entry in raw["phase1"].items():
        TrainParams.model_validate(entry)
        assert name in tasks
    assert set(raw["intermediate_inputs"]) == set(raw["phase1"])
    settings = {n: MultitaskParams.model_validate(s) for n, s in raw["multitask"].items()}
    assert settings["anli_plus"].tasks == NINE["anli_plus"]
    assert settings["anli_plus"].shared_head and settings["anli_plus"].sampling == "proportional"
    assert set(settings["all_nine"].tasks) == {t for parts in NINE.values() for t in parts}
    # ANLI+'s parts share kind and labels, so one head can serve them all
    specs = [registry.get(t) for t in NINE["anli_plus"]]
    assert len({(s.kind, tuple(s.labels)) for s in specs}) == 1
