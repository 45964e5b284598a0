"""The sweep plan: which stages of ``dvc.yaml`` are pending, grouped into waves.

A stage is pending when ``dvc status`` reports it changed (a dependency, parameter, command or
output differs from ``dvc.lock``, or it has never run), or when any stage it depends on is
pending. Waves follow the dependency order: every stage of a wave depends only on stages of
earlier waves or on stages that are up to date, so the stages of one wave can run at the same
time (pretrain -> intermediate@T -> target@I-T -> evaluate@I-T -> ingest).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import HarnessError


@dataclass(frozen=True)
class PlannedStage:
    """One stage to run: its DVC address, shell command, outputs and the stages it needs."""

    name: str
    cmd: str
    outs: tuple[str, ...]
    needs: frozenset[str] = field(default_factory=frozenset)
    persistent: tuple[str, ...] = ()
    """Outputs declared ``persist: true``: kept when the stage reruns."""


@dataclass(frozen=True)
class Plan:
    waves: tuple[tuple[PlannedStage, ...], ...]
    cache_first: tuple[str, ...] = ()
    """Stages without a command (``data.dvc``) whose outputs are exactly as pinned but not yet
    in the DVC cache (a fresh clone after ``harness data``): recorded before the first wave."""

    @property
    def stages(self) -> list[PlannedStage]:
        return [stage for wave in self.waves for stage in wave]

    def as_dict(self) -> list[list[dict[str, Any]]]:
        return [
            [{"stage": s.name, "cmd": s.cmd, "outs": list(s.outs)} for s in wave]
            for wave in self.waves
        ]


def make_waves(
    stages: Mapping[str, PlannedStage], changed: Iterable[str], runnable: Iterable[str]
) -> Plan:
    """Pending stages (``changed`` and everything downstream of them) in dependency waves.

    ``stages`` maps every stage of the pipeline to its dependencies (``needs``); ``runnable`` are
    the stages with a command. A changed stage without a command (a ``.dvc`` file such as
    ``data.dvc``) cannot be rerun by a sweep: that is a :class:`HarnessError`.
    """
    runnable = set(runnable)
    dependants: dict[str, set[str]] = {name: set() for name in stages}
    for name, stage in stages.items():
        for need in stage.needs:
            dependants.setdefault(need, set()).add(name)
    pending: set[str] = set()
    todo = [name for name in changed if name in stages]
    while todo:
        name = todo.pop()
        if name in pending:
            continue
        pending.add(name)
        todo.extend(dependants.get(name, ()))
    frozen = sorted(pending - runnable)
    if frozen:
        raise HarnessError(
            f"{', '.join(frozen)} changed or missing but has no command to run: restore the "
            "pinned inputs first (`harness data` for the toy profile, or `dvc pull`)."
        )
    waves: list[tuple[PlannedStage, ...]] = []
    done: set[str] = set()
    while pending - done:
        wave = sorted(
            name for name in pending - done if not (stages[name].needs & (pending - done))
        )
        if not wave:  # pragma: no cover - DVC rejects cyclic pipelines before this
            raise HarnessError("The pipeline has a dependency cycle.")
        waves.append(tuple(stages[name] for name in wave))
        done.update(wave)
    return Plan(tuple(waves))


def plan_sweep(root: Path, targets: Iterable[str] = ()) -> Plan:
    """Read the pipeline of the DVC repository at ``root`` and plan its pending stages.

    ``targets`` (stage addresses, e.g. ``evaluate@none-toy_nli``) limit the plan to those
    stages and what they depend on, as ``dvc repro TARGET`` would.
    """
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    try:
        with Repo(str(root)) as repo:
            graph = repo.index.graph  # edges point from a stage to the stages it depends on
            stages: dict[str, PlannedStage] = {}
            runnable: set[str] = set()
            for stage in graph.nodes:
                needs = frozenset(dep.addressing for dep in graph.successors(stage))
                cmd = getattr(stage, "cmd", None) or ""
                if cmd:
                    runnable.add(stage.addressing)
                stages[stage.addressing] = PlannedStage(
                    name=stage.addressing,
                    cmd=cmd if isinstance(cmd, str) else " && ".join(cmd),
                    outs=tuple(str(out.def_path) for out in stage.outs),
                    needs=needs,
                    persistent=tuple(str(o.def_path) for o in stage.outs if o.persist),
                )
            wanted = set(targets)
            unknown = sorted(wanted - set(stages))
            if unknown:
                raise HarnessError(
                    f"Unknown stage(s) {', '.join(unknown)}; `dvc stage list` shows the names."
                )
            if wanted:
                keep = set(wanted)
                todo = list(wanted)
                while todo:
                    for need in stages[todo.pop()].needs:
                        if need not in keep:
                            keep.add(need)
                            todo.append(need)
                stages = {name: stages[name] for name in keep}
            status = repo.status()
    except DvcException as exc:
        raise HarnessError(f"Cannot read the DVC pipeline in '{root}': {exc}") from exc
    needed = {need for stage in stages.values() for need in stage.needs}
    cache_first = sorted(
        name
        for name, entries in status.items()
        if name not in runnable and _only_uncached(entries) and name in needed
    )
    # a pin no stage reads (the toy's data.dvc under the paper profile) plays no part
    status = {
        name: entries
        for name, entries in status.items()
        if name in runnable or name in needed or name in cache_first
    }
    for name in cache_first:
        # DVC says "not in cache" without looking at the data: check it against the pin
        from harness.provenance import verify_pinned

        verify_pinned(Path(name))  # the stage's address: its path from the working directory
    changed = set(status) - set(cache_first)
    plan = make_waves(stages, changed & set(stages), runnable & set(stages))
    return Plan(plan.waves, tuple(name for name in cache_first if name in stages))


def _only_uncached(entries: Any) -> bool:
    """Whether a stage's ``dvc status`` entries say only that its outputs are not in the cache
    (DVC does not compare them with the pinned hash then)."""
    if not isinstance(entries, list) or not entries:
        return False
    for entry in entries:
        if not isinstance(entry, dict) or set(entry) != {"changed outs"}:
            return False
        if set(entry["changed outs"].values()) != {"not in cache"}:
            return False
    return True
