"""The public data types and protocol of the search package.

These names are the contract the service code is written against; both
backends (Tantivy and Elasticsearch) implement ``SearchIndex`` and are held
to identical behaviour by tests/search/test_conformance.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Protocol, runtime_checkable

__all__ = [
    "FACET_FIELDS",
    "FACET_SIZE",
    "SORTS",
    "TOTAL_CAP",
    "FacetCount",
    "IndexedDocument",
    "Rebuild",
    "InvalidQuery",
    "SearchHit",
    "SearchIndex",
    "SearchQuery",
    "SearchResult",
    "batches",
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
    doc_type: str | None = None  # register field: Quyết định, Công văn, Kế hoạch…
    # The date the document bears (issued, else received, else created): the
    # date-range filter and date sort use it, and ``year`` is its year.
    doc_date: date | None = None
    # A digest of the row's columns and text file the entry was built from
    # (docsvc.documents.indexing); ``docsvc search check`` compares it to find stale entries.
    version: str = ""


#: Result orders: relevance (ties to the newest), or by the document's date.
SORTS = ("relevance", "newest", "oldest")
#: Facets computed when ``SearchQuery.facets`` is set, in display order.
FACET_FIELDS = ("kind", "year", "issuing_body", "doc_type", "agency_id")
#: Values listed per facet (the most frequent first).
FACET_SIZE = 20
#: Totals are exact up to this many matches, then "more than TOTAL_CAP"
#: (Elasticsearch's own default), unless ``SearchQuery.exact_total``.
TOTAL_CAP = 10_000


@dataclass(frozen=True)
class SearchQuery:
    text: str  # what the user typed
    kind: str | None = None
    year: int | None = None
    # None = no restriction; an empty set = the user may see nothing.
    agency_ids: frozenset[int] | None = None
    page: int = 1  # 1-based
    per_page: int = 20  # 1..100
    sort: str = "relevance"  # one of SORTS
    date_from: date | None = None  # doc_date >= date_from (inclusive)
    date_to: date | None = None  # doc_date <= date_to (inclusive)
    issuing_body: str | None = None  # exact value, as its facet shows it
    doc_type: str | None = None  # exact value, as its facet shows it
    agency_id: int | None = None  # narrow to one agency (always inside agency_ids)
    facets: bool = False  # compute SearchResult.facets
    exact_total: bool = False  # count every match instead of stopping at TOTAL_CAP


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
    all_words: bool = True  # False: the document lacks one of the query's words
    issuing_body: str | None = None
    doc_date: date | None = None


@dataclass(frozen=True)
class FacetCount:
    value: str | int
    count: int


@dataclass(frozen=True)
class SearchResult:
    # Every match (documents with every word, then those missing one), not
    # just this page; exact up to TOTAL_CAP unless the query asked otherwise.
    total: int
    hits: list[SearchHit]
    total_all_words: int = 0  # how many of ``total`` have every word (same cap)
    total_is_exact: bool = True  # False: there are more than ``total``
    # Per FACET_FIELDS name, the values with their document counts, most
    # frequent first (ties by value). Counted over the documents that have
    # every word, or over those missing one when none has every word, with
    # every filter of the query applied. Empty unless the query asked.
    facets: dict[str, list[FacetCount]] = field(default_factory=dict)


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
        """Make previous writes visible to search (Tantivy commits per batch: no-op)."""

    def close(self) -> None:
        """Release connections (the index object is not used afterwards)."""

    def rebuild(self) -> Rebuild:
        """Start building a fresh index beside the live one, or resume the
        build an interrupted run left. Searches keep using the live index;
        while the build runs, index() and delete() write to both, so nothing
        done meanwhile is lost when the new index goes live."""

    def versions(self) -> Iterable[tuple[str, str]]:
        """Every entry of the live index as (id, version), in any order,
        streamed (memory stays bounded at a million entries)."""


@runtime_checkable
class Rebuild(Protocol):
    #: The id of the last document a previous, interrupted build wrote
    #: (documents are added in id order), or None to start from the first.
    resume_after: str | None

    def add(self, docs: list[IndexedDocument]) -> None:
        """Write documents (ascending id order) into the new index and record
        the last id as the point to resume from."""

    def finish(self) -> None:
        """Make the new index the live one, atomically for searches, and
        remove the old one."""

    def abort(self) -> None:
        """Throw the new index away; the live one is untouched."""


def batches(docs: Iterable[IndexedDocument], max_docs: int, max_chars: int) -> Iterator[list[IndexedDocument]]:
    """The documents in lists of at most ``max_docs``, or fewer once their
    texts reach ``max_chars`` (memory stays bounded however long the texts
    are). Lazy: a list is read from ``docs`` only when it is asked for."""
    batch: list[IndexedDocument] = []
    chars = 0
    for doc in docs:
        batch.append(doc)
        chars += len(doc.text)
        if len(batch) >= max_docs or chars >= max_chars:
            yield batch
            batch, chars = [], 0
    if batch:
        yield batch


def created_at_key(value: datetime | None) -> str | None:
    """Canonical, sortable string for created_at, shared by both backends.

    Aware datetimes are converted to UTC; naive ones are taken to be UTC
    already (the service stores UTC). Fixed width (always microseconds) so
    that string order equals time order, and ES parses it as a date.
    """
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds")
