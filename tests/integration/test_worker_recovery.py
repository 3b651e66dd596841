"""Accepted work is never lost: a real Celery worker is killed in the middle of
processing a document, another one starts, and the document ends up processed
exactly once. Also: work accepted while no worker runs is done when one starts."""
from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from docsvc.models import AuditEvent, Document, DocumentFile, OutboxEntry
from docsvc.runtime import Runtime
from tests import processes
from tests.pdfs import make_pdf, sample_paragraphs
from tests.processes import kill, stop
from tests.scans import make_scan
from tests.waiting import wait_until

FAST_RECOVERY = {"DOCSVC_TASK_LEASE_SECONDS": "5", "DOCSVC_OUTBOX_RELAY_SECONDS": "1"}


@pytest.fixture(scope="module")
def long_scan(tmp_path_factory):
    # Six scanned pages: tens of seconds of OCR, long enough to be caught mid-way.
    path = tmp_path_factory.mktemp("scan") / "bao-cao-quet.pdf"
    return make_scan(path, "pdf", pages=6, sample="ca-mau-hien-dai-hoa-hanh-chinh.txt", paragraphs=3).path


def start_worker(backend, log_dir: Path) -> subprocess.Popen:
    return processes.start_worker(backend, log_dir, FAST_RECOVERY)


def document_state(runtime: Runtime, document_id: str) -> tuple[str, int]:
    with runtime.read() as session:
        doc = session.get(Document, document_id)
        return doc.status, doc.progress_percent


def _entry_done(runtime: Runtime) -> bool:
    with runtime.read() as session:
        return session.scalar(select(OutboxEntry.done_at)) is not None


def test_worker_killed_during_ocr_loses_nothing_and_the_document_is_processed_once(backend, long_scan, tmp_path):
    backend.run("db", "upgrade", check=True)
    runtime = Runtime(backend.settings())
    worker = start_worker(backend, tmp_path)
    try:
        document_id = json.loads(backend.run("ingest", str(long_scan), "--json", check=True).stdout)["id"]
        wait_until(
            lambda: document_state(runtime, document_id)[0] == "processing" and document_state(runtime, document_id)[1] >= 5,
            180, "the worker to be part-way through OCR",
        )
        kill(worker)
        status, percent = document_state(runtime, document_id)
        assert status == "processing" and percent < 100, "the kill came too late to test anything"

        worker = start_worker(backend, tmp_path)
        wait_until(lambda: document_state(runtime, document_id)[0] == "ready", 300, "the document to be processed")
        # The document is ready a moment before its task closes the outbox
        # entry: stopping the worker in between would leave the entry to a retry.
        wait_until(lambda: _entry_done(runtime), 60, "the worker to close its outbox entry")
    finally:
        stop(worker)

    with runtime.read() as session:
        files = session.scalars(select(DocumentFile.role).where(DocumentFile.document_id == document_id)).all()
        entry = session.scalar(select(OutboxEntry))
        processed = session.scalar(
            select(func.count()).select_from(AuditEvent).where(
                AuditEvent.object_id == document_id, AuditEvent.action == "document.processed"
            )
        )
    assert sorted(files) == ["derived", "original", "text"]  # one searchable PDF/A, not two
    assert entry.done_at is not None and entry.attempts == 2
    assert processed == 1
    runtime.index.refresh()
    assert runtime.index.count() == 1
    found = json.loads(backend.run("search", "hanh chinh", "--json", check=True).stdout)
    assert [hit["id"] for hit in found["hits"]] == [document_id]
    runtime.close()


def test_work_accepted_while_no_worker_runs_is_done_when_one_starts(backend, tmp_path):
    backend.run("db", "upgrade", check=True)
    pdf = make_pdf(tmp_path / "cho.pdf", "Giấy mời họp", sample_paragraphs("quang-trach-cchc-7-thang-2021.txt")[:3])
    document_id = json.loads(backend.run("ingest", str(pdf), "--json", check=True).stdout)["id"]
    runtime = Runtime(backend.settings())
    assert document_state(runtime, document_id)[0] == "received"
    worker = start_worker(backend, tmp_path)
    try:
        wait_until(lambda: document_state(runtime, document_id)[0] == "ready", 120, "the document to be processed")
    finally:
        stop(worker)
    runtime.close()


@pytest.mark.parametrize("backend", ["scaled"], indirect=True)
def test_work_accepted_while_the_broker_is_down_is_done_when_it_is_back(backend, tmp_path):
    backend.run("db", "upgrade", check=True)
    pdf = make_pdf(tmp_path / "tb.pdf", "Thông báo lịch tiếp công dân", sample_paragraphs("binh-duong-cchc-2020.txt")[:3])
    started = time.monotonic()
    dead_broker = {"DOCSVC_BROKER_URL": "redis://127.0.0.1:1/0"}
    result = backend.run("ingest", str(pdf), "--json", check=True, extra_env=dead_broker)
    document_id = json.loads(result.stdout)["id"]
    # Accepting the document did not wait on the dead broker.
    assert time.monotonic() - started < 30
    runtime = Runtime(backend.settings())
    with runtime.read() as session:
        entry = session.scalar(select(OutboxEntry))
        assert entry.done_at is None and entry.attempts == 0
    assert document_state(runtime, document_id)[0] == "received"

    worker = start_worker(backend, tmp_path)  # the broker is back
    try:
        wait_until(lambda: document_state(runtime, document_id)[0] == "ready", 120, "the document to be processed")
    finally:
        stop(worker)
    runtime.close()


def test_work_folders_a_killed_worker_left_are_swept(backend, tmp_path):
    from datetime import timedelta

    from docsvc.documents import pipeline

    backend.run("db", "upgrade", check=True)
    runtime = Runtime(backend.settings())
    try:
        work = Path(runtime.settings.data_dir) / "tmp"
        old, fresh = work / "process-old", work / "process-fresh"
        for folder in (old, fresh):
            folder.mkdir(parents=True)
            (folder / "scan.pdf").write_bytes(b"%PDF-1.7 half-written")
        two_days_ago = time.time() - 2 * 86400
        os.utime(old, (two_days_ago, two_days_ago))
        assert pipeline.sweep_work_dirs(runtime, timedelta(days=1)) == 1
        assert not old.exists() and fresh.exists()
    finally:
        runtime.close()
