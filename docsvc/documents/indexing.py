"""Search entries are built here, and only here, from database rows; and
every write to the index goes through here, so that a write the index could
not take is retried instead of lost (an ``index_document`` outbox entry).

The index is derived data: ``reindex`` builds it again beside the live one,
``docsvc.documents.index_check`` compares the two.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from docsvc import outbox
from docsvc.localtime import day_of
from docsvc.models import Document, DocumentFile, DocumentStatus, FileRole, OutboxEntry, utcnow
from docsvc.runtime import Runtime
from search import IndexedDocument
from search.model import batches, created_at_key
from storage import read_object

log = logging.getLogger(__name__)

# A rebuild writes this many documents per commit (or fewer, when their texts
# reach REINDEX_BATCH_CHARS): on Tantivy each commit and its merges cost about
# a quarter of a second. `docsvc reindex` of 20,000 documents, embedded, on the
# busy 2-core machine: 401 a second with 200 a batch, 787 with 2,000.
REINDEX_BATCH = 2_000
REINDEX_BATCH_CHARS = 32_000_000
READ_PAGE = 200  # rows read from the database, and texts from storage, at a time
TEXT_READERS = 8
# How long a change's index notes wait for its request to write the entries itself.
NOTE_GRACE = timedelta(seconds=30)
# The outbox task that makes one document's entry agree with its row again.
INDEX_DOCUMENT = "index_document"
# How long a process trusts its answer to "can every ready document be
# found?": it counts the ready rows, which is not free at a province's size.
COVERAGE_SECONDS = 30.0

# The columns an entry is made of (entry_for reads no others: a unit test
# holds it to that). Its version is a digest of them and of the text file's
# hash, so `docsvc search check` tells a stale entry from the database alone,
# without reading a million texts, and a change that leaves the entry as it
# was (a handling step, a progress note) does not make it stale.
ENTRY_COLUMNS = (
    Document.id, Document.agency_id, Document.kind, Document.title, Document.number_symbol,
    Document.issuing_body, Document.doc_type, Document.issued_date, Document.received_date,
    Document.created_at, Document.register_number, Document.register_year,
)


def register_line(document: Document) -> str:
    """The register fields as a line of text, so full-text search finds a
    document by its incoming number, issuing body or type on both backends."""
    parts = []
    if document.register_number is not None:
        parts.append(f"Số đến: {document.register_number}/{document.register_year}")
    if document.doc_type:
        parts.append(document.doc_type)
    if document.issuing_body:
        parts.append(document.issuing_body)
    return " · ".join(parts)


def entry_for(document: Document, text: str) -> IndexedDocument:
    dated = document.issued_date or document.received_date or day_of(document.created_at)
    header = register_line(document)
    return IndexedDocument(
        id=document.id,
        agency_id=document.agency_id,
        kind=document.kind,
        title=document.title,
        text=f"{header}\n{text}" if header else text,
        number_symbol=document.number_symbol,
        issuing_body=document.issuing_body,
        year=dated.year,
        issued_date=document.issued_date,
        created_at=document.created_at,
        doc_type=document.doc_type,
        doc_date=dated,
        version=version_of(document),
    )


def version_of(document: Document) -> str:
    text_file = document.file(FileRole.TEXT)
    return entry_version([getattr(document, c.key) for c in ENTRY_COLUMNS], text_file.sha256 if text_file else None)


def entry_version(values: Sequence[object], text_sha256: str | None) -> str:
    """The version of an entry made of ENTRY_COLUMNS' `values` and the text with this hash."""
    canonical = "\x1f".join([_canonical(v) for v in values] + [text_sha256 or ""])
    return hashlib.blake2b(canonical.encode("utf-8"), digest_size=12).hexdigest()


