"""Converters of harness fetch for UD-POS, PAN-X, BUCC 2018 and Tatoeba: each converts its
fixture release (tests/fetch_fixtures, the upstream formats in small) into the layout the
spec's source reads, and rejects bad release files with a HarnessError naming them."""

from __future__ import annotations

import bz2
import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from harness.data.readers import TATOEBA_CODES
from harness.data.sources import load_examples
from harness.errors import HarnessError
from harness.fetch import converters
from harness.tasks import LocalSource, TaskSpec
from harness.tasks.registry import load_spec
from tests.fetch_fixtures import bucc2018 as bucc_fixture
from tests.fetch_fixtures import panx as panx_fixture
from tests.fetch_fixtures import tatoeba as tatoeba_fixture
from tests.fetch_fixtures import udpos as udpos_fixture

SPECS = Path(__file__).resolve().parents[2] / "harness" / "tasks" / "xtreme"


def _spec(name: str) -> TaskSpec:
    return load_spec(SPECS / f"{name}.yaml")


def _fetched(tmp_path: Path, name: str, build: object) -> tuple[TaskSpec, Path, dict[str, int]]:
    """Build the fixture release, convert it into root/<dataset>: (spec, root, counts)."""
    spec = _spec(name)
    release, root = tmp_path / "release", tmp_path / "root"
    build(release)  # type: ignore[operator]
    out = root / spec.fetch[0].dataset
    out.mkdir(parents=True)
    counts = converters.load(spec.fetch[0].converter)(release, out)
    return spec, root, counts


# --------------------------------------------------------------------------------------------
# UD-POS


def test_udpos_counts_and_layout(tmp_path: Path) -> None:
    spec, root, counts = _fetched(tmp_path, "udpos", udpos_fixture.build)
    assert counts == udpos_fixture.COUNTS
    out = root / spec.fetch[0].dataset
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == sorted(udpos_fixture.COUNTS)  # no cs, no en from v2.7, no work files
    assert spec.fetch[0].converter == "udpos"


def test_udpos_treebanks_concatenated_in_file_name_order(tmp_path: Path) -> None:
    spec, root, _ = _fetched(tmp_path, "udpos", udpos_fixture.build)
    train = load_examples(spec, "train", "en", root=root)
    # en_esl (forms withheld) dropped, then en_ewt, then en_gum; en_ewt of v2.7 not taken
    assert [e["id"] for e in train] == [
        "en_ewt-ud-train:weblog-fixture-0001-0001",
        "en_ewt-ud-train:weblog-fixture-0001-0002",
        "en_gum-ud-train:GUM_fixture-1",
    ]
    assert all("Ignored" not in e["tokens"] for e in train)
    test = load_examples(spec, "test", "en", root=root)
    assert [e["tokens"] for e in test] == [["Yes"], ["Bye"], ["Good", "night"]]
    dev = load_examples(spec, "dev", "en", root=root)
    # one '_' form among four words is not a withheld sentence: kept
    assert dev[1]["tokens"] == ["The", "_", "is", "here"]


def test_udpos_multiword_tokens_and_empty_nodes(tmp_path: Path) -> None:
    spec, root, _ = _fetched(tmp_path, "udpos", udpos_fixture.build)
    first, second, _ = load_examples(spec, "train", "en", root=root)
    # as XTREME: the range 2-3 "don't" becomes one word; "do" (AUX) and "n't" (PART) are both
    # attached to "know", and AUX comes before PART in the default precedence list
    assert first["tokens"] == ["I", "don't", "know", "."]
    assert first["tags"] == ["PRON", "AUX", "VERB", "PUNCT"]
    # the empty node 5.1 is dropped
    assert second["tokens"] == ["Sue", "likes", "coffee", "and", "Bill", "tea", "."]
    de = load_examples(spec, "train", "de", root=root)[0]
    assert de["tokens"] == ["Er", "geht", "zum", "Bahnhof", "."]
    assert de["tags"] == ["PRON", "VERB", "ADP", "NOUN", "PUNCT"]
    out = root / spec.fetch[0].dataset
    text = (out / "de" / "train.conllu").read_text(encoding="utf-8")
    assert "3\tzum\tzu\tADP\t_\t_\t4\tcase\t" in text and "3-4\t" not in text
    assert "# text = Er geht zum Bahnhof." in text
    text = (out / "en" / "train.conllu").read_text(encoding="utf-8")
    assert "5.1\t" not in text and "\n6\ttea\t" in text  # ids renumbered after the merge


def test_udpos_forms_normalised_and_xtreme_r_languages(tmp_path: Path) -> None:
    spec, root, _ = _fetched(tmp_path, "udpos", udpos_fixture.build)
    assert load_examples(spec, "test", "fa", root=root)[0]["tokens"] == ["میخواهم"]
    wo = load_examples(spec, "train", "wo", root=root)
    assert [(e["tokens"], e["tags"]) for e in wo] == [(["Waaw"], ["INTJ"])]


