"""Fuzzing (hypothesis): task specs, result files, parameter files and CLI arguments give either
success or the project's own error with a message (CLI: exit status 2, no traceback), and never
leave a partial write. (Prediction-file scoring, `harness score`, is fuzzed by its own tests.)"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.errors import HarnessError
from harness.results.schema import read_result, with_checksum
from harness.results.store import ingest
from harness.results.validate import validate_files
from harness.tasks import BUILTIN_DIR, Registry, load_spec
from tests.conftest import REPO
from tests.reliability.faults import leftovers
from tests.unit.test_store import LANGS, SPECS, result

FUZZ = settings(
    max_examples=150,
    deadline=None,
    database=None,  # nothing written into the repository
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
CODES = [lang["code"] for lang in LANGS]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(["", "none", "en", "toy_nli", "test", "accuracy", "hub", "local", "target"])
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


@contextlib.contextmanager
def _folder() -> Iterator[Path]:
    """A fresh folder per example (hypothesis reruns a test body many times)."""
    with tempfile.TemporaryDirectory(prefix="fuzz-") as name:
        yield Path(name)


def _paths(tree: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside nested dicts and lists."""
    found = [prefix] if prefix else []
    if isinstance(tree, dict):
        for key, value in tree.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            found += _paths(value, (*prefix, i))
    return found


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    """``base`` with 1-4 random edits: a value replaced, a key deleted or an unknown key added."""
    tree = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(tree)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = tree
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(values)
        elif action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=10))] = draw(values)
    return tree


BUILTIN_SPECS = {p.stem: yaml.safe_load(p.read_text()) for p in sorted(BUILTIN_DIR.glob("*.yaml"))}


@FUZZ
@given(data=st.data(), base=st.sampled_from(sorted(BUILTIN_SPECS)))
def test_task_specs(data: st.DataObject, base: str) -> None:
    spec = data.draw(mutated(BUILTIN_SPECS[base]))
    with _folder() as folder:
        path = folder / "fuzzed_task.yaml"
        path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
        try:
            loaded = load_spec(path)
        except HarnessError as exc:
            assert str(path) in str(exc)
        else:
            assert loaded.name
        try:
            Registry.load([folder])
        except HarnessError as exc:
            assert str(exc)


@FUZZ
@given(raw=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_task_spec_raw_bytes(raw: bytes) -> None:
    with _folder() as folder:
        path = folder / "t.yaml"
        path.write_bytes(raw)
        with contextlib.suppress(HarnessError):
            load_spec(path)


def _valid_result() -> dict[str, Any]:
    return with_checksum({**result("toy_lexical"), "schema_version": 3})


@st.composite
def result_files(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["edit", "edit and re-checksum", "truncate", "bytes"]))
    good = _valid_result()
    if kind == "bytes":
        return draw(st.binary(max_size=400))
    if kind == "truncate":
        text = json.dumps(good).encode()
        return text[: draw(st.integers(0, len(text) - 1))]
    content = draw(mutated(good))
    if kind == "edit and re-checksum" and isinstance(content, dict):
        content = with_checksum(content)  # past the checksum: the content checks must hold
    return json.dumps(content, allow_nan=True).encode()


@FUZZ
@given(raw=result_files())
def test_result_files_read_and_validate(raw: bytes) -> None:
    with _folder() as folder:
        path = folder / "cell.json"
        path.write_bytes(raw)
        try:
            read_result(path)
        except HarnessError as exc:
            assert str(path) in str(exc)
        report = validate_files([path], CODES, SPECS)  # reports, never raises
        assert report.ok == (len(report.valid) == 1)
        assert path.read_bytes() == raw  # validation writes and moves nothing


