"""Full-text search over documents: one protocol, two backends, one query contract.

    index = open_index(settings)      # Tantivy (embedded) or Elasticsearch 8
    index.ensure_ready()
    index.index(docs); index.refresh()
    result = index.search(SearchQuery("quyet dinh", agency_ids=frozenset({3})))

Both backends fold Vietnamese diacritics (search.folding), parse queries with
the same parser (search.query) and are held to the same behaviour by
tests/search/test_conformance.py.

Decisions worth knowing:
* Matching is fully accent-insensitive; ranking is not: search.ranking's
  plan adds a bonus for words standing together as typed and for the exact
  spelling of words typed with diacritics, weights title, number and issuing
  body above the body, and lets documents missing one word follow those with
  every word.
* Punctuation always separates words ("TP.HCM" -> tp, hcm; "15/QĐ-UBND" ->
  15, qd, ubnd) and a query word containing punctuation is a phrase of its
  parts; see search.query.
* No query operators (OR, -, *, field:): user input is never search syntax.
* Highlights are computed in Python for Tantivy (search.snippets) and by the ES
  unified highlighter for Elasticsearch; both are safe HTML with <mark>, but
  the exact snippet text differs between backends.
"""

from .factory import open_index
from .model import (
    FACET_FIELDS,
    SORTS,
    TOTAL_CAP,
    FacetCount,
    IndexedDocument,
    InvalidQuery,
    Rebuild,
    SearchHit,
    SearchIndex,
    SearchQuery,
    SearchResult,
)

__all__ = [
    "FACET_FIELDS",
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
    "open_index",
]
