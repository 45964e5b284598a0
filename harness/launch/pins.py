"""Check that container bases are pinned by digest (``nox -s lint`` runs this).

* Dockerfile: every ``FROM`` image (after substituting the defaults of ``ARG``s) must end in
  ``@sha256:<64 hex digits>``, unless it names an earlier build stage or ``scratch``.
* Apptainer definition: a ``Bootstrap`` from a registry (``docker``, ``oras``, ``library``...)
  must name its image by digest; ``docker-daemon`` / ``docker-archive`` / ``localimage``
  bootstrap from the image built locally from the pinned Dockerfile and are accepted.

Usage: ``python -m harness.launch.pins containers/Dockerfile containers/harness.def``
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
LOCAL_BOOTSTRAPS = {"docker-daemon", "docker-archive", "localimage"}


def _substitute(text: str, values: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return values.get(name, match.group(0))

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", replace, text)


def _logical_lines(text: str) -> list[str]:
    """Dockerfile lines with continuations joined and comments dropped."""
    lines: list[str] = []
    current = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        lines.append(current + stripped)
        current = ""
    if current:
        lines.append(current)
    return lines


def dockerfile_problems(text: str) -> list[str]:
    """The ``FROM`` images of a Dockerfile that are not pinned by digest."""
    args: dict[str, str] = {}
    stages: set[str] = set()
    problems: list[str] = []
    for line in _logical_lines(text):
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "ARG":
            name, eq, default = rest.strip().partition("=")
            if eq and name not in args:
                args[name] = default.strip().strip('"').strip("'")
        elif keyword == "FROM":
            words = [w for w in rest.split() if not w.startswith("--")]
            if not words:
                problems.append(f"FROM without an image: {line!r}")
                continue
            image = _substitute(words[0], args)
            if len(words) >= 3 and words[1].upper() == "AS":
                stages.add(words[2].lower())
            if image.lower() in stages or image == "scratch":
                continue
            if "$" in image:
                problems.append(f"FROM {words[0]}: an ARG without a default decides the image")
            elif not DIGEST.search(image):
                problems.append(f"FROM {image}: not pinned by digest (name@sha256:<digest>)")
    return problems


def apptainer_problems(text: str) -> list[str]:
    """The bootstrap image of an Apptainer definition, if it is a registry image not pinned."""
    defaults: dict[str, str] = {}
    header: dict[str, str] = {}
    section = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("%"):
            section = line[1:].split()[0]
            continue
        if section is None and ":" in line:
            key, _, value = line.partition(":")
            header[key.strip().lower()] = value.strip()
        elif section == "arguments" and "=" in line:
            key, _, value = line.partition("=")
            defaults[key.strip()] = value.strip()

    def resolve(value: str) -> str:
        return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: defaults.get(m.group(1), m.group(0)), value)

    bootstrap = resolve(header.get("bootstrap", ""))
    image = resolve(header.get("from", ""))
    if not bootstrap or not image:
        return ["the definition needs 'Bootstrap:' and 'From:' header lines"]
    if bootstrap in LOCAL_BOOTSTRAPS:
        return []
    if not DIGEST.search(image):
        return [f"From: {image} (Bootstrap: {bootstrap}): not pinned by digest"]
    return []


def check(paths: list[Path]) -> list[str]:
    problems = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        found = apptainer_problems(text) if path.suffix == ".def" else dockerfile_problems(text)
        problems += [f"{path}: {problem}" for problem in found]
    return problems


def main(argv: list[str] | None = None) -> int:
    paths = [Path(arg) for arg in (argv if argv is not None else sys.argv[1:])]
    problems = check(paths)
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"{len(paths)} container file(s): every base pinned by digest", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
