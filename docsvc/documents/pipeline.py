"""Background work, as plain functions of a Runtime: what Celery tasks run,
and what `docsvc ingest --wait` runs itself when no worker is there.

Each handler is idempotent: run twice (a redelivery after a crash), it ends
in the same state as run once.
"""
from __future__ import annotations

import io
import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from docsvc import audit, logs, outbox
from docsvc.documents import indexing
from docsvc.documents.formats import image_to_pdf
from docsvc.documents.indexing import entry_for
from docsvc.documents.ocr import ocr_pdf
from docsvc.documents.records import PROCESS_DOCUMENT
from docsvc.documents.suggest import suggest_fields
from docsvc.errors import DocsvcError
from docsvc.models import Document, DocumentFile, DocumentStatus, FileRole, ProgressStep
from docsvc.pdf import iter_page_texts
from docsvc.runtime import Runtime
from docsvc.sandbox import ParseBudget
from docsvc.stored import store_then_record
from search import IndexedDocument
from storage.base import StoredObject

log = logging.getLogger(__name__)

# A failure that may pass (storage or index down) is retried with a growing
# delay; after settings.task_max_attempts attempts the document is marked
# failed for a person. What a clerk reads when the file itself killed every
# worker that took it (the page shows status_message as it is).
WORKER_DIED = (
    "Tệp này đã làm bộ xử lý nền dừng đột ngột {attempts} lần (hết bộ nhớ hoặc lỗi khi đọc tệp), nên docsvc "
    "ngừng xử lý. Bản gốc vẫn được giữ nguyên: hãy tải xuống để kiểm tra, hoặc quét lại, tải lên bản nhỏ hơn. "
    "— This file stopped the background worker {attempts} times (out of memory, or a crash while reading it), "
    "so docsvc stopped trying. The original is kept unchanged: download it to check it, or scan it again or "
    "upload a smaller copy."
)
PAGE_SEPARATOR = "\n\f\n"
# A page with fewer characters than this is treated as a scan needing OCR
# (a scanner's stamped page number is not text).
MIN_PAGE_TEXT = 20


