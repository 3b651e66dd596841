"""Documents: accept an upload, keep its original, and answer who may see it.

Ingest is all-or-nothing. The upload is spooled to a local file (hashing and
counting as it streams, stopping at the size limit), checked, stored, and
only then recorded in one transaction with its outbox entry. If anything
after the store fails, the stored object is removed again, unless another
document already references the same bytes.
"""
from __future__ import annotations

import contextlib
import contextvars
import hashlib
import logging
import os
import re
import tempfile
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO, TypeVar, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from docsvc import audit, outbox, validation
from docsvc.documents import indexing
from docsvc.documents.formats import IntakeInfo, inspect_upload
from docsvc.errors import (
    Conflict,
    EmptyFile,
    FileTooComplex,
    Forbidden,
    InvalidInput,
    InvalidQuery,
    NotFound,
    StorageFailure,
    UploadTooLarge,
)
from docsvc.models import Agency, Document, DocumentFile, DocumentKind, FileRole, User, Workflow
from docsvc.pdf import DeclaredSizes
from docsvc.permissions import can_see_agency, require_staff, visible_agency_ids
from docsvc.runtime import Runtime
from docsvc.stored import UnrecordedObjects, remove_if_unreferenced, store_then_record
from search import SORTS, SearchQuery, SearchResult
from search import InvalidQuery as IndexInvalidQuery
from storage.base import IntegrityError, StoredObject, content_key, hash_file

log = logging.getLogger(__name__)

T = TypeVar("T")
PROCESS_DOCUMENT = "process_document"
SPOOL_CHUNK = 1024 * 1024
# Document ids are UUIDs (models.new_id); anything else in a URL names nothing.
DOCUMENT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.ASCII)


class RecordNotDeletable(Conflict):
    """A registered or signed document is a record: it stays."""

    code = "record_not_deletable"


class ReversedDateRange(InvalidInput):
    """A search from a later date to an earlier one: the page says which way round."""

    code = "reversed_date_range"


@dataclass
class Spooled:
    """An upload on local disk, with what we learned while receiving it."""

    path: Path
    sha256: str
    size: int
    filename: str
    # False for a file the user handed us by path: it is theirs, never deleted.
    owned: bool = True
    # Already in the store (an Incoming body, stored while it was spooled),
    # and its checks, started once the spool was whole.
    stored: StoredObject | None = None
    checks: Future[IntakeInfo] | None = None
    # The verdict on a PDF's declared sizes, found as its bytes came in
    # (None: read the file for it).
    check_sizes: Callable[[], None] | None = None

    def discard(self) -> None:
        if not self.owned:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


class DigestMismatch(InvalidInput):
    """The body's bytes are not the ones its Repr-Digest names (cut, altered, or the wrong file)."""

    code = "digest_mismatch"


@dataclass
class Incoming:
    """An upload body not read yet whose client declared its SHA-256
    (Repr-Digest): `ingest` streams it to its final key in the store while
    spooling it for the checks, so storing overlaps receiving instead of
    following it (bench/upload.py: spool then upload took twice a raw put).
    `length` is the body's declared length, if any."""

    stream: BinaryIO
    filename: str
    sha256: str
    length: int | None = None


