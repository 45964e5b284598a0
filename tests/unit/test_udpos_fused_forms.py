"""UD-POS conversion against XTREME's own output: multi-word tokens become one word with the
fused form and the UPOS XTREME's conversion tool picks, empty nodes are dropped.

The real samples (tests/data/udpos_real, see its README for treebanks, tags and licences) are
packed into release archives of the LINDAT layout, converted, read back with the reader the
udpos task uses, and compared word for word and tag for tag with ``xtreme/dev-<lang>.tsv``:
what XTREME's ``conllu_to_conll.py --replace_subtokens_with_fused_forms`` and
``utils_preprocess.py`` wrote for the same files. The synthetic cases below carry, as their
expected values, what XTREME's tool wrote for them too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.data.readers import read_conllu
from harness.fetch.converters import udpos
from tests.fetch_fixtures.udpos import write_tgz

DATA = Path(__file__).resolve().parents[1] / "data" / "udpos_real"
ARCHIVES = ("ud-treebanks-v2.5", "ud-treebanks-v2.7")

#: language -> (multi-word tokens, syntactic words, words after the merge) of its sample
SIZES: dict[str, tuple[int, int, int]] = {
    "de": (3, 57, 54),
    "en": (0, 27, 27),
    "es": (7, 108, 100),
    "fa": (4, 44, 40),
    "fr": (4, 48, 44),
    "vi": (0, 11, 11),
    "wo": (7, 56, 47),
}

Sentences = list[tuple[list[str], list[str]]]


def _samples() -> dict[str, dict[str, str]]:
    """archive top folder -> {UD_<Language>-<Treebank>/<file>: text}"""
    return {
        top: {
            p.relative_to(DATA / top).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted((DATA / top).rglob("*.conllu"))
        }
        for top in ARCHIVES
    }


def _release(path: Path, archives: dict[str, dict[str, str]]) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for top, files in archives.items():
        write_tgz(path / f"{top}.tgz", top, files)
    return path


def _xtreme(lang: str) -> Sentences:
    """XTREME's ``dev-<lang>.tsv``: one word<TAB>tag line per word, a blank line per sentence."""
    text = (DATA / "xtreme" / f"dev-{lang}.tsv").read_text(encoding="utf-8")
    sentences: Sentences = []
    for block in text.strip("\n").split("\n\n"):
        pairs = [line.split("\t") for line in block.split("\n")]
        sentences.append(([w for w, _ in pairs], [t for _, t in pairs]))
    return sentences


def _read(path: Path) -> Sentences:
    return [(row["tokens"], row["tags"]) for row in read_conllu(path, "udpos")]


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("udpos_real")
    out = tmp / "out"
    counts = udpos.convert(_release(tmp / "release", _samples()), out)
    assert counts == {f"{lang}/dev.conllu": len(_xtreme(lang)) for lang in SIZES}
    return out


@pytest.mark.parametrize("lang", sorted(SIZES))
def test_words_and_tags_equal_xtreme(converted: Path, lang: str) -> None:
    ours = _read(converted / lang / "dev.conllu")
    theirs = _xtreme(lang)
    assert len(ours) == len(theirs)
    for number, (mine, xtreme) in enumerate(zip(ours, theirs, strict=True), start=1):
        assert mine == xtreme, f"{lang} sentence {number}"


@pytest.mark.parametrize("lang", sorted(SIZES))
def test_fused_token_counts(converted: Path, lang: str) -> None:
    fused, syntactic, merged = SIZES[lang]
    (sample,) = [
        text for files in _samples().values() for name, text in files.items()
        if name.split("/")[1].startswith(f"{lang}_")
    ]  # fmt: skip
    ids = [line.split("\t")[0] for line in sample.splitlines() if line and line[0].isdigit()]
    spans = [tuple(map(int, i.split("-"))) for i in ids if "-" in i]
    assert len(spans) == fused
    assert sum(i.isdigit() for i in ids) == syntactic
    assert syntactic - sum(last - first for first, last in spans) == merged
    assert sum(len(words) for words, _ in _read(converted / lang / "dev.conllu")) == merged
    assert sum(len(words) for words, _ in _xtreme(lang)) == merged