class Progress:
    """Progress a person sees on the document page, and the heartbeat that
    keeps this worker's lease on the work alive while it makes progress."""

    # Writing every page would make a 2,000-page file 2,000 transactions.
    MIN_STEP = 5

    def __init__(self, rt: Runtime, document_id: str, entry_id: int | None) -> None:
        self.rt, self.document_id, self.entry_id = rt, document_id, entry_id
        self.last = (None, -100)

    def __call__(self, step: ProgressStep, percent: int, *, force: bool = False) -> None:
        if not force and step == self.last[0] and percent - self.last[1] < self.MIN_STEP:
            return
        self.last = (step, percent)
        with self.rt.write() as session:
            document = session.get(Document, self.document_id)
            if document is not None:
                document.progress_step = step
                document.progress_percent = percent
            if self.entry_id is not None:
                outbox.extend(session, self.entry_id, self.rt.settings.task_lease_seconds)

    def span(self, step: ProgressStep, start: int, end: int) -> Callable[[int, int], None]:
        """A (done, total) callback mapping onto start..end percent of `step`."""
        return lambda done, total: self(step, start + (end - start) * done // max(total, 1))


def process_document(rt: Runtime, payload: dict, entry_id: int | None = None) -> None:
    """Original → (image → PDF) → OCR'd PDF/A → text → suggestions → index.

    Each product is stored before the row pointing at it, and a retry reuses
    a searchable PDF an earlier attempt already stored, so OCR is done once.
    """
    document_id = payload["document_id"]
    with rt.write() as session:
        document = session.get(Document, document_id)
        if document is None or document.status == DocumentStatus.READY:
            return
        document.status = DocumentStatus.PROCESSING
        original = document.file(FileRole.ORIGINAL)
        original_key, original_media, original_name = original.storage_key, original.media_type, original.filename
        searchable = document.file(FileRole.DERIVED)
        searchable_key = searchable.storage_key if searchable else None
    progress = Progress(rt, document_id, entry_id)
    progress(ProgressStep.OCR if rt.settings.ocr_enabled else ProgressStep.EXTRACTING_TEXT, 0, force=True)

    notes: list[str] = []
    texts = None
    work_dir = Path(tempfile.mkdtemp(prefix="process-", dir=_tmp_dir(rt)))
    try:
        # Only a discarded document drops what was made: after any other
        # failure the retry records the searchable PDF instead of OCRing again.
        with store_then_record(rt, undo_on=DocumentDiscarded) as store:
            if searchable_key is None:
                made, notes, texts = _make_searchable(rt, original_key, original_media, work_dir, progress)
                if made is not None:
                    searchable_key = _attach_searchable(rt, document_id, store.track(made), original_name)
            if texts is None:  # not already read while deciding whether to OCR
                with rt.store.local_path(searchable_key or original_key) as path:
                    texts = list(iter_page_texts(path, on_page=progress.span(ProgressStep.EXTRACTING_TEXT, 85, 92),
                                                 budget=ParseBudget.of(rt.settings)))
            text = PAGE_SEPARATOR.join(texts)
            stored = store.put(io.BytesIO(text.encode("utf-8")), "text/plain; charset=utf-8")
            progress(ProgressStep.INDEXING, 95, force=True)
            _finish(rt, document_id, text, stored, notes)
    except DocumentDiscarded:
        pass  # the clerk deleted the upload while it was processed; what was made went with it
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


class DocumentDiscarded(Exception):
    """The document was deleted (discarded by a clerk) while being processed."""


def _finish(rt: Runtime, document_id: str, text: str, stored: StoredObject, notes: list[str]) -> None:
    with rt.write() as session:
        # Locked, so a registration committing meanwhile is either seen here
        # (and indexed with its fields) or waits and re-indexes after us.
        document = session.get(Document, document_id, with_for_update=True)
        if document is None:
            raise DocumentDiscarded()
        if document.file(FileRole.TEXT) is None:
            source = document.file(FileRole.DERIVED) or document.file(FileRole.ORIGINAL)
            document.files.append(DocumentFile.of(FileRole.TEXT, stored, "text.txt", media_type="text/plain; charset=utf-8",
                                                  derived_from_id=source.id))
        # Fields given before processing (by the sender's edXML header) are
        # known, not guessed: OCR's guesses only fill what they leave blank.
        given = {k: v for k, v in (document.suggestions or {}).items() if v}
        document.suggestions = {**suggest_fields(text).as_dict(), **given}
        document.status = DocumentStatus.READY
        document.status_message = " ".join(notes)
        document.progress_step = ProgressStep.DONE
        document.progress_percent = 100
        session.flush()
        # Indexed before the commit says "ready", so ready means searchable,
        # unless the index is down: then the document is ready all the same
        # (its text, its register, its signing need no index) and a retry
        # entry committed with it makes it searchable once the index is back.
        _index_or_retry(rt, session, entry_for(document, text))
        audit.record(
            session, None, "document.processed", "document", document_id, {"characters": len(text), "notes": notes}
        )
    log.info("document processed", extra={"document_id": document_id})


def _index_or_retry(rt: Runtime, session: Session, entry: IndexedDocument) -> None:
    try:
        rt.index.index([entry])
        rt.index.refresh()
    except Exception:
        log.warning("search index unavailable; document %s will be indexed by a retry", entry.id, exc_info=True)
        indexing.retry_later(session, [entry.id])


def sweep_work_dirs(rt: Runtime, older_than: timedelta = timedelta(days=1)) -> int:
    """Remove work folders a killed worker left behind (at worker start): any
    task still using one renews its lease far more often than this."""
    cutoff = time.time() - older_than.total_seconds()
    removed = 0
    for folder in _tmp_dir(rt).glob("process-*"):
        try:
            if folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        except FileNotFoundError:
            continue
    return removed


def _tmp_dir(rt: Runtime) -> Path:
    path = Path(rt.settings.data_dir) / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _make_searchable(
    rt: Runtime, original_key: str, media_type: str, work_dir: Path, progress: Progress
) -> tuple[StoredObject | None, list[str], list[str] | None]:
    """Store the searchable PDF/A of the original: (it, notes, None). For a
    born-digital PDF nothing is made and its page texts, already read, come
    back: (None, notes, texts). With OCR switched off: (None or the scan as
    a PDF, notes, None)."""
    notes: list[str] = []
    with rt.store.local_path(original_key) as original_path:
        if media_type == "application/pdf":
            texts = _born_digital_texts(original_path, progress, ParseBudget.of(rt.settings))
            if texts is not None:
                # Nothing to recognise, and a PDF/A rewrite of a large file
                # would cost minutes for nothing.
                return None, notes, texts
            source = original_path
        else:
            progress(ProgressStep.CONVERTING, 0, force=True)
            source = work_dir / "scan.pdf"
            image_to_pdf(original_path, source)
        if not rt.settings.ocr_enabled:
            if source == original_path:
                return None, notes, None
            return rt.store.put_file(source, "application/pdf"), notes, None
        target = work_dir / "ocr.pdf"
        outcome = ocr_pdf(
            source,
            target,
            languages=rt.settings.ocr_languages,
            jobs=rt.settings.ocr_jobs,
            page_timeout=float(rt.settings.ocr_page_timeout_seconds),
            max_image_mpixels=rt.settings.max_image_pixels / 1_000_000,
            on_progress=progress.span(ProgressStep.OCR, 0, 85),
        )
    if outcome.timed_out_pages:
        pages = ", ".join(str(p) for p in outcome.timed_out_pages)
        notes.append(f"OCR took too long on page(s) {pages}; those pages have no searchable text.")
    return rt.store.put_file(target, "application/pdf"), notes, None


def _born_digital_texts(path: Path, progress: Progress, budget: ParseBudget) -> list[str] | None:
    """Every page's text if every page has some, else None. Stops at the
    first page without text: for a scan, that is page one."""
    texts = []
    for text in iter_page_texts(path, on_page=progress.span(ProgressStep.EXTRACTING_TEXT, 0, 92), budget=budget):
        if len(text) < MIN_PAGE_TEXT:
            return None
        texts.append(text)
    return texts


def _attach_searchable(rt: Runtime, document_id: str, stored: StoredObject, original_name: str) -> str:
    """Record the searchable PDF; the key of the one recorded (a racing
    attempt's, if it was first)."""
    with rt.write() as session:
        document = session.get(Document, document_id)
        if document is None:
            raise DocumentDiscarded()
        existing = document.file(FileRole.DERIVED)
        if existing is not None:
            return existing.storage_key
        original = document.file(FileRole.ORIGINAL)
        document.files.append(DocumentFile.of(FileRole.DERIVED, stored, f"{Path(original_name).stem or 'document'}-ocr.pdf",
                                              derived_from_id=original.id))
        return stored.key


def _fail_document(rt: Runtime, payload: dict, message: str) -> None:
    document_id = payload.get("document_id")
    if not document_id:
        return
    with rt.write() as session:
        document = session.get(Document, document_id)
        if document is not None and document.status != DocumentStatus.READY:
            document.status = DocumentStatus.FAILED
            document.status_message = message
            document.progress_step = ProgressStep.FAILED
            audit.record(session, None, "document.failed", "document", document_id, {"reason": message})


HANDLERS: dict[str, Callable[[Runtime, dict, int | None], None]] = {  # and register_handler's
    PROCESS_DOCUMENT: process_document,
    indexing.INDEX_DOCUMENT: indexing.sync_entry,
}
# Retried, with the growing pause, until they succeed: an index write fails
# only while the index is down, it cannot kill a worker, and giving up would
# leave a document unsearchable in silence.
RETRIED_UNTIL_DONE = frozenset({indexing.INDEX_DOCUMENT})
Handler = Callable[[Runtime, dict, int | None], None]


def register_handler(task: str, handler: Handler) -> None:
    """Work of a package that builds on this one (docsvc.exchange sends
    packages and statuses through the same outbox): it names its handlers here."""
    HANDLERS[task] = handler
MAX_RETRY_PAUSE_SECONDS = 300


def run_entry(rt: Runtime, entry_id: int) -> bool:
    """Claim an outbox entry and do its work. False if it was done or held elsewhere."""
    with rt.write() as session:
        entry = outbox.claim(session, entry_id, rt.settings.task_lease_seconds)
        if entry is None:
            return False
        task, payload, attempts = entry.task, dict(entry.payload), entry.attempts
    cap = None if task in RETRIED_UNTIL_DONE else rt.settings.task_max_attempts
    if cap is not None and attempts > cap:
        # Taken again after the last allowed attempt, which never reported
        # back: its worker died on it. Another try would kill this one too.
        log.error("outbox entry %s (%s): %s attempts ended without a result; giving up", entry_id, task, cap)
        _fail_document(rt, payload, WORKER_DIED.format(attempts=cap))
        with rt.write() as session:
            outbox.complete(session, entry_id, error=f"worker died on each of {cap} attempts")
        return True
    handler = HANDLERS[task]
    with logs.bound(payload.get("request_id") or f"entry-{entry_id}"):
        return _run(rt, handler, task, payload, entry_id, attempts, cap)


def _run(rt: Runtime, handler, task: str, payload: dict, entry_id: int, attempts: int, cap: int | None) -> bool:
    try:
        handler(rt, payload, entry_id)
    except Exception as exc:
        if isinstance(exc, DocsvcError) and cap is not None:
            # The input itself is at fault: retrying cannot help, a person must see it.
            _fail_document(rt, payload, exc.message)
            with rt.write() as session:
                outbox.complete(session, entry_id)
            return True
        log.exception("outbox entry %s (%s) failed on attempt %s", entry_id, task, attempts)
        if cap is not None and attempts >= cap:
            _fail_document(rt, payload, f"Processing failed after {attempts} attempts: {exc}")
            with rt.write() as session:
                outbox.complete(session, entry_id, error=repr(exc))
        else:
            pause = timedelta(seconds=min(MAX_RETRY_PAUSE_SECONDS, 2**min(attempts, 16)))
            with rt.write() as session:
                outbox.release(session, entry_id, repr(exc), pause)
        raise
    with rt.write() as session:
        outbox.complete(session, entry_id)
    return True


def entry_done(rt: Runtime, entry_id: int) -> bool:
    with rt.read() as session:
        return session.scalar(select(outbox.OutboxEntry.done_at).where(outbox.OutboxEntry.id == entry_id)) is not None
