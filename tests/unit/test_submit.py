"""`harness submit`: bad specs are refused with a message naming the field and the fix and
leave every file as it was; a good spec is registered with minimal, comment-preserving edits."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.config import load_params
from harness.errors import HarnessError
from harness.stages.submit import edit_params_text, submit, write_all
from harness.tasks import Registry
from tests.conftest import REPO, write_jsonl

GOOD: dict[str, Any] = {
    "name": "my_task",
    "role": "intermediate",
    "kind": "pair_classification",
    "description": "a relabelled toy task",
    "source": {
        "type": "local",
        "path": "data/submitted/my_task",
        "files": {"train": "train.jsonl", "dev": "dev.jsonl"},
    },
    "columns": {"sentence1": "premise", "sentence2": "hypothesis"},
    "labels": ["yes", "no"],
}


def _rows(n: int, label: Any = None) -> list[dict[str, Any]]:
    return [
        {
            "premise": f"the dog saw the cat {i}",
            "hypothesis": f"a cat {i}",
            "label": label if label is not None else ("yes" if i % 2 else "no"),
        }
        for i in range(n)
    ]


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository root with the real params.yaml and tasks/ folder, and the new task's data."""
    root = tmp_path / "repo"
    (root / "tasks").mkdir(parents=True)
    shutil.copy2(REPO / "params.yaml", root / "params.yaml")
    shutil.copy2(REPO / "tasks" / "README.md", root / "tasks" / "README.md")
    write_jsonl(root / "data/submitted/my_task/train.jsonl", _rows(12))
    write_jsonl(root / "data/submitted/my_task/dev.jsonl", _rows(4))
    monkeypatch.chdir(root)
    return root


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _submit(root: Path, spec_file: Path, dry_run: bool = False, **overrides: Any) -> Any:
    params_path = root / "params.yaml"
    params = load_params(params_path)
    registry = Registry.for_params(params)
    return submit(spec_file, params_path, params, registry, overrides, dry_run, root)


def _write_spec(root: Path, spec: Any, text: str | None = None) -> Path:
    path = root.parent / "incoming" / "spec.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text if text is not None else yaml.safe_dump(spec), encoding="utf-8")
    return path


def _with(**changes: Any) -> dict[str, Any]:
    spec = yaml.safe_load(yaml.safe_dump(GOOD))
    for key, value in changes.items():
        if value is _DROP:
            spec.pop(key)
        else:
            spec[key] = value
    return spec


_DROP = object()


def _source(**changes: Any) -> dict[str, Any]:
    return {**GOOD["source"], **changes}


