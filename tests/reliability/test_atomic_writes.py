"""Atomic writes under faults: a full disk or a denied permission in the middle of writing any
artefact leaves no partial file (the previous version, if any, intact) and a clear error (exit 2,
no traceback)."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from harness.io import ArtefactWriteError, atomic_write_text, staged_output
from tests.reliability.conftest import copy_project, harness
from tests.reliability.faults import leftovers, read_only, run
from tests.unit.test_store import LANGS, result

FAULTS = ["disk full", "permission"]


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _clear_error(out: Any, needle: str) -> None:
    flat = " ".join(out.stderr.split())
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr
    assert "Could not write" in flat and needle in flat, flat
    assert "free space" in flat or "Permission denied" in flat, flat


@pytest.fixture(scope="module")
def project(tiny_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny project with one phase-2 model, its result file and a results database."""
    root = copy_project(tiny_project, tmp_path_factory.mktemp("faults") / "p")
    done = harness(
        "target", "--task", "toy_nli", "--intermediate", "none", "--out", "models/phase2/m",
        cwd=root,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    done = harness(
        "evaluate", "--task", "toy_nli", "--intermediate", "none", "--model", "models/phase2/m",
        "--out", "results/cells/none-toy_nli.json", cwd=root,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    done = harness("ingest", "results/cells", "--db", "results/r.duckdb", cwd=root)
    assert done.returncode == 0, done.stderr
    return root


# -- in-process: faults injected into the Python calls an atomic write makes -----------------


def _enospc(*args: Any, **kwargs: Any) -> Any:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _eacces(*args: Any, **kwargs: Any) -> Any:
    raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))


