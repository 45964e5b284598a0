"""Run a stage command on the host or inside the project's container image.

:func:`stage_argv` turns a stage's shell command (from ``dvc.yaml``) into the exact argv that
runs it under ``launch.backend``:

* ``local``: ``/bin/sh -c CMD`` on the host, in the workspace;
* ``docker`` (or podman): ``docker run --rm`` with the workspace bind-mounted at its own path and
  used as working directory, the caller's uid:gid (files it writes stay the user's), ``--gpus all``
  when configured, extra binds and environment, and ``XTRANSFER_IMAGE_DIGEST`` so that each
  result's provenance names the image;
* ``apptainer``: ``apptainer exec`` of the SIF file with ``--nv`` when configured, ``--cleanenv``,
  the workspace bound at its own path and ``--pwd`` there.

The image's entry point is ``harness``; commands are run through ``/bin/sh -c`` inside it (the
entry point is overridden for docker), so any stage command works, not only ``harness ...``.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from pathlib import Path

from harness.config import LaunchParams
from harness.errors import HarnessError

DIGEST_ENV = "XTRANSFER_IMAGE_DIGEST"
"""Environment variable through which a stage learns the digest of the image it runs in."""

_PINNED = re.compile(r"@(sha256:[0-9a-f]{64})$")


def image_digest(launch: LaunchParams) -> str | None:
    """The digest to record in provenance: ``launch.image_digest``, else the ``@sha256:...``
    of a docker reference, else the sha256 of the apptainer SIF file; None for ``local``."""
    if launch.backend == "local":
        return None
    if launch.image_digest:
        return launch.image_digest
    assert launch.image is not None  # LaunchParams checks it
    if launch.backend == "docker":
        found = _PINNED.search(launch.image)
        if not found:
            raise HarnessError(
                f"launch.image '{launch.image}' is not pinned by digest: use "
                "'name@sha256:<64 hex digits>' (`docker inspect --format '{{.Id}}' IMAGE` or the "
                "registry digest), or set launch.image_digest."
            )
        return found.group(1)
    sif = Path(launch.image)
    if not sif.is_file():
        raise HarnessError(
            f"Apptainer image '{sif}' not found: build it with "
            "`apptainer build xtransfer.sif containers/harness.def` or fix launch.image."
        )
    digest = hashlib.sha256()
    with sif.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return f"sha256:{digest.hexdigest()}"


def _bind(spec: str) -> tuple[str, str, str | None]:
    parts = spec.split(":")
    if not parts[0] or len(parts) > 3:
        raise HarnessError(f"launch.binds entry '{spec}' must be 'host[:container[:options]]'.")
    host = parts[0]
    inside = parts[1] if len(parts) > 1 and parts[1] else host
    return host, inside, parts[2] if len(parts) == 3 else None


def stage_argv(
    cmd: str,
    launch: LaunchParams,
    workdir: Path,
    digest: str | None = None,
    user: tuple[int, int] | None = None,
    extra_env: Mapping[str, str] | None = None,
    visible_devices: str | None = None,
) -> list[str]:
    """The argv running the shell command ``cmd`` in ``workdir`` under ``launch.backend``.

    ``digest`` is recorded as ``XTRANSFER_IMAGE_DIGEST`` (see :func:`image_digest`); ``user``
    is the ``(uid, gid)`` docker runs as (default: the calling user's). ``visible_devices`` are
    the GPUs allocated to the job (SLURM's ``CUDA_VISIBLE_DEVICES``): docker exposes only those
    (``--gpus "device=..."``), apptainer (which binds every GPU) restricts CUDA to them.
    """
    workdir = workdir.resolve()
    env = {**launch.env, **(extra_env or {})}
    if launch.backend == "local":
        return ["/bin/sh", "-c", cmd]
    if digest:
        env[DIGEST_ENV] = digest
    binds = [(str(workdir), str(workdir), None), *map(_bind, launch.binds)]
    if launch.backend == "docker":
        uid, gid = user if user is not None else (os.getuid(), os.getgid())
        argv = [launch.runtime, *launch.runtime_args, "run", "--rm", *launch.run_args]
        if launch.gpus:
            # the quotes keep docker from splitting a device list at its commas
            argv += ["--gpus", f'"device={visible_devices}"' if visible_devices else "all"]
        argv += ["--user", f"{uid}:{gid}"]
        for host, inside, options in binds:
            argv += ["--volume", f"{host}:{inside}" + (f":{options}" if options else "")]
        argv += ["--workdir", str(workdir)]
        for key in sorted(env):
            argv += ["--env", f"{key}={env[key]}"]
        assert launch.image is not None
        return [*argv, "--entrypoint", "/bin/sh", launch.image, "-c", cmd]
    argv = ["apptainer", "exec", "--cleanenv"]
    if launch.gpus:
        argv.append("--nv")
        if visible_devices:
            env["CUDA_VISIBLE_DEVICES"] = visible_devices
    for host, inside, options in binds:
        argv += ["--bind", f"{host}:{inside}" + (f":{options}" if options else "")]
    argv += ["--pwd", str(workdir)]
    for key in sorted(env):
        argv += ["--env", f"{key}={env[key]}"]
    assert launch.image is not None
    return [*argv, launch.image, "/bin/sh", "-c", cmd]
