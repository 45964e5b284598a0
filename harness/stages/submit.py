"""``harness submit``: validate a new intermediate task, probe its data, and register it.

Registering a task means three edits, made together or not at all:

* the spec is copied (verbatim, comments included) into the first folder of ``task_dirs``;
* ``params.yaml`` gains the task in ``grid.intermediate``, a ``phase1.<name>`` entry and an
  ``intermediate_inputs.<name>`` entry (the spec and data the ``intermediate@<name>`` stage of
  ``dvc.yaml`` depends on). The file is edited as text, line by line, so its comments and
  layout stay; the result is parsed back and must equal the old parameters plus the additions.

Nothing already in the grid changes, so ``dvc repro`` afterwards runs only the new task's
stages (and ``ingest``, which loads the new result files).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml
from pydantic import ValidationError

from harness import kinds
from harness.config import BASELINE, Params, TrainParams
from harness.data.sources import Example, load_examples
from harness.errors import HarnessError
from harness.io import write_error
from harness.strict import SPEC_BYTES, parse_yaml, read_text
from harness.tasks import HubSource, LocalSource, Registry, TaskSpec

#: hyperparameters a submission may override on the command line
OVERRIDABLE = ("epochs", "learning_rate", "batch_size", "max_length")
PROBE_ROWS = 50
DEFAULT_TASK_DIR = "tasks"
"""Where submitted specs go when params.yaml names no task_dirs yet."""
_FIELDS = ", ".join(TaskSpec.model_fields)


@dataclass
class Submission:
    """What a submission would change: files (path -> new text) and the stages it adds."""

    spec: TaskSpec
    files: dict[Path, str]
    phase1: dict[str, Any]
    inputs: dict[str, str]
    stages: list[str]
    probed: dict[str, int] = field(default_factory=dict)
    existed: dict[Path, bool] = field(default_factory=dict)
    """Whether each file existed when the submission was planned."""
    notes: list[str] = field(default_factory=list)

    def describe(self, root: Path) -> str:
        lines = [f"task '{self.spec.name}' ({self.spec.kind}, intermediate)"]
        lines += [f"  probed {n} {split} example(s)" for split, n in self.probed.items()]
        for path in self.files:
            rel = path.relative_to(root) if path.is_relative_to(root) else path
            verb = "modify" if self.existed.get(path, path.exists()) else "create"
            lines.append(f"  {verb} {rel}")
        lines.append(f"  grid.intermediate += {self.spec.name}")
        lines.append(f"  phase1.{self.spec.name} = {self.phase1}")
        lines.append(f"  intermediate_inputs.{self.spec.name} = {self.inputs}")
        lines.append("stages `dvc repro` will run (nothing already computed reruns):")
        lines += [f"  {stage}" for stage in self.stages]
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# validation


def read_submitted_spec(path: Path) -> tuple[TaskSpec, str]:
    """Parse and validate a submitted spec; every error names the field and the fix."""
    if not path.exists():
        raise HarnessError(f"Spec file '{path}' does not exist; pass the path of a YAML spec.")
    text = read_text(path, "Spec file", SPEC_BYTES)
    try:
        raw = parse_yaml(text)
    except yaml.YAMLError as exc:
        raise HarnessError(
            f"Spec file '{path}' is not valid YAML ({exc}); fix the syntax."
        ) from exc
    except ValueError as exc:
        raise HarnessError(f"Spec file '{path}' is refused: {exc}; fix the file.") from exc
    if not isinstance(raw, dict):
        raise HarnessError(
            f"Spec file '{path}' must be a YAML mapping of the fields {_FIELDS}, not a "
            f"{type(raw).__name__}; see `harness tasks show toy_lexical` for an example."
        )
    name = raw.get("name")
    unsafe = ("/", "\\", "..", " ", "\t")
    if isinstance(name, str) and any(s in name for s in unsafe):
        raise HarnessError(
            f"Spec '{path}': field 'name' ({name!r}) must not contain path separators, '..' or "
            "spaces: it names files and stages. Use lower-case letters, digits and '_'."
        )
    role = raw.get("role", "intermediate")
    if role != "intermediate":
        raise HarnessError(
            f"Spec '{path}': field 'role' is {role!r}; `harness submit` registers "
            "intermediate tasks. Set role: intermediate (target tasks are added to the grid "
            "by hand, with their languages and phase2 settings)."
        )
    try:
        spec = TaskSpec.model_validate(raw)
    except ValidationError as exc:
        raise HarnessError(f"Spec '{path}' is invalid: {_explain(exc)}") from exc
    return spec, text


def _explain(exc: ValidationError) -> str:
    """One sentence per pydantic error: the field, what is wrong, and the fix."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        error = err["type"]
        msg = err["msg"]
        if error == "missing":
            fix = f"add field '{loc}'"
        elif error == "extra_forbidden":
            fix = f"remove field '{loc}'" + ("" if "." in loc else f" (a spec has {_FIELDS})")
        elif error in ("literal_error", "union_tag_invalid", "enum"):
            fix = f"set field '{loc}' to one of the values listed"
        elif error == "string_too_short" and loc.endswith("revision"):
            fix = "pin the dataset's commit hash (40 hex digits) in source.revision"
        elif error == "string_type" and isinstance(err.get("input"), bool):
            fix = (
                f"quote the value of field '{loc}' ('yes'): YAML reads unquoted yes/no/on/off/"
                "true/false as booleans"
            )
        elif error == "value_error":
            loc = loc or _field_in(msg)
            fix = "change the spec as the message says"
        else:
            fix = f"give field '{loc}' a value of the right type"
        parts.append(f"field '{loc or '(spec)'}': {msg}; fix: {fix}")
    return "; ".join(parts)