def spool(stream: BinaryIO, filename: str, rt: Runtime) -> Spooled:
    """Receive a stream to a temporary file, refusing it once it passes the limit."""
    limit = rt.settings.max_upload_bytes
    tmp_dir = Path(rt.settings.data_dir) / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=tmp_dir, prefix="upload-", suffix=".part")
    digest = hashlib.sha256()
    sizes = _SizeScan()
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(SPOOL_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise UploadTooLarge(f"The file is larger than the limit of {human_size(limit)}.")
                digest.update(chunk)
                sizes.feed(chunk, len(chunk))
                out.write(chunk)
    except BaseException:
        os.unlink(name)
        raise
    if size == 0:
        os.unlink(name)
        raise EmptyFile()
    return Spooled(Path(name), digest.hexdigest(), size, os.path.basename(filename or "document.pdf"),
                   check_sizes=sizes.verdict())


class _SizeScan:
    """pdf.DeclaredSizes over an upload as it comes in, whatever the file
    turns out to be: its refusal is kept, not raised, and given to the
    checks, which apply it only to a PDF (an image may hold any bytes)."""

    def __init__(self, size: int | None = None) -> None:
        self._scan: DeclaredSizes | None = DeclaredSizes(size)
        self._refusal: FileTooComplex | None = None

    def feed(self, chunk: bytes | bytearray, length: int) -> None:
        if self._scan is not None:
            try:
                self._scan.feed(chunk, length)
            except FileTooComplex as refusal:
                self._refusal, self._scan = refusal, None

    def verdict(self) -> Callable[[], None]:
        """Once the last byte has come: what raises the refusal, if any."""
        if self._scan is not None:
            try:
                self._scan.finish()
            except FileTooComplex as found:
                self._refusal = found
            self._scan = None
        kept = self._refusal

        def check() -> None:
            if kept is not None:
                raise kept

        return check


class _SpoolingReader:
    """What the store reads an Incoming body through: at most the upload
    limit, written to the spool and scanned for declared sizes on its way.
    `readinto` (MinioStore's one checked PUT) moves the body through one
    reused buffer; `read` (the multipart fallback, the filesystem store)
    returns each read whole (the MinIO client joins a part from the reads
    it gets, copying at each join)."""

    def __init__(self, stream: BinaryIO, spool_file: BinaryIO, limit: int, length: int | None,
                 on_end: Callable[[], None]) -> None:
        self._stream, self._spool, self._limit, self._length = stream, spool_file, limit, length
        self._on_end: Callable[[], None] | None = on_end
        self._buffer = bytearray(SPOOL_CHUNK)
        self._view = memoryview(self._buffer)
        self.sizes = _SizeScan(length)
        self.size = 0
        self.failure: BaseException | None = None  # the body's own error, not the store's

    def readinto(self, target: memoryview) -> int:
        try:
            got = self._stream.readinto(self._view[:min(len(target), len(self._buffer))])  # type: ignore[attr-defined]
            self._passed(self._buffer, got or 0)
        except BaseException as exc:
            self.failure = exc
            raise
        target[:got] = self._view[:got]
        return got

    def read(self, size: int = -1) -> bytes:
        try:
            data = self._read_whole(size if size is not None and size >= 0 else SPOOL_CHUNK)
            self._passed(data, len(data))
        except BaseException as exc:
            self.failure = exc
            raise
        return data

    def _passed(self, data: bytes | bytearray, length: int) -> None:
        self.size += length
        if self.size > self._limit:
            raise UploadTooLarge(f"The file is larger than the limit of {human_size(self._limit)}.")
        self._spool.write(memoryview(data)[:length])
        self.sizes.feed(data, length)
        # The store reads a body of known length to its last byte, not beyond.
        if self._on_end is not None and (not length or self.size == self._length):
            on_end, self._on_end = self._on_end, None
            on_end()

    def _read_whole(self, size: int) -> bytes:
        first = self._stream.read(size)
        if len(first) in (0, size):
            return first
        pieces, have = [first], len(first)
        while have < size and (more := self._stream.read(size - have)):
            pieces.append(more)
            have += len(more)
        return b"".join(pieces)


def _stream_to_store(rt: Runtime, store: UnrecordedObjects, incoming: Incoming) -> Spooled:
    """Receive an Incoming body into the spool and, unless its bytes are
    stored already, into the store at its declared key at the same time."""
    if rt.store.exists(content_key(incoming.sha256)):
        spooled = spool(incoming.stream, incoming.filename, rt)
        if spooled.sha256 != incoming.sha256:
            spooled.discard()
            raise DigestMismatch("The file's bytes do not match the SHA-256 its Repr-Digest header gives.")
        return spooled
    tmp_dir = Path(rt.settings.data_dir) / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=tmp_dir, prefix="upload-", suffix=".part")
    spooled = Spooled(Path(name), incoming.sha256, 0, os.path.basename(incoming.filename or "document.pdf"))

    def check_whole_spool() -> None:
        # While the store still receives the last bytes and completes: the
        # checks then cost no time of their own (ingest waits for them).
        out.flush()
        spooled.check_sizes = reader.sizes.verdict()
        spooled.checks = _in_background(_inspect, rt, spooled.path, spooled.check_sizes)

    try:
        with os.fdopen(fd, "wb") as out:
            reader = _SpoolingReader(incoming.stream, out, rt.settings.max_upload_bytes, incoming.length,
                                     check_whole_spool)
            try:
                # Stored before the checks, as every writer stores before it
                # records: if they refuse it, store_then_record removes it.
                spooled.stored = store.put(cast(BinaryIO, reader), "application/octet-stream", sha256=incoming.sha256,
                                           size=incoming.length)
            except IntegrityError:
                raise DigestMismatch("The file's bytes do not match the SHA-256 its Repr-Digest header gives.") from None
            except Exception as exc:
                if reader.failure is not None:
                    raise reader.failure from None  # the body's error (too large, stalled, cut off) as it is
                raise StorageFailure() from exc
    except BaseException:
        spooled.discard()
        raise
    spooled.size = reader.size
    if spooled.size == 0:
        spooled.discard()
        raise EmptyFile()
    return spooled


