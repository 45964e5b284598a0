"""Converters of SQuAD v1.1, MLQA, TyDiQA-GoldP and PAWS-X: miniature release files in the
upstream formats (tests/fetch_fixtures) converted into the layout the task specs read."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest

from harness.data.sources import load_examples
from harness.errors import HarnessError
from harness.fetch import converters
from harness.tasks.registry import load_spec
from harness.tasks.spec import Fetch, TaskSpec, training_spec
from tests.fetch_fixtures import mlqa as mlqa_fixture
from tests.fetch_fixtures import pawsx as pawsx_fixture
from tests.fetch_fixtures import squad_v1_1 as squad_fixture
from tests.fetch_fixtures import tydiqa as tydiqa_fixture

SPECS = Path(__file__).resolve().parents[2] / "harness" / "tasks" / "xtreme"


def _spec(name: str) -> TaskSpec:
    return load_spec(SPECS / f"{name}.yaml")


def _entry(spec: TaskSpec, converter: str) -> Fetch:
    entries = [f for f in spec.fetch if f.converter == converter]
    assert len(entries) == 1, f"{spec.name} has {len(entries)} fetch entries for {converter}"
    return entries[0]


def _convert(tmp_path: Path, spec: TaskSpec, converter: str, build: object) -> tuple[Path, dict]:
    release, root = tmp_path / "release", tmp_path / "repo"
    build(release)  # type: ignore[operator]
    out = root / _entry(spec, converter).dataset
    out.mkdir(parents=True)
    return root, converters.load(converter)(release, out)


def _by_id(rows: list[dict]) -> dict[str, dict]:
    return {row["id"]: row for row in rows}


# --- SQuAD v1.1 ------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["xquad", "mlqa", "lareqa"])
def test_squad_fetch_is_the_same_release_for_every_target(target: str) -> None:
    """Each target keeps its SQuAD copy in its own data folder (what its stages depend on);
    the release files and counts are the same for all three."""
    spec = _spec(target)
    entry = _entry(spec, "squad_v1_1")
    train = training_spec(spec)
    folder = f"data/xtreme/{target}/squad"
    assert entry.dataset == str(train.source.path) == folder  # type: ignore[union-attr]
    xquad = _entry(_spec("xquad"), "squad_v1_1")
    assert entry.files == xquad.files and entry.converter == xquad.converter
    assert entry.counts == {"train-v1.1.json": 87599, "dev-v1.1.json": 10570}


def test_squad_converts_to_the_english_training_layout(tmp_path: Path) -> None:
    spec = _spec("xquad")
    root, counts = _convert(tmp_path, spec, "squad_v1_1", squad_fixture.build)
    assert counts == squad_fixture.COUNTS
    out = root / "data/xtreme/xquad/squad"
    # the release files are copied unchanged
    for name in counts:
        assert (out / name).read_bytes() == (tmp_path / "release" / name).read_bytes()

    train = _by_id(load_examples(training_spec(spec), "train", "en", root=root))
    assert len(train) == 4
    row = train["56be85543aeaaa14008c9063"]
    assert row["question"] == "Which group did Beyonc\u00e9 lead?"
    assert row["answers"] == {"text": ["Destiny's Child"], "answer_start": [57]}
    assert row["context"].startswith("Beyonc\u00e9 rose to fame")
    assert train["5733be284776f4190066117f"]["answers"]["text"] == ["golden dome"]

    dev = _by_id(load_examples(training_spec(spec), "dev", "en", root=root))
    assert dev["56be4db0acb8001400a502ed"]["answers"] == {
        "text": ["Levi's Stadium", "Levi's Stadium in Santa Clara", "Santa Clara, California"],
        "answer_start": [49, 49, 67],
    }


def test_squad_bad_release_names_the_file(tmp_path: Path) -> None:
    release = tmp_path / "release"
    squad_fixture.build(release)
    convert = converters.load("squad_v1_1")
    (release / "dev-v1.1.json").write_text('{"data": [{"title": "x"}]}', encoding="utf-8")
    with pytest.raises(HarnessError, match=r"dev-v1\.1\.json.*paragraphs"):
        convert(release, tmp_path / "out")
    (release / "dev-v1.1.json").write_text('{"data": [', encoding="utf-8")
    with pytest.raises(HarnessError, match=r"dev-v1\.1\.json' is not valid JSON"):
        convert(release, tmp_path / "out")
    (release / "train-v1.1.json").unlink()
    with pytest.raises(HarnessError, match=r"'train-v1\.1\.json' is missing"):
        convert(release, tmp_path / "out")


# --- MLQA ------------------------------------------------------------------------------------


def test_mlqa_converts_the_same_language_pairs(tmp_path: Path) -> None:
    spec = _spec("mlqa")
    assert _entry(spec, "mlqa").dataset == "data/xtreme/mlqa"
    assert str(spec.source.path) == "data/xtreme/mlqa/MLQA_V1"  # type: ignore[union-attr]
    root, counts = _convert(tmp_path, spec, "mlqa", mlqa_fixture.build)
    assert counts == mlqa_fixture.COUNTS
    assert set(counts) == set(_entry(spec, "mlqa").counts)
    out = root / "data/xtreme/mlqa/MLQA_V1"
    assert not (out / "dev/dev-context-de-question-en.json").exists()  # cross-language pair

    test_en = load_examples(spec, "test", "en", root=root)
    assert [r["question"] for r in test_en] == [
        "How deep is Lake Baikal?",
        "What is the deepest lake in the world?",
        "Which superlative describes Lake Baikal?",
    ]
    assert test_en[0]["answers"] == {"text": ["1642 meters", "1642"], "answer_start": [49, 49]}
    dev_de = load_examples(spec, "dev", "de", root=root)
    assert [r["answers"]["text"] for r in dev_de] == [["3050 bis 3350 Meter"], ["27. M\u00e4rz"]]
    test_zh = load_examples(spec, "test", "zh", root=root)
    assert test_zh[0]["question"] == "\u8d1d\u52a0\u5c14\u6e56\u6709\u591a\u6df1\uff1f"
    assert test_zh[0]["answers"]["text"] == ["1642\u7c73"]
    for lang in spec.languages:
        for split in ("dev", "test"):
            assert len(load_examples(spec, split, lang, root=root)) >= 1

    # SQuAD, the English training data, reads from its own dataset folder
    _, squad_counts = _convert(tmp_path / "squad", spec, "squad_v1_1", squad_fixture.build)
    assert squad_counts == squad_fixture.COUNTS


def test_mlqa_bad_archive(tmp_path: Path) -> None:
    release = tmp_path / "release"
    mlqa_fixture.build(release)
    convert = converters.load("mlqa")
    archive = release / "MLQA_V1.zip"
    # a member missing
    with zipfile.ZipFile(archive) as src:
        kept = {n: src.read(n) for n in src.namelist() if "test-context-hi-question-hi" not in n}
    with zipfile.ZipFile(archive, "w") as dst:
        for name, data in kept.items():
            dst.writestr(name, data)
    with pytest.raises(HarnessError, match=r"MLQA_V1\.zip' has no member 'MLQA_V1/test/test-co"):
        convert(release, tmp_path / "out1")
    # an answer that is not in its context
    doc = json.loads(kept["MLQA_V1/test/test-context-en-question-en.json"])
    doc["data"][0]["paragraphs"][0]["qas"][0]["answers"][0]["answer_start"] = 3
    kept["MLQA_V1/test/test-context-en-question-en.json"] = json.dumps(doc).encode()
    with zipfile.ZipFile(archive, "w") as dst:
        for name, data in kept.items():
            dst.writestr(name, data)
    with pytest.raises(HarnessError, match=r"test-context-en-question-en\.json.*answer"):
        convert(release, tmp_path / "out2")
    # not a zip at all (an HTML error page saved under the archive's name)
    archive.write_bytes(b"<html>403 Forbidden</html>")
    with pytest.raises(HarnessError, match=r"MLQA_V1\.zip' is not a readable zip archive"):
        convert(release, tmp_path / "out3")


# --- TyDiQA-GoldP ----------------------------------------------------------------------------


def test_tydiqa_english_train_and_per_language_dev(tmp_path: Path) -> None:
    spec = _spec("tydiqa")
    root, counts = _convert(tmp_path, spec, "tydiqa", tydiqa_fixture.build)
    assert counts == tydiqa_fixture.COUNTS
    assert set(counts) == set(_entry(spec, "tydiqa").counts)

    train = load_examples(spec, "train", "en", root=root)
    assert [r["id"] for r in train] == [
        "english--3215621880858840488-2",
        "english-5398342591848519146-0",
        "english--8045513541276426364-1",
    ]
    assert train[1]["question"] == "How long is the Nile?"
    assert train[1]["answers"] == {"text": ["about 6,650 km"], "answer_start": [64]}
    written = json.loads((root / spec.source.path / spec.source.files["train"]).read_text())  # type: ignore[union-attr]
    assert [a["title"] for a in written["data"]] == ["Wound healing", "Nile", "Mercury (planet)"]
    assert written["version"] == tydiqa_fixture.VERSION

    dev_fi = load_examples(spec, "dev", "fi", root=root)
    assert [r["answers"]["text"] for r in dev_fi] == [["H\u00e4meenlinnassa"], ["1865"]]
    assert dev_fi[0]["id"] == "finnish--6273374982469868808-0"
    test_ar = load_examples(spec, "test", "ar", root=root)
    assert test_ar[0]["answers"]["text"] == ["\u0627\u0644\u0642\u0627\u0647\u0631\u0629"]
    test_en = load_examples(spec, "test", "en", root=root)
    assert test_en[1]["answers"] == {"text": ["South America"], "answer_start": [20]}
    for lang in spec.languages:
        assert load_examples(spec, "test", lang, root=root)


def _retar(path: Path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def test_tydiqa_bad_release(tmp_path: Path) -> None:
    release = tmp_path / "release"
    tydiqa_fixture.build(release)
    convert = converters.load("tydiqa")
    archive = release / "tydiqa-goldp-v1.1-dev.tgz"
    with tarfile.open(archive) as src:
        members = {
            m.name: src.extractfile(m).read()  # type: ignore[union-attr]
            for m in src.getmembers()
            if m.isfile()
        }
    # a language file missing
    _retar(archive, {n: d for n, d in members.items() if "telugu" not in n})
    with pytest.raises(HarnessError, match=r"dev\.tgz' has no file member .*dev-telugu\.json"):
        convert(release, tmp_path / "out1")
    # a question filed under the wrong language
    swapped = dict(members)
    swapped["tydiqa-goldp-v1.1-dev/tydiqa-goldp-dev-korean.json"] = members[
        "tydiqa-goldp-v1.1-dev/tydiqa-goldp-dev-russian.json"
    ]
    _retar(archive, swapped)
    with pytest.raises(HarnessError, match=r"dev-korean\.json.*not a korean question"):
        convert(release, tmp_path / "out2")
    # a truncated download
    _retar(archive, members)
    archive.write_bytes(archive.read_bytes()[:200])
    with pytest.raises(HarnessError, match=r"dev\.tgz' is not a readable \.tgz archive"):
        convert(release, tmp_path / "out3")
    # a training question whose id names no TyDiQA language
    train = json.loads((release / "tydiqa-goldp-v1.1-train.json").read_text())
    train["data"][0]["paragraphs"][0]["qas"][0]["id"] = "klingon-1-0"
    (release / "tydiqa-goldp-v1.1-train.json").write_text(json.dumps(train))
    with pytest.raises(HarnessError, match=r"train\.json'.*'klingon-1-0'.*language"):
        convert(release, tmp_path / "out4")


# --- PAWS-X ----------------------------------------------------------------------------------


def test_pawsx_converts_english_train_and_dev_test(tmp_path: Path) -> None:
    spec = _spec("pawsx")
    root, counts = _convert(tmp_path, spec, "pawsx", pawsx_fixture.build)
    assert counts == pawsx_fixture.COUNTS
    assert set(counts) == set(_entry(spec, "pawsx").counts)
    out = root / "data/xtreme/pawsx"
    assert not (out / "de/translated_train.tsv").exists()

    train = load_examples(spec, "train", "en", root=root)
    assert len(train) == 3
    assert train[2]["sentence1"].startswith("There are also specific discussions")
    assert train[2]["label"] == "0"
    dev_en = _by_id(load_examples(spec, "dev", "en", root=root))
    # surrounding white space and the CRLF ending are stripped, as XTREME does
    assert (
        dev_en["2"]["sentence1"]
        == "William Henry Henry Harman was born in Waltham , Massachusetts ."
    )
    assert dev_en["2"]["label"] == "1"
    dev_de = _by_id(load_examples(spec, "dev", "de", root=root))
    assert dev_de["684"]["sentence2"] == "NS"  # the publisher's placeholder is kept
    test_de = load_examples(spec, "test", "de", root=root)
    assert [(r["label"], r["sentence2"]) for r in test_de] == [
        ("0", "Er wurde in London geboren und starb in Cardiff."),
        ("1", "Die NBA-Saison 1975/76 war die 30. Saison."),
    ]
    test_zh = load_examples(spec, "test", "zh", root=root)
    assert (
        test_zh[0]["sentence1"]
        == "\u4ed6\u751f\u4e8e\u5361\u8fea\u592b\uff0c\u6b7b\u4e8e\u4f26\u6566\u3002"
    )
    for lang in spec.languages:
        assert load_examples(spec, "test", lang, root=root)


def test_pawsx_bad_release(tmp_path: Path) -> None:
    release = tmp_path / "release"
    pawsx_fixture.build(release)
    convert = converters.load("pawsx")
    archive = release / "x-final.tar.gz"
    with tarfile.open(archive) as src:
        members = {
            m.name: src.extractfile(m).read()  # type: ignore[union-attr]
            for m in src.getmembers()
            if m.isfile()
        }
    _retar(archive, {n: d for n, d in members.items() if n != "x-final/en/train.tsv"})
    with pytest.raises(HarnessError, match=r"x-final\.tar\.gz' has no file member 'x-final/en/tr"):
        convert(release, tmp_path / "out1")
    broken = dict(members)
    broken["x-final/fr/test_2k.tsv"] = pawsx_fixture.HEADER.encode() + b"1\tonly one sentence\t1\n"
    _retar(archive, broken)
    with pytest.raises(HarnessError, match=r"fr/test_2k\.tsv' line 2 has 3 tab-separated fields"):
        convert(release, tmp_path / "out2")
    broken["x-final/fr/test_2k.tsv"] = b"sentence1\tsentence2\tlabel\na\tb\t1\n"
    _retar(archive, broken)
    with pytest.raises(HarnessError, match=r"fr/test_2k\.tsv' has the header"):
        convert(release, tmp_path / "out3")
    archive.write_bytes(b"PK\x03\x04 not a tarball")
    with pytest.raises(HarnessError, match=r"x-final\.tar\.gz' is not a readable \.tar\.gz"):
        convert(release, tmp_path / "out4")


# --- fixtures ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", [squad_fixture, mlqa_fixture, tydiqa_fixture, pawsx_fixture])
def test_fixtures_are_deterministic(tmp_path: Path, fixture: object) -> None:
    fixture.build(tmp_path / "a")  # type: ignore[attr-defined]
    fixture.build(tmp_path / "b")  # type: ignore[attr-defined]
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir())
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
