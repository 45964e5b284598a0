"""The benchmark language table (harness/results/languages.yaml) and its loader."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from harness.results.languages import ROW_KEYS, Language, benchmark_languages, language_rows

# As listed in the google-research/xtreme README and its XTREME-R task scripts.
_XTREME_CODES = (
    "af ar bg bn de el en es et eu fa fi fr he hi hu id it ja jv ka kk ko ml mr ms my nl pt ru "
    "sw ta te th tl tr ur vi yo zh"
)
_XTREME_R_ADDED_CODES = "az gu ht lt pa pl qu ro uk wo"
XTREME_40 = set(_XTREME_CODES.split())
XTREME_R_ADDED = set(_XTREME_R_ADDED_CODES.split())

TOY = [
    {
        "code": "en",
        "name": "Toy English",
        "family": "Toy",
        "genus": "Toy-SVO",
        "script": "Latn",
        "resource_class": 5,
        "distance_rank": 0,
        "corpus_sentences": 12000,
        "transformations": {"word_order": "SVO"},
    },
    {
        "code": "xa",
        "name": "Toy A",
        "family": "Toy",
        "genus": "Toy-SVO",
        "script": "Latn",
        "resource_class": 4,
        "distance_rank": 1,
        "resource_level": 0.5,
    },
]

VALID_ENTRY: dict[str, Any] = {
    "code": "en",
    "name": "English",
    "family": "Indo-European",
    "genus": "Germanic",
    "script": "Latn",
    "resource_class": 5,
    "xtreme": True,
    "xtreme_r": True,
}


def by_code() -> dict[str, Language]:
    return {lang.code: lang for lang in benchmark_languages()}


def test_membership_counts() -> None:
    langs = benchmark_languages()
    assert len(langs) == 50
    assert sum(lang.xtreme for lang in langs) == 40
    assert sum(lang.xtreme_r for lang in langs) == 50
    assert {lang.code for lang in langs if lang.xtreme} == XTREME_40
    assert {lang.code for lang in langs if not lang.xtreme} == XTREME_R_ADDED


def test_every_xtreme_language_is_in_xtreme_r() -> None:
    assert all(lang.xtreme_r for lang in benchmark_languages() if lang.xtreme)


def test_codes_unique_and_sorted() -> None:
    codes = [lang.code for lang in benchmark_languages()]
    assert len(codes) == len(set(codes))
    assert codes == sorted(codes)


def test_yaml_file_itself_is_sorted_and_exact() -> None:
    path = Path(__file__).resolve().parents[2] / "harness" / "results" / "languages.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    codes = [entry["code"] for entry in raw]
    assert codes == sorted(codes)
    assert all(list(entry) == list(Language.model_fields) for entry in raw)


@pytest.mark.parametrize(
    ("code", "family", "genus", "script", "resource_class"),
    [
        ("en", "Indo-European", "Germanic", "Latn", 5),
        ("sw", "Niger-Congo", "Bantoid", "Latn", 2),
        ("yo", "Niger-Congo", "Defoid", "Latn", 2),
        ("ka", "Kartvelian", "Kartvelian", "Geor", 3),
        ("eu", "Basque (isolate)", "Basque", "Latn", 4),
        ("qu", "Quechuan", "Quechuan", "Latn", 1),
        ("my", "Sino-Tibetan", "Burmese-Lolo", "Mymr", 1),
        ("zh", "Sino-Tibetan", "Chinese", "Hans", 5),
        ("hi", "Indo-European", "Indic", "Deva", 4),
        ("te", "Dravidian", "South-Central Dravidian", "Telu", 1),
        ("ta", "Dravidian", "Southern Dravidian", "Taml", 3),
        ("th", "Kra-Dai", "Kam-Tai", "Thai", 3),
    ],
)
def test_known_facts(code: str, family: str, genus: str, script: str, resource_class: int) -> None:
    lang = by_code()[code]
    assert (lang.family, lang.genus, lang.script, lang.resource_class) == (
        family,
        genus,
        script,
        resource_class,
    )


def test_more_known_facts() -> None:
    langs = by_code()
    assert langs["ja"].script == "Jpan"
    assert langs["ht"].family == "Creole"
    assert langs["ht"].name == "Haitian Creole"
    assert langs["ko"].script == "Hang"
    assert langs["ar"].script == "Arab" and langs["ar"].family == "Afro-Asiatic"
    assert langs["pa"].script == "Guru" and langs["gu"].script == "Gujr"
    assert {c for c, lang in langs.items() if lang.resource_class == 5} == {
        "ar",
        "de",
        "en",
        "es",
        "fr",
        "ja",
        "zh",
    }
    assert not langs["wo"].xtreme and langs["wo"].xtreme_r
    assert langs["en"].xtreme and langs["en"].xtreme_r


def test_languages_are_frozen_and_cached_but_the_list_is_fresh() -> None:
    first = benchmark_languages()
    second = benchmark_languages()
    assert first == second and first is not second
    assert first[0] is second[0]
    first.clear()
    assert len(benchmark_languages()) == 50
    with pytest.raises(ValidationError):
        second[0].code = "zz"  # type: ignore[misc]


def test_language_rows_without_extra() -> None:
    rows = language_rows()
    assert len(rows) == 50
    assert all(tuple(row) == ROW_KEYS for row in rows)
    assert all(row["distance_rank"] is None for row in rows)
    en = next(row for row in rows if row["code"] == "en")
    assert en == {
        "code": "en",
        "name": "English",
        "family": "Indo-European",
        "genus": "Germanic",
        "script": "Latn",
        "resource_class": 5,
        "distance_rank": None,
        "xtreme": True,
        "xtreme_r": True,
    }


def test_language_rows_merges_toy_extras() -> None:
    rows = language_rows(TOY)
    codes = [row["code"] for row in rows]
    assert codes == sorted(codes)
    assert len(rows) == 51
    assert codes.count("en") == 1
    assert all(tuple(row) == ROW_KEYS for row in rows)
    by = {row["code"]: row for row in rows}
    # The benchmark English wins; only the toy distance rank is taken.
    assert by["en"]["name"] == "English"
    assert by["en"]["genus"] == "Germanic"
    assert by["en"]["distance_rank"] == 0
    assert by["en"]["xtreme"] is True and by["en"]["xtreme_r"] is True
    assert by["xa"] == {
        "code": "xa",
        "name": "Toy A",
        "family": "Toy",
        "genus": "Toy-SVO",
        "script": "Latn",
        "resource_class": 4,
        "distance_rank": 1,
        "xtreme": False,
        "xtreme_r": False,
    }
    assert all(by[c]["distance_rank"] is None for c in by if c not in {"en", "xa"})
    # The input rows are not modified.
    assert TOY[0]["name"] == "Toy English" and "xtreme" not in TOY[1]


def test_language_rows_rejects_bad_extras() -> None:
    with pytest.raises(ValueError, match="without a code"):
        language_rows([{"name": "No code"}])
    with pytest.raises(ValueError, match="repeat"):
        language_rows([TOY[1], TOY[1]])
    with pytest.raises(ValueError, match="no name"):
        language_rows([{"code": "xb"}])


def test_valid_entry_validates() -> None:
    assert Language.model_validate(VALID_ENTRY).code == "en"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"resource_class": 7}, "resource_class"),
        ({"resource_class": -1}, "resource_class"),
        ({"resource_class": "5"}, "resource_class"),
        ({"speakers": 1_500_000_000}, "speakers"),
        ({"script": "latn"}, "script"),
        ({"code": "EN"}, "code"),
        ({"code": "engl"}, "code"),
        ({"xtreme": "yes"}, "xtreme"),
    ],
)
def test_malformed_yaml_entries_are_rejected(
    tmp_path: Path, change: dict[str, Any], field: str
) -> None:
    path = tmp_path / "languages.yaml"
    path.write_text(yaml.safe_dump([VALID_ENTRY, {**VALID_ENTRY, **change}]), encoding="utf-8")
    good, bad = yaml.safe_load(path.read_text(encoding="utf-8"))
    Language.model_validate(good)
    with pytest.raises(ValidationError) as info:
        Language.model_validate(bad)
    assert [err["loc"] for err in info.value.errors()] == [(field,)]


def test_missing_field_is_rejected() -> None:
    entry = {k: v for k, v in VALID_ENTRY.items() if k != "genus"}
    with pytest.raises(ValidationError):
        Language.model_validate(entry)