# each case: (id, spec or raw text, data rewrite {file: rows} or None, needles in the message)
BAD: list[tuple[str, Any, dict[str, list[dict[str, Any]]] | None, tuple[str, ...]]] = [
    ("yaml_syntax", "name: [unclosed\n", None, ("not valid YAML", "fix the syntax")),
    ("not_a_mapping", "- just\n- a list\n", None, ("must be a YAML mapping", "name")),
    ("missing_name", _with(name=_DROP), None, ("field 'name'", "add field 'name'")),
    ("unknown_kind", _with(kind="regression"), None, ("field 'kind'", "one of the values")),
    ("unknown_field", _with(epochs=3), None, ("field 'epochs'", "remove field 'epochs'")),
    ("path_in_name", _with(name="../evil"), None, ("field 'name'", "path separators")),
    ("upper_case_name", _with(name="MyTask"), None, ("field 'name'", "lower-case")),
    ("name_collision", _with(name="toy_lexical"), None, ("field 'name'", "Choose another")),
    ("name_is_baseline", _with(name="none"), None, ("field 'name'", "Choose another")),
    ("target_role", _with(role="target"), None, ("field 'role'", "intermediate")),
    ("one_label", _with(labels=["yes"]), None, ("field 'labels'", "at least 2")),
    (
        "unquoted_yes_no",
        yaml.safe_dump(GOOD).replace("- 'yes'", "- yes").replace("- 'no'", "- no"),
        None,
        ("field 'labels.0'", "quote the value", "booleans"),
    ),
    ("duplicate_label", _with(labels=["yes", "yes"]), None, ("field 'labels'", "twice")),
    ("wrong_metric", _with(metric="f1"), None, ("field 'metric'", "choose one of")),
    (
        "unknown_column_field",
        _with(columns={"question": "q"}),
        None,
        ("field 'columns'", "pair_classification task has"),
    ),
    (
        "missing_column",
        _with(columns={"sentence1": "text_a", "sentence2": "hypothesis"}),
        None,
        ("'text_a'", "Fix `columns`"),
    ),
    (
        "mistyped_column",
        _with(),
        {"train.jsonl": [{"premise": 7, "hypothesis": "x", "label": "yes"}, *_rows(4)]},
        ("field 'sentence1'", "columns.sentence1", "must be a string"),
    ),
    (
        "label_outside_set",
        _with(),
        {"train.jsonl": [*_rows(4), {"premise": "a", "hypothesis": "b", "label": "maybe"}]},
        ("'maybe'", "labels"),
    ),
    (
        "label_never_used",
        _with(labels=["yes", "no", "unsure"]),
        None,
        ("field 'labels'", "['unsure'] never occur", "Remove them"),
    ),
    (
        "absolute_source_path",
        _with(source=_source(path="/etc")),
        None,
        ("field 'source.path'", "inside the repository"),
    ),
    (
        "escaping_source_path",
        _with(source=_source(path="../outside")),
        None,
        ("field 'source.path'", "inside the repository"),
    ),
    (
        "missing_data_folder",
        _with(source=_source(path="data/nowhere")),
        None,
        ("field 'source.path'", "does not exist"),
    ),
    (
        "missing_dev_split",
        _with(source=_source(files={"train": "train.jsonl"})),
        None,
        ("field 'source'", "split(s) ['dev']"),
    ),
    (
        "missing_data_file",
        _with(source=_source(files={"train": "train.jsonl", "dev": "nope.jsonl"})),
        None,
        ("nope.jsonl", "fix source.path"),
    ),
    (
        "unknown_source_type",
        _with(source=_source(type="ftp")),
        None,
        ("field 'source'", "one of the values"),
    ),
    (
        "unpinned_hub_revision",
        _with(source={"type": "hub", "id": "org/data", "revision": "main", "splits": {}}),
        None,
        ("field 'source.hub.revision'", "commit hash"),
    ),
    (
        "untrainable_kind",
        _with(kind="retrieval", columns={}, labels=[]),
        None,
        ("field 'kind'", "cannot train"),
    ),
    ("empty_train_split", _with(), {"train.jsonl": []}, ("no train examples", "at least one")),
]


@pytest.mark.parametrize(("case", "spec", "data", "needles"), BAD, ids=[c[0] for c in BAD])
def test_bad_spec_is_refused_and_nothing_changes(
    repo: Path,
    case: str,
    spec: Any,
    data: dict[str, list[dict[str, Any]]] | None,
    needles: tuple[str, ...],
) -> None:
    for name, rows in (data or {}).items():
        write_jsonl(repo / "data/submitted/my_task" / name, rows)
    spec_file = _write_spec(repo, spec, spec if isinstance(spec, str) else None)
    before = _hashes(repo)
    with pytest.raises(HarnessError) as info:
        _submit(repo, spec_file)
    message = str(info.value)
    for needle in needles:
        assert needle in message, f"{case}: {needle!r} not in {message!r}"
    assert _hashes(repo) == before


def test_at_least_fifteen_distinct_bad_specs() -> None:
    assert len({case for case, *_ in BAD}) >= 15


