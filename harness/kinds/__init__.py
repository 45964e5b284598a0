"""The task kinds, registered once: every module asks here what a task's kind does.

``kinds.of(spec)`` is the kind of a task spec, ``kinds.get(name)`` a kind by name. Each built-in
kind lives in its own module (:mod:`.classification` for ``classification`` and
``pair_classification``, :mod:`.tagging`, :mod:`.multiple_choice`, :mod:`.extractive_qa`,
:mod:`.retrieval`), implementing :class:`~harness.kinds.base.TaskKind`. Adding a kind means one
new module and one :func:`register` call (a test suite can register a kind of its own and
:func:`unregister` it afterwards).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.errors import HarnessError
from harness.kinds.base import TaskKind
from harness.kinds.classification import CLASSIFICATION, PAIR_CLASSIFICATION
from harness.kinds.extractive_qa import EXTRACTIVE_QA
from harness.kinds.multiple_choice import MULTIPLE_CHOICE
from harness.kinds.retrieval import RETRIEVAL
from harness.kinds.tagging import TAGGING

if TYPE_CHECKING:
    from harness.tasks.spec import TaskSpec

__all__ = ["TaskKind", "get", "names", "of", "register", "unregister"]

_KINDS: dict[str, TaskKind] = {}


def register(kind: TaskKind) -> TaskKind:
    """Make ``kind`` known by its name (a name may be registered once)."""
    if not kind.name or not kind.fields or not kind.primary_metrics:
        raise ValueError(f"{kind!r} needs a name, fields and at least one primary metric")
    if kind.name in _KINDS:
        raise ValueError(f"task kind '{kind.name}' is registered already")
    if not set(kind.primary_metrics) <= set(kind.reported_metrics):
        raise ValueError(f"task kind '{kind.name}': every primary metric must be reported")
    _KINDS[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    """Forget a kind registered by :func:`register` (for kinds defined by tests)."""
    _KINDS.pop(name, None)


def names() -> list[str]:
    return sorted(_KINDS)


def get(name: str) -> TaskKind:
    try:
        return _KINDS[name]
    except KeyError:
        raise HarnessError(
            f"Unknown task kind '{name}'; known kinds: {', '.join(names())}."
        ) from None


def of(spec: TaskSpec) -> TaskKind:
    """The kind of ``spec``."""
    return get(spec.kind)


for _kind in (
    CLASSIFICATION,
    PAIR_CLASSIFICATION,
    MULTIPLE_CHOICE,
    TAGGING,
    EXTRACTIVE_QA,
    RETRIEVAL,
):
    register(_kind)
