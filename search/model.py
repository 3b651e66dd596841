"""The public data types and protocol of the search package.

These names are the contract the service code is written against; both
backends (SQLite FTS5 and Elasticsearch) implement ``SearchIndex`` and are held
to identical behaviour by tests/search/test_conformance.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Protocol, runtime_checkable

__all__ = [
    "IndexedDocument",
    "InvalidQuery",
    "SearchHit",
    "SearchIndex",
    "SearchQuery",
    "SearchResult",
    "created_at_key",
]


@dataclass(frozen=True)
class IndexedDocument:
    """One document as the service hands it to the index (built from DB rows)."""

    id: str  # document uuid (string); the upsert key
    agency_id: int  # owner agency, used by the permission filter
    kind: str  # "incoming", "outgoing", "ecopy", "upload", ...
    title: str
    text: str  # extracted full text; may be "" or several MB
    number_symbol: str | None = None  # e.g. "15/QĐ-UBND"
    issuing_body: str | None = None
    year: int | None = None
    issued_date: date | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class SearchQuery:
    text: str  # what the user typed
    kind: str | None = None
    year: int | None = None
    # None = no restriction; an empty set = the user may see nothing.
    agency_ids: frozenset[int] | None = None
    page: int = 1  # 1-based
    per_page: int = 20  # 1..100


@dataclass(frozen=True)
class SearchHit:
    id: str
    title: str
    kind: str
    year: int | None
    number_symbol: str | None
    agency_id: int
    score: float  # higher is better on both backends (not comparable across backends)
    # Safe HTML: a snippet of the ORIGINAL text (document's own diacritics),
    # matches wrapped in <mark>...</mark>, everything else HTML-escaped.
    highlight: str


@dataclass(frozen=True)
class SearchResult:
    total: int  # all matches, not just this page
    hits: list[SearchHit]


class InvalidQuery(ValueError):
    """The user's query is malformed; str(exc) is a message fit to show the user."""


@runtime_checkable
class SearchIndex(Protocol):
    def ensure_ready(self) -> None:
        """Create tables / install the index template and index if missing."""

    def index(self, docs: Iterable[IndexedDocument]) -> None:
        """Upsert documents (same id replaces). Streams; safe for a generator."""

    def delete(self, ids: Iterable[str]) -> None:
        """Remove documents; unknown ids are ignored."""

    def search(self, query: SearchQuery) -> SearchResult:
        """Run a query; raises InvalidQuery for malformed user input."""

    def clear(self) -> None:
        """Drop every entry (a full reindex starts from this)."""

    def count(self) -> int:
        """Number of indexed documents."""

    def refresh(self) -> None:
        """Make previous writes visible to search (no-op for SQLite)."""

    def close(self) -> None:
        """Release connections (the index object is not used afterwards)."""


def created_at_key(value: datetime | None) -> str | None:
    """Canonical, sortable string for created_at, shared by both backends.

    Aware datetimes are converted to UTC; naive ones are taken to be UTC
    already (the service stores UTC). Fixed width (always microseconds) so
    that string order in SQLite equals time order, and ES parses it as a date.
    """
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds")
