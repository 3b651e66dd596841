"""`docsvc serve` keeps its background worker alive and stops it with itself."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from docsvc.supervisor import WorkerSupervisor, stop_worker


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
        status = Path(f"/proc/{pid}/status").read_text()
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


def test_stopping_asks_the_main_process_which_ends_its_own_children(tmp_path):
    # Like Celery's warm shutdown: the main process lets its pool finish
    # rather than losing it to a SIGTERM sent to the whole group.
    done_file = tmp_path / "child.done"
    child = (
        "import pathlib, signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *_: sys.exit(15))\n"
        "sys.stdin.read()\n"
        f"pathlib.Path({str(done_file)!r}).write_text('finished')\n"
    )
    script = (
        "import signal, subprocess, sys, time\n"
        f"child = subprocess.Popen([sys.executable, '-c', {child!r}], stdin=subprocess.PIPE)\n"
        "def warm_shutdown(*_):\n"
        "    child.communicate(b'')\n"
        "    sys.exit(child.returncode)\n"
        "signal.signal(signal.SIGTERM, warm_shutdown)\n"
        "print('ready', flush=True)\n"
        "time.sleep(600)\n"
    )
    worker = _started(script)
    assert stop_worker(worker, grace=10) == 0
    assert done_file.read_text() == "finished"


def _started(script: str) -> subprocess.Popen:
    """A stand-in worker in its own session, once it says it is ready."""
    worker = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, start_new_session=True)
    assert worker.stdout.readline() == b"ready\n"
    return worker


def test_a_worker_that_hangs_on_stop_is_asked_for_every_process_stacks_before_the_kill(tmp_path):
    # Each process of the group writes its threads' stacks to the worker's
    # log: a stop that hung leaves where the main process and its pool child
    # each waited.
    pool = (
        "import time\n"
        "from docsvc.supervisor import write_stacks_on_signal\n"
        "write_stacks_on_signal()\n"
        "print('ready', flush=True)\n"
        "def pool_process_runs_a_task():\n"
        "    while True: time.sleep(0.1)\n"
        "pool_process_runs_a_task()\n"
    )
    script = (
        "import signal, subprocess, sys, time\n"
        "from docsvc.supervisor import write_stacks_on_signal\n"
        "write_stacks_on_signal()\n"
        "signal.signal(signal.SIGTERM, lambda *_: None)\n"
        f"child = subprocess.Popen([sys.executable, '-c', {pool!r}], stdout=subprocess.PIPE)\n"
        "def main_process_joins_the_pool():\n"
        "    while True: time.sleep(0.1)\n"
        "print(child.stdout.readline().decode(), end='', flush=True)\n"  # once the child has its handler
        "main_process_joins_the_pool()\n"
    )
    log = tmp_path / "worker.log"
    with open(log, "wb") as output:
        worker = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=output,
                                  start_new_session=True)
    assert worker.stdout.readline() == b"ready\n"
    assert stop_worker(worker, grace=1) == -9
    stacks = log.read_text()
    assert "in main_process_joins_the_pool" in stacks and "in pool_process_runs_a_task" in stacks, stacks