def _field_in(message: str) -> str:
    """The spec field a model-level validator message is about (its first word that is one)."""
    for word in re.findall(r"[a-z_]+", message):
        if word in TaskSpec.model_fields:
            return word
    return ""


def _check_trainable(spec: TaskSpec) -> None:
    if not kinds.of(spec).trainable:
        trainable = [name for name in kinds.names() if kinds.get(name).trainable]
        raise HarnessError(
            f"Task '{spec.name}': field 'kind' is '{spec.kind}', which this harness cannot train "
            f"as an intermediate task yet. Use one of {trainable}."
        )


def _check_name_free(spec: TaskSpec, registry: Registry, params: Params) -> None:
    taken = set(registry.names()) | set(params.grid.intermediate) | set(params.phase1)
    taken |= set(params.grid.target) | set(params.intermediate_inputs) | {BASELINE}
    if spec.name in taken:
        where = registry.origins.get(spec.name)
        detail = f" (defined in '{where}')" if where else " (already in params.yaml)"
        raise HarnessError(
            f"field 'name': a task or grid setting called '{spec.name}' already exists{detail}. "
            "Choose another name."
        )


def _data_dir(spec: TaskSpec, root: Path) -> str | None:
    """The repository-relative data folder of a local source (None for Hub sources)."""
    if not isinstance(spec.source, LocalSource):
        return None
    path = spec.source.path
    posix = PurePosixPath(path.as_posix())
    if path.is_absolute() or ".." in posix.parts:
        raise HarnessError(
            f"field 'source.path' ({path}) must be a folder inside the repository, given "
            "relative to its root, so that DVC can track it. Move the data into the repository "
            "(e.g. data/submitted/<name>) and point source.path there."
        )
    full = root / path
    if not full.is_dir():
        raise HarnessError(
            f"field 'source.path': folder '{full}' does not exist. Put the task's files there "
            "(relative to the repository root) or fix source.path."
        )
    real_root = root.resolve()
    if not full.resolve().is_relative_to(real_root):
        raise HarnessError(
            f"field 'source.path': folder '{full}' is a symlink (or lies under one) that leads "
            f"outside the repository, to '{full.resolve()}'; DVC would track the link, not the "
            "data. Copy the data into the repository instead of linking it."
        )
    for split, name in spec.source.files.items():
        if "/" in name or "\\" in name or ".." in name:
            raise HarnessError(
                f"field 'source.files.{split}' ({name!r}) must be a file name inside "
                "source.path, without path separators."
            )
        file = full / name
        if file.exists() and not file.resolve().is_relative_to(real_root):
            raise HarnessError(
                f"field 'source.files.{split}': '{file}' is a symlink that leads outside the "
                f"repository, to '{file.resolve()}'; copy the file into '{full}' instead."
            )
    return posix.as_posix()


