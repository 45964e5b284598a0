"""`harness sweep --executor local`: stages forked from the zygote give exactly the outputs of
stages run as separate processes (``--no-fork``), on the reduced toy grid of the SLURM tests
(2 intermediate settings x 1 target, tiny data and model; about a minute on two cores)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from harness.launch.zygote import fork_supported
from tests.cluster.test_sweep import assert_consistent, commit_all, harness, reduce_params, run
from tests.integration.test_toy_pipeline import copy_repository

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not fork_supported(), reason="the zygote forks: Linux only"),
]

TIMING = {
    "started_at", "finished_at", "seconds", "timings", "check_seconds",
    # a run's throughput record (harness.model.throughput): its rates are clock readings; its
    # token counts, padding and device are compared
    "tokens_per_s", "model_tflops_per_s", "mfu", "device_hours",
}  # fmt: skip
"""Keys whose values are clock readings: the only thing allowed to differ between two runs."""
DERIVED = {"checksum", "dvc_stage_hash", "inputs"}
"""Hashes over files that hold clock readings (a model's phase.json)."""


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    template = tmp_path_factory.mktemp("template")
    copy_repository(template)
    reduce_params(template / "params.yaml")
    params = yaml.safe_load((template / "params.yaml").read_text())
    params["phase2"]["toy_nli"]["epochs"] = 2  # the SLURM tests need long phase-2 runs; not here
    (template / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    harness("data", "--no-verify", cwd=template)
    run(["dvc", "add", "-q", "data"], template)
    commit_all(template, "reduced grid")
    found = {}
    for mode in ("--no-fork", "--fork"):
        ws = tmp_path_factory.mktemp(mode.strip("-")) / "ws"
        shutil.copytree(template, ws, symlinks=True)
        out = run(
            [sys.executable, "-m", "harness", "sweep", "--executor", "local", "--jobs", "2",
             mode, "--summary", "sweep.json"],
            ws,
        )  # fmt: skip
        (ws / "sweep.err").write_text(out.stderr)
        found[mode] = ws
    return found


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if k not in TIMING | DERIVED}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _content(path: Path) -> Any:
    if path.name == "MANIFEST.sha256":  # hashes phase.json, which holds its timing
        return [line for line in path.read_text().splitlines() if "phase.json" not in line]
    if path.suffix == ".json":
        return _clean(json.loads(path.read_text()))
    if path.suffix == ".duckdb":
        con = duckdb.connect(str(path), read_only=True)
        try:
            return con.execute(
                "SELECT r.config_hash, s.* FROM scores s JOIN runs r USING (run_id) ORDER BY ALL"
            ).fetchall()
        finally:
            con.close()
    return path.read_bytes()


def _outputs(ws: Path) -> dict[str, Any]:
    lock = yaml.safe_load((ws / "dvc.lock").read_text())["stages"]
    files: dict[str, Any] = {}
    for entry in lock.values():
        for out in [*entry.get("outs", []), *entry.get("metrics", [])]:
            root = ws / out["path"]
            for path in sorted(root.rglob("*")) if root.is_dir() else [root]:
                if path.is_file():
                    files[str(path.relative_to(ws))] = _content(path)
    return files


def test_forked_stages_write_what_separate_processes_write(runs: dict[str, Path]) -> None:
    separate, forked = runs["--no-fork"], runs["--fork"]
    assert "forked from zygote" in (forked / "sweep.err").read_text()
    assert "forked from zygote" not in (separate / "sweep.err").read_text()
    assert not (separate / ".sweep" / "logs" / "zygote.log").exists()
    expected, got = _outputs(separate), _outputs(forked)
    assert any(name.endswith("model.safetensors") for name in got)
    assert sorted(got) == sorted(expected)
    for name in expected:
        assert got[name] == expected[name], name
    # the same stages with the same commands, parameters and inputs in dvc.lock (but for the
    # outputs of other stages: their hashes cover the clock readings compared above)
    locks = [yaml.safe_load((ws / "dvc.lock").read_text())["stages"] for ws in (separate, forked)]
    assert locks[0].keys() == locks[1].keys()
    for name in locks[0]:
        a, b = locks[0][name], locks[1][name]
        assert (a["cmd"], a.get("params")) == (b["cmd"], b.get("params")), name
        deps = [[d for d in lock.get("deps", []) if not d["path"].startswith(("models/",
                 "results/"))] for lock in (a, b)]  # fmt: skip
        assert deps[0] == deps[1], name
    summaries = [json.loads((ws / "sweep.json").read_text()) for ws in (separate, forked)]
    assert [s["waves"] for s in summaries[0:1]] == [summaries[1]["waves"]]
    assert all(stage["attempts"] == 1 for s in summaries for stage in s["stages"])


def test_a_forked_sweep_leaves_the_workspace_consistent(runs: dict[str, Path]) -> None:
    assert_consistent(runs["--fork"])
    logs = runs["--fork"] / ".sweep" / "logs"
    for log in logs.glob("*@*.log"):
        assert log.read_text().rstrip().endswith("exit status 0"), log
    assert "imported" in (logs / "zygote.log").read_text()
