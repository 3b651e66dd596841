"""Ending the docsvc processes a test started in their own session."""
from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

from docsvc.supervisor import stop_worker

STOP_GRACE_SECONDS = 30
_numbers = itertools.count(1)
# Where a stop that needed SIGKILL leaves its worker's log, for the run's
# summary: a folder of the run's own, which tests/conftest.py makes before the
# xdist processes start (they inherit the variable) and prints at the end.
HUNG_STOPS_VARIABLE = "DOCSVC_TEST_HUNG_STOPS"


def _hung_stops_folder() -> Path:
    return Path(os.environ.get(HUNG_STOPS_VARIABLE) or Path(tempfile.gettempdir()) / "docsvc-hung-stops")


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
    """Stop a worker as `docsvc serve` and `docker stop` do. A stop that
    needed SIGKILL loses nothing (work is leased, acknowledged late), so it
    does not fail the test whose outcome it is not; it is a fault of its
    own all the same: a warning, and the worker's log with every process's
    stacks (docsvc.supervisor asks for them) in the run's summary."""
    status = stop_worker(process, STOP_GRACE_SECONDS)
    if status == -signal.SIGKILL:
        log = getattr(process, "log", None)
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-150:]) if log else "(no log)"
        folder = _hung_stops_folder()
        folder.mkdir(exist_ok=True)
        (folder / f"{os.getpid()}-{process.pid}.log").write_text(
            f"{os.environ.get('PYTEST_CURRENT_TEST', '?')}\n{tail}\n")
        warnings.warn(f"the worker was still running {STOP_GRACE_SECONDS} s after SIGTERM (killed); "
                      f"its log is in the run's summary", stacklevel=2)


def hung_stops() -> list[str]:
    """What this run's stops that needed SIGKILL left, oldest first."""
    folder = _hung_stops_folder()
    if not folder.is_dir():
        return []
    return [path.read_text() for path in sorted(folder.iterdir(), key=lambda path: path.stat().st_mtime)]