def _check_types(spec: TaskSpec, examples: Sequence[Example], split: str) -> None:
    types = kinds.of(spec).field_types
    for index, example in enumerate(examples[:PROBE_ROWS]):
        for name in kinds.of(spec).fields:
            value = example[name]
            column = spec.column(name)
            expected = None
            held = types.get(name)
            if held == "text" and not isinstance(value, str):
                expected = "a string"
            elif held == "strings" and not (
                isinstance(value, list) and all(isinstance(v, str) for v in value)
            ):
                expected = "a list of strings"
            elif held == "label" and not isinstance(value, str):
                expected = "a label name or its index"
            if expected:
                raise HarnessError(
                    f"Task '{spec.name}' ({split}) row {index}: column {column!r} (field "
                    f"'{name}') holds {type(value).__name__} {value!r}, but must be {expected}. "
                    f"Fix `columns.{name}` in the spec or the data."
                )


def _check_label_use(spec: TaskSpec, examples: Sequence[Example]) -> None:
    if not kinds.of(spec).every_label_in_train:
        return
    seen = {ex["label"] for ex in examples}
    unused = [label for label in spec.labels if label not in seen]
    if unused:
        raise HarnessError(
            f"field 'labels': {unused} never occur in the train split of '{spec.name}'. "
            "Remove them from labels, or fix the data."
        )


def probe(spec: TaskSpec, root: Path) -> dict[str, int]:
    """Read the train and dev splits through the real loader and check types and labels."""
    counts = {}
    for split in ("train", "dev"):
        try:
            examples = load_examples(spec, split, spec.train_language, root=root)
        except HarnessError as exc:
            if isinstance(spec.source, HubSource) and "Could not load" in str(exc):
                raise HarnessError(
                    f"field 'source' (id, config, revision, splits): the Hub dataset cannot be "
                    f"read. {exc}"
                ) from exc
            raise
        if not examples:
            raise HarnessError(
                f"Task '{spec.name}' has no {split} examples; the {split} file must hold at "
                "least one row."
            )
        _check_types(spec, examples, split)
        if split == "train":
            _check_label_use(spec, examples)
        counts[split] = len(examples)
    return counts


# ---------------------------------------------------------------------------------------------
# registering


def plan(
    spec_path: Path,
    params_path: Path,
    params: Params,
    registry: Registry,
    overrides: dict[str, Any],
    root: Path = Path("."),
) -> Submission:
    """Validate and probe the spec and compute every file change, writing nothing."""
    spec, text = read_submitted_spec(spec_path)
    _check_name_free(spec, registry, params)
    _check_trainable(spec)
    data = _data_dir(spec, root)
    # the first task_dirs folder; without one, `tasks` becomes it
    new_dir = None if params.task_dirs else DEFAULT_TASK_DIR
    folder = params.task_dirs[0] if params.task_dirs else Path(DEFAULT_TASK_DIR)
    if folder.is_absolute():
        raise HarnessError(f"task_dirs[0] ('{folder}') must be relative to the repository root.")
    probed = probe(spec, root)
    spec_rel = (PurePosixPath(folder.as_posix()) / f"{spec.name}.yaml").as_posix()
    phase1 = _phase1_entry(params, overrides)
    inputs = {"spec": spec_rel, "data": data or spec_rel}
    old_text = params_path.read_text(encoding="utf-8")
    new_text = edit_params_text(old_text, spec.name, phase1, inputs, new_dir)
    _check_edit(old_text, new_text, spec.name, phase1, inputs, new_dir)
    stages = [f"intermediate@{spec.name}", f"difficulty@{spec.name}"]
    for stage in ("target", "evaluate"):
        stages += [
            f"{stage}@{spec.name}-{target}-{seed}"
            for target in params.grid.target
            for seed in params.cell_seeds()
        ]
    stages += [f"retrieve@{spec.name}-{target}" for target in params.grid.retrieval]
    stages += ["ingest", "analyze"]
    notes = []
    covered = False
    for dvc_file in sorted(p for p in root.glob("*.dvc") if p.is_file()):  # not .dvc/
        pinned = (yaml.safe_load(dvc_file.read_text(encoding="utf-8")) or {}).get("outs") or []
        for out in pinned:
            tracked = str(out.get("path", ""))
            if data and tracked and PurePosixPath(data).is_relative_to(tracked):
                covered = True
                notes.append(
                    f"the data lie under '{tracked}', which {dvc_file.name} pins: re-pin with "
                    f"`dvc add {tracked}` and commit {dvc_file.name} (and `dvc push`), so that "
                    "`harness data` verifies and the team gets the new data"
                )
    if data and not covered and not (root / f"{data}.dvc").is_file():
        notes.append(
            f"no DVC file pins '{data}' yet: `dvc add {data}` and commit {data}.dvc (and `dvc "
            "push`), so that the team gets the same data (dvc.lock records its hash either way)"
        )
    files = {root / spec_rel: text, params_path: new_text}
    return Submission(
        spec=spec,
        files=files,
        existed={path: path.exists() for path in files},
        notes=notes,
        phase1=phase1,
        inputs=inputs,
        stages=stages,
        probed=probed,
    )


