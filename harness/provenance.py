"""Where a result came from: code version, configuration, packages, hardware, timing."""

from __future__ import annotations

import platform
import re
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import harness
from harness.errors import HarnessError

PACKAGES = ("torch", "transformers", "tokenizers", "numpy", "datasets", "seqeval", "dvc")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def git_state(cwd: Path = Path(".")) -> dict[str, Any]:
    commit = _git(["rev-parse", "HEAD"], cwd)
    status = _git(["status", "--porcelain", "--untracked-files=no"], cwd)
    return {"git_commit": commit, "git_dirty": bool(status) if status is not None else None}


def packages() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def hardware() -> dict[str, Any]:
    import torch

    info: dict[str, Any] = {
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "cpu_count": _cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "cuda": torch.version.cuda if torch.cuda.is_available() else None,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    return info


def _cpu_model() -> str | None:
    """The CPU model name (Linux: /proc/cpuinfo; elsewhere what ``platform`` knows)."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _cpu_count() -> int | None:
    import os

    return os.cpu_count()


def collect(params_hash: str, started_at: str, cwd: Path = Path(".")) -> dict[str, Any]:
    return {
        **git_state(cwd),
        "params_hash": params_hash,
        "harness_version": harness.__version__,
        "packages": packages(),
        "hardware": hardware(),
        "started_at": started_at,
        "finished_at": now(),
    }


COMMIT = re.compile(r"[0-9a-f]{40}")


def pinned_md5(pin_file: Path) -> str | None:
    """The folder hash a DVC file pins (``outs[0].md5``), or None if it pins none readably."""
    import yaml

    try:
        pinned = yaml.safe_load(pin_file.read_text(encoding="utf-8"))["outs"][0]
        return str(pinned["md5"])
    except (OSError, UnicodeDecodeError, yaml.YAMLError, KeyError, IndexError, TypeError):
        return None


def pinned_folder(pin_file: Path) -> Path | None:
    """The folder a DVC file pins (``outs[0].path``, relative to the file), or None."""
    import yaml

    try:
        pinned = yaml.safe_load(pin_file.read_text(encoding="utf-8"))["outs"][0]
        return pin_file.parent / str(pinned["path"])
    except (OSError, UnicodeDecodeError, yaml.YAMLError, KeyError, IndexError, TypeError):
        return None


def verify_pinned(dvc_file: Path) -> None:
    """Raise unless the folder that ``dvc_file`` pins has exactly the pinned content hash."""
    import yaml

    from harness.io import directory_md5

    if not dvc_file.is_file():
        raise HarnessError(
            f"'{dvc_file}' is missing, so there is no pinned snapshot to check against. Run "
            "from the repository root, or pass --no-verify."
        )
    try:
        pinned = yaml.safe_load(dvc_file.read_text(encoding="utf-8"))["outs"][0]
        expected, folder = str(pinned["md5"]), dvc_file.parent / str(pinned["path"])
    except (yaml.YAMLError, KeyError, IndexError, TypeError) as exc:
        raise HarnessError(
            f"'{dvc_file}' is not a DVC file pinning one folder ({exc!r}); restore it from git."
        ) from exc
    if pinned.get("hash", "md5") != "md5" or not expected.endswith(".dir"):
        raise HarnessError(
            f"'{dvc_file}' does not pin a folder with DVC 3 md5 hashes; re-pin with `dvc add "
            f"{pinned['path']}` (DVC >= 3)."
        )
    if not folder.is_dir():
        raise HarnessError(
            f"'{folder}', pinned by '{dvc_file}', does not exist: run `harness data`."
        )
    actual, nfiles, size = directory_md5(folder)
    if actual != expected:
        raise HarnessError(
            f"The data in '{folder}' do not match the snapshot pinned in '{dvc_file}': hash "
            f"{actual} ({nfiles} files, {size} bytes), pinned {expected} "
            f"({pinned.get('nfiles')} files, {pinned.get('size')} bytes). If you changed the "
            "toy generator or its settings on purpose, pin the new snapshot with `dvc add "
            f"{pinned['path']}` and commit '{dvc_file.name}'; otherwise regenerate with "
            "`harness data` or `dvc checkout`."
        )


def changed_files(cwd: Path = Path(".")) -> list[str] | None:
    """Tracked files with uncommitted changes (None outside a git checkout). ``dvc.lock`` is left
    out: ``dvc repro`` itself rewrites it while the pipeline runs."""
    status = _git(["status", "--porcelain", "--untracked-files=no"], cwd)
    if status is None:
        return None
    # "XY path" (or "XY old -> new" for a rename); the output's first line lost its leading blank
    paths = [
        line.split(maxsplit=1)[1].split(" -> ")[-1]
        for line in status.splitlines()
        if len(line.split(maxsplit=1)) == 2
    ]
    return [p for p in paths if Path(p).name != "dvc.lock"]


def replication_check(
    git_commit: str | None,
    changed: Sequence[str] | None,
    data_dir: Path,
    pin_file: Path,
    revisions: Sequence[tuple[str, str | None]] = (),
) -> dict[str, Any]:
    """Whether a result is an exact replication: committed code and parameters (no ``changed``
    tracked files besides dvc.lock), data equal to the snapshot pinned in ``pin_file``
    (``data.dvc``), and every Hub revision (``(what, revision)``) a commit hash. Returns
    ``{"exact": bool, "reasons": [...], "data_md5", "pinned_md5"}``; each reason says what is
    not pinned or not as pinned."""
    from harness.io import directory_md5

    reasons: list[str] = []
    if git_commit is None or changed is None:
        reasons.append("code version unknown (not run from a git checkout)")
    elif changed:
        shown = ", ".join(changed[:5]) + (
            f" and {len(changed) - 5} more" if len(changed) > 5 else ""
        )
        reasons.append(f"uncommitted changes to tracked files: {shown}")
    pinned = pinned_md5(pin_file) if pin_file.is_file() else None
    actual = directory_md5(data_dir)[0] if data_dir.is_dir() else None
    if pinned is None:
        reasons.append(f"data not pinned: no readable '{pin_file}'")
    if actual is None:
        reasons.append(f"data folder '{data_dir}' missing")
    elif pinned is not None and actual != pinned:
        reasons.append(
            f"data in '{data_dir}' differ from the snapshot pinned in '{pin_file}' "
            f"(md5 {actual}, pinned {pinned})"
        )
    for what, revision in revisions:
        if revision is None or not COMMIT.fullmatch(revision):
            reasons.append(f"{what} revision {revision!r} is not a commit hash (can move)")
    return {"exact": not reasons, "reasons": reasons, "data_md5": actual, "pinned_md5": pinned}
