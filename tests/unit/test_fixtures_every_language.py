"""The paper-smoke mirror's fixtures cover every language of the XTREME(-R) targets: each
fixture module, built as ``tests.smoke.build`` builds it, converted by the real converter, gives
every evaluated language of its spec examples in every split the spec reads, through the real
loader; the default (unit-test) miniatures stay unchanged."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from harness.data.sources import load_examples
from harness.fetch.converters import lareqa, mewslix, udpos, xcopa
from harness.tasks import load_spec
from tests.conftest import REPO
from tests.smoke.build import EXTENDED, FIXTURES

CONVERTERS = {"lareqa": lareqa, "mewslix": mewslix, "udpos": udpos, "xcopa": xcopa}


def _converted(tmp_path: Path, name: str, every_language: bool) -> Path:
    """Build fixture ``name``, convert it into ``<root>/data/xtreme/<name>``; return root."""
    fixture = importlib.import_module(f"tests.fetch_fixtures.{name}")
    fixture.build(tmp_path / "release", every_language=every_language)
    out = tmp_path / "data" / "xtreme" / name
    out.mkdir(parents=True)
    CONVERTERS[name].convert(tmp_path / "release", out)
    return tmp_path


def test_every_fixture_without_full_coverage_is_extended() -> None:
    assert set(CONVERTERS) == EXTENDED
    assert EXTENDED.issubset(FIXTURES)


@pytest.mark.parametrize("name", sorted(CONVERTERS))
def test_every_language_of_the_spec_has_examples_in_every_split(tmp_path: Path, name: str) -> None:
    spec = load_spec(REPO / "harness" / "tasks" / "xtreme" / f"{name}.yaml")
    root = _converted(tmp_path, name, every_language=True)
    assert spec.benchmarks, name
    scored = {lang for entry in spec.benchmarks.values() for lang in entry.languages}
    splits = [s for s in spec.source.files if s != "train"]  # type: ignore[union-attr]
    loaded = {}
    for language in sorted(scored):
        for split in splits:
            loaded[language, split] = len(load_examples(spec, split, language, root=root))
    assert min(loaded.values()) >= 1, {k: n for k, n in loaded.items() if n < 1}
    assert len(loaded) == len(scored) * len(splits)


@pytest.mark.parametrize("name", sorted(CONVERTERS))
def test_the_default_miniature_stays_partial(tmp_path: Path, name: str) -> None:
    # the unit tests' fixtures keep their few languages (and their bytes: checked in review by
    # building both); the extended build is a superset of the default one
    default = tmp_path / "default"
    extended = tmp_path / "extended"
    fixture = importlib.import_module(f"tests.fetch_fixtures.{name}")
    fixture.build(default)
    fixture.build(extended, every_language=True)
    small = {p.relative_to(default) for p in default.rglob("*") if p.is_file()}
    large = {p.relative_to(extended) for p in extended.rglob("*") if p.is_file()}
    assert small <= large
    out_small, out_large = tmp_path / "out-small", tmp_path / "out-large"
    out_small.mkdir()
    out_large.mkdir()
    counts_small = CONVERTERS[name].convert(default, out_small)
    counts_large = CONVERTERS[name].convert(extended, out_large)
    # more languages: more converted files (per-language outputs) or more examples in the same
    # files (Mewsli-X's per-split files hold every language)
    assert set(counts_small) <= set(counts_large)
    assert sum(counts_small.values()) < sum(counts_large.values())
    assert all(counts_small[k] <= counts_large[k] for k in counts_small)