def _phase1_entry(params: Params, overrides: dict[str, Any]) -> dict[str, Any]:
    """The new task's phase-1 hyperparameters: the first existing entry's, then the options."""
    base: dict[str, Any] = {"epochs": 3, "learning_rate": 5.0e-4, "batch_size": 32}
    base["max_length"] = 128
    if params.phase1:
        first = next(iter(params.phase1.values()))
        base = {k: getattr(first, k) for k in OVERRIDABLE}
    for key, value in overrides.items():
        if key not in OVERRIDABLE:
            raise HarnessError(f"Unknown hyperparameter '{key}'; use one of {OVERRIDABLE}.")
        if value is not None:
            base[key] = value
    try:
        TrainParams.model_validate(base)
    except ValidationError as exc:
        problems = "; ".join(
            f"--{'-'.join(str(p) for p in e['loc']).replace('_', '-')}: {e['msg']}"
            for e in exc.errors()
        )
        raise HarnessError(f"Invalid phase-1 hyperparameters: {problems}.") from exc
    return base


def _yaml_value(value: Any) -> str:
    if isinstance(value, float):
        text = repr(value)
        return text if ("e" in text or "." in text) else text + ".0"
    return str(value)


def _block_end(lines: list[str], header: int) -> int:
    """Index after the last indented (or blank-inside) line of the block starting at header."""
    end = header + 1
    last = header
    while end < len(lines):
        line = lines[end]
        if line.strip() and not line.startswith((" ", "\t")):
            break
        if line.startswith((" ", "\t")) and line.strip():
            last = end
        end += 1
    return last + 1


def _find_top(lines: list[str], key: str) -> int | None:
    for i, line in enumerate(lines):
        if re.match(rf"^{re.escape(key)}:(\s|$)", line):
            return i
    return None


