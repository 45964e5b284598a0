"""The registry of known tasks: the built-in specs, the folders of ``task_dirs`` and the
multi-task settings of ``params.yaml``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from harness import kinds
from harness.errors import HarnessError
from harness.io import load_yaml_model
from harness.tasks.spec import Role, TaskSpec

if TYPE_CHECKING:
    from harness.config import MultitaskParams, Params

_HERE = Path(__file__).parent
BUILTIN_DIR = _HERE / "builtin"
"""The toy profile's tasks: always in the registry."""
BUILTIN_FOLDERS: dict[str, Path] = {
    "toy": BUILTIN_DIR,
    "xtreme": _HERE / "xtreme",
    "paper": _HERE / "paper",
}
"""Every folder of specs shipped with the harness, by collection: the toy tasks, the XTREME /
XTREME-R targets, the paper's intermediate tasks (a profile adds the latter two through
``task_dirs``)."""


def load_spec(path: Path) -> TaskSpec:
    """Read one task spec, raising :class:`HarnessError` that names the field and the fix."""
    return load_yaml_model(path, TaskSpec, "Task spec", "fields")


class Registry:
    """All known task specs by name."""

    def __init__(
        self, specs: dict[str, TaskSpec], origins: dict[str, Path], missing: tuple[Path, ...] = ()
    ) -> None:
        self._specs = specs
        self.origins = origins
        self.missing = missing
        """Folders of ``task_dirs`` that do not exist (yet): a folder that ``harness fetch``
        writes, such as the paper profile's data/paper/ccg, is missing until the fetch."""

    @classmethod
    def load(cls, extra_dirs: list[Path] | tuple[Path, ...] = ()) -> Registry:
        specs: dict[str, TaskSpec] = {}
        origins: dict[str, Path] = {}
        missing: list[Path] = []
        for folder in (BUILTIN_DIR, *extra_dirs):
            if not folder.exists():
                missing.append(folder)
                continue
            if not folder.is_dir():
                raise HarnessError(
                    f"Task folder '{folder}' is not a folder; fix task_dirs in params.yaml."
                )
            for path in sorted(folder.glob("*.yaml")):
                spec = load_spec(path)
                if spec.name in specs:
                    raise HarnessError(
                        f"Task '{spec.name}' is defined twice: in '{origins[spec.name]}' and "
                        f"'{path}'. Rename one of them."
                    )
                if path.stem != spec.name:
                    raise HarnessError(
                        f"Task spec '{path}' names task '{spec.name}'; the file must be called "
                        f"'{spec.name}.yaml'."
                    )
                specs[spec.name] = spec
                origins[spec.name] = path
        return cls(specs, origins, tuple(missing))

    @classmethod
    def for_params(cls, params: Params) -> Registry:
        """The registry of a profile: the built-in tasks, its ``task_dirs`` and an entry for
        every multi-task setting."""
        return with_settings(cls.load(params.task_dirs), params.multitask)

    def get(self, name: str, role: Role | None = None) -> TaskSpec:
        if name not in self._specs:
            known = ", ".join(sorted(self._specs)) or "(none)"
            hint = ""
            if self.missing:
                folders = ", ".join(f"'{f}'" for f in self.missing)
                hint = (
                    f" The task folder(s) {folders} of task_dirs do not exist yet: if '{name}' "
                    "is defined there, run `harness fetch` (it writes them), or fix task_dirs."
                )
            raise HarnessError(f"Unknown task '{name}'. Known tasks: {known}.{hint}")
        spec = self._specs[name]
        if role is not None and spec.role != role:
            raise HarnessError(f"Task '{name}' is a {spec.role} task, not a {role} task.")
        return spec

    def names(self) -> list[str]:
        return sorted(self._specs)

    def specs(self) -> list[TaskSpec]:
        return [self._specs[name] for name in self.names()]


def setting_spec(name: str, setting: MultitaskParams, registry: Registry) -> TaskSpec:
    """A registry entry for a multi-task setting, so that it is listed, validated and stored
    like an intermediate task. Its kind, source and labels are those of its first task; the
    description names every task and the sampling."""
    specs = [registry.get(t, role="intermediate") for t in setting.tasks]
    unsupported = [f"{s.name} ({s.kind})" for s in specs if not kinds.of(s).multitask]
    if unsupported:
        able = [k for k in kinds.names() if kinds.get(k).multitask]
        raise HarnessError(
            f"multitask.{name} trains one head per task on a shared encoder, for the kinds "
            f"{', '.join(able)}; {', '.join(unsupported)} cannot join it (a kind without a "
            "task head: retrieval is scored from the encoder, never trained). Remove it from "
            f"multitask.{name}.tasks in params.yaml."
        )
    first = specs[0]
    sampling = (
        "proportional sampling"
        if setting.sampling == "proportional"
        else f"temperature-scaled sampling (T={setting.temperature:g})"
    )
    return first.model_copy(
        update={
            "name": name,
            "description": (
                f"Multi-task intermediate setting over {', '.join(setting.tasks)} with "
                f"{sampling}: one head per task on a shared encoder. Kind, source and labels "
                f"shown are those of its first task, {first.name}."
            ),
            "difficulty": None,
        }
    )


def with_settings(registry: Registry, multitask: Mapping[str, MultitaskParams]) -> Registry:
    """``registry`` plus an entry for every multi-task setting."""
    if not multitask:
        return registry
    specs = {n: registry.get(n) for n in registry.names()}
    origins = dict(registry.origins)
    for name, setting in multitask.items():
        if name in specs:
            raise HarnessError(
                f"multitask.{name} has the name of the task defined in '{origins[name]}'; "
                "rename the setting in params.yaml."
            )
        absent = [t for t in setting.tasks if t not in specs]
        if absent and registry.missing:
            # a component whose folder is not written yet (data/paper/ccg before `harness
            # fetch`): the setting is listed from the others; training it names what is missing
            setting = setting.model_copy(
                update={"tasks": [t for t in setting.tasks if t not in absent]}
            )
        specs[name] = setting_spec(name, setting, registry)
        origins[name] = Path(f"params.yaml#multitask.{name}")
    return Registry(specs, origins, registry.missing)