def _canonical(value: object) -> str:
    # SQLite returns naive UTC datetimes, PostgreSQL aware ones, a fresh row
    # aware ones: all three must give one string.
    if value is None:
        return "\x00"
    if isinstance(value, datetime):
        return created_at_key(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def text_sha256_column():
    """The hash of a document's text file (the first, as Document.file picks it), for a select."""
    return (
        select(DocumentFile.sha256)
        .where(DocumentFile.document_id == Document.id, DocumentFile.role == FileRole.TEXT)
        .order_by(DocumentFile.id).limit(1).scalar_subquery()
    )


def read_text(rt: Runtime, document: Document) -> str:
    text_file = document.file(FileRole.TEXT)
    if text_file is None:
        return ""
    return read_object(rt.store, text_file.storage_key).decode("utf-8")


# --- keeping the index in step with the rows ---------------------------------------


def refresh_entry(rt: Runtime, document_id: str, notes: list[int] | None = None) -> None:
    """Re-index one document after its register fields changed."""
    refresh_entries(rt, [document_id], notes)


def note_reindex(session: Session, document_ids: Iterable[str]) -> list[int]:
    """In the transaction that changes the documents: durable notes that
    their entries must be written again, which refresh_entries(rt, ids,
    notes) settles once it has written them. Should the process die between
    the commit and that write (a web process killed: bench/load.py --faults
    lost a delivered copy's entry so), the relay hands the notes to a worker
    after NOTE_GRACE; before, it leaves them to the request."""
    notes = []
    for document_id in document_ids:
        entry = outbox.enqueue(session, INDEX_DOCUMENT, {"document_id": document_id}, publish=False)
        entry.available_at = utcnow() + NOTE_GRACE
        notes.append(entry.id)
    return notes


def refresh_entries(rt: Runtime, document_ids: list[str], notes: list[int] | None = None) -> None:
    """Re-index documents after their rows changed (ready ones only: the
    pipeline indexes the others when it finishes). Called after the change
    committed, from web requests too: an index that is down must not undo
    or fail the change, so the write is left to the worker's retries (the
    change's own `notes`, or new ones)."""
    try:
        with rt.read() as session:
            entries = [entry_for(d, read_text(rt, d)) for d in _documents(session, document_ids)
                       if d.status == DocumentStatus.READY]
        if entries:
            rt.index.index(entries)
            rt.index.refresh()
    except Exception:
        log.warning("search index unavailable; %d document(s) left for the worker to index", len(document_ids),
                    exc_info=True)
        if not notes:
            _retry_after_commit(rt, document_ids)
        return
    if notes:
        try:
            with rt.write() as session:
                for entry_id in notes:
                    outbox.complete(session, entry_id)
        except Exception:  # the worker will write the entries once more: idempotent
            log.warning("could not settle %d index note(s)", len(notes), exc_info=True)


def remove_entry(rt: Runtime, document_id: str) -> None:
    """Take a deleted document out of the index (or leave it to the retries)."""
    try:
        rt.index.delete([document_id])
        rt.index.refresh()
    except Exception:
        log.warning("search index unavailable; removal of %s left for the worker", document_id, exc_info=True)
        _retry_after_commit(rt, [document_id])


def _retry_after_commit(rt: Runtime, document_ids: list[str]) -> None:
    # The change itself is committed: failing the request now would tell
    # the clerk it was not. Should even the note fail (the database went
    # too), `docsvc search check` still finds these entries stale.
    try:
        with rt.write() as session:
            retry_later(session, document_ids)
    except Exception:
        log.exception("could not note %d document(s) for an index retry: %s", len(document_ids), document_ids[:10])


def retry_later(session: Session, document_ids: Iterable[str]) -> None:
    """Durable notes, in the caller's transaction, that these entries must be
    made true again: the outbox relay hands them to a worker, which retries
    with a growing pause until the index takes the write (sync_entry). Not
    published at once: the index has just refused, so a try now would fail."""
    for document_id in document_ids:
        outbox.enqueue(session, INDEX_DOCUMENT, {"document_id": document_id}, publish=False)


def sync_entry(rt: Runtime, payload: dict, entry_id: int | None = None) -> None:
    """The outbox handler: the entry as the row is now (none if the document
    is gone or not ready). Idempotent; raises while the index is down."""
    document_id = payload["document_id"]
    with rt.read() as session:
        document = session.get(Document, document_id)
        entry = None
        if document is not None and document.status == DocumentStatus.READY:
            entry = entry_for(document, read_text(rt, document))
    if entry is None:
        rt.index.delete([document_id])
    else:
        rt.index.index([entry])
    rt.index.refresh()


def pending_retries(session: Session, document_id: str | None = None, limit: int | None = None) -> list[OutboxEntry]:
    """Index writes still waiting for a retry (of one document, or all), oldest first."""
    query = _pending().order_by(OutboxEntry.id).limit(limit)
    if document_id is not None:
        query = query.where(OutboxEntry.payload["document_id"].as_string() == document_id)
    return list(session.scalars(query))


def pending_retry_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(_pending().subquery())) or 0


def _pending():
    return select(OutboxEntry).where(OutboxEntry.task == INDEX_DOCUMENT, OutboxEntry.done_at.is_(None))


def _documents(session: Session, document_ids: Iterable[str], *, lock: bool = False) -> list[Document]:
    query = select(Document).options(selectinload(Document.files)).where(Document.id.in_(list(document_ids)))
    if lock:
        query = query.with_for_update(of=Document)
    return list(session.scalars(query.order_by(Document.id)))


def write_under_lock(rt: Runtime, document_ids: list[str]) -> tuple[int, int]:
    """Make these entries true with their rows locked: a change committing
    meanwhile waits, then indexes after us, so an older entry never
    overwrites a newer one. (written, removed)."""
    with rt.write() as session:
        ready = [d for d in _documents(session, document_ids, lock=True) if d.status == DocumentStatus.READY]
        entries = [entry_for(d, read_text(rt, d)) for d in ready]
        gone = sorted(set(document_ids) - {e.id for e in entries})
        if entries:
            rt.index.index(entries)
        if gone:
            rt.index.delete(gone)
    return len(entries), len(gone)


# --- the full rebuild ------------------------------------------------------------------


