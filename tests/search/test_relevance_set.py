"""The graded relevance set (bench/relevance), checked as data and run on every backend.

A clerk types a query and reads the first page. What they check, and what
this holds each backend to on the 64 documents and 50 queries of the set:
the first hit is a document graded 2 (what they wanted), every document
graded 2 that the query can find at all is on that first page, and the page
as a whole ranks close to the best order the words allow (nDCG@10).

bench/relevance.py measures the same numbers and what each ranking rule
adds; this test only asks that they do not fall.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter

import pytest

from bench.relevance import GRADES, SET_DIR, K, load_set, matchable, ndcg, recall, run, summarize
from search import SearchIndex
from search.folding import fold
from search.query import tokenize

SET = load_set()

# The floor for the mean nDCG@10 over the set. Measured with the shipped
# rules: 0.922 (Tantivy); the best order of what each query can match (both
# tiers) scores 0.949, the rest being relevant documents that lack the
# words ("CCHC" for "cải cách hành chính", the chairman unnamed, a long
# query's words spread over other documents). Without the bonuses the set
# scores 0.86, without the second tier 0.79: the floor fails if either goes.
NDCG_FLOOR = 0.90

# Queries whose first hit is not graded 2 with the shipped boosts, and why.
# The test fails when this list is wrong either way: a miss fixed by tuning
# must be removed from it.
KNOWN_MISSES = {
    # "Chủ tịch" and "người dân" in a title outweigh "dân chủ" standing together
    # in a body, even with the pair and exact-pair bonuses: title-weighted BM25.
    "q48": "dân chủ",
    # Unaccented, the two spellings are the same words: nothing can tell them apart.
    "q50": "khai tu",
    # "kiến nghị đơn giản hóa" (graded 1) in a title-weighted document first.
    "q45": "kiến nghị",
}

# Documents graded 2 that their query can find but ranks past page one, and why.
# None since search.ranking.MAX_PAIRS: q38's office report (qt-08c), 11th while
# all 15 pairs of the long query counted, is 9th.
KNOWN_OFF_PAGE: dict[str, list[str]] = {}


# ------------------------------------------------------------------ data ---


def test_every_document_is_a_passage_of_the_samples(sample_texts: dict[str, str]) -> None:
    articles = {f"{stem}.txt": _spaces(text) for stem, text in sample_texts.items()}
    for record in _records():
        article = record["source"].split(" paragraph ")[0]
        assert _spaces(record["text"]) in articles[article], f"{record['id']}: text is not a passage of {article}"


def test_document_and_query_ids_are_unique() -> None:
    for ids in ([d.id for d in SET.documents], [q.id for q in SET.queries]):
        assert [i for i, n in Counter(ids).items() if n > 1] == []


def test_every_query_grades_every_document_once_from_0_to_2() -> None:
    with (SET_DIR / "qrels.tsv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    pairs = Counter((r["query"], r["document"]) for r in rows)
    expected = {(q.id, d.id) for q in SET.queries for d in SET.documents}
    assert set(pairs) == expected, "qrels.tsv must hold exactly every (query, document) pair"
    assert max(pairs.values()) == 1, "a pair graded twice"
    assert {int(r["grade"]) for r in rows} <= set(GRADES)


def test_every_query_has_a_document_the_clerk_wants() -> None:
    assert [q.id for q in SET.queries if 2 not in q.grades.values()] == []


def test_the_set_holds_what_clerks_type() -> None:
    assert len(SET.documents) >= 60 and len(SET.queries) >= 35
    texts = [q.text for q in SET.queries]
    assert any(fold(t) == t.lower() for t in texts) and any(fold(t) != t.lower() for t in texts), "diacritics or not"
    assert any(re.search(r"\d+/\S*[A-ZĐ]", t) for t in texts), "a number and symbol"
    classes = Counter(q.cls for q in SET.queries)
    for cls in ("phrase", "unaccented", "name", "place", "number_symbol", "ambiguous", "missing_word", "long_unaccented"):
        assert classes[cls] >= 1, cls
    words = {d.id: {t for f in (d.title, d.text, d.number_symbol or "", d.issuing_body or "") for t in tokenize(f)}
             for d in SET.documents}
    for q in SET.queries:
        if q.cls == "missing_word":  # the document the clerk wants lacks a word they typed
            wanted = [d for d, g in q.grades.items() if g == 2]
            assert all(set(tokenize(q.text)) - words[d] for d in wanted), q.id


# --------------------------------------------------------------- metrics ---


def test_ndcg_is_one_for_the_best_order_and_less_for_any_other() -> None:
    grades = {"a": 2, "b": 1, "c": 0, "d": 2}
    assert ndcg(["a", "d", "b"], grades) == pytest.approx(1.0)
    assert ndcg(["b", "a", "d"], grades) < ndcg(["a", "b", "d"], grades) < 1.0
    assert ndcg(["c"], grades) == 0.0


def test_recall_counts_partly_relevant_documents_and_caps_at_the_page() -> None:
    grades = {f"r{i}": 1 for i in range(12)} | {"x": 0}
    assert recall([f"r{i}" for i in range(10)], grades) == 1.0  # 10 of 12 fill a page of 10
    assert recall(["r0", "x"], {"r0": 2, "r1": 1, "x": 0}) == 0.5


# --------------------------------------------------------------- ranking ---


@pytest.fixture
def scores(index: SearchIndex) -> list[dict]:
    index.index(SET.documents)
    index.refresh()
    return run(index, SET)


def test_a_clerk_finds_what_they_want_first(scores: list[dict]) -> None:
    missed = {s["query"]: s["text"] for s in scores if not s["top"] or s["top"][0][1] != 2}
    tops = {s["query"]: s["top"][:3] for s in scores if s["query"] in missed.keys() ^ KNOWN_MISSES.keys()}
    assert missed == KNOWN_MISSES, f"first hit not graded 2 (top 3 of the queries that differ: {tops})"


def test_every_wanted_document_a_query_can_find_is_on_page_one(scores: list[dict]) -> None:
    off_page = {}
    for query, s in zip(SET.queries, scores, strict=True):
        findable = set(matchable(SET.documents, query.text))
        wanted = {d for d, g in query.grades.items() if g == 2} & findable
        shown = {d for d, _ in s["top"]}
        if len(wanted) <= K and not wanted <= shown:
            off_page[query.id] = sorted(wanted - shown)
    assert off_page == KNOWN_OFF_PAGE, f"documents graded 2 that the query matches are not in the top {K}"


def test_the_first_page_ranks_close_to_the_best_order_the_words_allow(scores: list[dict]) -> None:
    overall = summarize(scores)["all"]
    worst = sorted((round(s["ndcg"], 3), s["query"], s["text"]) for s in scores)[:5]
    assert overall["ndcg"] >= NDCG_FLOOR, f"nDCG@{K} {overall['ndcg']:.3f}; worst queries {worst}"


def _spaces(text: str) -> str:
    return " ".join(text.split())


def _records() -> list[dict]:
    lines = (SET_DIR / "documents.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]
