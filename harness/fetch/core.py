"""``harness fetch``: one task's data, acquired, converted and published whole.

For a task of ``fetch.datasets`` the fetch

1. locates every release file of the spec's ``fetch`` entries (mirror, download cache, URL;
   :mod:`harness.fetch.download`) and checks it against its digest;
2. runs each entry's converter into a staging folder, and, where every digest is pinned,
   checks the example counts against the spec's documented ones;
3. snapshots every Hub source with a ``snapshot`` folder at its pinned revision (from the
   mirror's ``hub/<id>@<revision>/`` or the Hub);
4. writes ``FETCHED.json`` (the release files, their digests, the Hub revisions, the example
   counts: deterministic, so fetching the same release again gives the same DVC pin) and
   publishes the folder with its checksum manifest, so an interrupted fetch leaves the
   previous folder as it was.

The ``fetch@<task>`` stage of dvc.yaml runs it and DVC pins the folder (dvc.lock).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import __version__
from harness.config import DatasetInputs, Params
from harness.errors import HarnessError
from harness.fetch import converters
from harness.fetch.download import Located, Unreachable, copy_tree, locate
from harness.io import atomic_write_text, sha256_file, staged_output, verify_manifest
from harness.progress import console
from harness.tasks.registry import load_spec
from harness.tasks.spec import Fetch, HubSource, TaskSpec

RECORD = "FETCHED.json"
DOWNLOADS = Path(".cache/downloads")
"""Downloaded release files, kept between fetches (outside DVC): a rerun resumes from here."""


@dataclass
class Outcome:
    task: str
    out: Path
    skipped: bool = False
    record: dict[str, Any] = field(default_factory=dict)


def _inside(path: Path, out: Path, what: str) -> Path:
    try:
        return path.relative_to(out)
    except ValueError:
        raise HarnessError(
            f"{what} '{path}' is not inside the task's data folder '{out}' (fetch.datasets): "
            "everything a task reads must be under its own folder; fix the spec or the profile."
        ) from None


def hub_sources(spec: TaskSpec) -> Iterator[HubSource]:
    """The Hub sources of ``spec`` that are read from a fetched snapshot."""
    sources = [spec.source, *(stage.source for stage in spec.english_training)]
    for source in sources:
        if isinstance(source, HubSource) and source.snapshot is not None:
            yield source


def _release_folder(
    entry: Fetch, mirror: Path | None, work: Path, unverified: bool = False
) -> tuple[Path, list[Located]]:
    """A folder holding the entry's files under their names (links to where they are)."""
    release = work / "release"
    shutil.rmtree(release, ignore_errors=True)
    release.mkdir(parents=True)
    found = []
    for file in entry.files:
        located = locate(file, mirror, DOWNLOADS / entry.converter, unverified_mirror=unverified)
        os.symlink(located.path.resolve(), release / file.name)
        found.append(located)
    return release, found


def _snapshot(source: HubSource, mirror: Path | None, target: Path) -> str:
    """Copy or download the Hub dataset ``source`` at its revision into ``target``."""
    if mirror is not None:
        copy = mirror / "hub" / f"{source.id.replace('/', '__')}@{source.revision}"
        if copy.is_dir():
            copy_tree(copy, target)
            return "mirror"
    try:
        from huggingface_hub import snapshot_download

        snapshot_download(
            repo_id=source.id, repo_type="dataset", revision=source.revision, local_dir=target
        )
    except Exception as err:  # offline, unknown revision, auth: say what to supply
        raise Unreachable(
            f"the Hub dataset {source.id} at revision {source.revision} could not be "
            f"downloaded ({type(err).__name__}: {err})"
        ) from None
    shutil.rmtree(target / ".cache", ignore_errors=True)  # huggingface_hub's bookkeeping
    return "hub"


def _check_counts(entry: Fetch, counts: dict[str, int], verified: bool) -> list[str]:
    """Differences between what the converter wrote and the release's documented counts."""
    if not verified or not entry.counts:
        return []
    problems = []
    for rel, expected in sorted(entry.counts.items()):
        got = counts.get(rel)
        if got != expected:
            problems.append(f"{rel}: {got if got is not None else 'not written'} != {expected}")
    return problems


