"""Background work, as plain functions of a Runtime: what Celery tasks run,
and what `docsvc ingest --wait` runs itself when no worker is there.

Each handler is idempotent: run twice (a redelivery after a crash), it ends
in the same state as run once.
"""
from __future__ import annotations

import io
import logging
from datetime import timedelta
from typing import Callable

from sqlalchemy import select

from docsvc import audit, outbox
from docsvc.documents import PROCESS_DOCUMENT
from docsvc.errors import DocsvcError
from docsvc.indexing import entry_for
from docsvc.models import Document, DocumentFile, DocumentStatus, FileRole
from docsvc.pdf import iter_page_texts
from docsvc.runtime import Runtime

log = logging.getLogger(__name__)

# A failure that may pass (storage or index down) is retried with a growing
# delay; after this many attempts the document is marked failed for a person.
MAX_ATTEMPTS = 8
PAGE_SEPARATOR = "\n\f\n"


def _set_progress(rt: Runtime, document_id: str, step: str, percent: int) -> None:
    with rt.write() as session:
        document = session.get(Document, document_id)
        if document is not None:
            document.progress_step = step
            document.progress_percent = percent


def process_document(rt: Runtime, payload: dict) -> None:
    document_id = payload["document_id"]
    with rt.write() as session:
        document = session.get(Document, document_id)
        if document is None or document.status == DocumentStatus.READY:
            return
        document.status = DocumentStatus.PROCESSING
        document.progress_step = "extracting_text"
        document.progress_percent = 0
        original_key = document.file(FileRole.ORIGINAL).storage_key

    last_reported = [0]

    def report(done: int, total: int) -> None:
        # Reporting every page would make a 2,000-page file 2,000 transactions.
        percent = int(90 * done / total)
        if percent - last_reported[0] >= 5:
            last_reported[0] = percent
            _set_progress(rt, document_id, "extracting_text", percent)

    with rt.store.local_path(original_key) as path:
        text = PAGE_SEPARATOR.join(iter_page_texts(path, on_page=report))
    stored = rt.store.put(io.BytesIO(text.encode("utf-8")), "text/plain; charset=utf-8")
    _set_progress(rt, document_id, "indexing", 95)

    with rt.write() as session:
        document = session.get(Document, document_id)
        original = document.file(FileRole.ORIGINAL)
        if document.file(FileRole.TEXT) is None:
            document.files.append(
                DocumentFile(
                    role=FileRole.TEXT,
                    storage_key=stored.key,
                    sha256=stored.sha256,
                    size=stored.size,
                    media_type="text/plain; charset=utf-8",
                    filename="text.txt",
                    derived_from_id=original.id,
                )
            )
        session.flush()
        # Index before the status says "ready", so ready always means searchable.
        rt.index.index([entry_for(document, text)])
        rt.index.refresh()
        document.status = DocumentStatus.READY
        document.status_message = ""
        document.progress_step = "done"
        document.progress_percent = 100
        audit.record(session, None, "document.processed", "document", document_id, {"characters": len(text)})


def _fail_document(rt: Runtime, payload: dict, message: str) -> None:
    document_id = payload.get("document_id")
    if not document_id:
        return
    with rt.write() as session:
        document = session.get(Document, document_id)
        if document is not None and document.status != DocumentStatus.READY:
            document.status = DocumentStatus.FAILED
            document.status_message = message
            document.progress_step = "failed"
            audit.record(session, None, "document.failed", "document", document_id, {"reason": message})


HANDLERS: dict[str, Callable[[Runtime, dict], None]] = {
    PROCESS_DOCUMENT: process_document,
}


def run_entry(rt: Runtime, entry_id: int) -> bool:
    """Claim an outbox entry and do its work. False if it was done or held elsewhere."""
    with rt.write() as session:
        entry = outbox.claim(session, entry_id, rt.settings.task_lease_seconds)
        if entry is None:
            return False
        task, payload, attempts = entry.task, dict(entry.payload), entry.attempts
    handler = HANDLERS[task]
    try:
        handler(rt, payload)
    except DocsvcError as exc:
        # The input itself is at fault: retrying cannot help, a person must see it.
        _fail_document(rt, payload, exc.message)
        with rt.write() as session:
            outbox.complete(session, entry_id)
        return True
    except Exception as exc:
        log.exception("outbox entry %s (%s) failed on attempt %s", entry_id, task, attempts)
        if attempts >= MAX_ATTEMPTS:
            _fail_document(rt, payload, f"Processing failed after {attempts} attempts: {exc}")
            with rt.write() as session:
                outbox.complete(session, entry_id)
        else:
            with rt.write() as session:
                outbox.release(session, entry_id, repr(exc), timedelta(seconds=min(300, 2**attempts)))
        raise
    with rt.write() as session:
        outbox.complete(session, entry_id)
    return True


def entry_done(rt: Runtime, entry_id: int) -> bool:
    with rt.read() as session:
        return session.scalar(select(outbox.OutboxEntry.done_at).where(outbox.OutboxEntry.id == entry_id)) is not None
