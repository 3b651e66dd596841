"""Ending the docsvc processes a test started in their own session."""
from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import sys
from pathlib import Path

from docsvc.supervisor import stop_worker

STOP_GRACE_SECONDS = 30
_numbers = itertools.count(1)


def start_worker(backend, log_dir: Path, extra_env: dict | None = None) -> subprocess.Popen:
    """`docsvc worker --beat` with one pool process, in its own session; its
    output goes to a new log in `log_dir`, which a failed stop quotes."""
    return start_command(backend, log_dir, "worker", "--beat", "--concurrency", "1", extra_env=extra_env)


def start_command(backend, log_dir: Path, *args: str, extra_env: dict | None = None) -> subprocess.Popen:
    """`docsvc ARGS...` in its own session, its output in a new log in `log_dir`."""
    env = {**os.environ, **backend.env, **(extra_env or {})}
    env.pop("DOCSVC_CONFIG", None)  # the installation's own environment says everything
    log = log_dir / f"{args[0]}-{next(_numbers)}.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "docsvc.cli", *args],
            env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )
    process.log = log  # type: ignore[attr-defined]
    return process


def kill(process: subprocess.Popen) -> None:
    """SIGKILL to the process and its children, as the out-of-memory killer ends a worker."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def stop(process: subprocess.Popen) -> None:
    """Stop a worker as `docsvc serve` and `docker stop` do; fails if it
    needed SIGKILL, because a clean stop that hangs is a fault of its own."""
    status = stop_worker(process, STOP_GRACE_SECONDS)
    if status == -signal.SIGKILL:
        log = getattr(process, "log", None)
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-150:]) if log else "(no log)"
        raise AssertionError(f"the worker was still running {STOP_GRACE_SECONDS} s after SIGTERM; its log ends:\n{tail}")
