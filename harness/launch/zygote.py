"""A forking stage runner for ``harness sweep --executor local``: import once, fork per stage.

Every stage is a ``harness`` command, and a new ``harness`` process spends about 4.6 s importing
torch, transformers and the harness modules before it computes anything (77 stages of the toy
grid: about 6 CPU-minutes). The **zygote** is one long-lived process, started by the sweep, that
imports them once (:data:`PRELOAD`) and then runs each stage in a child made with
:func:`os.fork`, which calls the ``harness`` command line with the stage's arguments. The child
has what the subprocess of :class:`harness.launch.jobs.StageJob` has: its own process, the
workspace as working directory, the stage environment (``os.environ``), stdout and stderr
appended to the stage's log, stdin from ``/dev/null``, and an exit status reported as
``subprocess`` reports it (negative: killed by that signal).

Fork safety, and why results are bit-identical to separate processes:

* The zygote computes nothing. Importing torch initialises no intra-op (OpenMP) or inter-op
  thread pool (they start on first use), so each child starts them itself, and every computing
  stage sets its thread count (``compute.threads``) as it would in a fresh process; a child that
  does not sees torch's default, as a fresh process does. The native threads that exist in the
  zygote after the imports (OpenBLAS's pool of numpy, jemalloc's background thread of pyarrow)
  belong to libraries with ``pthread_atfork`` handlers.
* CUDA is never initialised in the zygote. With a CUDA (or ROCm) build of torch, the zygote asks
  ``torch.cuda.is_available()`` in a throwaway forked child; if a GPU is usable, the sweep does
  not use the zygote at all and runs every stage as a separate process (the safe choice: no CUDA
  state can reach a forked stage, and on a GPU the import cost is small beside the training).
* The generators a fresh process seeds from the OS when it starts (torch's default generator,
  Python's ``random``, NumPy's global one) are reseeded from the OS in each child, instead of
  every child inheriting the zygote's (every stage seeds its own anyway).
* The zygote runs with the stage environment, its stdout and stderr not terminals (as a stage's
  are: its log file), so what libraries read at import time (environment variables, rich's
  colour detection) is what a stage process would read. Its thread environment
  (:func:`harness.launch.cores.thread_environment`) is that of a ``compute.threads`` stage:
  OpenMP's wait policy and OpenBLAS's pool size are read when the libraries load, so every
  forked stage has those; what is read later (the ``tokenizers`` pool) is the stage's own, and
  torch's intra-op threads are what the stage sets (``pretrain.threads`` included).
* The zygote imports ``harness`` from where the ``harness`` script on the stages' ``PATH`` would
  (its ``sys.path[0]`` is the script's folder), and the sweep uses it only when that script
  belongs to the sweep's own interpreter.

Differences from a separate process, none in the outputs: warnings printed while the modules
were imported appear once in the zygote's log (``<cluster.log_dir>/logs/zygote.log``), not in
every stage's log; ``PYTHONHASHSEED`` is the zygote's, not a fresh one per stage.

The zygote exists only on Linux (``os.fork`` elsewhere is missing or unsafe with the system
libraries) and only for stage commands that are plain ``harness ...`` argument lists (no shell
syntax); everything else runs as before. ``harness sweep --no-fork`` turns it off.

Protocol: JSON lines on the zygote's stdin (requests) and stdout (replies); its stderr is its
log. Requests: ``{"op": "run", "id", "argv", "cwd", "env", "log"}`` and ``{"op": "kill", "id",
"signal"}``; replies: ``{"ready": true, "cuda": bool}`` once, then ``{"id", "pid"}`` when a child
started and ``{"id", "exit"}`` when it ended. When its stdin closes (the sweep finished, or died),
the zygote terminates the children still running and exits; each child also gets SIGKILL if
the zygote dies (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

PRELOAD = (
    "torch",
    "transformers",
    "harness.cli",
    "harness.stages.pretrain",
    "harness.stages.phase1",
    "harness.stages.phase2",
    "harness.stages.evaluate",
    "harness.stages.retrieve",
    "harness.stages.difficulty",
    "harness.stages.analyze",
    "harness.provenance",
    "transformers.models.encoder_decoder",
    "typer._adapters",
    "tabulate",
    "rich._emoji_codes",
)
"""Imported once by the zygote: what the stages that compute import (each stage still imports
what it needs and the zygote lacks, e.g. great_expectations for ``ingest``)."""

ENTRY = "harness.cli:main"
"""What a child calls with the stage's ``sys.argv``: the ``harness`` script's entry point."""

GRACE_S = 5.0
"""Seconds between SIGTERM and SIGKILL when the zygote ends children that are still running."""

_SHELL = frozenset(";&|<>()$`\\*?[]{}~#!\n")
"""Characters that make ``/bin/sh`` do more than split words and remove quotes."""


def fork_supported() -> bool:
    """Whether this platform can fork the zygote's children (Linux only; see module doc)."""
    return sys.platform.startswith("linux") and hasattr(os, "fork")


