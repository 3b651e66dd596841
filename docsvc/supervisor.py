"""The embedded profile's worker, kept alive beside the web server.

`docsvc serve` owns one `docsvc worker --beat` child. If it dies (a crash, an
out-of-memory kill) it is started again after a growing pause, so documents
never wait forever on a worker nobody restarts; accepted work is safe in the
outbox meanwhile. On stop the child gets SIGTERM, then SIGKILL: killing it is
harmless because unfinished work is leased, not lost.
"""
from __future__ import annotations

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
        process = self._process
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
