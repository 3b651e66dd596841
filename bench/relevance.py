#!/usr/bin/env python3
"""Relevance on a graded set: nDCG@10 and recall@10 of each search backend,
and what each ranking rule of search.ranking does to them.

    set -a; . .cache/services.env; set +a     # DOCSVC_TEST_ELASTICSEARCH_URL
    PYTHONPATH=. .venv/bin/python bench/relevance.py [--backends tantivy,elasticsearch] [--es-url URL]
                                                     [--variants all] [--try PROXIMITY_BOOST=3,title=2 ...]
                                                     [--per-query] [--json]

The set (bench/relevance/, see its README): 64 paragraphs of the sample
articles as documents with register fields, 50 queries a clerk types, and a
grade 0–2 for every (query, document) pair, given by reading.

For each backend a fresh index is built with search.open_index (Tantivy in a
temporary directory; Elasticsearch at --es-url or DOCSVC_TEST_ELASTICSEARCH_URL
under a unique name, dropped afterwards) and every query runs as
SearchQuery(text, per_page=10). Then the same queries run again with each
rule switched off in turn, in the same process and on the same index: the
backends read the boosts from search.ranking at query time, so setting
PROXIMITY_BOOST, EXACT_BOOST or EXACT_PAIR_BOOST to 0, or every FIELD_WEIGHTS value to 1.0
turns the rule off without rebuilding anything. "no second tier" drops the
hits that lack a word (they all come after those that have every word, so
what is left is what a one-tier search returns). --try runs other values
of the same names, to compare proposed boosts on the same index.

Metrics, per query, then averaged overall and per query class:

  nDCG@10    gain 2^grade − 1 (0, 1, 3), discount log2(rank + 1); the ideal
             order is every graded document of the set by grade
  recall@10  graded ≥ 1 documents in the top 10 ÷ min(10, graded ≥ 1 in the set)
  reachable  the same two for the best order of the documents the query can
             match at all (every clause, or as many as search.ranking's second
             tier asks): what no ranking can fix shows as the gap to 1.0, what
             ranking loses as the gap between reachable and measured

Output: markdown tables; the JSON (every query's top 10 with grades, per
variant and backend) in bench/results/relevance-<start>.json. --json prints
that JSON instead of the tables. Relevance is deterministic: one run is the
measurement.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from search import IndexedDocument, SearchIndex, SearchQuery, open_index, ranking  # noqa: E402
from search.query import parse_query, tokenize  # noqa: E402

SET_DIR = ROOT / "bench" / "relevance"
RESULTS = ROOT / "bench" / "results"
ES_URL_ENV = "DOCSVC_TEST_ELASTICSEARCH_URL"
K = 10
BACKENDS = ("tantivy", "elasticsearch")
GRADES = (0, 1, 2)
# The fields a query word may match in (search.query), as the oracle reads them.
SEARCHED_FIELDS = ("title", "number_symbol", "issuing_body", "text")


# --- the set -----------------------------------------------------------------------


@dataclass(frozen=True)
class GradedQuery:
    id: str
    text: str
    cls: str  # the query class the tables group by
    intent: str  # what the clerk wants, as the grader read it
    grades: dict[str, int]  # document id -> grade, every document of the set


@dataclass(frozen=True)
class RelevanceSet:
    documents: list[IndexedDocument]
    queries: list[GradedQuery]


def load_set(directory: Path = SET_DIR) -> RelevanceSet:
    documents = [_document(json.loads(line)) for line in _lines(directory / "documents.jsonl")]
    grades: dict[str, dict[str, int]] = {}
    with (directory / "qrels.tsv").open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            grades.setdefault(row["query"], {})[row["document"]] = int(row["grade"])
    queries = []
    for line in _lines(directory / "queries.jsonl"):
        q = json.loads(line)
        queries.append(GradedQuery(q["id"], q["text"], q["class"], q["intent"], grades.get(q["id"], {})))
    return RelevanceSet(documents, queries)


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _document(record: dict) -> IndexedDocument:
    doc_date = date.fromisoformat(record["doc_date"])
    return IndexedDocument(
        id=record["id"],
        agency_id=record["agency_id"],
        kind=record["kind"],
        title=record["title"],
        text=record["text"],
        number_symbol=record["number_symbol"],
        issuing_body=record["issuing_body"],
        doc_type=record["doc_type"],
        year=doc_date.year,
        issued_date=doc_date,
        doc_date=doc_date,
        # Registered the morning of the date it bears; ties in score go to the newest.
        created_at=datetime.combine(doc_date, time(9, 0), tzinfo=UTC),
        version=record["doc_date"],
    )


# --- metrics -----------------------------------------------------------------------


def _dcg(grades: Sequence[int]) -> float:
    return sum((2**g - 1) / math.log2(rank + 2) for rank, g in enumerate(grades))


def ndcg(ranked: Sequence[str], grades: dict[str, int], k: int = K) -> float:
    ideal = _dcg(sorted(grades.values(), reverse=True)[:k])
    return _dcg([grades.get(d, 0) for d in ranked[:k]]) / ideal if ideal else 0.0


def recall(ranked: Sequence[str], grades: dict[str, int], k: int = K) -> float:
    relevant = {d for d, g in grades.items() if g >= 1}
    return len(relevant.intersection(ranked[:k])) / min(k, len(relevant)) if relevant else 0.0


def matchable(documents: Sequence[IndexedDocument], text: str) -> list[str]:
    """Ids the contract lets ``text`` find: every clause, or as many as the second
    tier of search.ranking asks, a clause being consecutive tokens of one field."""
    clauses = parse_query(text).clauses
    needed = ranking.relaxed_minimum(len(clauses)) or 1
    found = []
    for doc in documents:
        fields = [tokenize(getattr(doc, name) or "") for name in SEARCHED_FIELDS]
        held = sum(any(_holds(tokens, clause) for tokens in fields) for clause in clauses)
        if held >= needed:
            found.append(doc.id)
    return found


def _holds(tokens: list[str], clause: tuple[str, ...]) -> bool:
    n = len(clause)
    return any(tuple(tokens[i : i + n]) == clause for i in range(len(tokens) - n + 1))


def best_order(ids: Sequence[str], grades: dict[str, int]) -> list[str]:
    return sorted(ids, key=lambda d: -grades.get(d, 0))


def score_query(query: GradedQuery, ranked: list[str], reachable: list[str]) -> dict:
    best = best_order(reachable, query.grades)
    return {
        "query": query.id,
        "text": query.text,
        "class": query.cls,
        "ndcg": ndcg(ranked, query.grades),
        "recall": recall(ranked, query.grades),
        "reachable_ndcg": ndcg(best, query.grades),
        "reachable_recall": recall(best, query.grades),
        "top": [[d, query.grades.get(d, 0)] for d in ranked[:K]],
        "unreachable_relevant": sorted(d for d, g in query.grades.items() if g >= 1 and d not in reachable),
    }


def summarize(scores: list[dict]) -> dict:
    """Means overall and per query class."""
    groups: dict[str, list[dict]] = {"all": scores}
    for s in scores:
        groups.setdefault(s["class"], []).append(s)
    keys = ("ndcg", "recall", "reachable_ndcg", "reachable_recall")
    return {name: {"queries": len(g), **{k: sum(s[k] for s in g) / len(g) for k in keys}} for name, g in groups.items()}


# --- the rules ---------------------------------------------------------------------

@dataclass(frozen=True)
class Variant:
    """One way to run the queries: ranking rules changed, or the second tier left out."""

    boosts: dict[str, float | int | bool | None] = field(default_factory=dict)  # search.ranking name -> value
    weights: dict[str, float] = field(default_factory=dict)  # field -> weight in ranking.FIELD_WEIGHTS
    second_tier: bool = True  # False: hits that lack a word are dropped, as a one-tier search returns


FLAT = {name: 1.0 for name in ranking.FIELD_WEIGHTS}
BOOSTS = ("PROXIMITY_BOOST", "EXACT_BOOST", "EXACT_PAIR_BOOST")  # the names in search.ranking
NO_BONUS = dict.fromkeys(BOOSTS, 0.0)
#: The ablations: the plan as shipped, then each rule switched off in turn.
VARIANTS: dict[str, Variant] = {
    "all rules": Variant(),
    "no proximity": Variant(boosts={"PROXIMITY_BOOST": 0.0}),
    "no exact spelling": Variant(boosts={"EXACT_BOOST": 0.0}),
    "no exact pair": Variant(boosts={"EXACT_PAIR_BOOST": 0.0}),
    "no bonus": Variant(boosts=NO_BONUS),
    "flat field weights": Variant(weights=FLAT),
    "no second tier": Variant(second_tier=False),
    # The bonus terms before MAX_PAIRS and before the exact pairs carried their words' bonus.
    "bonus terms uncapped": Variant(boosts={"MAX_PAIRS": None, "EXACT_WORDS_IN_PAIRS": True}),
    "no rule": Variant(boosts=NO_BONUS, weights=FLAT, second_tier=False),
}


def parse_variant(spec: str) -> Variant:
    """``PROXIMITY_BOOST=3,title=2,MAX_PAIRS=10``: boosts, the pair bound (``None``: no bound) and
    EXACT_WORDS_IN_PAIRS (``True``/``False``) by their search.ranking name, weights by field."""
    boosts: dict[str, float | int | bool | None] = {}
    weights = {}
    for item in filter(None, spec.split(",")):
        name, _, value = item.partition("=")
        if name in BOOSTS:
            boosts[name] = float(value)
        elif name == "MAX_PAIRS":
            boosts[name] = None if value == "None" else int(value)
        elif name == "EXACT_WORDS_IN_PAIRS":
            boosts[name] = value == "True"
        elif name in ranking.FIELD_WEIGHTS:
            weights[name] = float(value)
        else:
            raise ValueError(f"{name!r} is neither a rule value of search.ranking nor a field of FIELD_WEIGHTS")
    return Variant(boosts=boosts, weights=weights)


@contextlib.contextmanager
def rules(variant: Variant) -> Iterator[None]:
    """Set the variant's boosts and weights in search.ranking for the duration.

    The weights dict is changed in place, so a backend holding a reference to
    it sees the change as surely as one reading ``ranking.FIELD_WEIGHTS``.
    """
    saved_boosts = {name: getattr(ranking, name) for name in variant.boosts}
    saved_weights = dict(ranking.FIELD_WEIGHTS)
    try:
        for name, value in variant.boosts.items():
            setattr(ranking, name, value)
        ranking.FIELD_WEIGHTS.update(variant.weights)
        yield
    finally:
        for name, value in saved_boosts.items():
            setattr(ranking, name, value)
        ranking.FIELD_WEIGHTS.update(saved_weights)


def run(index: SearchIndex, graded: RelevanceSet, variant: Variant = VARIANTS["all rules"]) -> list[dict]:
    """Every query on an index holding the set's documents, scored."""
    scores = []
    with rules(variant):
        for query in graded.queries:
            hits = index.search(SearchQuery(query.text, per_page=K)).hits
            ranked = [hit.id for hit in hits if variant.second_tier or hit.all_words]
            scores.append(score_query(query, ranked, matchable(graded.documents, query.text)))
    return scores