def harness_args(cmd: str) -> list[str] | None:
    """The arguments of a stage command that is a plain ``harness ARG...`` list (what ``/bin/sh
    -c`` would pass to the ``harness`` script); None when the shell would do more (operators,
    redirections, expansions, variable assignments), so the command must run through it."""
    if _SHELL.intersection(cmd):
        return None
    try:
        words = shlex.split(cmd)
    except ValueError:
        return None
    if not words or words[0] != "harness":
        return None
    return words[1:]


def harness_script(env: Mapping[str, str]) -> str | None:
    """The ``harness`` script ``/bin/sh`` would run with this environment, if it is the console
    script of this interpreter (same folder as ``sys.executable``); else None."""
    found = shutil.which("harness", path=env.get("PATH", ""))
    if found is None:
        return None
    if Path(found).parent.resolve() != Path(sys.executable).parent.resolve():
        return None
    return found


class ZygoteGone(RuntimeError):
    """The zygote ended (or never started); the stage it was running is lost."""


class ForkRunner:
    """The sweep's side: starts the zygote and runs stages through it, from many threads."""

    def __init__(
        self,
        root: Path,
        env: Mapping[str, str],
        log: Path,
        preload: Sequence[str] = PRELOAD,
        entry: str = ENTRY,
    ) -> None:
        script = harness_script(env)
        if script is None:
            raise ZygoteGone("no `harness` script of this interpreter on the stages' PATH")
        self.script = script
        log.parent.mkdir(parents=True, exist_ok=True)
        self.log = log
        bootstrap = (
            f"import sys; sys.path[0] = {os.path.dirname(os.path.realpath(script))!r}; "
            f"from harness.launch.zygote import main; main({list(preload)!r}, {entry!r})"
        )
        with open(log, "a", encoding="utf-8") as err:
            self._process = subprocess.Popen(
                [sys.executable, "-c", bootstrap],
                cwd=root,
                env=dict(env),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
            )
        assert self._process.stdin is not None and self._process.stdout is not None
        self._requests: IO[bytes] = self._process.stdin
        self._replies: IO[bytes] = self._process.stdout
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._ready: dict[str, Any] | None = None
        self._gone = False
        self._next = 0
        self._pids: dict[int, int] = {}
        self._exits: dict[int, int] = {}
        self._reader = threading.Thread(target=self._read, name="zygote-replies", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            for line in self._replies:
                reply = json.loads(line)
                with self._changed:
                    if "ready" in reply:
                        self._ready = reply
                    elif "pid" in reply:
                        self._pids[reply["id"]] = reply["pid"]
                    elif "exit" in reply:
                        self._exits[reply["id"]] = reply["exit"]
                    self._changed.notify_all()
        except (OSError, ValueError):
            pass
        with self._changed:
            self._gone = True
            self._changed.notify_all()

    def wait_ready(self, timeout: float = 600.0) -> dict[str, Any]:
        """The zygote's greeting once it has imported everything (``{"cuda": bool}``)."""
        with self._changed:
            self._changed.wait_for(lambda: self._ready is not None or self._gone, timeout)
            if self._ready is None:
                raise ZygoteGone(f"the zygote did not start; see {self.log}")
            return self._ready

    @property
    def alive(self) -> bool:
        with self._lock:
            return not self._gone

    def _send(self, request: dict[str, Any]) -> None:
        data = (json.dumps(request) + "\n").encode()
        try:
            self._requests.write(data)
            self._requests.flush()
        except (OSError, ValueError) as exc:
            raise ZygoteGone(f"the zygote is gone; see {self.log}") from exc

    def start(self, args: Sequence[str], cwd: str, env: Mapping[str, str], log: str) -> int:
        """Fork a child running ``harness ARGS``; returns the request id (see :meth:`wait`)."""
        self.wait_ready()
        with self._lock:
            if self._gone:
                raise ZygoteGone(f"the zygote is gone; see {self.log}")
            self._next += 1
            request = self._next
            self._send(
                {
                    "op": "run",
                    "id": request,
                    "argv": [self.script, *args],
                    "cwd": cwd,
                    "env": dict(env),
                    "log": log,
                }
            )
        return request

    def wait(self, request: int) -> int:
        """The child's exit status as ``subprocess`` reports it (negative: killed by a signal);
        :class:`ZygoteGone` if the zygote ended before the child was reported."""
        with self._changed:
            self._changed.wait_for(lambda: request in self._exits or self._gone)
            if request in self._exits:
                self._pids.pop(request, None)
                return self._exits.pop(request)
        raise ZygoteGone(f"the zygote ended while the stage was running; see {self.log}")

    def run(self, args: Sequence[str], cwd: str, env: Mapping[str, str], log: str) -> int:
        return self.wait(self.start(args, cwd, env, log))

    def pid(self, request: int) -> int | None:
        with self._lock:
            return self._pids.get(request)

    def kill(self, request: int, sig: int = signal.SIGTERM) -> None:
        """Signal a running child (the zygote does it, so a reaped child's pid is never hit)."""
        with self._lock:
            if self._gone or request in self._exits:
                return
            with contextlib.suppress(ZygoteGone):
                self._send({"op": "kill", "id": request, "signal": int(sig)})

    def close(self) -> None:
        """End the zygote: it terminates children still running, then exits (one still
        importing is killed: it has no children yet)."""
        with self._lock:
            if self._ready is None:
                with contextlib.suppress(OSError):
                    self._process.kill()
            with contextlib.suppress(OSError, ValueError):
                self._requests.close()
        try:
            self._process.wait(timeout=GRACE_S + 10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._reader.join(timeout=5)


# --- the zygote process -------------------------------------------------------------------------


def _exit_status(status: int) -> int:
    return os.waitstatus_to_exitcode(status)


def _set_parent_death_signal() -> None:
    """Linux: SIGKILL this process when its parent (the zygote) dies."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


def _code(value: object) -> int:
    """The exit status ``SystemExit(value)`` gives a Python process."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value & 0xFF
    print(value, file=sys.stderr)
    return 1


def _run_harness(argv: list[str], entry: str) -> int:
    """Run the command line as the ``harness`` script does, in this (forked) process."""
    import importlib

    sys.argv = argv
    module, _, function = entry.partition(":")
    main = getattr(importlib.import_module(module), function)
    try:
        main()
        return 0
    except SystemExit as exc:
        return _code(exc.code)
    except KeyboardInterrupt:
        # as Python itself does: report death by SIGINT, so the sweep sees an interrupted stage
        sys.excepthook(*sys.exc_info())
        sys.stderr.flush()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
        return 130
    except BaseException:
        sys.excepthook(*sys.exc_info())
        return 1


def _child(request: dict[str, Any], entry: str, keep: Sequence[int], filters: list[Any]) -> None:
    """The forked child: become the stage process, run it, and never return."""
    code = 1
    try:
        import warnings

        warnings.filters = filters  # as before the fork (see main)
        warnings._filters_mutated()  # type: ignore[attr-defined]
        for fd in keep:
            os.close(fd)
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        _set_parent_death_signal()
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        null = os.open(os.devnull, os.O_RDONLY)
        log = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(null)
        os.close(log)
        import random

        random.seed()
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed()
        if "torch" in sys.modules:
            sys.modules["torch"].default_generator.seed()  # the CPU one only: CUDA stays untouched
        code = _run_harness(list(request["argv"]), entry)
        import atexit

        atexit._run_exitfuncs()
    except BaseException:
        with contextlib.suppress(BaseException):
            sys.excepthook(*sys.exc_info())
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(BaseException):
                stream.flush()
        os._exit(code)


def _cuda_usable() -> bool:
    """Whether torch can use a GPU here, asked in a throwaway child so that this process never
    initialises CUDA (a CPU build answers without asking; without torch among the preloaded
    modules there is nothing to ask: no CUDA state can be inherited)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return False

    if torch.version.cuda is None and getattr(torch.version, "hip", None) is None:
        return False
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the probe child
        usable = False
        with contextlib.suppress(BaseException):
            usable = bool(torch.cuda.is_available())
        os._exit(0 if usable else 1)
    _, status = os.waitpid(pid, 0)
    return _exit_status(status) == 0


def _write(fd: int, message: dict[str, Any]) -> bool:
    data = (json.dumps(message) + "\n").encode()
    try:
        while data:
            data = data[os.write(fd, data) :]
    except OSError:
        return False
    return True


def main(preload: Sequence[str] = PRELOAD, entry: str = ENTRY) -> None:
    """The zygote: import ``preload``, greet, then fork a child per request (calling ``entry``)
    until stdin closes."""
    import gc
    import importlib
    import warnings

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the sweep ends us (a terminal's ^C hits
    # the children directly: they are in the same process group)
    requests = os.dup(0)
    replies = os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)  # print() in here goes to the zygote's log
    started = time.monotonic()
    for name in preload:
        importlib.import_module(name)
    cuda = _cuda_usable()
    print(
        f"zygote {os.getpid()}: imported {len(preload)} modules in "
        f"{time.monotonic() - started:.1f} s; CUDA usable: {cuda}",
        file=sys.stderr,
        flush=True,
    )
    gc.collect()
    gc.freeze()  # the children's collections leave the preloaded objects (and their pages) alone
    if not _write(replies, {"ready": True, "cuda": cuda, "pid": os.getpid()}):
        return
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    children: dict[int, int] = {}  # pid -> request id
    by_request: dict[int, int] = {}  # request id -> pid
    pending = b""
    open_ = True
    deadline: float | None = None
    while open_ or children:
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        watched = [requests, wake_r] if open_ else [wake_r]
        ready, _, _ = select.select(watched, [], [], timeout)
        if wake_r in ready:
            with contextlib.suppress(BlockingIOError):
                while os.read(wake_r, 4096):
                    pass
        while children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            request = children.pop(pid, None)
            if request is not None:
                by_request.pop(request, None)
                _write(replies, {"id": request, "exit": _exit_status(status)})
        if deadline is not None and time.monotonic() >= deadline:
            for pid in children:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            deadline = None
        if requests not in ready:
            continue
        data = os.read(requests, 1 << 16)
        if not data:  # the sweep is done, or gone: end what still runs
            open_ = False
            for pid in children:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + GRACE_S if children else None
            continue
        pending += data
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if not line.strip():
                continue
            message = json.loads(line)
            if message["op"] == "kill":
                target = by_request.get(message["id"])
                if target is not None:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(target, int(message["signal"]))
                continue
            sys.stdout.flush()
            sys.stderr.flush()
            filters = list(warnings.filters)
            with warnings.catch_warnings():
                # Python 3.12+ warns about forking a process with threads: ours are native
                # library pools with fork handlers (see the module doc)
                warnings.simplefilter("ignore", DeprecationWarning)
                pid = os.fork()
            if pid == 0:
                _child(message, entry, (requests, replies, wake_r, wake_w), filters)
            children[pid] = message["id"]
            by_request[message["id"]] = pid
            _write(replies, {"id": message["id"], "pid": pid})
