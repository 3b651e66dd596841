"""The JSON form of domain objects, shared by the API and the command line."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from docsvc.models import Document, DocumentFile
from search import SearchResult


def iso_utc(value: datetime) -> str:
    """SQLite hands back naive datetimes (stored in UTC); say so explicitly."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat()


def file_json(f: DocumentFile) -> dict[str, Any]:
    return {
        "role": f.role,
        "sha256": f.sha256,
        "size": f.size,
        "media_type": f.media_type,
        "filename": f.filename,
        "storage_key": f.storage_key,
        "derived_from": f.derived_from_id,
    }


def document_json(doc: Document, text: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": doc.id,
        "agency_id": doc.agency_id,
        "kind": doc.kind,
        "title": doc.title,
        "number_symbol": doc.number_symbol,
        "issuing_body": doc.issuing_body,
        "issued_date": doc.issued_date.isoformat() if doc.issued_date else None,
        "received_date": doc.received_date.isoformat() if doc.received_date else None,
        "status": doc.status,
        "status_message": doc.status_message,
        "progress": {"step": doc.progress_step, "percent": doc.progress_percent},
        "page_count": doc.page_count,
        "created_at": iso_utc(doc.created_at),
        "files": [file_json(f) for f in doc.files],
    }
    if text is not None:
        data["text"] = text
    return data


def search_json(result: SearchResult) -> dict[str, Any]:
    return {
        "total": result.total,
        "hits": [
            {
                "id": hit.id,
                "title": hit.title,
                "kind": hit.kind,
                "year": hit.year,
                "number_symbol": hit.number_symbol,
                "agency_id": hit.agency_id,
                "score": hit.score,
                "highlight": hit.highlight,
            }
            for hit in result.hits
        ],
    }
