"""The first page of a document, small, beside its search hit.

A thumbnail is drawn once per PDF it shows, in a parse child (the PDF came
from outside: docsvc/sandbox.py), and kept in storage as a file of the
document (role "thumbnail", derived from that PDF): the search page asks for
twenty at a time, and every later request costs one database read and one
small object read. When the document gets a newer PDF (signed, sealed), the
next request draws the new one. A document without a PDF to show (a scan
still being converted) gets the placeholder, never an error, so a results
page never shows a broken image.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import logging
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
from sqlalchemy.exc import IntegrityError

from docsvc import pdf, sandbox
from docsvc.documents.records import get_document
from docsvc.errors import CorruptPdf, DocsvcError
from docsvc.models import Document, DocumentFile, FileRole, User
from docsvc.runtime import Runtime
from docsvc.sandbox import ParseBudget
from docsvc.stored import store_then_record
from signing.pdfium_guard import pdfium_document
from storage import read_object

log = logging.getLogger(__name__)

# Pixels: twice the 96 x 136 CSS pixels the page gives it, sharp on
# high-density screens. A page of text drawn so is 35 KB as an RGB PNG, 14 KB
# in 64 colours (a red seal stays red; greyscale would be 19 KB and lose it).
BOX = (192, 272)
COLOURS = 64
MEDIA_TYPE = "image/png"
# A page longer than this against its width would be drawn less than a pixel wide.
MAX_ASPECT = 100
# The placeholder is a static file of the whole site (docsvc/static), not of this package.
PLACEHOLDER = Path(__file__).resolve().parent.parent / "static" / "thumbnail-placeholder.svg"
# The PDF a person would open, newest first: the issued or sealed one, the
# draft prepared for signing, the searchable PDF made from a scan, the upload.
SOURCES = (FileRole.SIGNED, FileRole.PREPARED, FileRole.DERIVED, FileRole.ORIGINAL)


@dataclass(frozen=True)
class Thumbnail:
    data: bytes
    media_type: str
    etag: str  # the bytes' SHA-256: the same picture has the same tag in every process


def thumbnail(rt: Runtime, user: User, document_id: str) -> Thumbnail:
    """The document's first page, small, if the user may see the document (NotFound otherwise)."""
    with rt.read() as session:
        doc = get_document(session, user, document_id)
        source = _source(doc)
        if source is None:
            return placeholder()
        kept = _kept(doc, source)
        if kept is not None:
            return Thumbnail(read_object(rt.store, kept.storage_key), MEDIA_TYPE, kept.sha256)
        source_id, source_key = source.id, source.storage_key
    return _draw_and_keep(rt, document_id, source_id, source_key)


@functools.cache
def placeholder() -> Thumbnail:
    data = PLACEHOLDER.read_bytes()
    return Thumbnail(data, "image/svg+xml", hashlib.sha256(data).hexdigest())


def _source(doc: Document) -> DocumentFile | None:
    for role in SOURCES:
        found = doc.latest(role)
        if found is not None and found.media_type == "application/pdf":
            return found
    return None


def _kept(doc: Document, source: DocumentFile) -> DocumentFile | None:
    return next((f for f in reversed(doc.files) if f.role == FileRole.THUMBNAIL and f.derived_from_id == source.id),
                None)


def _draw_and_keep(rt: Runtime, document_id: str, source_id: int, source_key: str) -> Thumbnail:
    try:
        with rt.store.local_path(source_key) as path:
            png = draw(path, ParseBudget.of(rt.settings))
    except DocsvcError as exc:  # a damaged or hostile PDF, or every parse child busy
        log.info("no thumbnail for document %s: %s", document_id, exc.message)
        return placeholder()
    # The row fails if another request kept the same picture first, or if the
    # document was discarded meanwhile (then nothing references the object,
    # and it goes); the picture is shown all the same.
    with contextlib.suppress(IntegrityError), store_then_record(rt, undo_on=IntegrityError) as store:
        stored = store.put(io.BytesIO(png), MEDIA_TYPE, size=len(png))
        with rt.write() as session:
            session.add(DocumentFile(document_id=document_id, role=FileRole.THUMBNAIL, storage_key=stored.key,
                                     sha256=stored.sha256, size=stored.size, media_type=MEDIA_TYPE,
                                     filename="trang-dau.png", derived_from_id=source_id))
    return Thumbnail(png, MEDIA_TYPE, stored.sha256)


def draw(path: Path, budget: ParseBudget | None = None) -> bytes:
    """The first page of the PDF at `path` as a PNG fitting BOX."""
    pdf.check_declared_sizes(path)
    return sandbox.call(_draw_here, path, BOX, budget=budget)


def _draw_here(path: Path, box: tuple[int, int]) -> bytes:
    try:
        with pdfium_document(str(path)) as document:
            page = document[0]
            width, height = page.get_size()  # points, /Rotate applied
            if min(width, height) < 1 or max(width, height) / min(width, height) > MAX_ASPECT:
                raise CorruptPdf("The first page has no drawable size.")
            bitmap = page.render(scale=min(box[0] / width, box[1] / height))
            try:
                image = bitmap.to_pil().convert("RGB")  # a copy: the bitmap's buffer is freed below
            finally:
                bitmap.close()
                page.close()
    except pdfium.PdfiumError as exc:
        raise CorruptPdf(f"The PDF cannot be shown ({exc}).") from None
    out = io.BytesIO()
    image.quantize(COLOURS).save(out, "PNG", optimize=True)
    return out.getvalue()
