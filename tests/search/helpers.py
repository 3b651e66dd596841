"""What the search stories share: building documents, searching, and the
brute-force oracle of the two tiers (independent of every backend)."""

from __future__ import annotations

from collections.abc import Iterable

from search import IndexedDocument, SearchIndex, SearchQuery, SearchResult
from search.query import parse_query, tokenize


def add(index: SearchIndex, *docs: IndexedDocument) -> None:
    index.index(docs)
    index.refresh()


def search(index: SearchIndex, text: str, **options: object) -> SearchResult:
    return index.search(SearchQuery(text, **options))  # type: ignore[arg-type]


def ids(result: SearchResult) -> list[str]:
    return [hit.id for hit in result.hits]


def every_page(index: SearchIndex, text: str, per_page: int = 100, **options: object) -> list[str]:
    """Every matching id in result order, paging through the results."""
    found: list[str] = []
    page = 1
    while hits := ids(search(index, text, page=page, per_page=per_page, **options)):
        found += hits
        page += 1
    return found


def tiers(docs: Iterable[IndexedDocument], text: str) -> tuple[set[str], set[str]]:
    """The ids that hold every clause of the query, and those lacking exactly one.

    A clause occurs when its tokens stand consecutively in one searchable
    field; a one-clause query has no second tier.
    """
    clauses = parse_query(text).clauses

    def occurs(clause: tuple[str, ...], tokens: list[str]) -> bool:
        n = len(clause)
        return any(tuple(tokens[i : i + n]) == clause for i in range(len(tokens) - n + 1))

    first, second = set(), set()
    for d in docs:
        fields = [tokenize(f) for f in (d.title, d.text, d.number_symbol or "", d.issuing_body or "")]
        held = sum(any(occurs(c, tokens) for tokens in fields) for c in clauses)
        if held == len(clauses):
            first.add(d.id)
        elif len(clauses) > 1 and held == len(clauses) - 1:
            second.add(d.id)
    return first, second


def assert_tiers(found: list[str], first: set[str], second: set[str]) -> None:
    """``found`` (in result order) is the first tier, then the second."""
    assert len(found) == len(set(found)), "a document came twice"
    assert set(found[: len(first)]) == first
    assert set(found[len(first) :]) == second
