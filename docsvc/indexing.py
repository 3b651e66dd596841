"""Search entries are built here, and only here, from database rows."""
from __future__ import annotations

from typing import Iterator

from sqlalchemy import select

from docsvc.models import Document, DocumentStatus, FileRole
from docsvc.runtime import Runtime
from search import IndexedDocument

REINDEX_BATCH = 200


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
    dated = document.issued_date or document.received_date or document.created_at.date()
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
    )


def read_text(rt: Runtime, document: Document) -> str:
    text_file = document.file(FileRole.TEXT)
    if text_file is None:
        return ""
    with rt.store.open(text_file.storage_key) as reader:
        return b"".join(reader.iter_chunks()).decode("utf-8")


def refresh_entry(rt: Runtime, document_id: str) -> None:
    """Re-index one document after its register fields changed (ready ones only:
    the pipeline indexes the others when it finishes)."""
    with rt.read() as session:
        document = session.get(Document, document_id)
        if document is None or document.status != DocumentStatus.READY:
            return
        entry = entry_for(document, read_text(rt, document))
    rt.index.index([entry])
    rt.index.refresh()


def reindex(rt: Runtime) -> int:
    """Rebuild the whole index from the database (the index is derived data)."""
    rt.index.ensure_ready()
    rt.index.clear()
    count = 0
    for batch in _ready_batches(rt):
        rt.index.index(batch)
        count += len(batch)
    rt.index.refresh()
    return count


def _ready_batches(rt: Runtime) -> Iterator[list[IndexedDocument]]:
    last_id = ""
    while True:
        with rt.read() as session:
            documents = list(
                session.scalars(
                    select(Document)
                    .where(Document.status == DocumentStatus.READY, Document.id > last_id)
                    .order_by(Document.id)
                    .limit(REINDEX_BATCH)
                )
            )
            if not documents:
                return
            batch = [entry_for(d, read_text(rt, d)) for d in documents]
        last_id = documents[-1].id
        yield batch
