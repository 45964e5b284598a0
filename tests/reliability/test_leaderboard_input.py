"""Leaderboard input: hostile strings in URL query parameters and filters (SQL fragments, huge
values, control characters, unknown codes) have no effect beyond an ignored-value note or an
empty view; every SQL statement is parametrised; the database is only ever opened read-only."""

from __future__ import annotations

import ast
import copy
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from harness.results.queries import leaderboard
from harness.results.store import connect_readonly, ingest
from harness.results.views import load_runs, load_scores
from tests.conftest import REPO
from tests.reliability.conftest import harness
from tests.unit.test_store import LANGS, SPECS, result, write

APP = str(REPO / "leaderboard" / "app.py")
KEYS = ["split", "model", "benchmark", "seed", "exclude", "target", "show", "group", "english",
        "measure", "band", "tier", "run"]  # fmt: skip
PAGES = ["Overview", "By language", "By difficulty", "Run details"]
HOSTILE = [
    "'; DROP TABLE runs; --",
    "test' OR '1'='1",
    '" UNION SELECT * FROM duckdb_settings() --',
    "1; ATTACH '/tmp/x.db' AS x; --",
    "x" * 30_000,  # x 14 keys: just under Streamlit's 512 KiB limit on a query string
    "99999999999999999999999",
    "-1",
    "\x00\x1b[31m\u202e",
    "zz-unknown-code",
    "<script>alert(1)</script>",
]
EVIL_MODEL = "m'); DROP TABLE scores; --"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database whose stored strings are hostile too: a model named like an injection."""
    folder = tmp_path_factory.mktemp("board")
    files = []
    for i, intermediate in enumerate([None, "toy_lexical", "toy_relational"]):
        for model in ("m", EVIL_MODEL):
            data = copy.deepcopy(result(intermediate, base=0.5 + i / 20))
            data["model"] = model
            files.append(write(folder, f"{i}{len(model)}", data))
    path = folder / "board.duckdb"
    ingest(path, files, LANGS, SPECS)
    return path


def _app(monkeypatch: pytest.MonkeyPatch, db: Path, query: dict[str, Any]) -> AppTest:
    import streamlit as st

    st.cache_data.clear()  # every run reads the database again (the app caches for 30 s)
    monkeypatch.setattr(sys, "argv", ["app.py", "--db", str(db)])
    app = AppTest.from_file(APP, default_timeout=60)
    for key, value in query.items():
        app.query_params[key] = value
    app.run()
    return app


def _read_only_connections(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Record the ``read_only`` flag of every DuckDB connection opened from now on."""
    flags: list[bool] = []
    real = duckdb.connect

    def connect(database: Any = ":memory:", read_only: bool = False, **kwargs: Any) -> Any:
        flags.append(read_only)
        return real(database, read_only=read_only, **kwargs)

    monkeypatch.setattr(duckdb, "connect", connect)
    return flags


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: repr(v[:20]))
def test_hostile_url_values(
    monkeypatch: pytest.MonkeyPatch, db: Path, page: str, value: str
) -> None:
    before = _sha(db)
    flags = _read_only_connections(monkeypatch)
    query: dict[str, Any] = dict.fromkeys(KEYS, value)
    query["page"] = page
    app = _app(monkeypatch, db, query)
    assert not app.exception, app.exception
    assert _sha(db) == before
    assert flags and all(flags)  # the app opened the database, read-only, every time
    notes = " ".join(c.value for c in app.sidebar.caption if "Ignored URL values" in c.value)
    assert "split" in notes and "model" in notes  # said, not silently dropped
    assert app.selectbox(key="page").value == page  # the valid key was kept
    assert app.selectbox(key="model").value == "m"  # the first valid choice
    assert app.dataframe or app.info  # a view or a message, never an error


def test_hostile_value_in_page_key_and_repeated_keys(
    monkeypatch: pytest.MonkeyPatch, db: Path
) -> None:
    before = _sha(db)
    app = _app(monkeypatch, db, {"page": HOSTILE[0], "model": ["m", EVIL_MODEL, "m"]})
    assert not app.exception
    assert app.selectbox(key="page").value == "Overview"
    assert _sha(db) == before


