"""Replication guard: a changed raw data file is caught by data.dvc (`dvc status`), and results
computed from unpinned or modified data, or from uncommitted code, are flagged as not an exact
replication in their provenance, in the database and on the leaderboard."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from streamlit.testing.v1 import AppTest

from harness.config import load_params
from harness.data.snapshot import directory_md5
from harness.provenance import changed_files, git_state, replication_check
from harness.results.schema import read_result
from harness.results.store import ingest
from harness.tasks import Registry
from tests.conftest import REPO
from tests.reliability.conftest import git_commit, harness
from tests.unit.test_store import LANGS

APP = str(REPO / "leaderboard" / "app.py")
CLEAN = {"git_commit": "a" * 40, "changed": []}


def _dvc(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dvc", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_changed_raw_file_is_caught_by_data_dvc(tmp_path: Path) -> None:
    """The repository's own data.dvc, in a temporary copy: the regenerated toy data match it
    (`dvc status` clean); one changed line in one raw file and `dvc status` reports it."""
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    shutil.copy(REPO / "data.dvc", tmp_path / "data.dvc")
    pinned = yaml.safe_load((REPO / "data.dvc").read_text())["outs"][0]["md5"]
    made = harness("data", cwd=tmp_path)  # regenerates and checks the pinned hash
    assert made.returncode == 0, made.stderr
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / ".gitignore").write_text("/data\n")
    assert _dvc("init", "-q", cwd=tmp_path).returncode == 0
    assert _dvc("commit", "-f", "-q", "data.dvc", cwd=tmp_path).returncode == 0  # fill the cache
    assert yaml.safe_load((tmp_path / "data.dvc").read_text())["outs"][0]["md5"] == pinned
    clean = _dvc("status", "--json", "data.dvc", cwd=tmp_path)
    assert clean.returncode == 0 and json.loads(clean.stdout) == {}, clean.stdout
    raw = sorted((tmp_path / "data").rglob("*.jsonl"))[0]
    lines = raw.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[0] = lines[0].replace('"', "'", 1) if '"' in lines[0] else lines[0] + " "
    raw.write_text("".join(lines), encoding="utf-8")
    changed = _dvc("status", "--json", "data.dvc", cwd=tmp_path)
    assert json.loads(changed.stdout) == {"data.dvc": [{"changed outs": {"data/toy": "modified"}}]}
    verify = harness("data", cwd=tmp_path)  # `harness data` re-pins nothing: it regenerates
    assert verify.returncode == 0


def _pinned_data(tmp_path: Path) -> tuple[Path, Path]:
    data = tmp_path / "data"
    (data / "toy").mkdir(parents=True)
    (data / "toy" / "a.jsonl").write_text('{"x": 1}\n')
    pin = tmp_path / "data.dvc"
    md5, nfiles, _ = directory_md5(data)
    pin.write_text(yaml.safe_dump({"outs": [{"md5": md5, "nfiles": nfiles, "path": "data"}]}))
    return data, pin


CASES: dict[str, Any] = {
    "exact": (lambda d, p: None, CLEAN, [], None),
    "modified data": (
        lambda d, p: (d / "toy" / "a.jsonl").write_text('{"x": 2}\n'),
        CLEAN,
        [],
        "differ from",
    ),
    "added file": (lambda d, p: (d / "toy" / "b.jsonl").write_text("\n"), CLEAN, [], "differ"),
    "deleted file": (lambda d, p: (d / "toy" / "a.jsonl").unlink(), CLEAN, [], "differ from"),
    "no data.dvc": (lambda d, p: p.unlink(), CLEAN, [], "data not pinned"),
    "unreadable data.dvc": (lambda d, p: p.write_text(": ["), CLEAN, [], "data not pinned"),
    "data folder missing": (lambda d, p: shutil.rmtree(d), CLEAN, [], "missing"),
    "dirty code": (lambda d, p: None, {**CLEAN, "changed": ["params.yaml"]}, [], "params.yaml"),
    "no git": (lambda d, p: None, {"git_commit": None, "changed": None}, [], "unknown"),
    "branch revision": (lambda d, p: None, CLEAN, [("dataset x", "main")], "not a commit hash"),
    "no revision": (lambda d, p: None, CLEAN, [("model m", None)], "not a commit hash"),
    "commit revision": (lambda d, p: None, CLEAN, [("dataset x", "0123456789" * 4)], None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_replication_check(tmp_path: Path, case: str) -> None:
    change, git, revisions, reason = CASES[case]
    data, pin = _pinned_data(tmp_path)
    change(data, pin)
    check = replication_check(git["git_commit"], git["changed"], data, pin, revisions)
    assert check["exact"] == (reason is None), check
    if reason:
        assert any(reason in r for r in check["reasons"]), check["reasons"]


def test_the_checked_folder_is_the_one_the_pin_names(tmp_path: Path) -> None:
    """data.dvc pins data/toy (the paper profile's fetched folders live beside it under
    data/): the replication check hashes the pinned folder, not all of data/."""
    from harness.provenance import pinned_folder

    data, pin = _pinned_data(tmp_path)
    md5, nfiles, _ = directory_md5(data / "toy")
    pin.write_text(yaml.safe_dump({"outs": [{"md5": md5, "nfiles": nfiles, "path": "data/toy"}]}))
    (data / "xtreme").mkdir()
    (data / "xtreme" / "other.tsv").write_text("fetched\n")  # not part of the toy pin
    folder = pinned_folder(pin)
    assert folder == tmp_path / "data/toy"
    assert replication_check("c" * 40, [], folder, pin)["exact"]
    assert not replication_check("c" * 40, [], data, pin)["exact"]  # the old mistake
    assert pinned_folder(tmp_path / "absent.dvc") is None


@pytest.fixture(scope="module")
def cell(tiny_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny project under git with its data pinned, and one trained phase-2 model."""
    root = tmp_path_factory.mktemp("replication") / "p"
    shutil.copytree(tiny_project, root)
    shutil.rmtree(root / ".git")
    md5, nfiles, size = directory_md5(root / "data")
    (root / "data.dvc").write_text(
        yaml.safe_dump({"outs": [{"md5": md5, "nfiles": nfiles, "size": size, "path": "data"}]})
    )
    (root / ".gitignore").write_text("/data\n/models\n/results\n")
    git_commit(root, ["params.yaml", "data.dvc", ".gitignore"])
    done = harness(
        "target", "--task", "toy_nli", "--intermediate", "none", "--out", "models/p2", cwd=root
    )
    assert done.returncode == 0, done.stderr
    return root


