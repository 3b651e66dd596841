"""A file that kills every worker that takes it is not retried forever: real
Celery workers are killed (SIGKILL, as the kernel's out-of-memory killer
does) while they process a scan; once the attempts allowed are used up, the
next worker marks the document failed with a message a clerk can act on,
the original is kept, and no further worker is sent to its death."""
from __future__ import annotations

import json
import os
import subprocess

from sqlalchemy import select

from docsvc.models import Document, DocumentFile, OutboxEntry
from docsvc.runtime import Runtime
from tests import processes
from tests.integration.test_worker_recovery import FAST_RECOVERY, long_scan, wait_until  # noqa: F401 (fixture)
from tests.processes import kill, stop

CAP = {"DOCSVC_TASK_MAX_ATTEMPTS": "2"}
OCR_LAUNCHER = b"ocr_progress.py"


def start_worker(backend, log_dir) -> subprocess.Popen:
    return processes.start_worker(backend, log_dir, {**FAST_RECOVERY, **CAP})


def _stat(pid: str) -> list[str]:
    with open(f"/proc/{pid}/stat") as handle:
        return handle.read().rsplit(")", 1)[1].split()  # state, ppid, pgrp, session, ...


def ocr_running_under(worker: subprocess.Popen) -> bool:
    """Is OCRmyPDF (its own session, started by a process of the worker's) running for this worker?"""
    processes = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = _stat(pid)
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                processes[pid] = (fields[1], fields[3], handle.read())
        except OSError:
            continue
    in_worker = {pid for pid, (_, session, _) in processes.items() if session == str(worker.pid)}
    return any(ppid in in_worker and OCR_LAUNCHER in cmdline for ppid, _, cmdline in processes.values())


def entry_attempts(runtime: Runtime) -> int:
    with runtime.read() as session:
        return session.scalar(select(OutboxEntry.attempts))


def test_a_document_that_kills_its_worker_is_failed_after_the_cap_and_its_original_kept(backend, long_scan, tmp_path):
    backend.run("db", "upgrade", check=True)
    runtime = Runtime(backend.settings())
    document_id = json.loads(backend.run("ingest", str(long_scan), "--json", check=True).stdout)["id"]
    with runtime.read() as session:
        original = session.scalar(select(DocumentFile).where(DocumentFile.document_id == document_id))
        original_key, original_sha256 = original.storage_key, original.sha256

    # Two attempts, each ended by the worker being killed in the middle of it.
    for attempt in (1, 2):
        worker = start_worker(backend, tmp_path)
        try:
            wait_until(lambda: entry_attempts(runtime) == attempt and ocr_running_under(worker), 180,  # noqa: B023 (waited on now)
                       f"attempt {attempt} to be in the middle of OCR")
        finally:
            kill(worker)
        with runtime.read() as session:
            assert session.get(Document, document_id).status == "processing"

    # The third taker gives up instead of processing the file again.
    worker = start_worker(backend, tmp_path)
    try:
        wait_until(lambda: document_status(runtime, document_id) == "failed", 180, "the document to be failed")
    finally:
        stop(worker)

    with runtime.read() as session:
        document = session.get(Document, document_id)
        entry = session.scalar(select(OutboxEntry))
        files = session.scalars(select(DocumentFile).where(DocumentFile.document_id == document_id)).all()
        assert "bộ xử lý nền dừng đột ngột 2 lần" in document.status_message
        assert "The original is kept unchanged" in document.status_message
        assert entry.done_at is not None and entry.attempts == 3
        assert "worker died" in entry.last_error
        assert [(f.role, f.sha256) for f in files] == [("original", original_sha256)]
    with runtime.store.open(original_key) as reader:
        assert b"".join(reader.iter_chunks())  # whole and verified against its hash
    shown = json.loads(backend.run("show", document_id, "--json", check=True).stdout)
    assert shown["status"] == "failed"
    runtime.close()


def document_status(runtime: Runtime, document_id: str) -> str:
    with runtime.read() as session:
        return session.get(Document, document_id).status
