"""Full-text search over documents: one protocol, two backends, one query contract.

    index = open_index(settings)      # SQLite FTS5 or Elasticsearch 8
    index.ensure_ready()
    index.index(docs); index.refresh()
    result = index.search(SearchQuery("quyet dinh", agency_ids=frozenset({3})))

Both backends fold Vietnamese diacritics (search.folding), parse queries with
the same parser (search.query) and are held to the same behaviour by
tests/search/test_conformance.py.

Decisions worth knowing:
* Matching is fully accent-insensitive and there is no accent-exact
  preference in ranking. It would help ambiguous folds (ban/bán/bạn), but it
  needs a second, unfolded index in both backends (twice the SQLite FTS size)
  and must rank identically on both; queries typed without accents, the common
  case, gain nothing. Future work: an unfolded ``*.exact`` subfield in ES plus
  an unfolded FTS table, used as an optional "should"/bonus.
* Punctuation always separates words ("TP.HCM" -> tp, hcm; "15/QĐ-UBND" ->
  15, qd, ubnd) and a query word containing punctuation is a phrase of its
  parts; see search.query.
* No query operators (OR, -, *, field:): user input is never search syntax.
* Highlights are computed in Python for SQLite (search.snippets) and by the ES
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
