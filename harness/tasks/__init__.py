"""Task specifications (:mod:`.spec`) and the registry of known tasks (:mod:`.registry`).

A task spec is a YAML file validated by :class:`TaskSpec` (unknown fields are refused). The
built-in specs live in ``harness/tasks/builtin`` (toy), ``xtreme`` (the XTREME / XTREME-R
targets) and ``paper`` (the reference study's intermediate tasks); a profile adds folders with
``task_dirs`` in ``params.yaml``.
"""

from harness.tasks.registry import (
    BUILTIN_DIR,
    BUILTIN_FOLDERS,
    Registry,
    load_spec,
    setting_spec,
    with_settings,
)
from harness.tasks.spec import (
    BenchmarkEntry,
    Difficulty,
    EnglishTraining,
    HubSource,
    LocalFormat,
    LocalSource,
    Role,
    TaskSpec,
    Upstream,
    XtremeGroup,
    training_spec,
)

__all__ = [
    "BUILTIN_DIR",
    "BUILTIN_FOLDERS",
    "BenchmarkEntry",
    "Difficulty",
    "EnglishTraining",
    "HubSource",
    "LocalFormat",
    "LocalSource",
    "Registry",
    "Role",
    "TaskSpec",
    "Upstream",
    "XtremeGroup",
    "load_spec",
    "setting_spec",
    "training_spec",
    "with_settings",
]