def test_unreachable_hub_source_says_how_to_work_offline(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    spec = _with(
        source={
            "type": "hub",
            "id": "no-such-org/no-such-dataset",
            "revision": "0123456789abcdef0123456789abcdef01234567",
            "splits": {"train": "train", "dev": "validation"},
        }
    )
    before = _hashes(repo)
    with pytest.raises(HarnessError) as info:
        _submit(repo, _write_spec(repo, spec))
    message = str(info.value)
    assert "field 'source'" in message
    assert "pre-fetch" in message and "HF_DATASETS_OFFLINE" in message
    assert _hashes(repo) == before


def test_good_spec_is_registered_with_additive_edits(repo: Path) -> None:
    old = (repo / "params.yaml").read_text()
    spec_file = _write_spec(repo, GOOD, "# my comment\n" + yaml.safe_dump(GOOD))
    result = _submit(repo, spec_file, epochs=2.0, learning_rate=1e-3)
    assert result.probed == {"train": 12, "dev": 4}
    assert "create tasks/my_task.yaml" in result.describe(repo)
    targets = ("toy_nli", "toy_ner", "toy_mc", "toy_qa")
    cells = [f"my_task-{t}-{s}" for t in targets for s in (13, 14)]
    assert result.stages == [
        "intermediate@my_task",
        "difficulty@my_task",
        *(f"target@{cell}" for cell in cells),
        *(f"evaluate@{cell}" for cell in cells),
        "retrieve@my_task-toy_retrieval",
        "ingest",
        "analyze",
    ]
    copied = repo / "tasks" / "my_task.yaml"
    assert copied.read_text() == spec_file.read_text()  # verbatim, comment included
    new = (repo / "params.yaml").read_text()
    # every old line is still there, in order (comments included); only lines were added
    old_lines, new_lines = old.splitlines(), new.splitlines()
    changed = [line for line in old_lines if line not in new_lines]
    assert changed == [
        "  intermediate: [none, toy_negation, toy_lexical, toy_extension, toy_relational, "
        "toy_roles, toy_compositional]"
    ]
    assert all(line.startswith("#") is False or line in new_lines for line in old_lines)
    params = load_params(repo / "params.yaml")
    assert params.grid.intermediate[-1] == "my_task"
    assert params.phase1["my_task"].epochs == 2.0
    assert params.phase1["my_task"].learning_rate == 1e-3
    assert params.phase1["my_task"].batch_size == params.phase1["toy_lexical"].batch_size
    assert params.intermediate_inputs["my_task"].spec == Path("tasks/my_task.yaml")
    assert params.intermediate_inputs["my_task"].data == Path("data/submitted/my_task")
    assert params.task_dirs == [Path("tasks")]  # added with the first submission
    registry = Registry.load(params.task_dirs)
    assert registry.get("my_task", role="intermediate").labels == ["yes", "no"]
    # submitting it again is a name collision
    with pytest.raises(HarnessError, match=r"field 'name'.*already exists"):
        _submit(repo, spec_file)


def test_dry_run_writes_nothing_and_describes_the_change(repo: Path) -> None:
    (repo / "data.dvc").write_text("outs:\n- md5: abc.dir\n  path: data\n")
    (repo / ".dvc").mkdir()  # DVC's own folder is not a .dvc file
    before = _hashes(repo)
    result = _submit(repo, _write_spec(repo, GOOD), dry_run=True)
    assert _hashes(repo) == before
    text = result.describe(repo)
    assert "create tasks/my_task.yaml" in text
    assert "modify params.yaml" in text
    assert "intermediate@my_task" in text and "evaluate@my_task-toy_ner" in text
    assert "re-pin with `dvc add data`" in text
    # with the toy pin on data/toy (as the repository has it), the new folder is pinned by no
    # DVC file: submit says how to pin it
    (repo / "data.dvc").write_text("outs:\n- md5: abc.dir\n  path: data/toy\n")
    text = _submit(repo, _write_spec(repo, GOOD), dry_run=True).describe(repo)
    assert "no DVC file pins 'data/submitted/my_task' yet: `dvc add data/submitted/my_task`" in text
    assert "re-pin" not in text


def test_bad_hyperparameter_option_is_refused(repo: Path) -> None:
    before = _hashes(repo)
    with pytest.raises(HarnessError, match="--epochs"):
        _submit(repo, _write_spec(repo, GOOD), epochs=-1.0)
    assert _hashes(repo) == before


def test_write_all_restores_every_file_when_a_rename_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "a.txt", tmp_path / "sub" / "b.txt"
    first.write_text("old a")
    real_replace = os.replace
    calls: list[str] = []

    def failing(src: Any, dst: Any) -> None:
        calls.append(str(dst))
        if len(calls) == 2:
            raise OSError("disk full")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(OSError, match="disk full"):
        write_all({first: "new a", second: "new b"})
    assert first.read_text() == "old a"
    assert not second.exists()
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["a.txt"]


def test_edit_keeps_comments_and_parses_to_the_additions() -> None:
    text = (
        "# head comment\n"
        "grid:\n"
        "  intermediate: [none, a]  # the settings\n"
        "  target: [t]\n"
        "\n"
        "# phase 1\n"
        "phase1:\n"
        "  a:\n"
        "    epochs: 1\n"
        "\n"
        "# phase 2\n"
        "phase2: {}\n"
    )
    out = edit_params_text(
        text, "b", {"epochs": 2.0, "learning_rate": 0.001}, {"spec": "s.yaml", "data": "d"}
    )
    assert "# head comment" in out and "# the settings" in out and "# phase 2" in out
    parsed = yaml.safe_load(out)
    assert parsed["grid"]["intermediate"] == ["none", "a", "b"]
    assert parsed["phase1"] == {"a": {"epochs": 1}, "b": {"epochs": 2.0, "learning_rate": 0.001}}
    assert parsed["intermediate_inputs"] == {"b": {"spec": "s.yaml", "data": "d"}}
    assert parsed["phase2"] == {}
    # the phase1 entry lands inside phase1, before the next section's comment
    assert out.index("  b:\n") < out.index("# phase 2")


def test_cli_submit_error_has_no_traceback_and_exit_2(repo: Path) -> None:
    spec_file = _write_spec(repo, _with(kind="regression"))
    out = subprocess.run(
        [sys.executable, "-m", "harness", "submit", str(spec_file)],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert out.returncode == 2
    assert "field 'kind'" in out.stderr
    assert "Traceback" not in out.stderr


def test_cli_submit_dry_run_then_tasks_show(repo: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    spec_file = _write_spec(repo, GOOD)

    def harness(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "harness", *args],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )

    dry = harness("submit", str(spec_file), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "dry run" in dry.stdout and "intermediate@my_task" in dry.stdout
    assert not (repo / "tasks" / "my_task.yaml").exists()
    done = harness("submit", str(spec_file), "--epochs", "1")
    assert done.returncode == 0, done.stderr
    show = harness("tasks", "show", "my_task")
    assert show.returncode == 0, show.stderr
    assert "origin: tasks/my_task.yaml" in show.stdout
    assert "grid.intermediate: paired with targets toy_nli, toy_ner" in show.stdout
    assert "epochs': 1.0" in show.stdout
    listed = harness("tasks", "list")
    assert "my_task" in listed.stdout and "tasks/my_task.yaml" in listed.stdout


def test_a_data_folder_linked_from_outside_the_repository_is_refused(repo: Path) -> None:
    """source.path inside the repository by name, but a symlink to a folder outside it (DVC
    would track the link, not the data): refused, nothing changes."""
    outside = repo.parent / "elsewhere"
    shutil.move(repo / "data/submitted/my_task", outside)
    (repo / "data/submitted/my_task").symlink_to(outside, target_is_directory=True)
    spec_file = _write_spec(repo, GOOD)
    before = _hashes(repo)
    with pytest.raises(HarnessError, match="leads outside the repository") as info:
        _submit(repo, spec_file)
    assert "source.path" in str(info.value)
    assert _hashes(repo) == before


def test_a_data_file_linked_from_outside_the_repository_is_refused(repo: Path) -> None:
    outside = repo.parent / "train.jsonl"
    shutil.move(repo / "data/submitted/my_task/train.jsonl", outside)
    (repo / "data/submitted/my_task/train.jsonl").symlink_to(outside)
    spec_file = _write_spec(repo, GOOD)
    before = _hashes(repo)
    with pytest.raises(HarnessError, match=r"source\.files\.train.*leads outside the repository"):
        _submit(repo, spec_file)
    assert _hashes(repo) == before


def test_a_data_folder_linked_inside_the_repository_is_accepted(repo: Path) -> None:
    shutil.move(repo / "data/submitted/my_task", repo / "data/real")
    (repo / "data/submitted/my_task").symlink_to(repo / "data/real", target_is_directory=True)
    spec_file = _write_spec(repo, GOOD)
    _submit(repo, spec_file, dry_run=True)


@pytest.mark.parametrize(
    ("where", "error", "hint"),
    [
        ("mkstemp", PermissionError(13, "Permission denied"), "make the folder writable"),
        ("replace", OSError(28, "No space left on device"), "free space"),
    ],
)
def test_a_read_only_folder_or_full_disk_during_submit_changes_nothing(
    repo: Path, monkeypatch: pytest.MonkeyPatch, where: str, error: OSError, hint: str
) -> None:
    """The write fails when the first temporary file is made (read-only ``tasks/``) or at the
    second rename (disk full): the project's error, every file as it was, no temporary left."""
    import harness.stages.submit as module

    spec_file = _write_spec(repo, GOOD)
    before = _hashes(repo)
    if where == "mkstemp":

        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise error

        monkeypatch.setattr(module.tempfile, "mkstemp", refuse)
    else:
        real = os.replace
        calls = 0

        def replace(src: Any, dst: Any) -> None:
            nonlocal calls
            calls += 1
            if calls == 2:
                raise error
            real(src, dst)

        monkeypatch.setattr(module.os, "replace", replace)
    with pytest.raises(HarnessError) as info:
        _submit(repo, spec_file)
    message = str(info.value)
    assert "Could not write" in message and hint in message
    assert "params.yaml are unchanged" in message
    assert _hashes(repo) == before