# --- the backends ------------------------------------------------------------------


@contextlib.contextmanager
def backend_index(backend: str, es_url: str | None) -> Iterator[SearchIndex]:
    """A fresh, empty index of ``backend``, removed afterwards."""
    if backend == "elasticsearch":
        if not es_url:
            raise SystemExit(f"Elasticsearch needs --es-url or {ES_URL_ENV} (set -a; . .cache/services.env; set +a)")
        name = f"docsvc-relevance-{uuid.uuid4().hex[:12]}"  # the node is shared: never reuse a name
        index = open_index({"search_backend": "elasticsearch", "elasticsearch_url": es_url, "elasticsearch_index": name})
        try:
            index.ensure_ready()
            yield index
        finally:
            index.drop()  # type: ignore[attr-defined]
            index.close()
        return
    workdir = Path(tempfile.mkdtemp(prefix=f"docsvc-relevance-{backend}-"))
    index = open_index({"search_backend": backend, f"search_{backend}_path": str(workdir / "index")})
    try:
        index.ensure_ready()
        yield index
    finally:
        index.close()
        shutil.rmtree(workdir, ignore_errors=True)


def measure(backend: str, graded: RelevanceSet, variants: dict[str, Variant], es_url: str | None) -> dict[str, list[dict]]:
    with backend_index(backend, es_url) as index:
        index.index(graded.documents)
        index.refresh()
        assert index.count() == len(graded.documents), f"{backend} holds {index.count()} documents"
        return {name: run(index, graded, variant) for name, variant in variants.items()}