@pytest.mark.parametrize("lang", sorted(SIZES))
def test_output_is_plain_conllu(converted: Path, lang: str) -> None:
    """No ranges, no empty nodes; ids 1..n in every sentence; 10 columns; ids kept unique."""
    text = (converted / lang / "dev.conllu").read_text(encoding="utf-8")
    for block in text.strip("\n").split("\n\n"):
        lines = block.split("\n")
        assert lines[0].startswith(f"# sent_id = {lang}_")
        rows = [line.split("\t") for line in lines if not line.startswith("#")]
        assert all(len(cols) == 10 for cols in rows)
        assert [cols[0] for cols in rows] == [str(i) for i in range(1, len(rows) + 1)]
        heads = [cols[6] for cols in rows]
        assert all(h.isdigit() and int(h) <= len(rows) for h in heads)
        assert all("\u200c" not in cols[1] and " " not in cols[1] for cols in rows)


def _pairs(sentences: Sentences) -> list[tuple[str, str]]:
    return [pair for words, tags in sentences for pair in zip(words, tags, strict=True)]


def test_sample_examples(converted: Path) -> None:
    de = _pairs(_read(converted / "de" / "dev.conllu"))
    assert ("zum", "ADP") in de  # zu ADP + dem DET, both under "Wohlfühlen": ADP
    es = _pairs(_read(converted / "es" / "dev.conllu"))
    assert ("llevarselo", "VERB") in es  # llevar + se + lo: the verb heads the other two
    assert ("del", "ADP") in es  # de ADP + el DET, tied: ADP before DET in the es list
    vi = _pairs(_read(converted / "vi" / "dev.conllu"))
    assert ("trongsáng", "ADJ") in vi  # "trong sáng": inner space removed


# --------------------------------------------------------------------------------------------
# synthetic cases (expected values: what XTREME's tool and preprocessing wrote for them)


def _tok(i: str, form: str, upos: str, head: str, rel: str, deps: str = "_") -> str:
    return "\t".join([i, form, form.lower(), upos, "_", "_", head, rel, deps, "_"])


def _mwt(span: str, form: str, misc: str = "_") -> str:
    return "\t".join([span, form, "_", "_", "_", "_", "_", "_", "_", misc])


def _sent(sent_id: str, *lines: str) -> str:
    return f"# sent_id = {sent_id}\n" + "\n".join(lines) + "\n\n"


SYNTHETIC_DE = "".join([
    # 3 has a second head in DEPS (1), so 2 is the one word of 2-3 nearest the root: DET,
    # where the basic tree alone ties and the precedence list would take ADP
    _sent("enhanced",
          _tok("1", "Wir", "PRON", "4", "nsubj", "4:nsubj"),
          _mwt("2-3", "vomx", "SpaceAfter=No"),
          _tok("2", "von", "DET", "4", "det", "4:det"),
          _tok("3", "dem", "ADP", "4", "case", "1:dep|4:case|4.1:case"),
          _tok("4", "Haus", "NOUN", "0", "root", "0:root"),
          "\t".join(["4.1", "geht", "gehen", "VERB", "_", "_", "_", "_", "4:conj", "_"]),
          _tok("5", ".", "PUNCT", "4", "punct", "4:punct")),
    _sent("basic-tie",
          _mwt("1-2", "zum"), _tok("1", "zu", "DET", "3", "det"),
          _tok("2", "dem", "ADP", "3", "case"), _tok("3", "Haus", "NOUN", "0", "root")),
    # two of three forms withheld, but the merged sentence has none: kept
    _sent("withheld-words-fused-form-given",
          _mwt("1-2", "ab"), _tok("1", "_", "ADP", "3", "case"),
          _tok("2", "_", "DET", "3", "det"), _tok("3", "Haus", "NOUN", "0", "root")),
    # one of four forms withheld, but the merged sentence has two words, both withheld: dropped
    _sent("fused-form-withheld",
          _mwt("1-3", "_"), _tok("1", "a", "ADP", "4", "case"), _tok("2", "b", "DET", "4", "det"),
          _tok("3", "c", "ADJ", "4", "amod"), _tok("4", "_", "NOUN", "0", "root")),
    _sent("head-after-merged",
          _tok("1", "Er", "PRON", "3", "nsubj"), _mwt("2-3", "gibts"),
          _tok("2", "gibt", "VERB", "0", "root"), _tok("3", "es", "PRON", "2", "expl"),
          _tok("4", "Brot", "NOUN", "3", "obj"), _tok("5", "Meer", "NOUN", "2", "obl")),
])  # fmt: skip
#: a tie between SYM and NOUN: SYM is not in the default list, XTREME's tool fails on the file
SYNTHETIC_DE_FAILING = _sent(
    "sym-tie", _mwt("1-2", "ab"), _tok("1", "a", "SYM", "3", "dep"),
    _tok("2", "b", "NOUN", "3", "dep"), _tok("3", "c", "VERB", "0", "root"),
)  # fmt: skip