def _evaluate(root: Path, out: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    from harness.stages.evaluate import evaluate_cell

    monkeypatch.chdir(root)
    params = load_params(Path("params.yaml"))
    evaluate_cell(params, Registry.load(), "none", "toy_nli", Path("models/p2"), Path(out))
    return root / out


def test_results_flagged_end_to_end(
    cell: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "p"
    shutil.copytree(cell, root)
    exact = _evaluate(root, "results/exact.json", monkeypatch)
    provenance = read_result(exact).provenance
    assert git_state(root)["git_dirty"] is False and changed_files(root) == []
    assert provenance.replication == {
        "exact": True, "reasons": [], "data_md5": provenance.replication["data_md5"],
        "pinned_md5": provenance.replication["data_md5"],
    }  # fmt: skip
    raw = next((root / "data").rglob("*.jsonl"))
    raw.write_text(raw.read_text(encoding="utf-8") + "\n", encoding="utf-8")  # one blank line
    (root / "params.yaml").write_text((root / "params.yaml").read_text() + "\n# edited\n")
    modified = _evaluate(root, "results/modified.json", monkeypatch)
    check = read_result(modified).provenance.replication
    assert check is not None and check["exact"] is False
    assert any("differ from the snapshot pinned in 'data.dvc'" in r for r in check["reasons"])
    assert any("uncommitted changes to tracked files: params.yaml" in r for r in check["reasons"])

    # the database keeps the flag, the leaderboard shows it
    db = tmp_path / "r.duckdb"
    specs = [Registry.load().get(n) for n in Registry.load().names()]
    languages = json.loads((root / "data" / "toy" / "languages.json").read_text())
    assert [lang["code"] for lang in languages] == [lang["code"] for lang in LANGS]
    ingest(db, [modified], languages, specs)
    con = duckdb.connect(str(db), read_only=True)
    row = con.execute("SELECT exact_replication, replication_notes FROM runs").fetchone()
    con.close()
    assert row is not None and row[0] is False and "differ from the snapshot" in row[1]

    monkeypatch.setattr(sys, "argv", ["app.py", "--db", str(db)])
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    assert not app.exception
    assert any("not an exact replication" in w.value for w in app.warning)
    (table,) = [d.value for d in app.dataframe if "replication" in d.value.columns]
    assert list(table["replication"]) == ["⚠ not exact"]
    app = AppTest.from_file(APP, default_timeout=60)
    app.query_params["page"] = "Run details"
    app.run()
    assert not app.exception
    assert any("Not an exact replication" in w.value for w in app.warning)
    assert "differ from the snapshot" in app.warning[0].value


def test_exact_result_is_marked_exact(
    cell: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "p"
    shutil.copytree(cell, root)
    exact = _evaluate(root, "results/exact.json", monkeypatch)
    db = tmp_path / "r.duckdb"
    specs = [Registry.load().get(n) for n in Registry.load().names()]
    languages = json.loads((root / "data" / "toy" / "languages.json").read_text())
    ingest(db, [exact], languages, specs)
    monkeypatch.setattr(sys, "argv", ["app.py", "--db", str(db)])
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    assert not app.exception and not app.warning
    (table,) = [d.value for d in app.dataframe if "replication" in d.value.columns]
    assert list(table["replication"]) == ["exact"]
