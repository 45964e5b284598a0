"""Benchmark language metadata: the languages of XTREME and XTREME-R, shipped as package data.

``languages.yaml`` (next to this module) holds one mapping per language; :class:`Language`
validates each one. :func:`language_rows` turns them, plus the toy profile's languages, into
the rows of the results database's ``languages`` table.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field

from harness.config import Params
from harness.errors import HarnessError

DATA_FILE = "languages.yaml"

# Column order of the results database's ``languages`` table, plus the benchmark flags.
ROW_KEYS = (
    "code",
    "name",
    "family",
    "genus",
    "script",
    "resource_class",
    "distance_rank",
    "xtreme",
    "xtreme_r",
)


class Language(BaseModel):
    """One benchmark language, as written in ``languages.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=r"^[a-z]{2,3}$")
    name: str = Field(min_length=1)
    family: str = Field(min_length=1)
    genus: str = Field(min_length=1)
    script: str = Field(pattern=r"^[A-Z][a-z]{3}$")
    resource_class: int = Field(ge=0, le=5, strict=True)
    xtreme: bool = Field(strict=True)
    xtreme_r: bool = Field(strict=True)


@functools.cache
def _load() -> tuple[Language, ...]:
    text = resources.files("harness.results").joinpath(DATA_FILE).read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    if not isinstance(raw, list):
        raise ValueError(f"{DATA_FILE} must hold a YAML list, not {type(raw).__name__}")
    languages = sorted((Language.model_validate(entry) for entry in raw), key=lambda x: x.code)
    codes = [lang.code for lang in languages]
    duplicates = sorted({c for c in codes if codes.count(c) > 1})
    if duplicates:
        raise ValueError(f"{DATA_FILE} lists languages more than once: {duplicates}")
    return tuple(languages)


def benchmark_languages() -> list[Language]:
    """Every XTREME / XTREME-R language, sorted by code.

    The file is read and validated once (cached); each call returns a new list of the same
    frozen :class:`Language` objects, so callers may sort or filter it freely.
    """
    return list(_load())


def language_rows(extra: Sequence[Mapping[str, Any]] = ()) -> list[dict[str, Any]]:
    """Rows for the results database's ``languages`` table, sorted by code.

    Every benchmark language comes first with ``distance_rank`` None. ``extra`` rows (the toy
    profile's languages) need ``code`` and ``name``; ``family``, ``genus``, ``script``,
    ``resource_class`` and ``distance_rank`` are taken when present, other keys are ignored,
    and ``xtreme`` / ``xtreme_r`` are False. An extra row whose code is a benchmark language
    (the toy English) keeps the benchmark row and only lends it its ``distance_rank``.
    """
    rows: dict[str, dict[str, Any]] = {}
    for lang in benchmark_languages():
        row = lang.model_dump()
        row["distance_rank"] = None
        rows[lang.code] = {key: row[key] for key in ROW_KEYS}
    benchmark = set(rows)
    seen: set[str] = set()
    for entry in extra:
        code = entry.get("code")
        if not isinstance(code, str) or not code:
            raise ValueError(f"extra language row without a code: {dict(entry)!r}")
        if code in seen:
            raise ValueError(f"extra language rows repeat code {code!r}")
        seen.add(code)
        if code in benchmark:
            rows[code]["distance_rank"] = entry.get("distance_rank")
            continue
        if not entry.get("name"):
            raise ValueError(f"extra language row {code!r} has no name")
        row = {key: entry.get(key) for key in ROW_KEYS}
        row["xtreme"] = False
        row["xtreme_r"] = False
        rows[code] = row
    return [rows[code] for code in sorted(rows)]


def toy_languages(params: Params) -> list[dict[str, Any]]:
    """The toy profile's languages (English and the pseudo-languages), from the generated data."""
    path = params.paths.data / "toy" / "languages.json"
    if not path.is_file():
        raise HarnessError(f"'{path}' is missing: run `harness data` first.")
    toy: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return toy


def profile_language_rows(params: Params) -> list[dict[str, Any]]:
    """Language metadata for the results database: every XTREME / XTREME-R language, plus the
    toy profile's pseudo-languages when it is active."""
    return language_rows(toy_languages(params) if params.profile == "toy" else ())


def resource_band(resource_class: float | None) -> str:
    """Joshi et al. classes in three bands, for slicing."""
    if resource_class is None or pd.isna(resource_class):
        return "unknown"
    if resource_class <= 2:
        return "low (0-2)"
    if resource_class == 3:
        return "mid (3)"
    return "high (4-5)"
