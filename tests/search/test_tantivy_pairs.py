"""The Tantivy backend looks the proximity bonus up as one term of its
``pairs`` field (two adjacent folded words joined), not as a phrase that
reads positions (search.tantivy_index._bonuses). This holds it, page after
page, to the order and scores of the query that states the rule directly:
each pair a phrase on any folded field.

The documents are made so that the bonuses reorder the tier: words of the
query adjacent or apart, spelt exactly or without diacritics, in fields of
different weight, many tied (the id breaks the ties, across pages too).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tantivy import Occur, Order, Query

import search.tantivy_index as backend
from search import IndexedDocument, SearchQuery, ranking
from search.query import validate

WORDS = ["cải", "cách", "hành", "chính", "một", "cửa", "thủ", "tục", "hồ", "sơ"]
WORDS += ["cai", "cach", "hanh", "chinh"]  # the same words unaccented
QUERIES = [
    "cải cách hành chính",
    "cai cach hanh chinh",
    "thủ tục một cửa",
    "hồ sơ cải cách",
    "hành chính thủ tục hồ sơ",
]


def _documents(count: int) -> list[IndexedDocument]:
    dice = random.Random(10)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    return [
        IndexedDocument(
            id=f"doc-{n:04d}",
            agency_id=1,
            kind="upload",
            title=" ".join(dice.choices(WORDS, k=dice.randint(1, 4))),
            text=" ".join(dice.choices(WORDS, k=dice.randint(3, 12))),
            # Few distinct creation times: the id must break many ties.
            created_at=start + timedelta(days=dice.randint(0, 3)),
        )
        for n in range(count)
    ]


def _phrase_order(index: backend.TantivyIndex, query: SearchQuery) -> list[tuple[str, float]]:
    """Both tiers as one query per tier with the bonuses as phrases (should clauses) would rank them."""
    plan = ranking.plan(query.text, validate(query))
    searcher = index._searcher()
    def together(pair: tuple[str, str]) -> Query:
        return Query.boolean_query(
            [(Occur.Should, Query.phrase_query(backend._SCHEMA, name, list(pair))) for name in backend._FOLDED]
        )

    bonuses = [
        (Occur.Should, Query.const_score_query(together(pair), ranking.PROXIMITY_BOOST)) for pair in plan.pairs
    ] + [
        (Occur.Should, Query.const_score_query(Query.term_query(backend._SCHEMA, "exact", word), ranking.EXACT_BOOST))
        for word in plan.exact
    ]
    order: list[tuple[str, float]] = []
    clauses = [backend._clause(tokens) for tokens in plan.clauses]  # over every field, as the rule says
    for tier in backend._tiers(plan, query, clauses):
        ranked = Query.boolean_query([(Occur.Must, tier.matches), *bonuses])
        hits = searcher.search(ranked, 10_000, count=False, order=Order.Desc).hits
        created = searcher.fast_field_values("created", [address for _, address in hits])
        rows = [
            (-score, -stamp, backend._load(searcher, address)["id"], score)
            for (score, address), stamp in zip(hits, created, strict=True)
        ]
        order += [(doc_id, score) for _, _, doc_id, score in sorted(rows)]
    return order


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> backend.TantivyIndex:
    built = backend.TantivyIndex(Path(tmp_path_factory.mktemp("pairs")) / "idx")
    built.ensure_ready()
    built.index(_documents(600))
    return built


@pytest.mark.parametrize("text", QUERIES)
def test_every_page_ranks_as_the_pair_phrases_would(
    index: backend.TantivyIndex, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    # The pairs spelt as typed share the field, and the exact field keeps no
    # positions to state them as phrases: test_ranking holds that rule.
    monkeypatch.setattr(ranking, "EXACT_PAIR_BOOST", 0.0)
    expected = _phrase_order(index, SearchQuery(text))
    assert len(expected) > 100  # the bonuses have a tier to reorder
    found: list[tuple[str, float]] = []
    for page in range(1, len(expected) // 20 + 2):
        result = index.search(SearchQuery(text, page=page, per_page=20))
        found += [(hit.id, hit.score) for hit in result.hits]
    assert found == expected


def test_the_bonuses_decide_within_a_page_of_ties(index: backend.TantivyIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    # With the bonuses off the ranking differs: this story is one they decide.
    expected = _phrase_order(index, SearchQuery(QUERIES[0]))
    monkeypatch.setattr(ranking, "PROXIMITY_BOOST", 0.0)
    monkeypatch.setattr(ranking, "EXACT_BOOST", 0.0)
    plain = [(hit.id, hit.score) for hit in index.search(SearchQuery(QUERIES[0], per_page=50)).hits]
    assert plain != expected[:50]