def test_query_string_over_streamlits_limit_is_dropped_whole(
    monkeypatch: pytest.MonkeyPatch, db: Path
) -> None:
    app = _app(monkeypatch, db, {"page": "Run details", "model": "y" * 1_000_000})
    assert not app.exception
    assert app.selectbox(key="page").value == "Overview" and app.dataframe


def test_stored_hostile_names_are_shown_as_text(monkeypatch: pytest.MonkeyPatch, db: Path) -> None:
    app = _app(monkeypatch, db, {"model": EVIL_MODEL, "page": "Run details"})
    assert not app.exception
    runs = app.selectbox(key="run").options
    assert all(r.startswith(EVIL_MODEL) for r in runs) and len(runs) == 3
    app.selectbox(key="run").select(runs[1]).run()
    assert not app.exception
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM scores").fetchone() == (6 * len(LANGS),)
    con.close()


@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: repr(v[:20]))
def test_query_functions_with_hostile_parameters(db: Path, value: str) -> None:
    con = connect_readonly(db)
    try:
        assert load_scores(con, value, [value, "0.1.0"]).empty
        assert load_scores(con, "test", [value]).shape[0] == 6 * len(LANGS)
        assert leaderboard(con, value, [value]).empty
        assert len(leaderboard(con, "test", [value])) == 6
        assert len(load_runs(con)) == 6
    finally:
        con.close()


def test_read_only_connection_refuses_writes(db: Path) -> None:
    con = connect_readonly(db)
    try:
        for statement in ("DELETE FROM scores", "DROP TABLE runs", "CREATE TABLE t (x INT)"):
            with pytest.raises(duckdb.Error):
                con.execute(statement)
    finally:
        con.close()


def test_cli_leaderboard_with_hostile_filters(db: Path, tmp_path: Path) -> None:
    before = _sha(db)
    out = harness(
        "leaderboard", "--db", str(db), "--json", "--split", HOSTILE[1], "--exclude-version",
        HOSTILE[0], "--params", str(REPO / "params.yaml"), cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []
    assert _sha(db) == before


# -- static audit: no SQL built from values ---------------------------------------------------

SQL_METHODS = {"execute", "executemany", "sql", "query", "fetchdf"}
# reviewed: table names and COPY options come from module constants, the path is a parameter
ALLOWED = {("harness/results/export.py", "export")}


def _dynamic_sql_sites(path: Path) -> set[tuple[str, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    for function in functions:
        for node in ast.walk(function):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in SQL_METHODS
                and node.args
            ):
                continue
            sql = node.args[0]
            dynamic = isinstance(sql, ast.JoinedStr | ast.BinOp) or (
                isinstance(sql, ast.Call)
                and isinstance(sql.func, ast.Attribute)
                and sql.func.attr in ("format", "join", "replace")
            )
            if dynamic:
                found.add((path.relative_to(REPO).as_posix(), function.name))
    return found


def test_every_sql_statement_is_parametrised() -> None:
    files = [*(REPO / "harness").rglob("*.py"), *(REPO / "leaderboard").glob("*.py")]
    sites = set().union(*(_dynamic_sql_sites(f) for f in files))
    assert sites == ALLOWED


def test_the_audit_catches_string_built_sql(tmp_path: Path) -> None:
    bad = REPO / "harness" / "_audit_probe.py"
    bad.write_text(
        "def f(con, x):\n    con.execute(f\"SELECT * FROM runs WHERE model = '{x}'\")\n"
        "def g(con, x):\n    con.execute('SELECT ' + x)\n"
    )
    try:
        assert _dynamic_sql_sites(bad) == {
            ("harness/_audit_probe.py", "f"), ("harness/_audit_probe.py", "g"),
        }  # fmt: skip
    finally:
        bad.unlink()
