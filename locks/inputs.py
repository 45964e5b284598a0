"""What the lock files are compiled from, its fingerprint, and a reader for the lock files.

`nox -s lock` compiles locks/sessions.lock (every nox session's environment) and the images'
containers/requirements-cpu.lock and containers/requirements.lock, then writes the fingerprint
of their inputs into each header. noxfile.py's `_install()` and tests/unit/test_locks.py
recompute it from the checkout and refuse a lock whose fingerprint differs: pyproject.toml
changed since the last `nox -s lock`.

Standard library only: the noxfile's interpreter and the test environment load this file by path.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SESSIONS_LOCK = "locks/sessions.lock"
CPU_LOCK = "containers/requirements-cpu.lock"
CUDA_LOCK = "containers/requirements.lock"
LOCKS = (SESSIONS_LOCK, CPU_LOCK, CUDA_LOCK)

# requirement files compiled alongside pyproject.toml (comments and blank lines do not count)
REQUIREMENT_FILES = (
    "locks/sessions.in",
    "containers/build-requirements.in",
    "containers/torch-constraint.txt",
)

# the platform the nox sessions support, and the one locks/sessions.lock is compiled for
PYTHON_VERSION = "3.11"
PYTHON_PLATFORM = "x86_64-unknown-linux-gnu"

STAMP = "# inputs sha256: "

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")
_HASH = re.compile(r"--hash=(sha256:[0-9a-f]{64})")


def requirement_lines(path: Path) -> list[str]:
    lines = (line.split(" #", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def inputs(root: Path = ROOT) -> dict[str, object]:
    """Everything the locks depend on: pyproject.toml's dependency lists (build system, project,
    every extra, requires-python), the extra requirement files, and the sessions' target."""
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    project = pyproject["project"]
    return {
        "build-system.requires": pyproject["build-system"]["requires"],
        "project.requires-python": project.get("requires-python", ""),
        "project.dependencies": project.get("dependencies", []),
        "project.optional-dependencies": project.get("optional-dependencies", {}),
        "files": {name: requirement_lines(root / name) for name in REQUIREMENT_FILES},
        "target": [PYTHON_VERSION, PYTHON_PLATFORM],
    }


def fingerprint(root: Path = ROOT) -> str:
    """sha256 of :func:`inputs`, canonical JSON."""
    text = json.dumps(inputs(root), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def recorded(lock: Path) -> str | None:
    """The fingerprint written into ``lock``'s header by `nox -s lock`, or None."""
    if not lock.is_file():
        return None
    for line in lock.read_text().splitlines():
        if line.startswith(STAMP):
            return line[len(STAMP) :].split()[0]
        if not line.startswith("#"):
            break  # the header ends at the first requirement
    return None


def stamp(lock: Path, digest: str) -> None:
    """Write ``digest`` into ``lock``'s header (after uv's two lines), replacing an older one."""
    lines = [line for line in lock.read_text().splitlines() if not line.startswith(STAMP)]
    at = next((i for i, line in enumerate(lines) if not line.startswith("#")), len(lines))
    lines.insert(at, f"{STAMP}{digest} (pyproject.toml and the files of locks/inputs.py)")
    lock.write_text("\n".join(lines) + "\n")


def pins(lock: Path) -> dict[str, tuple[str, frozenset[str]]]:
    """``{name (as written): (version, hashes)}`` of every requirement in a compiled lock."""
    found: dict[str, tuple[str, frozenset[str]]] = {}
    name = ""
    for line in lock.read_text().splitlines():
        match = _PIN.match(line)
        if match:
            name = match.group(1)
            found[name] = (match.group(2), frozenset())
        elif name and line.startswith("    --hash="):
            version, hashes = found[name]
            found[name] = (version, hashes | set(_HASH.findall(line)))
        elif not line.startswith(" "):
            name = ""
    return found
