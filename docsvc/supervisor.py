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
import faulthandler
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

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
STACKS_PAUSE_SECONDS = 0.3
# Not SIGUSR1 (Celery's main process answers it, its pool processes die of it)
# and only in worker processes: gunicorn's master upgrades itself on SIGUSR2.
STACKS_SIGNAL = signal.SIGUSR2


def write_stacks_on_signal() -> None:
    """From now on this process writes every thread's Python stack to its
    original stderr (the worker's log) on STACKS_SIGNAL. Forked processes
    inherit it; Celery's pool and beat processes set it again at start."""
    faulthandler.register(STACKS_SIGNAL, file=2, all_threads=True)  # fd 2 even once Celery wraps sys.stderr


def _ask_for_stacks(process: subprocess.Popen) -> None:
    """Before the kill, STACKS_SIGNAL to each process of the worker's group
    (main, pool, beat) in turn, so that their stacks do not interleave: the
    log of a stop that hung then says where each of them waited. A process
    of the group without the handler (an OCR tool) dies of it, a moment
    before the kill would have ended it anyway."""
    for pid in _group_members(process.pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, STACKS_SIGNAL)
            time.sleep(STACKS_PAUSE_SECONDS)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=STACKS_WAIT_SECONDS)


def _group_members(group: int) -> list[int]:
    """The processes of a process group, its leader first (Linux's /proc)."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # ended meanwhile
            # "pid (name) state ppid pgrp ...": the name may hold spaces and parentheses.
            if int(stat.rsplit(")", 1)[1].split()[2]) == group:
                members.append(int(entry.name))
    return sorted(members, key=lambda pid: pid != group)