def _inspect(rt: Runtime, path: Path, check_sizes: Callable[[], None] | None = None) -> IntakeInfo:
    return inspect_upload(path, max_pages=rt.settings.max_pages, max_image_pixels=rt.settings.max_image_pixels,
                          check_sizes=check_sizes)


def _in_background(work: Callable[..., T], *args: Any) -> Future[T]:
    """`work` in a thread of its own (with the request's context: its log id)."""
    future: Future[T] = Future()
    context = contextvars.copy_context()

    def run() -> None:
        try:
            future.set_result(context.run(work, *args))
        except BaseException as exc:  # handed to whoever waits for the result
            future.set_exception(exc)

    threading.Thread(target=run, name="upload-checks", daemon=True).start()
    return future


def local_file(path: Path, rt: Runtime) -> Spooled:
    """A file already on this machine (`docsvc ingest FILE`): used where it is,
    hashed once, never copied to the spool."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InvalidInput(f"Cannot read the file ({exc.strerror}).") from None
    if size > rt.settings.max_upload_bytes:
        raise too_large(rt)
    if size == 0:
        raise EmptyFile()
    try:
        sha256, hashed_size = hash_file(path)
    except OSError as exc:
        raise InvalidInput(f"Cannot read the file ({exc.strerror}).") from None
    return Spooled(path, sha256, hashed_size, path.name, owned=False)


def too_large(rt: Runtime) -> UploadTooLarge:
    return UploadTooLarge(f"The file is larger than the limit of {human_size(rt.settings.max_upload_bytes)}.")


def human_size(size: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:g} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return str(size)


def default_title(filename: str) -> str:
    stem = Path(filename).stem.replace("_", " ").strip()
    return stem or "Văn bản"


def enqueue_processing(session: Session, document_id: str) -> int:
    """Queue the worker's text extraction and indexing of a document another
    story recorded itself (an edXML package's PDF); the outbox entry's id."""
    return outbox.enqueue(session, PROCESS_DOCUMENT, {"document_id": document_id}).id


def ingest(
    rt: Runtime,
    actor: User,
    upload: Spooled | Incoming,
    *,
    title: str | None = None,
    kind: DocumentKind | str = DocumentKind.UPLOAD,
    agency_id: int | None = None,
    number_symbol: str | None = None,
    issuing_body: str | None = None,
    issued_date: date | None = None,
) -> tuple[str, int]:
    """Store and record an uploaded PDF or scanned image; returns (document id, outbox entry id).

    The spooled file is consumed: it is deleted whatever happens. An
    Incoming body is received here, after the fields are checked.
    """
    with store_then_record(rt) as store:
        if isinstance(upload, Incoming):
            require_staff(actor)  # before a byte of the body is stored
            upload = _stream_to_store(rt, store, upload)
        try:
            require_staff(actor)
            kind = validation.one_of(kind, DocumentKind, "Kind")
            title = validation.text(title, "title", validation.TITLE)
            filename = validation.text(upload.filename, "filename", validation.FILENAME)
            number_symbol = validation.optional_text(number_symbol, "number_symbol", validation.NUMBER_SYMBOL)
            issuing_body = validation.optional_text(issuing_body, "issuing_body", validation.ISSUING_BODY)
            agency_id = agency_id or actor.agency_id
            if agency_id is None:
                raise InvalidInput("Choose the agency the document belongs to.")
            if not can_see_agency(actor, agency_id):
                raise Forbidden("You cannot add documents to another agency.")
            info = upload.checks.result() if upload.checks is not None else _inspect(rt, upload.path,
                                                                                         upload.check_sizes)
            stored = upload.stored
            if stored is None:
                try:
                    # The spool's hash was taken as docsvc wrote it; a user's own file is hashed again.
                    stored = store.put_file(upload.path, info.media_type, sha256=upload.sha256, trusted=upload.owned)
                except Exception as exc:  # disk errors, the S3 client's errors, connection errors
                    raise StorageFailure() from exc
        finally:
            upload.discard()
        with rt.write() as session:
            if session.get(Agency, agency_id) is None:
                raise InvalidInput("That agency does not exist.")
            document = Document(
                agency_id=agency_id,
                kind=kind,
                title=title or default_title(filename),
                number_symbol=number_symbol,
                issuing_body=issuing_body,
                issued_date=issued_date,
                page_count=info.page_count,
                created_by_id=actor.id,
            )
            document.files.append(DocumentFile.of(FileRole.ORIGINAL, stored, filename, media_type=info.media_type))
            session.add(document)
            session.flush()
            entry = outbox.enqueue(session, PROCESS_DOCUMENT, {"document_id": document.id})
            audit.record(
                session,
                actor,
                "document.ingest",
                "document",
                document.id,
                {"sha256": stored.sha256, "size": stored.size, "filename": filename},
            )
            return document.id, entry.id


def discard(rt: Runtime, actor: User, document_id: str) -> None:
    """Remove an upload the clerk does not want (a duplicate scan, the wrong
    file) before it enters a register: registered documents are records and
    are never deleted, nor are signed ones (issued or still to be issued)."""
    require_staff(actor)
    with rt.write() as session:
        document = get_document(session, actor, document_id, for_update=True)
        refuse_if_record(document)
        keys = {f.storage_key for f in document.files}
        # Files point at the file they were made from: unlink before deleting,
        # or PostgreSQL may see a derived file outlive its original.
        for stored in document.files:
            stored.derived_from_id = None
        session.flush()
        session.delete(document)
        audit.record(session, actor, "document.discard", "document", document_id, {"title": document.title})
    # Its pending processing finds no document and stops (pipeline.process_document).
    indexing.remove_entry(rt, document_id)
    for key in keys:
        remove_if_unreferenced(rt, key)


def refuse_if_record(document: Document) -> None:
    if document.register_book is not None:
        raise RecordNotDeletable("A registered document is a record and cannot be deleted.")
    if document.workflow_status in (Workflow.SIGNED, Workflow.ISSUED) or document.latest(FileRole.SIGNED) is not None:
        raise RecordNotDeletable("A signed document is a record and cannot be deleted, even before it is issued.")


def get_document(session: Session, user: User, document_id: str, *, for_update: bool = False) -> Document:
    """The document if the user may see it. `for_update`: its row locked until
    the transaction ends (and re-read), for changes that must not interleave,
    such as two clerks giving one scan a register number at once."""
    if not isinstance(document_id, str) or not DOCUMENT_ID.fullmatch(document_id):
        raise NotFound("No such document.")
    query = select(Document).options(selectinload(Document.files)).where(Document.id == document_id)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    document = session.scalar(query)
    # "Not found" also for documents of other agencies: their existence is not the user's business.
    if document is None or not can_see_agency(user, document.agency_id):
        raise NotFound("No such document.")
    return document


def list_documents(session: Session, user: User, *, page: int = 1, per_page: int = 20) -> tuple[int, list[Document]]:
    validation.in_range(page, "page", 1, validation.MAX_PAGE)
    validation.in_range(per_page, "per_page", 1, validation.MAX_PER_PAGE)
    query = select(Document)
    allowed = visible_agency_ids(user)
    if allowed is not None:
        query = query.where(Document.agency_id.in_(allowed or [-1]))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(
        query.options(selectinload(Document.files))
        .order_by(Document.created_at.desc(), Document.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return total or 0, list(rows)


@dataclass(frozen=True)
class SearchFilters:
    """What narrows a search, as the page's links and the API's query string
    give it; ``search_filters`` reads them, ``search`` checks them."""

    kind: str | None = None
    year: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    issuing_body: str | None = None
    doc_type: str | None = None
    agency_id: int | None = None
    sort: str = "relevance"


def search_filters(args: Mapping[str, Any]) -> SearchFilters:
    """The filters of a query string (the page's and the API's): blank is unset."""
    return SearchFilters(
        kind=validation.optional_text(args.get("kind"), "kind", validation.FILTER),
        year=validation.whole_number(args.get("year"), "year", validation.MIN_YEAR, validation.MAX_YEAR),
        date_from=validation.parse_date(args.get("date_from"), "date_from"),
        date_to=validation.parse_date(args.get("date_to"), "date_to"),
        issuing_body=validation.optional_text(args.get("issuing_body"), "issuing_body", validation.ISSUING_BODY),
        doc_type=validation.optional_text(args.get("doc_type"), "doc_type", validation.DOC_TYPE),
        agency_id=validation.whole_number(args.get("agency_id"), "agency_id", 1, validation.MAX_ID),
        sort=validation.optional_text(args.get("sort"), "sort", validation.FILTER) or "relevance",
    )


def search(
    rt: Runtime,
    user: User,
    text: str,
    *,
    kind: str | None = None,
    year: int | None = None,
    page: int = 1,
    per_page: int = 20,
    filters: SearchFilters | None = None,
    facets: bool = False,
) -> SearchResult:
    """Full-text search, limited to what the user may see (the index filters,
    not the page). ``filters`` narrows it (``kind`` and ``year`` alone are
    the command line's shorthand for it). Totals stop being exact past
    search.TOTAL_CAP: "more than 10,000" is all a person reads, and counting
    every match of a common word is what costs at a province's scale."""
    filters = filters or SearchFilters(kind=kind, year=year)
    _check_filters(filters)
    validation.in_range(page, "page", 1, validation.MAX_PAGE)
    validation.in_range(per_page, "per_page", 1, validation.MAX_PER_PAGE)
    agencies = _searched_agencies(user, filters.agency_id)
    try:
        query = SearchQuery(
            text=text, kind=filters.kind, year=filters.year, agency_ids=agencies, page=page, per_page=per_page,
            sort=filters.sort, date_from=filters.date_from, date_to=filters.date_to,
            issuing_body=filters.issuing_body, doc_type=filters.doc_type,
            agency_id=filters.agency_id if agencies else None, facets=facets,
        )
        return rt.index.search(query)
    except IndexInvalidQuery as exc:
        raise InvalidQuery(str(exc)) from None


def recalled_among(session: Session, result: SearchResult) -> frozenset[str]:
    """Which of the hits are received documents their sender recalled
    (docsvc.incoming.withdraw): still found, marked on the page and in the
    API. Read from the rows, not the index, so a recall shows at once on
    both backends and the entry's version does not change."""
    ids = [hit.id for hit in result.hits]
    if not ids:
        return frozenset()
    return frozenset(session.scalars(select(Document.id).where(Document.id.in_(ids), Document.recalled_at.is_not(None))))


def _check_filters(filters: SearchFilters) -> None:
    if filters.kind is not None:
        validation.one_of(filters.kind, DocumentKind, "kind")
    if filters.sort not in SORTS:
        raise InvalidInput(f"sort must be one of {', '.join(SORTS)}.")
    if filters.year is not None:
        validation.in_range(filters.year, "year", validation.MIN_YEAR, validation.MAX_YEAR)
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise ReversedDateRange("date_from must not be after date_to.")


def _searched_agencies(user: User, agency_id: int | None) -> frozenset[int] | None:
    """The agencies the index may answer from. Narrowed to an agency the user
    may not see, that is none: the same empty answer as an agency with no
    match, so the answer never tells whether another agency's documents exist."""
    allowed = visible_agency_ids(user)
    if agency_id is None:
        return allowed
    return frozenset({agency_id}) if allowed is None or agency_id in allowed else frozenset()