class _HalfWriter:
    """A file object that writes half of what it is given, then fails: disk full mid-write."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle

    def __enter__(self) -> _HalfWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.handle.close()

    def write(self, text: str) -> int:
        self.handle.write(text[: len(text) // 2])
        self.handle.flush()
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.handle, name)


@pytest.mark.parametrize("where", ["write", "fsync", "replace", "mkstemp"])
@pytest.mark.parametrize("previous", [True, False], ids=["replacing", "new"])
def test_atomic_write_text_fault(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str, previous: bool
) -> None:
    target = tmp_path / "out" / "result.json"
    if previous:
        atomic_write_text(target, "old content\n")
    real_fdopen = os.fdopen
    patches = {
        "write": ("os.fdopen", lambda fd, *a, **k: _HalfWriter(real_fdopen(fd, *a, **k))),
        "fsync": ("os.fsync", _enospc),
        "replace": ("os.replace", _eacces),
        "mkstemp": ("tempfile.mkstemp", _eacces),
    }
    name, fake = patches[where]
    monkeypatch.setattr(name, fake)
    with pytest.raises(ArtefactWriteError) as caught:
        atomic_write_text(target, "new content " * 1000)
    monkeypatch.undo()
    assert str(target) in str(caught.value)
    assert ("Permission denied" if where in ("replace", "mkstemp") else "free space") in str(
        caught.value
    )
    if previous:
        assert target.read_text() == "old content\n"
    else:
        assert not target.exists()
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("fault", ["body", "rename"])
@pytest.mark.parametrize("previous", [True, False], ids=["replacing", "new"])
def test_staged_output_fault(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault: str, previous: bool
) -> None:
    out = tmp_path / "model"
    if previous:
        with staged_output(out) as staging:
            (staging / "weights.bin").write_bytes(b"old" * 100)
    before = _digest(out) if previous else None
    if fault == "rename":
        monkeypatch.setattr(Path, "rename", _eacces)
    with pytest.raises(ArtefactWriteError, match="model"), staged_output(out) as staging:
        (staging / "weights.bin").write_bytes(b"new" * 50)  # half written, then the disk is full
        if fault == "body":
            _enospc()
    monkeypatch.undo()
    assert (_digest(out) if out.exists() else None) == before
    assert leftovers(tmp_path) == []


# -- subprocess: real OS faults while the real CLI writes each artefact -------------------------


def _size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else sum(f.stat().st_size for f in path.rglob("*"))


@pytest.mark.parametrize("fault", FAULTS)
def test_evaluate_result_file(project: Path, tmp_path: Path, fault: str) -> None:
    work = tmp_path / "w"
    shutil.copytree(project, work)
    cells = work / "results" / "cells"
    before = _digest(cells)
    args = [
        "evaluate", "--task", "toy_nli", "--intermediate", "none", "--model", "models/phase2/m",
    ]  # fmt: skip
    size = _size(cells / "none-toy_nli.json")
    for out in ("results/cells/none-toy_nli.json", "results/cells/new.json"):
        if fault == "permission":
            with read_only(cells):
                done = run([*args, "--out", out], work, fault)
        else:
            done = run([*args, "--out", out], work, fault, limit=size // 2)
        # the cell writes its per-example file, then its result file: the error names the one
        # that failed (both are named after the cell)
        _clear_error(done, out.rsplit("/", 1)[1].removesuffix("json"))
        assert _digest(cells) == before  # old result intact, no new or partial file
    assert leftovers(work) == []


@pytest.mark.parametrize("fault", FAULTS)
def test_target_model_folder(project: Path, tmp_path: Path, fault: str) -> None:
    work = tmp_path / "w"
    shutil.copytree(project, work)
    phase2 = work / "models" / "phase2"
    before = _digest(phase2)
    size = _size(phase2 / "m" / "model.safetensors")
    for out in ("models/phase2/m", "models/phase2/new"):
        args = ["target", "--task", "toy_nli", "--intermediate", "none", "--out", out]
        if fault == "permission":
            with read_only(phase2):
                done = run(args, work, fault)
        else:
            done = run(args, work, fault, limit=size // 2)
        _clear_error(done, out)
        assert _digest(phase2) == before
    assert leftovers(work) == []


def test_pretrain_model_folder_disk_full(project: Path, tmp_path: Path) -> None:
    work = tmp_path / "w"
    shutil.copytree(project, work)
    encoders = work / "models" / "encoders"
    before = _digest(encoders)
    size = _size(encoders / "none" / "model.safetensors")
    done = run(["pretrain", "--out", "models/encoders/none"], work, "disk full", limit=size // 2)
    _clear_error(done, "models/encoders/none")
    assert _digest(encoders) == before
    assert leftovers(work) == []


def test_checkpoint_write_failure_does_not_stop_training(project: Path, tmp_path: Path) -> None:
    """A checkpoint (model + optimizer state) is bigger than the model itself: with a file-size
    limit between the two, every checkpoint write fails, training warns and finishes, and no
    partial checkpoint is left."""
    work = copy_project(project, tmp_path / "w", every_steps=5)
    model = _size(project / "models" / "phase2" / "m" / "model.safetensors")
    args = ["target", "--task", "toy_nli", "--intermediate", "none", "--out", "models/phase2/c"]
    done = run(args, work, "disk full", limit=int(model * 1.5))
    assert done.returncode == 0, done.stderr
    assert "could not write the checkpoint" in done.stderr
    assert (work / "models" / "phase2" / "c" / "model.safetensors").is_file()
    assert not (work / "models" / "phase2" / "c.ckpt").exists()
    assert leftovers(work) == []


def _ingest_workspace(project: Path, tmp_path: Path) -> tuple[Path, Path, list[str]]:
    """A copy of the project, one more result file in ``more/``, its database, and the ingest
    command that adds the file."""
    work = tmp_path / "w"
    shutil.copytree(project, work)
    extra = result("toy_lexical")
    extra["model"] = "toy-xlmr-tiny"
    (work / "more").mkdir()
    (work / "more" / "x.json").write_text(json.dumps(extra))
    return work, work / "results" / "r.duckdb", ["ingest", "more", "--db", "results/r.duckdb"]


@pytest.mark.parametrize("fault", FAULTS)
def test_ingest_database(project: Path, tmp_path: Path, fault: str) -> None:
    work, db, args = _ingest_workspace(project, tmp_path)
    before = db.read_bytes()
    if fault == "permission":
        with read_only(db.parent):
            done = run(args, work, fault)
    else:
        done = run(args, work, fault, limit=len(before) // 2)
    _clear_error(done, "r.duckdb")
    assert "database is unchanged" in " ".join(done.stderr.split())
    assert db.read_bytes() == before
    assert leftovers(work) == []
    again = harness(*args, cwd=work)  # once the fault is gone, the same command completes
    assert again.returncode == 0, again.stderr


@pytest.mark.parametrize("fault", FAULTS)
def test_quarantine_report(project: Path, tmp_path: Path, fault: str) -> None:
    work = tmp_path / "w"
    shutil.copytree(project, work)
    (work / "bad").mkdir()
    (work / "bad" / "x.json").write_text('{"schema_version": 3, "trunc')
    quarantine = work / "results" / "quarantine"
    args = ["ingest", "bad", "--db", "results/r.duckdb", "--quarantine", "results/quarantine"]
    if fault == "permission":
        with read_only(quarantine):
            done = run(args, work, fault)
    else:
        done = run(args, work, fault, limit=10)
    _clear_error(done, "quarantine")
    assert (work / "bad" / "x.json").exists()  # not moved: its report could not be written
    assert not quarantine.exists() or list(quarantine.iterdir()) == []
    assert leftovers(work) == []


@pytest.mark.parametrize("fault", FAULTS)
def test_export_files(project: Path, tmp_path: Path, fault: str) -> None:
    work = tmp_path / "w"
    shutil.copytree(project, work)
    out = work / "export"
    args = ["export", "--out", "export", "--format", "csv", "--db", "results/r.duckdb"]
    if fault == "permission":
        with read_only(out):
            done = run(args, work, fault)
    else:
        done = run(args, work, fault, limit=200)
    _clear_error(done, "export")
    assert all(p.stat().st_size <= 200 for p in out.glob("*.csv"))  # only complete small files
    for path in out.glob("*.csv"):  # whatever was renamed into place is complete
        assert path.read_text().endswith("\n")
    assert leftovers(work) == []


@pytest.mark.parametrize("fault", FAULTS)
def test_toy_data(project: Path, tmp_path: Path, fault: str) -> None:
    work = tmp_path / "w"
    shutil.copytree(project, work)
    before = _digest(work / "data")
    if fault == "permission":
        with read_only(work), read_only(work / "data"):
            done = run(["data", "--no-verify"], work, fault)
    else:
        done = run(["data", "--no-verify"], work, fault, limit=1000)
    _clear_error(done, "data/toy")
    assert _digest(work / "data") == before
    assert leftovers(work) == []


def test_language_file_fixture_matches_store_tests() -> None:
    assert [lang["code"] for lang in LANGS] == ["en", "xa", "xb", "xc", "xd"]


@pytest.mark.parametrize("fraction", [0.02, 0.1, 0.3, 0.6, 0.9, 1.0, 1.05, 1.3, 2.0])
def test_ingest_disk_full_at_every_size(project: Path, tmp_path: Path, fraction: float) -> None:
    """A file-size limit at a range of sizes around the database's, so that the write fails at
    every point of the copy-on-write path (the copy, DuckDB's inserts, its CHECKPOINT): each
    ends in exit 0, or exit 2 with the project's message, the database unchanged and nothing
    left behind; never a traceback (before: DuckDB's FatalException escaped at some sizes)."""
    work, db, args = _ingest_workspace(project, tmp_path)
    before = db.read_bytes()
    done = run(args, work, "disk full", limit=max(1, int(len(before) * fraction)))
    assert "Traceback" not in done.stderr, done.stderr
    if done.returncode != 0:
        _clear_error(done, "r.duckdb")
        assert "database is unchanged" in " ".join(done.stderr.split())
        assert db.read_bytes() == before
    assert leftovers(work) == []
    again = harness(*args, cwd=work)
    assert again.returncode == 0, again.stderr