def fetch_task(
    task: str,
    inputs: DatasetInputs,
    mirror: Path | None,
    force: bool = False,
    unverified_mirror: bool = False,
) -> Outcome:
    """Acquire task ``task``'s data into ``inputs.out`` (see the module). ``unverified_mirror``
    (``fetch.unverified_mirror``): the mirror's files are taken whatever their digests, and
    the record says so."""
    out = inputs.out
    spec_digest = sha256_file(inputs.spec) if inputs.spec.is_file() else None
    if not force and (out / RECORD).is_file():
        try:
            verify_manifest(out, what="Fetched data")
            done = json.loads((out / RECORD).read_text(encoding="utf-8"))
            same = done.get("spec_sha256") == spec_digest  # fetched from this very spec ...
            if same and done.get("unverified_mirror", False) == unverified_mirror:  # ... alike
                return Outcome(task, out, skipped=True, record=done)
        except (HarnessError, ValueError):
            pass  # damaged or from another spec: fetched again below
    if inputs.spec.suffix == ".py":  # CCGbank: licensed, converted from the user's copy
        return _fetch_ccg(task, inputs, mirror)
    spec = load_spec(inputs.spec)
    if not spec.fetch and not any(hub_sources(spec)):
        raise HarnessError(
            f"Task '{task}' ({inputs.spec}) says nothing about acquiring its data: add a "
            "'fetch' entry (release files and converter) or a Hub source with 'snapshot'."
        )
    work = DOWNLOADS / f".work-{task}"
    record: dict[str, Any] = {
        "task": task,
        "spec": str(inputs.spec),
        "spec_sha256": spec_digest,
        "harness": __version__,
        "datasets": [],
        "hub": [],
    }
    if unverified_mirror:
        record["unverified_mirror"] = True
    problems: list[str] = []
    unreachable: list[str] = []
    with staged_output(out) as staging:
        for entry in spec.fetch:
            target = staging / _inside(Path(entry.dataset), out, "fetch.dataset")
            try:
                release, located = _release_folder(entry, mirror, work, unverified_mirror)
            except Unreachable as err:
                unreachable.append(str(err))
                continue
            for file, found in zip(entry.files, located, strict=True):
                console.print(f"{file.name}: from the {found.origin}, sha256 {found.sha256[:16]}")
                if found.differs:
                    console.print(
                        f"warning: {file.name} is not the official release (the "
                        "spec pins another sha256): taken because fetch.unverified_mirror is set",
                        markup=False,
                    )
            target.mkdir(parents=True, exist_ok=True)
            with console.status(f"converting {entry.dataset} ({entry.converter})"):
                counts = converters.load(entry.converter)(release, target)
            verified = all(f.verified for f in located)
            problems += [f"{entry.dataset} {p}" for p in _check_counts(entry, counts, verified)]
            record["datasets"].append(
                {
                    "dataset": entry.dataset,
                    "converter": entry.converter,
                    "files": [
                        {
                            "name": file.name,
                            "url": file.url,
                            "sha256": found.sha256,
                            "pinned_in_spec": found.verified,
                            **({"differs_from_spec": True} if found.differs else {}),
                        }
                        for file, found in zip(entry.files, located, strict=True)
                    ],
                    "counts": counts,
                    "counts_checked": verified and bool(entry.counts),
                }
            )
        for source in hub_sources(spec):
            assert source.snapshot is not None
            target = staging / _inside(source.snapshot, out, "source.snapshot")
            try:
                origin = _snapshot(source, mirror, target)
            except Unreachable as err:
                unreachable.append(str(err))
                continue
            console.print(f"{source.id}@{source.revision[:12]}: snapshot from the {origin}")
            record["hub"].append(
                {"id": source.id, "revision": source.revision, "snapshot": str(source.snapshot)}
            )
        if unreachable:
            raise HarnessError(
                f"Task '{task}': could not acquire " + "; ".join(unreachable) + ". Nothing was "
                "pinned. Supply the official files in a folder (each under its name in the spec's "
                "fetch.files; Hub datasets as hub/<owner>__<name>@<revision>/) and run `harness "
                "fetch --from DIR`, or run where the network reaches them; a rerun resumes "
                "partial downloads."
            )
        if problems:
            raise HarnessError(
                f"Task '{task}': the converted data does not have the official release's example "
                f"counts ({'; '.join(problems)}): the release files or the converter are not the "
                "ones the spec describes. Nothing was pinned."
            )
        atomic_write_text(staging / RECORD, json.dumps(record, indent=2, sort_keys=True) + "\n")
    shutil.rmtree(work, ignore_errors=True)
    return Outcome(task, out, record=record)


def _fetch_ccg(task: str, inputs: DatasetInputs, mirror: Path | None) -> Outcome:
    from harness.data.ccg import prepare_ccg

    source = mirror / "ccgbank" if mirror is not None else None
    if source is None or not source.is_dir():
        raise HarnessError(
            "CCGbank (LDC2005T13) is licensed by the LDC and cannot be downloaded: put your copy "
            "of the release folder (the one holding data/AUTO/) at <DIR>/ccgbank and run "
            "`harness fetch --from DIR`, or set fetch.mirror in the profile."
        )
    record: dict[str, Any] = {
        "task": task,
        "spec": str(inputs.spec),
        "spec_sha256": sha256_file(inputs.spec) if inputs.spec.is_file() else None,
        "harness": __version__,
        "from": "mirror",
    }
    with staged_output(inputs.out) as staging:
        spec_path = prepare_ccg(source, staging)
        # the spec names its data folder: the published one, not the staging folder
        text = spec_path.read_text(encoding="utf-8").replace(
            staging.as_posix(), inputs.out.as_posix()
        )
        atomic_write_text(spec_path, text)
        atomic_write_text(staging / RECORD, json.dumps(record, indent=2, sort_keys=True) + "\n")
    return Outcome(task, inputs.out, record=record)


def fetch_profile(
    params: Params, tasks: list[str], mirror: Path | None, force: bool = False
) -> list[Outcome]:
    """Fetch ``tasks`` (default: every dataset of the profile), one after the other; the first
    failure stops it, with every task fetched before it kept."""
    datasets = params.fetch.datasets
    if not datasets:
        raise HarnessError(
            f"The active profile ({params.profile}) acquires no data (fetch.datasets is empty): "
            "the toy profile generates its data with `harness data`."
        )
    unknown = [t for t in tasks if t not in datasets]
    if unknown:
        raise HarnessError(
            f"{unknown} are not in fetch.datasets of the active profile; choose among "
            f"{sorted(datasets)}."
        )
    mirror = mirror if mirror is not None else params.fetch.mirror
    if mirror is not None and not mirror.is_dir():
        raise HarnessError(f"The mirror folder '{mirror}' does not exist (--from / fetch.mirror).")
    unverified = params.fetch.unverified_mirror
    return [
        fetch_task(t, datasets[t], mirror, force, unverified) for t in (tasks or list(datasets))
    ]