# --- report ------------------------------------------------------------------------


def report(results: dict[str, dict[str, list[dict]]], per_query: bool) -> None:
    backends = list(results)
    variants = list(next(iter(results.values())))
    summary = {b: {v: summarize(s) for v, s in results[b].items()} for b in backends}
    first = summary[backends[0]][variants[0]]["all"]
    print(f"\nReachable with the two tiers (no ranking does better): nDCG@10 {first['reachable_ndcg']:.3f}, "
          f"recall@10 {first['reachable_recall']:.3f}\n")
    print("| rules | " + " | ".join(f"{b} nDCG@10 | {b} recall@10" for b in backends) + " |")
    print("| --- |" + " --- | --- |" * len(backends))
    for v in variants:
        cells = " | ".join(f"{summary[b][v]['all']['ndcg']:.3f} | {summary[b][v]['all']['recall']:.3f}" for b in backends)
        print(f"| {v} | {cells} |")
    print("\nBy query class, all rules (nDCG@10 / recall@10; reachable nDCG@10 / recall@10):\n")
    print("| class | queries | " + " | ".join(backends) + " | reachable |")
    print("| --- | --- |" + " --- |" * (len(backends) + 1))
    classes = summary[backends[0]][variants[0]]
    for cls, s in classes.items():
        cells = " | ".join(f"{summary[b][variants[0]][cls]['ndcg']:.3f} / {summary[b][variants[0]][cls]['recall']:.3f}"
                           for b in backends)
        print(f"| {cls} | {s['queries']} | {cells} | {s['reachable_ndcg']:.3f} / {s['reachable_recall']:.3f} |")
    for b in backends:
        _report_misses(b, results[b][variants[0]], per_query)