def edit_params_text(
    text: str,
    name: str,
    phase1: dict[str, Any],
    inputs: dict[str, str],
    task_dir: str | None = None,
) -> str:
    """``text`` with ``name`` added to grid.intermediate, phase1 and intermediate_inputs (and
    ``task_dirs: [task_dir]`` when given: the file has no task_dirs yet)."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    # grid.intermediate: a one-line flow list
    grid = _find_top(lines, "grid")
    if grid is None:
        raise HarnessError("params.yaml has no top-level 'grid:' section; restore it.")
    for i in range(grid + 1, _block_end(lines, grid)):
        match = re.match(r"^(\s+intermediate:\s*\[)(.*?)(\]\s*(#.*)?)$", lines[i].rstrip("\n"))
        if match:
            items = match.group(2).strip()
            joined = f"{items}, {name}" if items else name
            lines[i] = f"{match.group(1)}{joined}{match.group(3)}\n"
            break
    else:
        raise HarnessError(
            "params.yaml must list grid.intermediate on one line, as `intermediate: [none, ...]`; "
            "rewrite it in that form and submit again."
        )
    # phase1.<name>: a block after the last entry
    phase = _find_top(lines, "phase1")
    if phase is None:
        raise HarnessError("params.yaml has no top-level 'phase1:' section; add `phase1: {}`.")
    if lines[phase].split(":", 1)[1].strip() not in ("", "{}"):
        raise HarnessError("params.yaml's phase1 must be a block mapping (one entry per line).")
    lines[phase] = "phase1:\n"
    block = [f"  {name}:\n"] + [f"    {k}: {_yaml_value(v)}\n" for k, v in phase1.items()]
    at = _block_end(lines, phase)
    lines[at:at] = block
    # intermediate_inputs.<name>: one flow-mapping line (the section is added when missing)
    entry = f"  {name}: {{spec: {inputs['spec']}, data: {inputs['data']}}}\n"
    section = _find_top(lines, "intermediate_inputs")
    if section is None:
        lines += [
            "\n",
            "# Inputs of each single-task phase-1 stage (dvc.yaml: intermediate@<task> depends\n",
            "# on its spec and data). `harness submit` adds one entry per submitted task.\n",
            "intermediate_inputs:\n",
            entry,
        ]
    else:
        if lines[section].split(":", 1)[1].strip() not in ("", "{}"):
            raise HarnessError("params.yaml's intermediate_inputs must be a block mapping.")
        lines[section] = "intermediate_inputs:\n"
        at = _block_end(lines, section)
        lines[at:at] = [entry]
    if task_dir is not None:
        if _find_top(lines, "task_dirs") is not None:
            raise HarnessError("params.yaml's task_dirs is empty; list a folder, e.g. [tasks].")
        lines += [
            "\n",
            "# Folders of task specs besides the built-in ones; `harness submit` copies new\n",
            "# specs into the first one.\n",
            f"task_dirs: [{task_dir}]\n",
        ]
    return "".join(lines)


def _check_edit(
    old: str,
    new: str,
    name: str,
    phase1: dict[str, Any],
    inputs: dict[str, str],
    task_dir: str | None,
) -> None:
    """The edited file must parse to the old parameters plus exactly the additions."""
    before = yaml.safe_load(old)
    after = yaml.safe_load(new)
    expected = dict(before)
    expected["grid"] = {**before["grid"], "intermediate": [*before["grid"]["intermediate"], name]}
    expected["phase1"] = {**(before.get("phase1") or {}), name: phase1}
    expected["intermediate_inputs"] = {**(before.get("intermediate_inputs") or {}), name: inputs}
    if task_dir is not None:
        expected["task_dirs"] = [task_dir]
    if after != expected:
        raise HarnessError(
            "Could not edit params.yaml safely (its layout is unusual); nothing was changed. "
            f"Add '{name}' to grid.intermediate, phase1 and intermediate_inputs by hand."
        )
    try:
        Params.model_validate(after)
    except ValidationError as exc:
        raise HarnessError(
            f"params.yaml would become invalid ({exc}); nothing was changed."
        ) from exc


def write_all(files: dict[Path, str]) -> None:
    """Write several files so that either all change or none does.

    Every new text goes to a temporary file beside its target first; the renames come last,
    and if one fails the files already replaced are restored and new ones removed.
    """
    staged: list[tuple[Path, Path]] = []
    try:
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            staged.append((path, Path(name)))
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
        originals = {path: path.read_bytes() if path.exists() else None for path in files}
        done: list[Path] = []
        try:
            for path, staged_file in staged:
                os.replace(staged_file, path)
                done.append(path)
        except BaseException:
            for path in done:
                old = originals[path]
                if old is None:
                    path.unlink(missing_ok=True)
                else:
                    path.write_bytes(old)
            raise
    finally:
        for _, staged_file in staged:
            staged_file.unlink(missing_ok=True)


def submit(
    spec_path: Path,
    params_path: Path,
    params: Params,
    registry: Registry,
    overrides: dict[str, Any],
    dry_run: bool,
    root: Path = Path("."),
) -> Submission:
    """Validate, probe and (unless ``dry_run``) register a new intermediate task."""
    submission = plan(spec_path, params_path, params, registry, overrides, root)
    if not dry_run:
        try:
            write_all(submission.files)
        except OSError as exc:  # a read-only folder, a full disk: every file is as it was
            failed = Path(exc.filename) if exc.filename else next(iter(submission.files))
            error = write_error(failed, exc)
            raise HarnessError(
                f"{error} The task was not registered: the spec and params.yaml are unchanged."
            ) from exc
    return submission
