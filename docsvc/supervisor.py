"""The embedded profile's worker, kept alive beside the web server.

`docsvc serve` owns one `docsvc worker --beat` child. If it dies (a crash, an
out-of-memory kill) it is started again after a growing pause, so documents
never wait forever on a worker nobody restarts; accepted work is safe in the
outbox meanwhile. On stop the child gets SIGTERM, then SIGKILL: killing it is
harmless because unfinished work is leased, not lost.

SIGTERM goes to the worker's main process only, as `docker stop` sends it.
Sent to the whole group it would also kill the pool processes at once, and
Celery's warm shutdown could then take a message it had already fetched and
wait forever for a pool process to run it.
"""
from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading

log = logging.getLogger(__name__)
STOP_GRACE_SECONDS = 10
MAX_RESTART_PAUSE = 60


class WorkerSupervisor:
    def __init__(self, command: list[str] | None = None) -> None:
        self._command = command or [sys.executable, "-m", "docsvc.cli", "worker", "--beat"]
        self._stopping = threading.Event()
        self._process: subprocess.Popen | None = None
        self._thread = threading.Thread(target=self._watch, name="worker-supervisor", daemon=True)
        self.restarts = 0

    def start(self) -> None:
        self._spawn()
        self._thread.start()

    def _spawn(self) -> None:
        # Its own session, so that stopping it reaches its pool and beat processes.
        self._process = subprocess.Popen(self._command, start_new_session=True)

    def _watch(self) -> None:
        pause = 1.0
        while not self._stopping.is_set():
            code = self._process.wait()
            if self._stopping.is_set():
                return
            log.error("background worker exited with status %s; restarting in %.0f s", code, pause)
            print(f"docsvc: background worker stopped (status {code}); restarting in {pause:.0f} s", file=sys.stderr)
            if self._stopping.wait(pause):
                return
            pause = min(pause * 2, MAX_RESTART_PAUSE)
            self.restarts += 1
            self._spawn()

    def stop(self) -> None:
        self._stopping.set()
        if self._process is not None:
            stop_worker(self._process, STOP_GRACE_SECONDS)


def stop_worker(process: subprocess.Popen, grace: float) -> int:
    """Stop a worker started in its own session: SIGTERM to its main process,
    which ends its pool and scheduler itself; after `grace` seconds, or once
    it is gone, SIGKILL to whatever of its group is left. Its exit status."""
    if process.poll() is None:
        try:
            os.kill(process.pid, signal.SIGTERM)
            process.wait(timeout=grace)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            log.warning("worker %d still running %.0f s after SIGTERM: killing it", process.pid, grace)
            _ask_for_stacks(process)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    return process.wait()


STACKS_WAIT_SECONDS = 2.0


def _ask_for_stacks(process: subprocess.Popen) -> None:
    """Before the kill, SIGUSR1 to the worker's main process: Celery's own
    handler writes every thread's stack to its output, so the log of a stop
    that hung says where (only to the main process: the pool's and the
    scheduler's processes have no such handler and would die of it)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, signal.SIGUSR1)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=STACKS_WAIT_SECONDS)
