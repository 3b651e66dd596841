"""`docsvc serve` keeps its background worker alive and stops it with itself."""
from __future__ import annotations

import sys
import time

from docsvc.supervisor import WorkerSupervisor


def test_a_worker_that_dies_is_started_again():
    supervisor = WorkerSupervisor([sys.executable, "-c", "raise SystemExit(3)"])
    supervisor.start()
    deadline = time.monotonic() + 20
    while supervisor.restarts < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    supervisor.stop()
    assert supervisor.restarts >= 2


def _alive(pid: int) -> bool:
    """Running, not merely a zombie waiting for a container's init to reap it."""
    try:
        status = open(f"/proc/{pid}/status").read()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def test_stopping_ends_the_worker_and_its_children(tmp_path):
    # A worker that ignores SIGTERM and has a child of its own, like a pool.
    pid_file = tmp_path / "child.pid"
    script = (
        "import pathlib, signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        f"pathlib.Path({str(pid_file)!r}).write_text(str(child.pid))\n"
        "time.sleep(600)\n"
    )
    supervisor = WorkerSupervisor([sys.executable, "-c", script])
    supervisor.start()
    deadline = time.monotonic() + 10
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    child_pid = int(pid_file.read_text())
    supervisor.stop()
    time.sleep(0.2)
    assert not _alive(child_pid)
    assert supervisor.restarts == 0
