"""The package's architecture, checked from the source: no import circles, no module importing a
layer above its own, the task kind decided only in ``harness/kinds``, and every dvc.yaml stage
depending on all the code its command runs.

The import graph is read from the source (``ast``): every ``import`` of a ``harness`` module,
at module level or inside a function (a lazy import is still a dependency), except those under
``if TYPE_CHECKING:`` (never executed). Importing ``a.b.c`` also runs the ``__init__`` of ``a``
and ``a.b``; that counts for what a stage runs (the dvc deps) but not as an edge of the graph
(a package that re-exports its submodules is not a circle).
"""

from __future__ import annotations

import ast
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

# --------------------------------------------------------------------------------------------
# reading the import graph


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    tree: ast.Module


def modules(root: Path, package: str = "harness") -> dict[str, Module]:
    """Every module of ``package`` under ``root``, by dotted name."""
    found = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = Module(".".join(parts), path, ast.parse(path.read_text()))
    return found


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported_names(node: ast.AST, package: str, top_level_only: bool = False) -> set[str]:
    """Dotted names of the ``package`` modules (or their members) imported under ``node``:
    everywhere, or (``top_level_only``) outside function bodies."""
    names: set[str] = set()

    def visit(parent: ast.AST) -> None:
        for child in ast.iter_child_nodes(parent):
            if isinstance(child, ast.If) and _type_checking(child):
                for stmt in child.orelse:
                    visit_one(stmt)
                continue
            visit_one(child)

    def visit_one(child: ast.AST) -> None:
        if isinstance(child, ast.Import):
            names.update(a.name for a in child.names if a.name.split(".")[0] == package)
        elif (
            isinstance(child, ast.ImportFrom)
            and child.level == 0
            and (child.module or "").split(".")[0] == package
        ):
            names.add(str(child.module))
            names.update(f"{child.module}.{a.name}" for a in child.names)
        if top_level_only and isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            return
        visit(child)

    visit(node)
    return names