def test_udpos_bad_archive(tmp_path: Path) -> None:
    release = tmp_path / "release"
    udpos_fixture.build(release)
    data = (release / "ud-treebanks-v2.5.tgz").read_bytes()
    (release / "ud-treebanks-v2.5.tgz").write_bytes(data[: len(data) // 2])
    with pytest.raises(HarnessError, match=r"ud-treebanks-v2\.5\.tgz.*(truncated|corrupt|gzip)"):
        converters.load("udpos")(release, tmp_path / "out")


def test_udpos_bad_token_line_and_missing_file(tmp_path: Path) -> None:
    release = tmp_path / "release"
    udpos_fixture.build(release)
    bad = {"UD_English-EWT/en_ewt-ud-train.conllu": "# sent_id = x\n1\tonly\tthree\n\n"}
    udpos_fixture.write_tgz(release / "ud-treebanks-v2.5.tgz", "ud-treebanks-v2.5", bad)
    with pytest.raises(HarnessError, match=r"en_ewt-ud-train\.conllu' line 2 has 3"):
        converters.load("udpos")(release, tmp_path / "out")
    udpos_fixture.build(release)
    (release / "ud-treebanks-v2.7.tgz").unlink()
    with pytest.raises(HarnessError, match=r"ud-treebanks-v2\.7\.tgz' is missing"):
        converters.load("udpos")(release, tmp_path / "out2")


# --------------------------------------------------------------------------------------------
# PAN-X


def test_panx_counts_and_content(tmp_path: Path) -> None:
    spec, root, counts = _fetched(tmp_path, "panx", panx_fixture.build)
    assert counts == panx_fixture.COUNTS
    assert len(counts) == 48 * 3
    train = load_examples(spec, "train", "en", root=root)
    assert [e["tokens"] for e in train] == [
        ["Rick", "Astley", "sings"],
        ["He", "visited", "New", "York"],
        ["http://example.org", "UNICEF"],  # text after the first ':', trailing spaces gone
    ]
    assert train[1]["tags"] == ["O", "O", "B-LOC", "I-LOC"]
    test = load_examples(spec, "test", "en", root=root)  # the test split keeps its tags
    assert [(e["tokens"], e["tags"]) for e in test] == [
        (["Obama", "spoke"], ["B-PER", "O"]),
        (["in", "Berlin"], ["O", "B-LOC"]),
    ]
    zh = load_examples(spec, "test", "zh", root=root)[0]
    assert zh["tokens"] == ["联", "合", "国"] and zh["tags"] == ["B-ORG", "I-ORG", "I-ORG"]
    assert load_examples(spec, "dev", "de", root=root)[0]["tokens"] == ["Die", "Linke"]
    assert load_examples(spec, "train", "qu", root=root)[0]["tokens"] == ["wtrain", "x"]


def test_panx_bad_release(tmp_path: Path) -> None:
    release = tmp_path / "release"
    panx_fixture.build(release)
    members = {f"{lang}.tar.gz": panx_fixture.tgz(panx_fixture._files(lang))
               for lang in panx_fixture.LANGUAGES if lang != "gu"}  # fmt: skip
    panx_fixture.write_zip(release / "AmazonPhotos.zip", members)
    with pytest.raises(HarnessError, match=r"AmazonPhotos\.zip' lacks .*gu\.tar\.gz"):
        converters.load("panx")(release, tmp_path / "out1")
    members["gu.tar.gz"] = panx_fixture.tgz({"train": "gu:x\tO\n", "dev": "gu:x\tO\n"})
    panx_fixture.write_zip(release / "AmazonPhotos.zip", members)
    with pytest.raises(HarnessError, match=r"gu\.tar\.gz' has no member 'test'"):
        converters.load("panx")(release, tmp_path / "out2")
    (release / "AmazonPhotos.zip").write_bytes(b"not a zip")
    with pytest.raises(HarnessError, match=r"AmazonPhotos\.zip' is not a zip"):
        converters.load("panx")(release, tmp_path / "out3")
    (release / "AmazonPhotos.zip").unlink()
    with pytest.raises(HarnessError, match=r"--from DIR"):
        converters.load("panx")(release, tmp_path / "out4")


def test_panx_fixture_is_deterministic(tmp_path: Path) -> None:
    panx_fixture.build(tmp_path / "a")
    panx_fixture.build(tmp_path / "b")
    data = (tmp_path / "a" / "AmazonPhotos.zip").read_bytes()
    assert data == (tmp_path / "b" / "AmazonPhotos.zip").read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert "panx_dataset/en.tar.gz" in archive.namelist()


# --------------------------------------------------------------------------------------------
# BUCC 2018


def test_bucc_counts_and_pairs(tmp_path: Path) -> None:
    spec, root, counts = _fetched(tmp_path, "bucc2018", bucc_fixture.build)
    assert counts == bucc_fixture.COUNTS
    out = root / spec.fetch[0].dataset
    assert sorted(p.name for p in out.iterdir()) == sorted(bucc_fixture.COUNTS)  # flattened
    test = load_examples(spec, "test", "de", root=root)
    assert [(e["query"], e["target"]) for e in test] == [
        ("Guten Morgen.", "Good morning."),
        ("Er kommt morgen.", "He comes tomorrow."),
    ]
    assert test[0]["id"] == "de-000000001\ten-000000002"
    dev = load_examples(spec, "dev", "zh", root=root)
    assert [(e["query"], e["target"]) for e in dev] == [("今天下雨。", "It rains today.")]
    assert len(load_examples(spec, "dev", "ru", root=root)) == 1


def test_bucc_bad_release(tmp_path: Path) -> None:
    release = tmp_path / "release"
    bucc_fixture.build(release)
    path = release / "bucc2018-fr-en.training-gold.tar.bz2"
    files = bucc_fixture._files("fr", "training")
    bucc_fixture.write_tbz2(path, "fr", "training", {k: v for k, v in files.items() if k != "gold"})
    with pytest.raises(HarnessError, match=r"fr-en\.training-gold\.tar\.bz2' has no member"):
        converters.load("bucc2018")(release, tmp_path / "out1")
    bad = {**files, "gold": ["fr-000000001\ten-000000009"]}
    bucc_fixture.write_tbz2(path, "fr", "training", bad)
    with pytest.raises(HarnessError, match=r"fr-en\.training\.gold' line 1: pair"):
        converters.load("bucc2018")(release, tmp_path / "out2")
    path.write_bytes(bz2.compress(b"not a tar"))
    with pytest.raises(HarnessError, match=r"is not a bzip2-compressed tar"):
        converters.load("bucc2018")(release, tmp_path / "out3")
    tarfile.open(path, "w:bz2").close()  # an empty but valid archive
    with pytest.raises(HarnessError, match=r"has no member"):
        converters.load("bucc2018")(release, tmp_path / "out4")


# --------------------------------------------------------------------------------------------
# Tatoeba


def test_tatoeba_counts_and_alignment(tmp_path: Path) -> None:
    spec, root, counts = _fetched(tmp_path, "tatoeba", tatoeba_fixture.build)
    assert counts == tatoeba_fixture.COUNTS
    assert len(counts) == 2 * 41
    de = load_examples(spec, "test", "de", root=root)
    # the English side keeps its order: line i is the gold target of query i
    assert [(e["query"], e["target"], e["id"]) for e in de] == [
        ("Tom schläft.", "Tom is sleeping.", "0"),
        ("Ich habe Hunger.", "I'm hungry.", "1"),
        ("Wo ist der Bahnhof?", "Where is the station?", "2"),
    ]
    fa = load_examples(spec, "test", "fa", root=root)  # Persian is LASER's 'pes'
    assert fa[3]["query"] == "بله." and fa[3]["target"] == "Yes."
    zh = load_examples(spec, "test", "zh", root=root)  # Chinese is 'cmn'
    assert zh[1]["target"] == "What's your name?"


def test_tatoeba_bad_release(tmp_path: Path) -> None:
    release = tmp_path / "release"
    tatoeba_fixture.build(release)
    (release / "tatoeba.deu-eng.eng").write_text("Only one.\n", encoding="utf-8")
    with pytest.raises(HarnessError, match=r"tatoeba\.deu-eng\.deu' \(3 lines\).*not line-aligned"):
        converters.load("tatoeba")(release, tmp_path / "out1")
    (release / "tatoeba.deu-eng.eng").unlink()
    with pytest.raises(HarnessError, match=r"tatoeba\.deu-eng\.eng' is missing"):
        converters.load("tatoeba")(release, tmp_path / "out2")
    tatoeba_fixture.build(release)
    (release / "tatoeba.kor-eng.kor").write_bytes(b"\xff\xfe\n\xff\n")
    (release / "tatoeba.kor-eng.eng").write_bytes(b"a\nb\n")
    with pytest.raises(HarnessError, match=r"tatoeba\.kor-eng\.kor' is not valid UTF-8"):
        converters.load("tatoeba")(release, tmp_path / "out3")


def test_specs_fetch_entries_name_the_fixture_files(tmp_path: Path) -> None:
    for name, fixture in (("udpos", udpos_fixture), ("panx", panx_fixture),
                          ("bucc2018", bucc_fixture), ("tatoeba", tatoeba_fixture)):  # fmt: skip
        release = tmp_path / name
        fixture.build(release)
        spec = _spec(name)
        assert sorted(f.name for f in spec.fetch[0].files) == sorted(
            p.name for p in release.iterdir()
        ), name
        source = spec.source
        assert isinstance(source, LocalSource)
        assert spec.fetch[0].dataset == source.path.as_posix(), name
        names = {
            stem.format(language=lang, language3=TATOEBA_CODES.get(lang, lang)) + suffix
            for stem in source.files.values()
            for lang in spec.languages
            for suffix in (
                "",
                f".{lang}",
                ".en",
                ".gold",
                ".eng",
                *(f".{c}" for c in TATOEBA_CODES.values()),
            )
        }
        assert set(spec.fetch[0].counts) <= names, name
        assert set(fixture.COUNTS) <= names, name
