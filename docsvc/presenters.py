"""The JSON form of domain objects, shared by the API and the command line."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from docsvc.exchange import statuses_json
from docsvc.incoming import is_overdue
from docsvc.models import Document, DocumentFile, ExchangeDirection, RegisterBook
from search import TOTAL_CAP, SearchResult


def iso_utc(value: datetime) -> str:
    """An aware datetime (as every column gives them) in UTC, with its offset."""
    return value.astimezone(UTC).isoformat()


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
        "doc_type": doc.doc_type,
        "suggestions": doc.suggestions,
        "incoming_number": doc.register_number if doc.register_book == RegisterBook.INCOMING else None,
        "register": register_json(doc),
        "handling": handling_json(doc),
        "workflow": workflow_json(doc),
        # Came as an edXML package: its sender, what was answered, a recall asked for.
        "received_from": next((statuses_json(m) for m in doc.exchange_messages
                               if m.direction == ExchangeDirection.RECEIVED), None),
        "created_at": iso_utc(doc.created_at),
        "files": [file_json(f) for f in doc.files],
    }
    if text is not None:
        data["text"] = text
    return data


def register_json(doc: Document) -> dict[str, Any] | None:
    if doc.register_book is None:
        return None
    return {
        "book": doc.register_book,
        "year": doc.register_year,
        "number": doc.register_number,
        # The agency whose book it is, by the code other agencies' systems know it by.
        "agency_org_code": doc.agency.org_code,
        "registered_at": iso_utc(doc.registered_at) if doc.registered_at else None,
    }


def handling_json(doc: Document) -> dict[str, Any] | None:
    if doc.handling_status is None:
        return None
    return {
        "status": doc.handling_status,
        "assignee": doc.assignee.username if doc.assignee else None,
        "department": doc.assignee_department,
        "deadline": doc.deadline.isoformat() if doc.deadline else None,
        "overdue": is_overdue(doc),
        "handled_at": iso_utc(doc.handled_at) if doc.handled_at else None,
        "note": doc.handling_note,
        "recalled": recall_json(doc),
    }


def recall_json(doc: Document) -> dict[str, Any] | None:
    """A received document given back to its sender (handling status recalled)."""
    if doc.recalled_at is None:
        return None
    return {
        "at": iso_utc(doc.recalled_at),
        "by": doc.recalled_by.username if doc.recalled_by else None,
        "by_name": (doc.recalled_by.full_name or doc.recalled_by.username) if doc.recalled_by else None,
        "reason": doc.recall_reason,
    }


def workflow_json(doc: Document) -> dict[str, Any] | None:
    if doc.workflow_status is None:
        return None
    return {
        "status": doc.workflow_status,
        "approver": doc.approver.username if doc.approver else None,
        "recipients": doc.recipients or [],
        "note": doc.workflow_note,
        "signed_at": iso_utc(doc.signed_at) if doc.signed_at else None,
        "issued_at": iso_utc(doc.issued_at) if doc.issued_at else None,
        # Recipients outside this installation, and the statuses they sent back.
        "exchange": [statuses_json(m) for m in doc.exchange_messages if m.direction == ExchangeDirection.SENT],
    }


def search_json(result: SearchResult, recalled: frozenset[str] = frozenset()) -> dict[str, Any]:
    """`recalled`: the hits their sender recalled (docsvc.documents.recalled_among)."""
    return {
        "total": result.total,
        "total_is_exact": result.total_is_exact,
        "total_all_words": result.total_all_words,
        "hits": [
            {
                "id": hit.id,
                "title": hit.title,
                "kind": hit.kind,
                "year": hit.year,
                "number_symbol": hit.number_symbol,
                "issuing_body": hit.issuing_body,
                "doc_date": hit.doc_date.isoformat() if hit.doc_date else None,
                "agency_id": hit.agency_id,
                "score": hit.score,
                "all_words": hit.all_words,
                "highlight": hit.highlight,
                "recalled": hit.id in recalled,
            }
            for hit in result.hits
        ],
        "facets": {
            name: [{"value": bucket.value, "count": bucket.count} for bucket in buckets]
            for name, buckets in result.facets.items()
        },
    }


@dataclass(frozen=True)
class Count:
    """A number of matches as a person reads it: exact, or "more than" it."""

    value: int
    exact: bool = True


@dataclass(frozen=True)
class SearchCounts:
    """The two tiers of a result: documents with every word, then those missing some (search.ranking)."""

    total: Count
    all_words: Count
    fewer_words: Count  # value 0 and exact: no second tier


def search_counts(result: SearchResult) -> SearchCounts:
    """What the count line says. Past TOTAL_CAP the backend stopped counting:
    the total is "more than", and so is whatever part of it is not the first
    tier (its own count is exact while under the cap)."""
    if result.total_is_exact:
        return SearchCounts(Count(result.total), Count(result.total_all_words),
                            Count(result.total - result.total_all_words))
    all_words = Count(result.total_all_words, result.total_all_words < TOTAL_CAP)
    return SearchCounts(Count(result.total, False), all_words,
                        Count(max(result.total - result.total_all_words, 0), False))
