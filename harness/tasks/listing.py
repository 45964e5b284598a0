"""The task registry in words: every built-in task and the active profile's place for it
(``harness tasks list``, ``harness tasks show``)."""

from __future__ import annotations

from pathlib import Path

import yaml

from harness.config import Params
from harness.errors import HarnessError
from harness.tasks.registry import BUILTIN_FOLDERS, Registry, load_spec
from harness.tasks.spec import TaskSpec


def _other_builtin(registry: Registry) -> dict[str, tuple[TaskSpec, Path]]:
    """Built-in specs the profile's registry does not load (their folder is not a task_dir)."""
    loaded = {path.resolve() for path in registry.origins.values()}
    found: dict[str, tuple[TaskSpec, Path]] = {}
    for folder in BUILTIN_FOLDERS.values():
        for path in sorted(folder.glob("*.yaml")):
            if path.resolve() not in loaded:
                spec = load_spec(path)
                found.setdefault(spec.name, (spec, path))
    return found


def grid_status(params: Params, name: str, registered: bool) -> str:
    """``in grid`` (a setting or target the profile runs), ``registered`` (known to the
    profile, not run) or ``not in profile`` (a built-in task of another profile)."""
    grid = params.grid
    if name in set(grid.intermediate) | set(grid.target) | set(grid.retrieval):
        return "in grid"
    return "registered" if registered else "not in profile"


def _shown(path: Path, root: Path) -> str:
    resolved = path.resolve() if path.exists() else path
    return str(resolved.relative_to(root)) if resolved.is_relative_to(root) else str(path)


def task_lines(params: Params, registry: Registry, root: Path) -> list[str]:
    """One line per task: every task of the profile's registry, then every other built-in task
    (the XTREME / XTREME-R targets, the paper's intermediate tasks, the toy tasks), each with
    its role, kind, number of languages, place in the active grid and file."""
    rows = [(registry.get(n), registry.origins[n], True) for n in registry.names()]
    rows += [(spec, path, False) for spec, path in _other_builtin(registry).values()]
    rows.sort(key=lambda row: (not row[2], row[0].role, row[0].name))
    lines = [f"{'task':18} {'role':12} {'kind':19} {'langs':>5} {'grid':14} file"]
    for spec, origin, registered in rows:
        status = grid_status(params, spec.name, registered)
        lines.append(
            f"{spec.name:18} {spec.role:12} {spec.kind:19} {len(spec.languages):>5} "
            f"{status:14} {_shown(origin, root)}"
        )
    for folder in registry.missing:
        lines.append(
            f"{'(not yet)':18} task folder '{folder}' of task_dirs does not exist: `harness "
            "fetch` writes it"
        )
    return lines


def grid_placement(params: Params, spec: TaskSpec) -> list[str]:
    """Where a task sits in the active grid, in words (for `harness tasks show`)."""
    name = spec.name
    if spec.role == "target":
        if name in params.grid.retrieval:
            return [
                f"grid.retrieval: scored from the encoders of {', '.join(params.grid.intermediate)}"
            ]
        if name not in params.grid.target:
            return ["not in grid.target (add it and a phase2 entry to run it)"]
        return [f"grid.target: paired with {', '.join(params.grid.intermediate)}"]
    lines = []
    if name in params.grid.intermediate:
        lines.append(f"grid.intermediate: paired with targets {', '.join(params.grid.target)}")
    else:
        lines.append("not in grid.intermediate (submit it or add it by hand to run it)")
    if name in params.phase1:
        lines.append(f"phase1: {params.phase1[name].model_dump(exclude_defaults=True)}")
    if name in params.multitask:
        lines.append(f"multitask: {params.multitask[name].model_dump(mode='json')}")
    used_in = [m for m, s in params.multitask.items() if name in s.tasks]
    if used_in:
        lines.append(f"part of multi-task setting(s): {', '.join(used_in)}")
    return lines


def show_task(params: Params, registry: Registry, name: str, as_json: bool = False) -> str:
    """``harness tasks show NAME``: the spec (YAML, or JSON with ``as_json``), the file it comes
    from and where it sits in the active grid. A built-in task of another profile is shown
    too."""
    others = _other_builtin(registry)
    if name in registry.names():
        spec, origin = registry.get(name), registry.origins[name]
        placement = grid_placement(params, spec)
    elif name in others:
        spec, origin = others[name]
        placement = ["not in this profile (its folder is not in task_dirs)"]
    else:
        registry.get(name)  # the unknown-task error, with the known names
        raise HarnessError(f"Unknown task '{name}'.")  # not reached
    if as_json:
        return spec.model_dump_json(indent=2)
    header = [f"# origin: {origin}"] + [f"# {line}" for line in placement]
    body = yaml.safe_dump(spec.model_dump(mode="json", exclude_defaults=True), sort_keys=False)
    return "\n".join(header) + "\n" + body
