"""Corrupt artefacts: a truncated or altered result file, model folder or checkpoint is detected by
its checksum and never used or ingested; the message names the file and what to do."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest

from harness.errors import HarnessError
from harness.io import MANIFEST, ManifestError, publish_dir, staging_dir, verify_manifest
from harness.model.encoders import read_phase, write_phase
from harness.results.schema import read_result, with_checksum
from harness.results.store import ingest
from harness.results.validate import validate_files
from tests.reliability.conftest import harness
from tests.unit.test_store import LANGS, SPECS, result


def v3(intermediate: str | None = None, **changes: Any) -> dict[str, Any]:
    content = {**result(intermediate), "schema_version": 3, **changes}
    return with_checksum(content)


def _write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
    return path


def _alter_value(data: dict[str, Any]) -> None:
    data["scores"][0]["value"] = 0.99  # still a valid score: only the checksum can tell


def _alter_provenance(data: dict[str, Any]) -> None:
    data["provenance"]["git_dirty"] = True


def _alter_language(data: dict[str, Any]) -> None:
    data["scores"][2]["language"] = "xa"


def _drop_score(data: dict[str, Any]) -> None:
    data["scores"].pop()


def _bad_checksum(data: dict[str, Any]) -> None:
    data["checksum"] = "sha256:" + "0" * 64


def _drop_checksum(data: dict[str, Any]) -> None:
    del data["checksum"]


ALTERATIONS = [_alter_value, _alter_provenance, _alter_language, _drop_score, _bad_checksum]


def test_checksummed_result_round_trips(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.json", v3())
    assert read_result(path).checksum is not None
    # whitespace and key order are not content: a reformatted file still verifies
    path.write_text(json.dumps(json.loads(path.read_text()), indent=None), encoding="utf-8")
    read_result(path)


@pytest.mark.parametrize("alter", [*ALTERATIONS, _drop_checksum], ids=lambda f: f.__name__)
def test_altered_result_file_is_refused_by_name(tmp_path: Path, alter: Any) -> None:
    data = v3()
    alter(data)
    path = _write(tmp_path / "cell.json", data)
    with pytest.raises(HarnessError) as caught:
        read_result(path)
    message = str(caught.value)
    assert str(path) in message and "dvc repro" in message
    assert "checksum" in message


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.99])
def test_truncated_result_file_is_refused(tmp_path: Path, keep: float) -> None:
    text = json.dumps(v3(), indent=2)
    path = tmp_path / "cell.json"
    path.write_text(text[: int(len(text) * keep)], encoding="utf-8")
    with pytest.raises(HarnessError, match=r"not valid JSON.*truncated"):
        read_result(path)


def test_legacy_result_without_checksum_is_still_read(tmp_path: Path) -> None:
    legacy = {**result(None), "schema_version": 2}
    assert read_result(_write(tmp_path / "old.json", legacy)).checksum is None


def test_altered_files_are_quarantined_not_ingested(tmp_path: Path) -> None:
    cells = tmp_path / "cells"
    cells.mkdir()
    good = _write(cells / "good.json", v3(None))
    bad_files = []
    for number, alter in enumerate(ALTERATIONS):
        data = v3("toy_lexical", model=f"m{number}")
        alter(data)
        bad_files.append(_write(cells / f"bad{number}.json", data))
    report = validate_files([good, *bad_files], [lang["code"] for lang in LANGS], SPECS)
    assert [p for p, _ in report.valid] == [good]
    assert set(report.problems) == set(bad_files)
    db = tmp_path / "r.duckdb"
    counts = ingest(db, [good, *bad_files], LANGS, SPECS, quarantine_dir=tmp_path / "q")
    assert counts == {"added": 1, "unchanged": 0, "replaced": 0, "quarantined": len(bad_files)}
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM runs").fetchone() == (1,)
    con.close()
    reports = sorted((tmp_path / "q").glob("*.report.txt"))
    assert len(reports) == len(bad_files)
    assert all("checksum" in r.read_text(encoding="utf-8") for r in reports)


def test_cli_ingest_of_an_altered_file_exits_2_naming_it(tmp_path: Path) -> None:
    from tests.conftest import REPO

    (tmp_path / "data" / "toy").mkdir(parents=True)
    (tmp_path / "data" / "toy" / "languages.json").write_text(json.dumps(LANGS))
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    data = v3()
    _alter_value(data)
    _write(tmp_path / "cell.json", data)
    out = harness("ingest", "cell.json", "--db", "r.duckdb", cwd=tmp_path, timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    report = next((tmp_path / "results" / "quarantine").glob("cell.*.report.txt"))
    assert "fails its checksum" in report.read_text(encoding="utf-8")


def _model_folder(tmp_path: Path) -> Path:
    out = tmp_path / "model"
    staging = staging_dir(out)
    (staging / "model.safetensors").write_bytes(bytes(range(256)) * 64)
    (staging / "tokenizer.json").write_text('{"v": 1}', encoding="utf-8")
    (staging / "sub").mkdir()
    (staging / "sub" / "extra.bin").write_bytes(b"abc")
    write_phase(staging, {"phase": 2})
    publish_dir(staging, out)
    return out


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x01
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:100])


DAMAGES = {
    "flip a weight byte": lambda f: _flip(f / "model.safetensors"),
    "truncate the weights": lambda f: _truncate(f / "model.safetensors"),
    "empty the weights": lambda f: (f / "model.safetensors").write_bytes(b""),
    "delete the weights": lambda f: (f / "model.safetensors").unlink(),
    "edit the tokenizer": lambda f: (f / "tokenizer.json").write_text('{"v": 2}'),
    "alter a nested file": lambda f: _flip(f / "sub" / "extra.bin"),
    "add a file": lambda f: (f / "stray.bin").write_bytes(b"x"),
    "edit phase.json": lambda f: (f / "phase.json").write_text('{"phase": 1}'),
    "corrupt the manifest": lambda f: (f / MANIFEST).write_text("nonsense\n"),
}


def test_published_folder_verifies(tmp_path: Path) -> None:
    folder = _model_folder(tmp_path)
    assert verify_manifest(folder)
    assert read_phase(folder) == {"phase": 2}
    assert not (tmp_path / "model.partial").exists()


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_damaged_model_folder_is_never_used(tmp_path: Path, damage: str) -> None:
    folder = _model_folder(tmp_path)
    DAMAGES[damage](folder)
    with pytest.raises(ManifestError) as caught:
        read_phase(folder)
    message = str(caught.value)
    assert str(folder) in message and "dvc repro" in message and "dvc checkout" in message


def test_manifest_names_the_damaged_file(tmp_path: Path) -> None:
    folder = _model_folder(tmp_path)
    _truncate(folder / "model.safetensors")
    (folder / "tokenizer.json").unlink()
    with pytest.raises(ManifestError) as caught:
        verify_manifest(folder)
    message = str(caught.value)
    assert "'model.safetensors' does not match its checksum" in message
    assert "'tokenizer.json' is missing" in message


def test_cli_evaluate_refuses_a_corrupt_model(tiny_project: Path, tmp_path: Path) -> None:
    project = tmp_path / "p"
    shutil.copytree(tiny_project, project)
    encoder = project / "models" / "encoders" / "none"
    _flip(encoder / "model.safetensors")
    out = harness(
        "target", "--task", "toy_nli", "--intermediate", "none", "--out", "m", cwd=project
    )
    assert out.returncode == 2 and "Traceback" not in out.stderr
    flat = " ".join(out.stderr.split())
    assert "model.safetensors' does not match its checksum" in flat
    assert not (project / "m").exists()