def _aux_pron(sent_id: str) -> str:
    return _sent(
        sent_id,
        _mwt("1-2", "essersi"),
        _tok("1", "esser", "AUX", "3", "aux"),
        _tok("2", "si", "PRON", "3", "expl"),
        _tok("3", "visto", "VERB", "0", "root"),
    )


def test_synthetic_cases(tmp_path: Path) -> None:
    v25 = {
        "UD_German-GSD/de_gsd-ud-train.conllu": SYNTHETIC_DE,
        "UD_German-Zfail/de_zfail-ud-train.conllu": SYNTHETIC_DE_FAILING,
        "UD_German-Zfail/de_zfail-ud-test.conllu": SYNTHETIC_DE_FAILING,
        "UD_Spanish-X/es_x-ud-train.conllu": _aux_pron("es"),
        "UD_French-X/fr_x-ud-train.conllu": _aux_pron("fr"),
        "UD_Italian-X/it_x-ud-train.conllu": _aux_pron("it"),
        "UD_Portuguese-X/pt_x-ud-train.conllu": _aux_pron("pt"),
    }
    v27 = {"UD_Wolof-X/wo_x-ud-train.conllu": _sent("wo", _tok("1", "Waaw", "INTJ", "0", "root"))}
    release = _release(tmp_path / "release", {ARCHIVES[0]: v25, ARCHIVES[1]: v27})
    out = tmp_path / "out"
    counts = udpos.convert(release, out)
    # the failing treebank gives nothing (its test split is not written at all)
    assert counts == {"de/train.conllu": 4, "es/train.conllu": 1, "fr/train.conllu": 1,
                      "it/train.conllu": 1, "pt/train.conllu": 1, "wo/train.conllu": 1}  # fmt: skip
    assert _read(out / "de" / "train.conllu") == [
        (["Wir", "vomx", "Haus", "."], ["PRON", "DET", "NOUN", "PUNCT"]),
        (["zum", "Haus"], ["ADP", "NOUN"]),
        (["ab", "Haus"], ["ADP", "NOUN"]),
        (["Er", "gibts", "Brot", "Meer"], ["PRON", "VERB", "NOUN", "NOUN"]),
    ]
    # AUX before PRON in the es, fr and it lists; PRON before AUX in the default one
    for lang, tag in (("es", "AUX"), ("fr", "AUX"), ("it", "AUX"), ("pt", "PRON")):
        assert _read(out / lang / "train.conllu") == [(["essersi", "visto"], [tag, "VERB"])]
    text = (out / "de" / "train.conllu").read_text(encoding="utf-8")
    # the merged word keeps its head word's columns, with the token's MISC; heads renumbered
    assert "\n2\tvomx\tvon\tDET\t_\t_\t3\tdet\t_\tSpaceAfter=No\n" in text
    assert "\n3\tBrot\tbrot\tNOUN\t_\t_\t2\tobj\t_\t_\n" in text  # its head 3 merged into 2
    assert "4.1" not in text and "4:nsubj" not in text
