"""A real one-node SLURM cluster for the test session: munged, slurmctld and slurmd from Debian's
``munge slurmctld slurmd slurm-client`` packages, configured in a temporary folder.

The daemons run as the calling user (root in CI) with their own munge socket, ports, state and
spool folders, so nothing under /etc is touched. Without the packages the tests skip, except
when ``CI`` is set: there they fail, so a CI machine without SLURM cannot pass silently.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "sinfo")


def _find(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin:/usr/bin")


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


SLURM_CONF = """\
ClusterName=xtransfer-test
SlurmctldHost={host}
SlurmUser={user}
SlurmdUser=root
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
AuthType=auth/munge
# cred_expire also sets how long a requeued job waits before it may start again (default 120 s)
AuthInfo=socket={munge_socket},cred_expire=10
CryptoType=crypto/munge
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
JobRequeue=1
MinJobAge=600
NodeName={host} CPUs={cpus} RealMemory=2000 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
"""


def _pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _stop(pid_file: Path) -> None:
    pid = _pid(pid_file)
    if pid is None:
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Start the cluster; yield the environment (``SLURM_CONF``) under which to talk to it."""
    missing = [name for name in DAEMONS if _find(name) is None]
    if missing:
        message = (
            f"SLURM is not installed (missing {', '.join(missing)}): "
            "apt-get install slurmctld slurmd slurm-client munge"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    if os.geteuid() != 0:
        message = "the one-node SLURM test cluster needs root (slurmd runs jobs as their user)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    root = tmp_path_factory.mktemp("slurm")
    for sub in ("state", "spool", "munge"):
        (root / sub).mkdir()
    os.chmod(root, 0o755)  # munged wants to reach its socket through world-executable folders
    os.chmod(root / "munge", 0o700)
    key = root / "munge" / "munge.key"
    key.write_bytes(secrets.token_bytes(1024))
    key.chmod(0o400)
    munge_socket = root / "munge" / "munge.sock"
    subprocess.run(
        [
            str(_find("munged")),
            "--force",
            f"--socket={munge_socket}",
            f"--key-file={key}",
            f"--log-file={root / 'munge' / 'munged.log'}",
            f"--pid-file={root / 'munge' / 'munged.pid'}",
            f"--seed-file={root / 'munge' / 'seed'}",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    ctld_port, slurmd_port = _free_ports(2)
    conf = root / "slurm.conf"
    conf.write_text(
        SLURM_CONF.format(
            host=socket.gethostname().split(".")[0],
            user="root",
            ctld_port=ctld_port,
            slurmd_port=slurmd_port,
            munge_socket=munge_socket,
            root=root,
            cpus=os.cpu_count() or 1,
        )
    )
    env = {**os.environ, "SLURM_CONF": str(conf)}
    try:
        for daemon in ("slurmctld", "slurmd"):
            subprocess.run(
                [str(_find(daemon)), "-f", str(conf)],
                check=True,
                env=env,
                capture_output=True,
                timeout=60,
            )
        state = ""
        for _ in range(120):
            out = subprocess.run(
                ["sinfo", "--noheader", "--format=%T"], env=env, capture_output=True, text=True
            )
            state = out.stdout.strip()
            if state == "idle":
                break
            time.sleep(0.5)
        else:
            logs = "\n".join(
                (root / name).read_text()[-2000:]
                for name in ("slurmctld.log", "slurmd.log")
                if (root / name).exists()
            )
            pytest.fail(f"the SLURM node never became idle (state {state!r}):\n{logs}")
        yield {"SLURM_CONF": str(conf)}
    finally:
        subprocess.run(["scancel", "--full", "--user", "root"], env=env, capture_output=True)
        _stop(root / "slurmd.pid")
        _stop(root / "slurmctld.pid")
        _stop(root / "munge" / "munged.pid")