@dataclass
class ReindexProgress:
    done: int  # documents in the new index, including those of an interrupted run
    total: int  # ready documents in the database when the run started
    resumed_after: str | None
    started: float = field(default_factory=time.monotonic)
    written: int = 0  # by this run

    @property
    def rate(self) -> float:
        """Documents a second written by this run."""
        return self.written / max(time.monotonic() - self.started, 1e-6)


def reindex(rt: Runtime, on_progress: Callable[[ReindexProgress], None] | None = None) -> ReindexProgress:
    """Build the whole index again from the database, beside the live one
    (searches keep answering from it), then swap. An interrupted run leaves
    its build behind; the next one resumes after the last document it wrote.
    Returns the final progress (documents in the new index, written by this run)."""
    rt.index.ensure_ready()
    build = rt.index.rebuild()
    resumed = build.resume_after
    progress = ReindexProgress(done=0 if resumed is None else ready_count(rt, upto=resumed),
                               total=ready_count(rt), resumed_after=resumed)
    for batch in _ready_batches(rt, after=resumed):
        build.add(batch)
        _settle(rt, batch)
        progress.done += len(batch)
        progress.written += len(batch)
        if on_progress:
            on_progress(progress)
    build.finish()
    rt.index.refresh()
    return progress


def _settle(rt: Runtime, written: list[IndexedDocument]) -> None:
    """A document that changed after its batch was read had its own write to
    both indexes overwritten by ours: write those again. (Changes committed
    later write after us; the backend sends them to both indexes.)"""
    with rt.read() as session:
        now = {id_: version for id_, status, version in row_versions(session, ids=[e.id for e in written])
               if status == DocumentStatus.READY}
    changed = [e.id for e in written if now.get(e.id) != e.version]
    if changed:
        write_under_lock(rt, changed)


def row_versions(session: Session, *, ids: list[str] | None = None, after: str = "",
                 limit: int | None = None) -> list[tuple[str, str, str]]:
    """(id, status, the version its entry has) of documents, in id order:
    these ids, or the `limit` first after the id `after`. Reads no text."""
    query = select(Document.status, *ENTRY_COLUMNS, text_sha256_column()).order_by(Document.id)
    query = query.where(Document.id.in_(ids)) if ids is not None else query.where(Document.id > after)
    if limit is not None:
        query = query.limit(limit)
    return [(row[1], row[0], entry_version(row[1:-1], row[-1])) for row in session.execute(query)]


_coverage: dict[int, tuple[float, bool]] = {}  # id(runtime) -> (when asked, the answer)
_coverage_lock = threading.Lock()


def index_complete(rt: Runtime) -> bool:
    """Whether every ready document can be found: the index holds as many
    entries as there are ready documents and no index write awaits a retry.
    False while the worker fills an index left empty by an upgrade, or while
    the index was down: the search page says so instead of staying silent
    (``docsvc search check`` tells exactly which entries are missing)."""
    now = time.monotonic()
    with _coverage_lock:
        known = _coverage.get(id(rt))
    if known is not None and now - known[0] < COVERAGE_SECONDS:
        return known[1]
    try:
        with rt.read() as session:
            waiting = pending_retry_count(session)
        complete = not waiting and rt.index.count() >= ready_count(rt)
    except Exception:  # the search answered a moment ago: say it may be short rather than fail the page
        log.warning("could not tell whether the search index is complete", exc_info=True)
        complete = False
    with _coverage_lock:
        _coverage[id(rt)] = (now, complete)
    return complete


def ready_count(rt: Runtime, upto: str | None = None) -> int:
    """Ready documents (with an id up to `upto`, when it is given)."""
    query = select(func.count()).select_from(Document).where(Document.status == DocumentStatus.READY)
    if upto is not None:
        query = query.where(Document.id <= upto)
    with rt.read() as session:
        return session.scalar(query) or 0


def _ready_batches(rt: Runtime, after: str | None = None) -> Iterator[list[IndexedDocument]]:
    """Entries of ready documents in id order, REINDEX_BATCH at a time, or
    fewer when their texts reach REINDEX_BATCH_CHARS (memory stays bounded
    however long the texts are)."""
    yield from batches(_ready_entries(rt, after), REINDEX_BATCH, REINDEX_BATCH_CHARS)


def _ready_entries(rt: Runtime, after: str | None) -> Iterator[IndexedDocument]:
    last_id = after or ""
    # Reading the texts is much of a rebuild's time on object storage (one
    # GET each, a few ms); several at once keep the index busy instead.
    with ThreadPoolExecutor(TEXT_READERS, thread_name_prefix="reindex-read") as readers:
        while True:
            with rt.read() as session:
                documents = list(
                    session.scalars(
                        select(Document)
                        .options(selectinload(Document.files))
                        .where(Document.status == DocumentStatus.READY, Document.id > last_id)
                        .order_by(Document.id)
                        .limit(READ_PAGE)
                    )
                )
            if not documents:
                return
            texts = readers.map(lambda d: read_text(rt, d), documents)
            yield from (entry_for(d, text) for d, text in zip(documents, texts, strict=True))
            last_id = documents[-1].id
