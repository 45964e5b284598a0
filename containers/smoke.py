"""Build the image from containers/Dockerfile on a locally made base and run toy stages in it.

For machines where podman works but no base image can be pulled (`nox -s container` runs this):

1. a Debian root made with ``debootstrap`` (python3, venv) is imported as a podman image;
2. containers/Dockerfile is built on it (``--build-arg BASE_IMAGE=...``) with the CPU lock
   (Python 3.11, torch's CPU build), as the CUDA image is built with the CUDA lock;
3. in a copy of the repository with a tiny toy grid, ``harness sweep`` runs the stages that
   ``evaluate@none-toy_nli`` needs with ``launch.backend: docker`` and ``runtime: podman``;
   the result must name the image's digest in its provenance and ``dvc status`` must be clean.

Usage: python containers/smoke.py [--keep WORKDIR] (as root: podman with runc and cgroupfs).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.integration.test_toy_pipeline import copy_repository  # noqa: E402

PODMAN = ["podman", "--runtime", "runc", "--cgroup-manager", "cgroupfs"]
BASE = "localhost/xtransfer-base:bookworm"
IMAGE = "localhost/xtransfer:smoke"
CELL = "none-toy_nli"
SEED = 13


def sh(args: list[str], cwd: Path = REPO, **kwargs: object) -> subprocess.CompletedProcess[str]:
    print("+", " ".join(args), file=sys.stderr, flush=True)
    return subprocess.run(args, cwd=cwd, check=True, text=True, **kwargs)  # type: ignore[call-overload]


def base_image(cache: Path) -> None:
    """Debian bookworm (Python 3.11) from debootstrap, imported as BASE (once per cache)."""
    exists = subprocess.run([*PODMAN, "image", "exists", BASE]).returncode == 0
    if exists:
        return
    rootfs = cache / "rootfs"
    if not (rootfs / "usr" / "bin" / "python3").exists():
        shutil.rmtree(rootfs, ignore_errors=True)
        sh(
            [
                "debootstrap",
                "--variant=minbase",
                "--include=python3,python3-venv,ca-certificates",
                "bookworm",
                str(rootfs),
                "http://deb.debian.org/debian",
            ]
        )
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    sh([*PODMAN, "import", "-", BASE], stdin=tar.stdout)
    tar.wait()


def build_image() -> str:
    """Build the Dockerfile on BASE with the CPU lock; return the image digest (sha256:...)."""
    args = [
        *PODMAN, "build", "--format", "docker", "-f", "containers/Dockerfile",
        "--build-arg", f"BASE_IMAGE={BASE}",
        "--build-arg", "LOCK=containers/requirements-cpu.lock",
        "-t", IMAGE,
    ]  # fmt: skip
    if Path("/opt/wheels").is_dir():  # a local folder of wheels (this machine's torch CPU build)
        args += ["--volume", "/opt/wheels:/wheels:ro", "--build-arg", "PIP_FIND_LINKS=/wheels"]
    else:
        args += ["--build-arg", "PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu"]
    bundle = Path("/etc/ssl/certs/ca-certificates.crt")
    if bundle.is_file():  # the host's CA bundle, for pip behind a TLS-intercepting proxy
        args += ["--volume", f"{bundle}:/host-ca.crt:ro", "--build-arg", "PIP_CERT=/host-ca.crt"]
    sh([*args, "."])
    out = sh([*PODMAN, "image", "inspect", "--format", "{{.Digest}}", IMAGE], capture_output=True)
    return out.stdout.strip()


def toy_workspace(ws: Path, digest: str) -> None:
    copy_repository(ws)
    params = yaml.safe_load((ws / "params.yaml").read_text())
    params["toy_data"].update(
        corpus_sentences=1500,
        intermediate_train=300,
        intermediate_dev=50,
        target_train=300,
        target_dev=50,
        target_test=80,
    )
    params["model"].update(
        vocab_size=800, hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64
    )
    params["pretrain"]["epochs"] = 1
    params["grid"] = {
        "intermediate": ["none"],
        "target": ["toy_nli"],
        "retrieval": [],
        "seeds": [SEED],
    }
    params["phase1"] = {}
    params["intermediate_inputs"] = {}
    params["phase2"] = {"toy_nli": {**params["phase2"]["toy_nli"], "epochs": 1}}
    params["launch"] = {
        "backend": "docker",
        "image": IMAGE,
        "image_digest": digest,
        "runtime": "podman",
        "runtime_args": ["--runtime", "runc", "--cgroup-manager", "cgroupfs"],
        # podman's default rlimits (nproc/nofile at the kernel maximum) are refused where the
        # host caps them; ask for modest ones
        "run_args": ["--ulimit", "nofile=16384:16384", "--ulimit", "nproc=8192:8192"],
    }
    (ws / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    git = ["git", "-c", "user.name=smoke", "-c", "user.email=smoke@localhost"]
    sh([sys.executable, "-m", "harness", "data", "--no-verify"], ws)
    sh(["dvc", "add", "-q", "data"], ws)
    sh(["git", "add", "-A"], ws)
    sh([*git, "commit", "-qm", "smoke"], ws)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=REPO / ".nox" / "container-base")
    parser.add_argument("--keep", type=Path, help="Keep the toy workspace in this folder.")
    options = parser.parse_args()
    if shutil.which("podman") is None or shutil.which("runc") is None:
        print(
            "podman and runc are needed: apt-get install podman runc debootstrap", file=sys.stderr
        )
        return 2
    options.cache.mkdir(parents=True, exist_ok=True)
    base_image(options.cache)
    digest = build_image()
    print(f"image {IMAGE}: {digest}", file=sys.stderr)
    ws = options.keep or Path(tempfile.mkdtemp(prefix="xtransfer-smoke-"))
    ws.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    toy_workspace(ws, digest)
    stage = f"evaluate@{CELL}-{SEED}"
    sh([sys.executable, "-m", "harness", "sweep", "--stage", stage], ws, env=env)
    result = json.loads((ws / "results" / "cells" / f"{CELL}-s{SEED}.json").read_text())
    recorded = result["provenance"]["container_image"]
    status = sh(["dvc", "status", "--json", stage], ws, capture_output=True)
    stale = json.loads(status.stdout or "{}")
    inside = result["provenance"]["hardware"]["python"]
    print(
        f"provenance: container_image {recorded}, python {inside} (this host: "
        f"{platform.python_version()}); dvc status: {stale or 'clean'}",
        file=sys.stderr,
    )
    if recorded != digest or stale:
        print(
            "FAILED: the result does not name the image, or the workspace is stale", file=sys.stderr
        )
        return 1
    print("container smoke test passed", file=sys.stderr)
    if not options.keep:
        shutil.rmtree(ws, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