@settings(FUZZ, max_examples=25)
@given(raws=st.lists(result_files(), min_size=1, max_size=3))
def test_result_files_ingest(raws: list[bytes]) -> None:
    """A batch of fuzzed files beside a good one: the database ends up with exactly the runs
    that validated (whole, with all their scores), or is not written at all."""
    with _folder() as folder:
        cells = folder / "cells"
        cells.mkdir()
        good = cells / "good.json"
        good.write_text(json.dumps({**with_checksum({**result(None), "schema_version": 3})}))
        paths = [good]
        for i, raw in enumerate(raws):
            paths.append(cells / f"f{i}.json")
            paths[-1].write_bytes(raw)
        expected = validate_files(paths, CODES, SPECS)
        db = folder / "r.duckdb"
        try:
            counts = ingest(db, paths, LANGS, SPECS, quarantine_dir=folder / "q")
        except HarnessError as exc:
            assert str(exc)
            if db.exists():  # a refused batch (e.g. a changed run under one key) wrote nothing
                con = duckdb.connect(str(db), read_only=True)
                assert con.execute("SELECT count(*) FROM runs").fetchone() == (0,)
                con.close()
        else:
            assert counts["quarantined"] == len(expected.problems)
            con = duckdb.connect(str(db), read_only=True)
            stored = con.execute(
                "SELECT r.run_id, count(s.run_id) FROM runs r LEFT JOIN scores s USING (run_id) "
                "GROUP BY ALL"
            ).fetchall()
            con.close()
            assert len(stored) == counts["added"]
            assert all(n >= 1 for _, n in stored)
        assert leftovers(folder) == []


COMMANDS: dict[str, list[str]] = {
    "tasks list": [],
    "tasks show": [],
    "validate": [],
    "ingest": ["--db", "--replace", "--quarantine"],
    "leaderboard": ["--db", "--split", "--json", "--exclude-version"],
    "export": ["--out", "--format", "--db"],
    "evaluate": ["--task", "--intermediate", "--model", "--out"],
    "target": ["--task", "--intermediate", "--out", "--encoder"],
    "intermediate": ["--task", "--out", "--pretrained"],
    "pretrain": ["--out"],
}  # `data` is left out: with valid parameters it generates the toy benchmark (seconds)
argument = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40
) | st.sampled_from(
    ["none", "toy_nli", "toy_lexical", "r.json", ".", "..", "/", "-", "--", "--help", "-p",
     "params.yaml", "x.duckdb", "csv", "parquet", "json", "nope", "'; DROP TABLE runs; --"]
)  # fmt: skip


def _main(args: list[str], cwd: Path) -> tuple[int, str]:
    from harness import cli

    err = io.StringIO()
    old = Path.cwd()
    argv = sys.argv
    try:
        import os

        os.chdir(cwd)
        sys.argv = ["harness", *args]
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                cli.main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = argv
        os.chdir(old)
    return code, err.getvalue()


@pytest.fixture(scope="module")
def cli_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli")
    shutil.copy(REPO / "params.yaml", root / "params.yaml")
    (root / "data" / "toy").mkdir(parents=True)
    (root / "data" / "toy" / "languages.json").write_text(json.dumps(LANGS))
    (root / "r.json").write_text(json.dumps(_valid_result()))
    return root


@FUZZ
@given(data=st.data(), command=st.sampled_from(sorted(COMMANDS)))
def test_cli_arguments(cli_folder: Path, data: st.DataObject, command: str) -> None:
    args = command.split()
    options = COMMANDS[command]
    for _ in range(data.draw(st.integers(0, 5))):
        if options and data.draw(st.booleans()):
            args.append(data.draw(st.sampled_from(options)))
        args.append(data.draw(argument))
    code, err = _main(args, cli_folder)
    assert code in (0, 2), (args, code, err)
    assert "Traceback" not in err, (args, err)
    if code == 2:
        assert err.strip(), args  # a message, not a silent failure
    assert leftovers(cli_folder) == [], args
    assert sorted(p.name for p in cli_folder.glob("*.ckpt")) == []


@FUZZ
@given(params=mutated(yaml.safe_load((REPO / "params.yaml").read_text())))
def test_parameter_files(cli_folder: Path, params: dict[str, Any]) -> None:
    path = cli_folder / "fuzzed-params.yaml"
    path.write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")
    code, err = _main(["tasks", "list", "--params", str(path)], cli_folder)
    assert code in (0, 2), err
    assert "Traceback" not in err
    if code == 2:
        assert "fuzzed-params.yaml" in " ".join(err.split()) or "Task folder" in err