def _report_misses(backend: str, scores: list[dict], per_query: bool) -> None:
    """Queries whose first hit is not graded 2, or that rank below what they could reach."""
    shown = [s for s in scores if per_query or _missed(s)]
    print(f"\n{backend}: " + ("every query" if per_query else "queries below their reachable score or with a first "
                                                             "hit not graded 2") + f" ({len(shown)})\n")
    if not shown:
        return
    print("| query | text | nDCG@10 | reachable | recall@10 | reachable | top 10 (id:grade) | relevant, unreachable |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for s in shown:
        top = " ".join(f"{d}:{g}" for d, g in s["top"])
        print(f"| {s['query']} | {s['text']} | {s['ndcg']:.3f} | {s['reachable_ndcg']:.3f} | {s['recall']:.2f} | "
              f"{s['reachable_recall']:.2f} | {top} | {' '.join(s['unreachable_relevant']) or '–'} |")


def _missed(score: dict) -> bool:
    first_grade = score["top"][0][1] if score["top"] else 0
    return first_grade < 2 or score["ndcg"] < score["reachable_ndcg"] - 1e-9 or score["recall"] < score["reachable_recall"]


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True).stdout.strip()
    except OSError:
        return ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backends", default=",".join(BACKENDS), help=f"comma-separated (default {','.join(BACKENDS)})")
    ap.add_argument("--es-url", default=os.environ.get(ES_URL_ENV), help=f"default ${ES_URL_ENV}")
    ap.add_argument("--variants", default="all", help=f"comma-separated of: {', '.join(VARIANTS)} (default all)")
    ap.add_argument("--try", dest="tries", action="append", default=[], metavar="RULES",
                    help="also run with these values, e.g. PROXIMITY_BOOST=3,EXACT_BOOST=2,title=2 (repeatable)")
    ap.add_argument("--per-query", action="store_true", help="list every query, not only the misses")
    ap.add_argument("--json", action="store_true", help="print the JSON instead of the tables")
    args = ap.parse_args()
    backends = [b for b in args.backends.split(",") if b]
    names = list(VARIANTS) if args.variants == "all" else [v for v in args.variants.split(",") if v]
    unknown = [v for v in names if v not in VARIANTS]
    if unknown or not names or not backends:
        ap.error(f"unknown or empty --variants {unknown}; choose from {list(VARIANTS)}")
    variants = {name: VARIANTS[name] for name in names}
    try:
        variants.update({f"try {spec}": parse_variant(spec) for spec in args.tries})
    except ValueError as exc:
        ap.error(str(exc))

    started = datetime.now(UTC)
    graded = load_set()
    results = {b: measure(b, graded, variants, args.es_url) for b in backends}
    payload = {
        "command": " ".join([os.path.relpath(sys.executable, ROOT), *sys.argv]),
        "started": started.isoformat(),
        "git_commit": _git_commit(),
        "ranking": {**{name: getattr(ranking, name) for name in (*BOOSTS, "MAX_PAIRS", "EXACT_WORDS_IN_PAIRS")},
                    "FIELD_WEIGHTS": ranking.FIELD_WEIGHTS},
        "variants": {name: vars(variant) for name, variant in variants.items()},
        "set": {"documents": len(graded.documents), "queries": len(graded.queries)},
        "summary": {b: {v: summarize(s) for v, s in r.items()} for b, r in results.items()},
        "queries": results,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"relevance-{started:%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(payload, indent=2, ensure_ascii=False))
    if args.json:
        print(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        print(f"{len(graded.documents)} documents, {len(graded.queries)} queries; commit {payload['git_commit']}; "
              f"ranking {payload['ranking']}")
        report(results, args.per_query)
        print(f"\n{out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
