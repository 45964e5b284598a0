"""A stand-in for the ``harness`` command line in the zygote tests (entry ``main``).

``harness report FILE``: write what the process sees (cwd, argv[0], an environment variable,
stdin, torch threads, a random draw, the pid) to FILE as JSON, and print to stdout and stderr;
``harness fail N``: exit with status N; ``harness crash``: raise; ``harness sleep PIDFILE``:
write the pid, then sleep; ``harness kill-once MARKER``: SIGKILL itself unless MARKER exists;
``harness die``: SIGKILL itself.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import time
from pathlib import Path


def report(path: Path) -> None:
    import torch

    print("to stdout")
    print("to stderr", file=sys.stderr)
    facts = {
        "cwd": os.getcwd(),
        "argv0": Path(sys.argv[0]).name,
        "xt": os.environ.get("XT_STUB"),
        "stdin": os.path.realpath(f"/proc/self/fd/{sys.stdin.fileno()}"),
        "torch_threads": torch.get_num_threads(),
        "torch_draw": torch.rand(3).tolist(),
        "random": random.random(),
        "pid": os.getpid(),
        "cuda_initialised": torch.cuda.is_initialized(),
    }
    path.write_text(json.dumps(facts))


def main() -> None:
    command, *args = sys.argv[1:]
    if command == "report":
        report(Path(args[0]))
    elif command == "fail":
        print("failing on purpose", file=sys.stderr)
        sys.exit(int(args[0]))
    elif command == "crash":
        raise RuntimeError("a bug in the stage")
    elif command == "sleep":
        Path(args[0]).write_text(str(os.getpid()))
        time.sleep(600)
    elif command == "kill-once":
        marker = Path(args[0])
        if not marker.exists():
            marker.write_text("x")
            os.kill(os.getpid(), signal.SIGKILL)
        print("second attempt")
    elif command == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    else:
        raise SystemExit(f"unknown stub command {command}")
