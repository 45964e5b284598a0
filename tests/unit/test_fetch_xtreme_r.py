"""Converters of XCOPA (with its SIQA and COPA stages), LAReQA (XQuAD-R) and Mewsli-X: small
release files in the upstream formats (tests/fetch_fixtures) converted into the layout the
specs read, then read back with the data loaders. No network."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

from harness.data.sources import load_examples
from harness.errors import HarnessError
from harness.fetch.converters import load
from harness.tasks.registry import load_spec
from harness.tasks.spec import Fetch, TaskSpec, training_spec
from tests.fetch_fixtures import copa as copa_fixture
from tests.fetch_fixtures import lareqa as lareqa_fixture
from tests.fetch_fixtures import mewslix as mewslix_fixture
from tests.fetch_fixtures import siqa as siqa_fixture
from tests.fetch_fixtures import xcopa as xcopa_fixture
from tests.fetch_fixtures.copa import write_zip

SPECS = Path(__file__).resolve().parents[2] / "harness" / "tasks" / "xtreme"


def _spec(name: str) -> TaskSpec:
    return load_spec(SPECS / f"{name}.yaml")


def _fetch(spec: TaskSpec, converter: str) -> Fetch:
    return next(f for f in spec.fetch if f.converter == converter)


def _convert(tmp_path: Path, spec: TaskSpec, converter: str, fixture: ModuleType) -> Path:
    """Build the fixture, convert it into ``root / fetch.dataset``; the root."""
    release, root = tmp_path / "release", tmp_path / "root"
    fixture.build(release)
    fetch = _fetch(spec, converter)
    names = {f.name for f in fetch.files}
    built = {p.name for p in release.iterdir()}
    assert built <= names, f"fixture writes files the spec does not fetch: {built - names}"
    out = root / fetch.dataset
    out.mkdir(parents=True)
    counts = load(converter)(release, out)
    assert counts == fixture.COUNTS
    assert set(counts) <= set(fetch.counts), "the spec's counts name every converted file"
    for rel in counts:
        assert (out / rel).is_file()
    return root


def _copy_release(tmp_path: Path, fixture: ModuleType) -> Path:
    release = tmp_path / "release"
    fixture.build(release)
    return release


# ---- XCOPA ----------------------------------------------------------------------------------


def test_xcopa_converts_and_reads(tmp_path: Path) -> None:
    spec = _spec("xcopa")
    root = _convert(tmp_path, spec, "xcopa", xcopa_fixture)
    et = load_examples(spec, "test", "et", root=root)
    assert [e["context"] for e in et] == [r[0] for r in xcopa_fixture.DATA["et"]["test"]]
    assert et[2]["choices"] == ["Ma sain märjaks.", "Ma jäin kuivaks."]
    assert et[2]["question"] == "What happened as a result?"  # the value_map of the spec
    assert [e["label"] for e in et] == ["0", "0", "0"]
    zh = load_examples(spec, "dev", "zh", root=root)
    assert zh[0]["context"] == "那人打开水龙头。" and zh[0]["label"] == "1"
    ht = load_examples(spec, "test", "ht", root=root)
    assert [e["label"] for e in ht] == ["0", "1"]
    # CRLF of the published files becomes LF
    assert b"\r" not in (root / "data/xtreme/xcopa/et/val.et.jsonl").read_bytes()


def test_xcopa_spec_digests_and_counts() -> None:
    fetch = _fetch(_spec("xcopa"), "xcopa")
    assert len(fetch.files) == 22 and all(f.sha256 for f in fetch.files)
    assert all("/e2e9d7f105a758ee869cd13e0fe251ef93a29840/" in f.url for f in fetch.files)
    assert sum(fetch.counts.values()) == 11 * 600


def test_xcopa_bad_label_and_missing_test(tmp_path: Path) -> None:
    release = _copy_release(tmp_path, xcopa_fixture)
    path = release / "val.et.jsonl"
    path.write_text(path.read_text(encoding="utf-8").replace('"label": 1', '"label": 2'))
    with pytest.raises(HarnessError, match=r"val\.et\.jsonl' example 2: 'label' is 2"):
        load("xcopa")(release, tmp_path / "out")
    xcopa_fixture.build(release)
    (release / "test.ht.jsonl").unlink()
    with pytest.raises(HarnessError, match=r"ht files but not \['test\.ht\.jsonl'\]"):
        load("xcopa")(release, tmp_path / "out2")


def test_xcopa_not_json(tmp_path: Path) -> None:
    release = _copy_release(tmp_path, xcopa_fixture)
    (release / "test.zh.jsonl").write_bytes(b'{"premise": "x"\r\n')
    with pytest.raises(HarnessError, match=r"test\.zh\.jsonl' line 1 is not valid JSON"):
        load("xcopa")(release, tmp_path / "out")


# ---- SIQA (XCOPA stage 1) -------------------------------------------------------------------


def test_siqa_merges_labels_and_reads(tmp_path: Path) -> None:
    spec = _spec("xcopa")
    root = _convert(tmp_path, spec, "siqa", siqa_fixture)
    stage = training_spec(spec, 0)
    train = load_examples(stage, "train", "en", root=root)
    assert [e["label"] for e in train] == ["3", "1", "1"]
    assert train[0]["context"].startswith("Tracy didn't go home")
    assert train[0]["question"] == "What does Tracy need to do before this?"
    assert train[0]["choices"] == [
        "make a new plan",
        "Go home and see Riley",
        "Find somewhere to go",
    ]
    dev = load_examples(stage, "dev", "en", root=root)
    assert [e["label"] for e in dev] == ["2", "3"]
    line = json.loads((root / "data/xtreme/xcopa/siqa/dev.jsonl").read_text().splitlines()[0])
    assert line["label"] == "2"  # a string: an int 2 would read as index 2 = '3'


def _rezip(path: Path, change: dict[str, bytes | None]) -> None:
    with zipfile.ZipFile(path) as archive:
        members: dict[str, bytes | None] = {
            n: (None if n.endswith("/") else archive.read(n)) for n in archive.namelist()
        }
    for name, data in change.items():
        if data is None:
            members.pop(name, None)
        else:
            members[name] = data
    write_zip(path, members)


def test_siqa_label_count_mismatch(tmp_path: Path) -> None:
    release = _copy_release(tmp_path, siqa_fixture)
    _rezip(release / "socialiqa-train-dev.zip", {"socialiqa-train-dev/dev-labels.lst": b"2\n"})
    with pytest.raises(HarnessError, match=r"dev-labels\.lst' has 1 labels but .* has 2 questions"):
        load("siqa")(release, tmp_path / "out")


def test_siqa_missing_member_and_bad_label(tmp_path: Path) -> None:
    release = _copy_release(tmp_path, siqa_fixture)
    archive = release / "socialiqa-train-dev.zip"
    _rezip(archive, {"socialiqa-train-dev/train-labels.lst": None})
    with pytest.raises(
        HarnessError, match=r"has no member 'socialiqa-train-dev/train-labels\.lst'"
    ):
        load("siqa")(release, tmp_path / "out")
    siqa_fixture.build(release)
    _rezip(archive, {"socialiqa-train-dev/train-labels.lst": b"3\n1\nA\n"})
    with pytest.raises(HarnessError, match=r"train-labels\.lst' line 3 is 'A'"):
        load("siqa")(release, tmp_path / "out2")


# ---- COPA (XCOPA stage 2) -------------------------------------------------------------------


def test_copa_converts_and_reads(tmp_path: Path) -> None:
    spec = _spec("xcopa")
    root = _convert(tmp_path, spec, "copa", copa_fixture)
    stage = training_spec(spec, 1)
    train = load_examples(stage, "train", "en", root=root)
    assert [e["label"] for e in train] == ["0", "1", "0"]
    assert train[1]["context"] == "I tipped the bottle."
    assert train[1]["choices"] == ["The liquid in the bottle froze.", "The liquid poured out."]
    dev = load_examples(stage, "dev", "en", root=root)
    assert [e["question"] for e in dev] == [
        "What happened as a result?",
        "What was the cause of this?",
    ]
    assert not (root / "data/xtreme/xcopa/copa/test.jsonl").exists()


def test_copa_corrupt_archive(tmp_path: Path) -> None:
    release = _copy_release(tmp_path, copa_fixture)
    data = (release / "COPA.zip").read_bytes()
    (release / "COPA.zip").write_bytes(data[: len(data) // 2])
    with pytest.raises(HarnessError, match=r"COPA\.zip' is not a zip archive"):
        load("copa")(release, tmp_path / "out")
    (release / "COPA.zip").unlink()
    with pytest.raises(HarnessError, match=r"COPA\.zip' is missing"):
        load("copa")(release, tmp_path / "out")


def test_copa_missing_member(tmp_path: Path) -> None:
    release = _copy_release(tmp_path, copa_fixture)
    _rezip(release / "COPA.zip", {"COPA/val.jsonl": None})
    with pytest.raises(HarnessError, match=r"has no member 'COPA/val\.jsonl'"):
        load("copa")(release, tmp_path / "out")


# ---- LAReQA (XQuAD-R) -----------------------------------------------------------------------


def test_lareqa_converts_and_reads(tmp_path: Path) -> None:
    spec = _spec("lareqa")
    root = _convert(tmp_path, spec, "lareqa", lareqa_fixture)
    de = load_examples(spec, "test", "de", root=root)
    assert [e["id"] for e in de] == ["q1", "q2", "q3"]
    assert de[1]["query"] == "Wo mündet der Rhein?"
    assert de[1]["target"] == "Er mündet in die Nordsee."  # the answer's sentence
    assert de[2]["target"] == "Basel liegt am Rhein."
    zh = load_examples(spec, "test", "zh", root=root)
    assert [e["target"] for e in zh] == ["莱茵河发源于瑞士阿尔卑斯山。", "它流入北海。"]
    # written byte for byte
    assert (root / "data/xtreme/lareqa/xquad-r/en.json").read_bytes() == (
        tmp_path / "release" / "en.json"
    ).read_bytes()


def test_lareqa_spec_pins() -> None:
    fetch = _fetch(_spec("lareqa"), "lareqa")
    assert [f.name for f in fetch.files] == [f"{lang}.json" for lang in _spec("lareqa").languages]
    assert all(
        f.sha256 and "/9bc8c7fb6dd8d01d72a05a93c2cb96882b0d299c/" in f.url for f in fetch.files
    )
    assert set(fetch.counts.values()) == {1190}


def test_lareqa_bad_files(tmp_path: Path) -> None:
    release = _copy_release(tmp_path, lareqa_fixture)
    data = json.loads((release / "de.json").read_text(encoding="utf-8"))
    del data["data"][0]["paragraphs"][1]["sentence_breaks"]
    (release / "de.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(
        HarnessError, match=r"de\.json' data\[0\]\.paragraphs\[1\] has no \['sentence_breaks'\]"
    ):
        load("lareqa")(release, tmp_path / "out")
    (release / "de.json").write_text('{"data": [', encoding="utf-8")
    with pytest.raises(HarnessError, match=r"de\.json' is not valid JSON \(line 1 column 11"):
        load("lareqa")(release, tmp_path / "out")


# ---- Mewsli-X -------------------------------------------------------------------------------


def test_mewslix_converts_and_reads(tmp_path: Path) -> None:
    spec = _spec("mewslix")
    root = _convert(tmp_path, spec, "mewslix", mewslix_fixture)
    ar = load_examples(spec, "dev", "ar", root=root)
    assert [e["id"] for e in ar] == ["m-ar-1", "m-ar-2"]
    assert ar[0]["target"] == "Q3630"  # WikiNews mentions: the gold entity id
    assert ar[1]["query"] == "باريس: ثم سافر إلى { باريس }."
    en = load_examples(spec, "dev", "en", root=root)
    assert en[0]["query"] == "Helsinki: Bus drivers in { Helsinki } went on strike on Sunday."
    test_de = load_examples(spec, "test", "de", root=root)
    assert [(e["id"], e["target"]) for e in test_de] == [("m-de-1", "Q1726")]  # labels kept
    assert load_examples(spec, "test", "en", root=root) == []
    stage = training_spec(spec)
    pairs = load_examples(stage, "train", "en", root=root)
    assert [e["target"] for e in pairs] == [
        "London is the capital of the United Kingdom.",
        "Paris is the capital of France.",
    ]
    assert pairs[1]["query"] == "Paris: { Paris } is across the Channel."
    lines = (root / "data/xtreme/mewslix/wikinews_mentions-dev.jsonl").read_text().splitlines()
    assert all(set(json.loads(line)) == {"context", "mention"} for line in lines)
    from harness.data.readers import read_mewslix_entities

    entities = read_mewslix_entities(root / "data/xtreme/mewslix/candidate_set_entities.jsonl")
    assert entities["Q90"] == "Paris is the capital of France."


def test_mewslix_needs_restored_text(tmp_path: Path) -> None:
    release = _copy_release(tmp_path, mewslix_fixture)
    (release / "wikinews_mentions-test.jsonl").unlink()
    with pytest.raises(
        HarnessError, match=r"wikinews_mentions-test\.jsonl' is missing.*get-mewsli-x"
    ):
        load("mewslix")(release, tmp_path / "out")
    # the archive's no-text file in place of the restored one
    with zipfile.ZipFile(release / "mewsli-x_20220518_6.zip") as archive:
        no_text = archive.read("wikinews_mentions_no_text-test.jsonl")
    (release / "wikinews_mentions-test.jsonl").write_bytes(no_text)
    with pytest.raises(
        HarnessError,
        match=r"line 1 is not a Mewsli-X ContextualMentions with article text: context\.text is "
        r"empty",
    ):
        load("mewslix")(release, tmp_path / "out2")


def test_mewslix_downloaded_page_instead_of_restored_file(tmp_path: Path) -> None:
    release = _copy_release(tmp_path, mewslix_fixture)
    (release / "wikinews_mentions-dev.jsonl").write_bytes(b"<!DOCTYPE html>\n<html>")
    with pytest.raises(
        HarnessError, match=r"is not JSONL .*output of the publisher's get-mewsli-x"
    ):
        load("mewslix")(release, tmp_path / "out")


def test_mewslix_restored_file_disagrees_with_archive(tmp_path: Path) -> None:
    release = _copy_release(tmp_path, mewslix_fixture)
    path = release / "wikinews_mentions-dev.jsonl"
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    records[1]["mentions"].pop()
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    with pytest.raises(HarnessError, match=r"has 2 mentions and .* 3: .*missing: \['m-ar-2'\]"):
        load("mewslix")(release, tmp_path / "out")


def test_mewslix_corrupt_archive_member(tmp_path: Path) -> None:
    release = _copy_release(tmp_path, mewslix_fixture)
    archive = release / "mewsli-x_20220518_6.zip"
    _rezip(archive, {"wikipedia_pairs-train.jsonl": b'{"contextual_mention": {}}\n'})
    with pytest.raises(
        HarnessError,
        match=r"wikipedia_pairs-train\.jsonl' line 1 is not a Mewsli-X MentionEntityPair: "
        r"it has no field 'entity'",
    ):
        load("mewslix")(release, tmp_path / "out")
    mewslix_fixture.build(release)
    _rezip(archive, {"candidate_set_entities.jsonl": None})
    with pytest.raises(HarnessError, match=r"has no member 'candidate_set_entities\.jsonl'"):
        load("mewslix")(release, tmp_path / "out2")