def _resolve(name: str, known: Mapping[str, Module]) -> str | None:
    """The module a dotted name is or lives in (``harness.tasks.TaskSpec`` -> ``harness.tasks``)."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(mods: Mapping[str, Module], package: str = "harness") -> dict[str, set[str]]:
    """Module -> the modules it imports (all runtime imports)."""
    graph: dict[str, set[str]] = {}
    for name, module in mods.items():
        targets = {_resolve(n, mods) for n in imported_names(module.tree, package)}
        graph[name] = {t for t in targets if t is not None and t != name}
    return graph


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The import circles: strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


# --------------------------------------------------------------------------------------------
# layers

CORE = (
    "errors", "strict", "io", "progress", "seeding", "device", "provenance", "config", "profiles",
    "dvclock",
)  # fmt: skip
"""Top-level modules every layer may use."""
LAYERS: dict[str, set[str]] = {
    "core": {"core"},
    "metrics": {"core", "metrics"},
    "kinds": {"core", "metrics", "kinds"},
    "tasks": {"core", "kinds", "tasks"},
    "data": {"core", "metrics", "kinds", "tasks", "data"},
    "model": {"core", "metrics", "kinds", "tasks", "data", "model"},
    "results": {"core", "metrics", "kinds", "tasks", "results"},
    "launch": {"core", "launch"},
    "fetch": {"core", "tasks", "data", "fetch"},
    "stages": {"core", "metrics", "kinds", "tasks", "data", "model", "results", "stages"},
    "cli": {"core", "metrics", "kinds", "tasks", "data", "model", "results", "stages", "launch",
            "fetch", "cli"},
}  # fmt: skip
"""Each layer and the layers it may import: results (the database, validation, the
leaderboard's views) never import training code (model, stages); nothing imports the CLI."""


def layer_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in CORE:
        return "core"
    if parts[1] == "__main__":
        return "cli"
    return parts[1]


def layer_violations(graph: Mapping[str, set[str]]) -> list[str]:
    problems = []
    for module, targets in sorted(graph.items()):
        allowed = LAYERS.get(layer_of(module))
        if allowed is None:
            problems.append(f"{module}: layer '{layer_of(module)}' is not in LAYERS")
            continue
        problems += [
            f"{module} ({layer_of(module)}) imports {t} ({layer_of(t)})"
            for t in sorted(targets)
            if layer_of(t) not in allowed
        ]
    return problems


# --------------------------------------------------------------------------------------------
# what a dvc stage runs


def _command_name(function: ast.FunctionDef) -> tuple[str, str] | None:
    """(Typer app, command name) of a command function (``@app.command()`` or
    ``@app.command("name")``), or None."""
    for decorator in function.decorator_list:
        if (
            isinstance(decorator, ast.Call)
            and isinstance(decorator.func, ast.Attribute)
            and decorator.func.attr == "command"
            and isinstance(decorator.func.value, ast.Name)
        ):
            app = decorator.func.value.id
            if decorator.args and isinstance(decorator.args[0], ast.Constant):
                return app, str(decorator.args[0].value)
            return app, function.name.replace("_", "-")
    return None


def command_functions(mods: Mapping[str, Module]) -> dict[str, tuple[str, ast.FunctionDef]]:
    """Top-level ``harness`` commands: name -> (module, function)."""
    found = {}
    for name, module in mods.items():
        if layer_of(name) != "cli":
            continue
        for node in module.tree.body:
            if isinstance(node, ast.FunctionDef):
                command = _command_name(node)
                if command is not None and command[0] == "app":
                    found[command[1]] = (name, node)
    return found


def _with_parents(names: Iterable[str], mods: Mapping[str, Module]) -> set[str]:
    out = set()
    for name in names:
        parts = name.split(".")
        out.update(p for p in (".".join(parts[:i]) for i in range(1, len(parts) + 1)) if p in mods)
    return out


def command_closure(
    command: str, mods: Mapping[str, Module], entry: str = "harness.cli"
) -> set[str]:
    """Every module ``harness <command>`` runs: the CLI's module-level imports (which register
    every command), the command function's own imports, and everything those import."""
    commands = command_functions(mods)
    if command not in commands:
        raise KeyError(f"no command '{command}' in the CLI (known: {sorted(commands)})")
    _, function = commands[command]
    graph = import_graph(mods)
    pending = _with_parents([entry, *imported_names(function, "harness")], mods)
    pending = {_resolve(n, mods) or n for n in pending} & set(mods)
    seen: set[str] = set()
    while pending:
        module = pending.pop()
        if module in seen:
            continue
        seen.add(module)
        if layer_of(module) == "cli":
            # other commands' bodies do not run: only the CLI modules' top-level imports
            names = imported_names(mods[module].tree, "harness", top_level_only=True)
            targets = {_resolve(n, mods) for n in names}
            nxt = {t for t in targets if t is not None}
        else:
            nxt = graph[module]
        pending |= _with_parents(nxt, mods) - seen
    return seen


def stage_commands(dvc_yaml: Path) -> dict[str, tuple[str, list[str]]]:
    """dvc stage -> (``harness`` command, its code deps: the deps under ``harness/``)."""
    stages = yaml.safe_load(dvc_yaml.read_text(encoding="utf-8"))["stages"]
    out = {}
    for name, stage in stages.items():
        body = stage.get("do", stage)
        words = shlex.split(re.sub(r"\$\{[^}]*\}", "X", str(body["cmd"])))
        if words[0] != "harness":
            continue
        deps = [str(d) for d in body.get("deps", []) if str(d).startswith("harness")]
        out[name] = (words[1], deps)
    return out


def uncovered(
    closure: Iterable[str], deps: Iterable[str], mods: Mapping[str, Module], root: Path
) -> list[str]:
    """Files of ``closure`` that no dep (a file, or a folder above it) covers."""
    dep_paths = [root / d for d in deps]
    missing = []
    for module in sorted(closure):
        path = mods[module].path
        if not any(path == d or d in path.parents for d in dep_paths):
            missing.append(str(path.relative_to(root)))
    return missing


# --------------------------------------------------------------------------------------------
# the checks on this repository


@pytest.fixture(scope="module")
def repo_modules() -> dict[str, Module]:
    return modules(REPO)


def test_no_import_circles(repo_modules: dict[str, Module]) -> None:
    assert cycles(import_graph(repo_modules)) == []


def test_no_module_imports_a_layer_above_it(repo_modules: dict[str, Module]) -> None:
    assert layer_violations(import_graph(repo_modules)) == []


def test_every_stage_depends_on_the_code_it_runs(repo_modules: dict[str, Module]) -> None:
    stages = stage_commands(REPO / "dvc.yaml")
    assert {"pretrain", "intermediate", "target", "evaluate", "ingest", "analyze"} <= set(stages)
    problems = {
        stage: uncovered(command_closure(command, repo_modules), deps, repo_modules, REPO)
        for stage, (command, deps) in stages.items()
    }
    assert {stage: files for stage, files in problems.items() if files} == {}


KIND_TABLES = (
    "KIND_FIELDS|KIND_METRICS|LABELLED_KINDS|TRAINABLE_KINDS|HEAD_CLASSES|SEQUENCE_KINDS|"
    "MULTITASK_KINDS|METRICS_BY_KIND"
)
"""The per-kind tables the kinds redesign replaced by :mod:`harness.kinds`."""


def test_the_kind_is_decided_only_in_harness_kinds() -> None:
    switches = [
        f"{path.relative_to(REPO)}:{number}"
        for path in sorted((REPO / "harness").rglob("*.py"))
        if "kinds" not in path.relative_to(REPO / "harness").parts[:1]
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if re.search(r"kind\s*[!=]=|kind (not )?in [(\[{]|\.kind in |" + KIND_TABLES, line)
    ]
    assert switches == []


# --------------------------------------------------------------------------------------------
# the checks fail when the code is broken on purpose


def _package(root: Path, files: dict[str, str]) -> dict[str, Module]:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return modules(root)


def test_a_new_circle_is_found(tmp_path: Path) -> None:
    mods = _package(
        tmp_path,
        {
            "harness/__init__.py": "",
            "harness/results/__init__.py": "",
            "harness/results/store.py": "def f():\n    from harness.results import validate\n",
            "harness/results/validate.py": "from harness.results.store import f\n",
            "harness/kinds/__init__.py": "from harness.kinds import base\n",
            "harness/kinds/base.py": "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from harness.results import store\n",
        },
    )
    # the lazy import inside f() counts; the TYPE_CHECKING import and the package re-export do not
    assert cycles(import_graph(mods)) == [["harness.results.store", "harness.results.validate"]]


def test_an_import_from_a_higher_layer_is_found(tmp_path: Path) -> None:
    mods = _package(
        tmp_path,
        {
            "harness/__init__.py": "",
            "harness/results/__init__.py": "",
            "harness/results/validate.py": "from harness.model.train import train\n",
            "harness/model/__init__.py": "",
            "harness/model/train.py": "def train():\n    pass\n",
        },
    )
    assert layer_violations(import_graph(mods)) == [
        "harness.results.validate (results) imports harness.model.train (model)"
    ]


def test_a_stage_missing_a_code_dep_is_found(tmp_path: Path) -> None:
    mods = _package(
        tmp_path,
        {
            "harness/__init__.py": "",
            "harness/cli/__init__.py": "from harness.cli import commands\n",
            "harness/cli/app.py": "app = object()\n",
            "harness/cli/commands.py": (
                "from harness.cli.app import app\n"
                "@app.command()\ndef evaluate():\n    from harness.stages.evaluate import run\n"
                "@app.command()\ndef ingest():\n    from harness.results.store import put\n"
            ),
            "harness/stages/__init__.py": "",
            "harness/stages/evaluate.py": "from harness.kinds.qa import decode\n",
            "harness/kinds/__init__.py": "",
            "harness/kinds/qa.py": "",
            "harness/results/__init__.py": "",
            "harness/results/store.py": "",
        },
    )
    closure = command_closure("evaluate", mods)
    assert "harness.kinds.qa" in closure and "harness.results.store" not in closure
    deps = ["harness/cli", "harness/__init__.py", "harness/stages"]
    assert uncovered(closure, deps, mods, tmp_path) == [
        "harness/kinds/__init__.py",
        "harness/kinds/qa.py",
    ]
    assert uncovered(closure, [*deps, "harness/kinds"], mods, tmp_path) == []
