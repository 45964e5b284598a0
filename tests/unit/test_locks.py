"""The lock files (`nox -s lock`): current with pyproject.toml, every direct dependency pinned
within its range, the CPU image's lock a part of the sessions' lock, every pin hashed, and,
inside a nox session, the environment exactly the lock. No network."""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import shutil
import tomllib
from pathlib import Path
from types import ModuleType

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
STALE = "run `nox -s lock` and commit the lock files"


def _load_inputs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lock_inputs", REPO / "locks" / "inputs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


inputs = _load_inputs()

# the platform locks/sessions.lock (and the CPU image's lock) is compiled for
TARGET = {
    "python_version": inputs.PYTHON_VERSION,
    "python_full_version": f"{inputs.PYTHON_VERSION}.0",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "os_name": "posix",
    "extra": "",
}


def _pins(lock: str) -> dict[str, tuple[str, frozenset[str]]]:
    return {canonicalize_name(n): pin for n, pin in inputs.pins(REPO / lock).items()}


def _direct(*, extras: bool) -> list[Requirement]:
    """pyproject.toml's requirements (with every extra if ``extras``), the build backend's and,
    with ``extras``, locks/sessions.in's, as they apply on the target platform."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    lines = list(pyproject["project"]["dependencies"])
    lines += inputs.requirement_lines(REPO / "containers" / "build-requirements.in")
    if extras:
        for group in pyproject["project"].get("optional-dependencies", {}).values():
            lines += group
        lines += inputs.requirement_lines(REPO / "locks" / "sessions.in")
    requirements = [Requirement(line) for line in lines]
    return [r for r in requirements if r.marker is None or r.marker.evaluate(TARGET)]


@pytest.mark.parametrize("lock", inputs.LOCKS)
def test_lock_is_current_with_pyproject(lock: str) -> None:
    recorded = inputs.recorded(REPO / lock)
    assert recorded is not None, f"{lock} has no inputs fingerprint: {STALE}"
    assert recorded == inputs.fingerprint(REPO), (
        f"{lock} was compiled from other inputs than pyproject.toml and "
        f"{', '.join(inputs.REQUIREMENT_FILES)} of this checkout: {STALE}"
    )


@pytest.mark.parametrize(
    ("lock", "extras"), [(inputs.SESSIONS_LOCK, True), (inputs.CPU_LOCK, False)]
)
def test_direct_dependencies_pinned_within_their_ranges(lock: str, extras: bool) -> None:
    pins = _pins(lock)
    wrong = []
    for requirement in _direct(extras=extras):
        name = canonicalize_name(requirement.name)
        if name not in pins:
            wrong.append(f"{requirement}: not in the lock")
        elif not requirement.specifier.contains(pins[name][0], prereleases=True):
            wrong.append(f"{requirement}: locked at {pins[name][0]}")
    assert not wrong, f"{lock}: {wrong}; {STALE}"


def test_cpu_image_lock_is_part_of_the_sessions_lock() -> None:
    """Same versions and hashes: the CPU image runs what the nox sessions tested."""
    sessions, cpu = _pins(inputs.SESSIONS_LOCK), _pins(inputs.CPU_LOCK)
    missing = sorted(set(cpu) - set(sessions))
    assert not missing, f"in {inputs.CPU_LOCK} only: {missing}; {STALE}"
    differ = [name for name, pin in cpu.items() if pin != sessions[name]]
    assert not differ, f"versions or hashes differ from the sessions' lock: {differ}; {STALE}"


@pytest.mark.parametrize("lock", inputs.LOCKS)
def test_every_pin_has_hashes(lock: str) -> None:
    pins = _pins(lock)
    assert len(pins) > 50
    assert [name for name, (_, hashes) in pins.items() if not hashes] == []


def test_sessions_lock_has_torch_cpu_build_of_the_local_wheel() -> None:
    """torch is the CPU build of the pinned release; where this machine has a local folder of
    wheels (CI's image does), the lock's hash is that of the very file pip installs."""
    version, hashes = _pins(inputs.SESSIONS_LOCK)["torch"]
    pinned = inputs.requirement_lines(REPO / "containers" / "torch-constraint.txt")
    torch = next(Requirement(line) for line in pinned if line.startswith("torch"))
    assert version.endswith("+cpu") and torch.specifier.contains(version)
    tag = inputs.PYTHON_VERSION.replace(".", "")
    wheels = sorted(Path("/opt/wheels").glob(f"torch-{version}-cp{tag}-cp{tag}-*x86_64.whl"))
    if not wheels:
        pytest.skip("no local torch wheel on this machine")
    digest = hashlib.sha256()
    with wheels[0].open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    assert f"sha256:{digest.hexdigest()}" in hashes


def test_fingerprint_follows_dependencies_not_comments(tmp_path: Path) -> None:
    for name in ["pyproject.toml", *inputs.REQUIREMENT_FILES]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, tmp_path / name)
    before = inputs.fingerprint(tmp_path)
    assert before == inputs.fingerprint(REPO)
    sessions_in = tmp_path / "locks" / "sessions.in"
    sessions_in.write_text("# another comment\n\n" + sessions_in.read_text())
    assert inputs.fingerprint(tmp_path) == before
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"rich>=13"', '"rich>=14"'))
    assert inputs.fingerprint(tmp_path) != before


def test_stamp_replaces_the_recorded_fingerprint(tmp_path: Path) -> None:
    lock, zeros = tmp_path / "x.lock", "sha256:" + "0" * 64
    lock.write_text(f"# header\n#    nox -s lock\nsix==1.17.0 \\\n    --hash={zeros}\n")
    assert inputs.recorded(lock) is None
    inputs.stamp(lock, "a" * 64)
    inputs.stamp(lock, "b" * 64)
    assert inputs.recorded(lock) == "b" * 64
    assert lock.read_text().count(inputs.STAMP) == 1
    assert inputs.pins(lock) == {"six": ("1.17.0", frozenset({zeros}))}
    assert inputs.recorded(tmp_path / "missing.lock") is None


@pytest.mark.skipif(
    "XTRANSFER_SESSION_LOCK" not in os.environ,
    reason="only inside a nox session (noxfile.py _install sets XTRANSFER_SESSION_LOCK)",
)
def test_session_environment_is_exactly_the_lock() -> None:
    """What `pip freeze` lists in the nox session's environment is the lock, version for version
    (pip itself and the project, installed editable, aside)."""
    lock = Path(os.environ["XTRANSFER_SESSION_LOCK"])
    locked = {canonicalize_name(n): v for n, (v, _) in inputs.pins(lock).items()}
    installed = {
        canonicalize_name(d.metadata["Name"]): d.version
        for d in importlib.metadata.distributions()
        if canonicalize_name(d.metadata["Name"]) not in {"pip", "xtransfer"}
    }
    extra = {n: v for n, v in installed.items() if locked.get(n) != v}
    missing = {n: v for n, v in locked.items() if installed.get(n) != v}
    assert (extra, missing) == ({}, {})


def test_dvc_reads_yaml_with_libyaml_and_the_same_result() -> None:
    """ruamel.yaml.clib (pyproject.toml) gives DVC's safe loader libyaml's parser, which reads
    the pipeline's dvc.lock 4x faster than the pure-Python one (BENCHMARKS.md); the data read
    must be the same."""
    from dvc.utils.serialize._yaml import parse_yaml
    from ruamel.yaml import YAML

    assert YAML(typ="safe").Parser.__module__.startswith("ruamel.yaml.clib"), (
        "ruamel.yaml does not find its C extension: install ruamel.yaml.clib (locks/sessions.lock)"
    )
    text = (REPO / "dvc.lock").read_text()
    assert parse_yaml(text, "dvc.lock") == YAML(typ="safe", pure=True).load(text)
