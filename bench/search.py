#!/usr/bin/env python3
"""Search at a province's scale: docsvc's backends against the raw engines,
on the same documents, in the same run.

    scripts/services/up                       # Elasticsearch (for --backends elasticsearch)
    .venv/bin/python bench/search.py [--docs 100000] [--backends tantivy,elasticsearch]
                                     [--rounds 5] [--warmup 1] [--seed 10]
                                     [--docsvc-path rebuild|index] [--keep] [--reuse]

1. **Documents.** bench/search_corpus.py: --docs synthetic Decree 30
   documents from the real sentences of ../shared/samples, streamed (a
   million are never held in memory). The rate of generating them alone is
   measured first.
2. **Indexing**, per backend, twice from the same stream:
   - docsvc: ``search.open_index`` and the ``rebuild()`` path that
     ``docsvc reindex`` takes (batches of REBUILD_BATCH, ascending ids, then
     ``finish()``); ``--docsvc-path index`` uses ``index()`` instead;
   - raw Tantivy: an index built directly with the ``tantivy`` package, the
     same fields (folded by Tantivy's own ascii_fold, an unfolded ``exact``
     field, fast fields for filters, facets and order), the package's
     default writer, one commit;
   - raw Elasticsearch: ``helpers.bulk`` of the same sources into an index
     created from the same template (config/elasticsearch), without
     refreshes and replicas while it loads, as Elasticsearch advises.
   Both sides generate the documents as they go (the same cost on both
   sides, so the ratio leans towards 1); the seconds spent generating are
   reported beside. Progress: a line every PROGRESS_SECONDS.
3. **Queries.** The mix of search_corpus.query_mix (common words, the same
   without diacritics, full names, number symbols, an agency filter, long
   unaccented queries, a missing word, filters, date sort, facets), page 1
   and 20 hits each. --warmup rounds untimed, then --rounds rounds; in each,
   every query runs through docsvc and the raw engine in turn (the order
   alternates by round, so drift on the machine weighs on both), once with
   exact totals and once capped at TOTAL_CAP. The raw engines run the same
   semantics written against their own API (RawTantivy, RawElastic below,
   the query split and folded by RawPlan, not by docsvc's parser): first
   tier every clause, second tier all but one (half of five or more), the
   adjacent-pair, exact-spelling and exact-pair bonuses and field weights
   read from search.ranking,
   filters, ties to the newest, facets, highlights; each counted and ranked
   the cheapest way its engine allows. So docsvc/raw is docsvc's overhead,
   and the report checks the claim: per query, the totals and the first
   page's ids of both sides.
   ``--before RULES`` (names of search.ranking, as bench/relevance.py's
   --try: ``MAX_PAIRS=None,EXACT_WORDS_IN_PAIRS=True``) adds a third side:
   docsvc on the same index with those values set for each of its queries,
   in turn with the other two, so a rule change is measured old against new
   in one process (the CPU columns are what to compare on a shared machine).
4. **Output.** Progress lines while it runs, then markdown (also written to
   bench/results/search-<docs>-<start>.md) and the same name .json:
   indexing docs/s and the ratio, p50/p95 per query class and overall, the
   ratios docsvc/raw, the totals per query from both sides, the targets of
   issue 10. A query that fails is reported, not fatal.

Indexes live in bench/results/search-indexes/ (Tantivy) and on the shared
Elasticsearch node as ``docsvc-bench-search-<docs>-s<seed>-…``. They are
deleted at the end unless --keep; --reuse uses (and keeps) those that a
previous run built for the same documents, with that run's indexing figures
(a million documents take a while to index).
Benchmarks report; they assert nothing about time.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import sys
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
# Run as a script, Python puts bench/ first on sys.path, where this file would
# shadow the ``search`` package: the package first, bench/ only for its modules.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]
sys.path.insert(0, str(ROOT))
sys.path.append(str(BENCH))

from relevance import Variant, parse_variant, rules  # noqa: E402
from search_corpus import CORPUS_VERSION, BenchQuery, Corpus, query_mix  # noqa: E402

from docsvc.documents.indexing import REINDEX_BATCH
from search import FACET_FIELDS, TOTAL_CAP, IndexedDocument, SearchIndex, SearchQuery, open_index, ranking  # noqa: E402
from search.model import FACET_SIZE  # noqa: E402

RESULTS = BENCH / "results"
INDEXES = RESULTS / "search-indexes"
ES_PREFIX = "docsvc-bench-search"
REBUILD_BATCH = REINDEX_BATCH  # what docsvc reindex hands rebuild().add at a time
PROGRESS_SECONDS = 10.0
SNIPPET_CHARS = 200
SEARCHABLE = ("title", "number_symbol", "issuing_body", "text")
# How each query of the mix is asked, each mode timed on its own.
MODES: dict[str, dict[str, bool]] = {
    "exact": {"exact_total": True},
    "capped": {"exact_total": False},
    # What the search page sends (docsvc.documents.records.search from the page): facets with every query.
    "page": {"exact_total": False, "facets": True},
}
MODE_TITLES = {"exact": "exact totals", "capped": f"totals capped at {TOTAL_CAP:,}",
               "page": f"as the search page asks: facets, totals capped at {TOTAL_CAP:,}"}
# Facet values the raw engines fetch, so that ties at the FACET_SIZE cut are
# settled by value as the contract says (the fields hold a few dozen values).
FACET_FETCH = 200


@dataclass(frozen=True)
class Answer:
    """What a clerk reads of one search, comparable between docsvc and raw."""

    total: int
    total_all_words: int
    total_is_exact: bool
    ids: list[str]
    highlights: int  # hits that came with a highlight
    facets: dict[str, list[tuple[Any, int]]] = field(default_factory=dict)


def totals(in_first: int, in_both: int, exact_total: bool) -> tuple[int, int, bool]:
    """(total, total_all_words, total_is_exact) from the counts of the first tier and of both, capped
    as the contract says (a count past the cap may itself be a lower bound: only "more" matters)."""
    if exact_total or in_both <= TOTAL_CAP:
        return in_both, in_first, True
    return TOTAL_CAP, min(in_first, TOTAL_CAP), False


def sorted_facet(buckets: Iterable[tuple[Any, int]]) -> list[tuple[Any, int]]:
    return sorted(buckets, key=lambda b: (-b[1], b[0]))[:FACET_SIZE]


# --- the raw query plan: the ranking rules, parsed without docsvc ----------------------


RAW_TOKEN = re.compile(r"[^\W_]+")


def raw_fold(text: str) -> str:
    """Lowercase without diacritics (đ -> d): what Tantivy's ascii_fold and the ES template do."""
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def raw_tokens(text: str) -> list[str]:
    # Letters and digits; everything else separates (Tantivy's regex tokenizer below uses the same class).
    return RAW_TOKEN.findall(text)


@dataclass(frozen=True)
class RawPlan:
    """search.ranking's plan as a raw user would write it. No quoted phrases: the mix has none."""

    clauses: list[tuple[str, ...]]  # each whitespace-separated word, folded; punctuation inside makes a phrase
    pairs: list[tuple[str, str]]  # adjacent folded words not already inside one clause
    exact: list[str]  # words typed with diacritics, lowercased
    exact_pairs: list[tuple[str, str]]  # adjacent words as typed, lowercased, one at least with diacritics

    @property
    def minimum(self) -> int:
        """Clauses a second-tier document holds: all but one of up to four, half (rounded up) of more."""
        n = len(self.clauses)
        return n - 1 if n <= 4 else (n + 1) // 2

    @classmethod
    def of(cls, text: str) -> RawPlan:
        clauses: list[tuple[str, ...]] = []
        inside: set[tuple[str, str]] = set()
        for chunk in text.split():
            tokens = tuple(raw_tokens(raw_fold(chunk)))
            inside.update(pairwise(tokens))
            if tokens and tokens not in clauses:
                clauses.append(tokens)
        words = raw_tokens(raw_fold(text))
        pairs: list[tuple[str, str]] = []
        for pair in pairwise(words):
            if pair not in inside and pair not in pairs and pair[0] != pair[1]:
                pairs.append(pair)
        typed = raw_tokens(unicodedata.normalize("NFC", text).lower())
        exact_pairs = list(dict.fromkeys(p for p in pairwise(typed)
                                         if p[0] != p[1] and any(raw_fold(w) != w for w in p)))
        # A word an exact pair carries has no bonus of its own; at most MAX_PAIRS pairs of each kind.
        carried = set() if ranking.EXACT_WORDS_IN_PAIRS else {w for p in exact_pairs for w in p}
        exact = list(dict.fromkeys(w for w in typed if raw_fold(w) != w and w not in carried))
        return cls(clauses, pairs[:ranking.MAX_PAIRS], exact, exact_pairs[:ranking.MAX_PAIRS])


class RawEngine:
    """What both raw engines share: the plan, and "may see nothing" answered without a search."""

    def search(self, query: SearchQuery) -> Answer:
        if query.agency_ids is not None and not query.agency_ids:
            return Answer(0, 0, True, [], 0)
        return self.run(RawPlan.of(query.text), query)

    def run(self, plan: RawPlan, query: SearchQuery) -> Answer:
        raise NotImplementedError

    def close(self) -> None:
        pass


# --- raw Tantivy -----------------------------------------------------------------------


class RawTantivy(RawEngine):
    """The same documents and semantics written straight against the tantivy package."""

    FACETS = {"kind": "kind", "year": "year", "issuing_body": "issuing_body_raw", "doc_type": "doc_type",
              "agency_id": "agency_id"}

    def __init__(self, path: Path) -> None:
        import tantivy

        self.t = tantivy
        path.mkdir(parents=True, exist_ok=True)
        self.schema = self._schema()
        self.index = tantivy.Index(self.schema, path=str(path))
        letters = tantivy.Tokenizer.regex(RAW_TOKEN.pattern)
        self.index.register_tokenizer("folded", tantivy.TextAnalyzerBuilder(letters).filter(
            tantivy.Filter.lowercase()).filter(tantivy.Filter.ascii_fold()).build())
        self.index.register_tokenizer("exact", tantivy.TextAnalyzerBuilder(letters).filter(
            tantivy.Filter.lowercase()).build())

    def _schema(self):  # type: ignore[no-untyped-def]
        builder = self.t.SchemaBuilder()
        builder.add_text_field("id", stored=True, tokenizer_name="raw")
        for name in SEARCHABLE:
            builder.add_text_field(name, stored=True, tokenizer_name="folded")
        builder.add_text_field("exact", tokenizer_name="exact")  # every searchable field, unfolded
        for name in ("kind", "doc_type", "issuing_body_raw"):
            builder.add_text_field(name, stored=name != "issuing_body_raw", fast=True, tokenizer_name="raw")
        for name in ("agency_id", "year", "doc_day", "created"):
            builder.add_integer_field(name, stored=True, indexed=True, fast=True)
        return builder.build()

    def build(self, docs: Iterable[IndexedDocument]) -> int:
        writer = self.index.writer()  # the package's defaults: the raw engine's own bulk path
        writer.delete_all_documents()
        count = 0
        for doc in docs:
            writer.add_document(self._document(doc))
            count += 1
        writer.commit()
        writer.wait_merging_threads()
        self.index.reload()
        return count

    def _document(self, doc: IndexedDocument):  # type: ignore[no-untyped-def]
        values: dict[str, Any] = {
            "id": doc.id, "title": doc.title, "text": doc.text, "kind": doc.kind, "agency_id": doc.agency_id,
            "exact": "\n".join(v for v in (doc.title, doc.number_symbol, doc.issuing_body, doc.text) if v),
            "created": _micros(doc.created_at),
        }
        optional = {"number_symbol": doc.number_symbol, "issuing_body": doc.issuing_body,
                    "issuing_body_raw": doc.issuing_body, "doc_type": doc.doc_type, "year": doc.year,
                    "doc_day": doc.doc_date.toordinal() if doc.doc_date else None}
        values.update({k: v for k, v in optional.items() if v is not None})
        return self.t.Document(**values)

    def count(self) -> int:
        return self.index.searcher().num_docs

    # -- the query ----------------------------------------------------------------

    def run(self, plan: RawPlan, query: SearchQuery) -> Answer:
        """Each tier counted with its plain query, ranked with the bonuses added and no count
        (block-max WAND can skip); the second tier counted only while the total can be exact."""
        searcher = self.index.searcher()
        filters, bonuses = self._filters(query), self._bonuses(plan)
        tiers = [self._tier(plan.clauses, filters)]
        if len(plan.clauses) > 1:
            tiers.append(self._second_tier(plan, filters))
        wanted, counts, hits = query.per_page, [], []
        for tier in tiers:
            if len(counts) == 1 and not query.exact_total and counts[0] > TOTAL_CAP:
                counts.append(0)  # "more than TOTAL_CAP" whatever the second tier holds
            else:
                # A constant score: counting needs no BM25 (measured 2.2 ms instead of 5.2 at 20,000 documents).
                counts.append(searcher.search(self.t.Query.const_score_query(tier, 1.0), 1, count=True).count)
            if len(hits) < wanted and counts[-1]:
                ranked = self.t.Query.boolean_query([(self.t.Occur.Must, tier), *bonuses])
                hits += self._top(searcher, ranked, wanted - len(hits), query.sort)
        total, all_words, exact = totals(counts[0], sum(counts), query.exact_total)
        facets = {}
        if query.facets and total:
            facets = self._facets(searcher, tiers[0] if counts[0] else tiers[1])
        return Answer(total, all_words, exact, *self._hits(searcher, tiers[0], hits), facets=facets)

    def _field_match(self, name: str, tokens: tuple[str, ...]):  # type: ignore[no-untyped-def]
        if len(tokens) == 1:
            return self.t.Query.term_query(self.schema, name, tokens[0])
        return self.t.Query.phrase_query(self.schema, name, list(tokens))

    def _clause(self, tokens: tuple[str, ...]):  # type: ignore[no-untyped-def]
        # Each field's weighted BM25 summed, as docsvc's Tantivy backend does (Elasticsearch's
        # multi_match, below and in docsvc, takes the best field instead).
        Query, Should = self.t.Query, self.t.Occur.Should
        return Query.boolean_query([(Should, Query.boost_query(self._field_match(name, tokens),
                                                              ranking.FIELD_WEIGHTS[name])) for name in SEARCHABLE])

    def _bonuses(self, plan: RawPlan) -> list:
        Query, Should = self.t.Query, self.t.Occur.Should
        bonuses = [(Should, Query.const_score_query(Query.disjunction_max_query(
            [self._field_match(name, pair) for name in SEARCHABLE]), ranking.PROXIMITY_BOOST)) for pair in plan.pairs]
        bonuses += [(Should, Query.const_score_query(Query.term_query(self.schema, "exact", word),
                                                     ranking.EXACT_BOOST)) for word in plan.exact]
        bonuses += [(Should, Query.const_score_query(Query.phrase_query(self.schema, "exact", list(pair)),
                                                     ranking.EXACT_PAIR_BOOST)) for pair in plan.exact_pairs]
        return bonuses

    def _filters(self, query: SearchQuery) -> list:
        Query, t, schema = self.t.Query, self.t, self.schema
        found = []
        if query.agency_ids is not None:
            found.append(Query.term_set_query(schema, "agency_id", sorted(query.agency_ids)))
        for name, value in (("kind", query.kind), ("year", query.year), ("doc_type", query.doc_type),
                            ("issuing_body_raw", query.issuing_body), ("agency_id", query.agency_id)):
            if value is not None:
                found.append(Query.term_query(schema, name, value))
        if query.date_from or query.date_to:
            found.append(Query.range_query(schema, "doc_day", t.FieldType.Integer,
                                           query.date_from.toordinal() if query.date_from else -(2**62),
                                           query.date_to.toordinal() if query.date_to else 2**62))
        return [(t.Occur.Must, Query.const_score_query(f, 0.0)) for f in found]

    def _tier(self, clauses: list[tuple[str, ...]], filters: list):  # type: ignore[no-untyped-def]
        must = [(self.t.Occur.Must, self._clause(c)) for c in clauses]
        return self.t.Query.boolean_query(must + filters)

    def _second_tier(self, plan: RawPlan, filters: list):  # type: ignore[no-untyped-def]
        Query, Occur = self.t.Query, self.t.Occur
        some = Query.boolean_query([(Occur.Should, self._clause(c)) for c in plan.clauses],
                                   minimum_number_should_match=plan.minimum)
        every = Query.boolean_query([(Occur.Must, self._clause(c)) for c in plan.clauses])
        return Query.boolean_query([(Occur.Must, some), (Occur.MustNot, every), *filters])

    def _top(self, searcher, query, wanted: int, sort: str) -> list:  # type: ignore[no-untyped-def]
        """The first `wanted` addresses in the contract's order: score (or doc_date), then
        created_at, then id. Tantivy breaks ties by its own doc order, so the top is fetched until
        the tie at its edge is whole, and the ties are ordered here."""
        by_date = sort != "relevance"
        options: dict[str, Any] = {"order_by_field": "doc_day", "order": (
            self.t.Order.Desc if sort == "newest" else self.t.Order.Asc)} if by_date else {}
        limit = wanted + 1
        while True:
            hits = searcher.search(query, limit, count=False, **options).hits
            # Whole when the last hit fetched is past the tie at the edge, or nothing is left.
            if len(hits) < limit or hits[-1][0] != hits[wanted - 1][0]:
                break
            limit *= 4
        created = searcher.fast_field_values("created", [a for _, a in hits])
        ascending = sort == "oldest"
        keyed = [((k if ascending else -k), (c or 0) if ascending else -(c or 0), a)
                 for (k, a), c in zip(hits, created, strict=True)]
        keyed.sort(key=lambda e: e[:2])
        return self._ids_break_ties(searcher, keyed)[:wanted]

    def _ids_break_ties(self, searcher, keyed: list) -> list:  # type: ignore[no-untyped-def]
        out, i = [], 0
        while i < len(keyed):
            j = i + 1
            while j < len(keyed) and keyed[j][:2] == keyed[i][:2]:
                j += 1
            group = keyed[i:j]
            if len(group) > 1:  # the id decides: read it only when it must
                group = sorted(group, key=lambda e: searcher.doc(e[2]).get_first("id"))
            out += [e[2] for e in group]
            i = j
        return out

    def _hits(self, searcher, query, addresses: list) -> tuple[list[str], int]:  # type: ignore[no-untyped-def]
        snippets = self.t.SnippetGenerator.create(searcher, query, self.schema, "text")
        snippets.set_max_num_chars(SNIPPET_CHARS)
        ids, highlighted = [], 0
        for address in addresses:
            doc = searcher.doc(address)
            ids.append(doc.get_first("id"))
            highlighted += bool(snippets.snippet_from_doc(doc).to_html())
        return ids, highlighted

    def _facets(self, searcher, query) -> dict[str, list[tuple[Any, int]]]:  # type: ignore[no-untyped-def]
        aggs = {name: {"terms": {"field": path, "size": FACET_FETCH}} for name, path in self.FACETS.items()}
        found = searcher.aggregate(query, aggs)
        return {name: sorted_facet((b["key"], b["doc_count"]) for b in found[name]["buckets"]) for name in FACET_FIELDS}


def _micros(value: datetime | None) -> int:
    if value is None:
        return 0
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1_000_000)


# --- raw Elasticsearch ---------------------------------------------------------------------


class RawElastic(RawEngine):
    """The same documents and semantics as plain ``bool`` bodies, in one _msearch (both tiers)."""

    FACETS = {"kind": "kind", "year": "year", "issuing_body": "issuing_body.raw", "doc_type": "doc_type",
              "agency_id": "agency_id"}
    # The template copies every searchable field, unfolded, into this one field (copy_to).
    EXACT = "exact"
    # What a hit shows: the text's fragment, else the whole title.
    HIGHLIGHTED = ("title", "text")

    def __init__(self, client, name: str) -> None:  # type: ignore[no-untyped-def]
        from search.elastic import load_template

        self.client, self.name = client, name
        self.template = load_template(name)["template"]
        self.properties = self.template["mappings"]["properties"]
        if self.EXACT not in self.properties:  # a baseline without the bonus would rank otherwise, silently
            raise SystemExit(f"the Elasticsearch template has no {self.EXACT!r} field for the exact-spelling bonus")

    def build(self, docs: Iterable[IndexedDocument]) -> int:
        from elasticsearch import helpers

        self.client.indices.delete(index=self.name, ignore_unavailable=True)
        # As Elasticsearch's guide to indexing speed says for a bulk load: no refreshes and no
        # replica while it runs (fewer, larger segments: docsvc's rebuild() does the same).
        loading = {"index": {**self.template["settings"]["index"], "refresh_interval": "-1",
                             "auto_expand_replicas": "false", "number_of_replicas": 0}}
        self.client.indices.create(index=self.name, settings={**self.template["settings"], **loading},
                                   mappings=self.template["mappings"])
        actions = ({"_index": self.name, "_id": d.id, "_source": self._source(d)} for d in docs)
        count, _ = helpers.bulk(self.client, actions)  # the client's defaults: 500 a request
        replicas = self.template["settings"]["index"].get("auto_expand_replicas", "0-1")
        self.client.indices.put_settings(index=self.name, settings={"index": {
            "refresh_interval": None, "auto_expand_replicas": replicas}})
        self.client.indices.refresh(index=self.name)
        return count

    def _source(self, doc: IndexedDocument) -> dict[str, Any]:
        values = {"id": doc.id, "agency_id": doc.agency_id, "kind": doc.kind, "title": doc.title, "text": doc.text,
                  "number_symbol": doc.number_symbol, "issuing_body": doc.issuing_body, "year": doc.year,
                  "doc_type": doc.doc_type, "version": doc.version,
                  "issued_date": doc.issued_date.isoformat() if doc.issued_date else None,
                  "doc_date": doc.doc_date.isoformat() if doc.doc_date else None,
                  "created_at": doc.created_at.astimezone(UTC).isoformat() if doc.created_at else None}
        return {k: v for k, v in values.items() if k in self.properties}  # the mapping is strict

    def count(self) -> int:
        return int(self.client.count(index=self.name)["count"])

    def close(self) -> None:
        self.client.close()

    # -- the query ----------------------------------------------------------------

    def run(self, plan: RawPlan, query: SearchQuery) -> Answer:
        """The first tier's page and the count of both tiers in one _msearch; the second tier's
        page only when the first does not fill the page (or has no facets to show)."""
        clauses = [self._clause(c) for c in plan.clauses]
        bonuses, filters = self._bonuses(plan), self._filters(query)
        first_body = self._body({"must": clauses, "should": bonuses, "filter": filters}, plan, query,
                                query.per_page, query.facets)
        if len(clauses) == 1:
            first = self._search([first_body])[0]
            return self._answer(query, first, _es_total(first), None)
        relaxed = {"bool": {"should": clauses, "minimum_should_match": plan.minimum}}
        count_body = {"query": {"bool": {"filter": [relaxed, *filters]}}, "size": 0,
                      "track_total_hits": self._track(query)}
        first, both = self._search([first_body, count_body])
        in_first, in_both = _es_total(first), _es_total(both)
        wanted = query.per_page - len(first["hits"]["hits"])
        facets = query.facets and in_first == 0
        second = None
        if in_both > in_first and (wanted > 0 or facets):
            tier = {"must": [relaxed], "should": bonuses, "filter": filters}
            if in_first:  # with the first tier empty, the relaxed query is the second tier: nothing to exclude
                tier["must_not"] = [{"bool": {"filter": clauses}}]
            second = self._search([self._body(tier, plan, query, max(wanted, 0), facets)])[0]
        return self._answer(query, first, in_both, second)

    def _search(self, bodies: list[dict]) -> list[dict]:
        searches: list[dict] = []
        for body in bodies:
            searches += [{"index": self.name}, body]
        responses = self.client.msearch(searches=searches)["responses"]
        if failed := [r["error"] for r in responses if "error" in r]:  # _msearch answers 200 with errors inside
            raise RuntimeError(f"raw Elasticsearch query failed: {failed[0]}")
        return responses

    @staticmethod
    def _track(query: SearchQuery) -> bool | int:
        return True if query.exact_total else TOTAL_CAP + 1  # one more tells "exactly the cap" from "more"

    def _clause(self, tokens: tuple[str, ...]) -> dict:
        fields = [f"{n}^{ranking.FIELD_WEIGHTS[n]:g}" for n in SEARCHABLE]
        return {"multi_match": {"query": " ".join(tokens), "type": "phrase", "fields": fields}}

    def _bonuses(self, plan: RawPlan) -> list[dict]:
        # A boost of 0 sends no clause, as docsvc does (bench/relevance switches rules off so).
        # The two-word phrase on title and text is one term of their index_phrases subfield.
        bonuses = [{"constant_score": {"filter": {"multi_match": {"query": " ".join(p), "type": "phrase",
                                                                  "fields": list(SEARCHABLE)}},
                                       "boost": ranking.PROXIMITY_BOOST}} for p in plan.pairs if ranking.PROXIMITY_BOOST]
        bonuses += [{"constant_score": {"filter": {"term": {self.EXACT: w}}, "boost": ranking.EXACT_BOOST}}
                    for w in plan.exact if ranking.EXACT_BOOST]
        # The template's exact_pairs field holds each two adjacent exact words as one shingle.
        bonuses += [{"constant_score": {"filter": {"term": {"exact_pairs": " ".join(p)}}, "boost": ranking.EXACT_PAIR_BOOST}}
                    for p in plan.exact_pairs if ranking.EXACT_PAIR_BOOST]
        return bonuses

    def _filters(self, query: SearchQuery) -> list[dict]:
        found: list[dict] = []
        if query.agency_ids is not None:
            found.append({"terms": {"agency_id": sorted(query.agency_ids)}})
        for path, value in (("kind", query.kind), ("year", query.year), ("doc_type", query.doc_type),
                            ("issuing_body.raw", query.issuing_body), ("agency_id", query.agency_id)):
            if value is not None:
                found.append({"term": {path: value}})
        if query.date_from or query.date_to:
            bounds = {k: v.isoformat() for k, v in (("gte", query.date_from), ("lte", query.date_to)) if v}
            found.append({"range": {"doc_date": bounds}})
        return found

    def _marked(self, plan: RawPlan) -> dict:
        """The clauses as the highlighter marks them: a phrase as spans, because with index_phrases a
        two-word phrase query is one shingle term, which the highlighter cannot place in the text."""
        should = []
        for tokens in plan.clauses:
            if len(tokens) == 1:
                should.append({"multi_match": {"query": tokens[0], "fields": list(self.HIGHLIGHTED)}})
            else:
                should += [{"span_near": {"clauses": [{"span_term": {name: t}} for t in tokens], "slop": 0,
                                          "in_order": True}} for name in self.HIGHLIGHTED]
        return {"bool": {"should": should}}

    def _body(self, tier: dict, plan: RawPlan, query: SearchQuery, size: int, facets: bool) -> dict:
        body: dict[str, Any] = {
            # Sorted by _score first, so the hits carry it in their sort values: track_scores would score twice.
            "query": {"bool": tier}, "size": size, "sort": self._sort(query.sort),
            "track_total_hits": self._track(query),
            "_source": ["id", "title", "kind", "year", "number_symbol", "agency_id", "issuing_body", "doc_date"],
            # The words marked are the clauses': a bonus phrase would only make the highlighter work more.
            "highlight": {"fields": {"text": {"fragment_size": SNIPPET_CHARS, "number_of_fragments": 1,
                                              "no_match_size": SNIPPET_CHARS},
                                     "title": {"number_of_fragments": 0}},
                          "highlight_query": self._marked(plan),
                          "pre_tags": ["<mark>"], "post_tags": ["</mark>"], "encoder": "html"},
        }
        if facets:
            body["aggs"] = {name: {"terms": {"field": path, "size": FACET_FETCH,
                                             "order": [{"_count": "desc"}, {"_key": "asc"}]}}
                            for name, path in self.FACETS.items()}
        return body

    @staticmethod
    def _sort(sort: str) -> list[dict]:
        if sort == "relevance":
            return [{"_score": "desc"}, {"created_at": {"order": "desc", "missing": "_last"}}, {"id": "asc"}]
        order = "desc" if sort == "newest" else "asc"
        return [{"doc_date": {"order": order, "missing": "_last"}},
                {"created_at": {"order": order, "missing": "_last"}}, {"id": "asc"}]

    def _answer(self, query: SearchQuery, first: dict, in_both: int, second: dict | None) -> Answer:
        in_first = _es_total(first)
        total, all_words, is_exact = totals(in_first, in_both, query.exact_total)
        hits = first["hits"]["hits"] + (second["hits"]["hits"] if second else [])
        facets = {}
        if query.facets and total:
            chosen = first if in_first or second is None else second
            facets = {name: sorted_facet((b["key"], b["doc_count"]) for b in chosen["aggregations"][name]["buckets"])
                      for name in FACET_FIELDS}
        return Answer(total, all_words, is_exact, [h["_source"]["id"] for h in hits],
                      sum(1 for h in hits if h.get("highlight")), facets)


def _es_total(response: dict) -> int:
    return int(response["hits"]["total"]["value"])


# --- docsvc ---------------------------------------------------------------------------------


class Docsvc:
    """docsvc's backend, answering in the same shape as the raw engines."""

    def __init__(self, index: SearchIndex) -> None:
        self.index = index
        index.ensure_ready()  # a reused index is searched without a build first

    def build(self, docs: Iterable[IndexedDocument], path: str = "rebuild") -> int:
        if path == "index":
            return self._index_in_batches(docs)
        build = self.index.rebuild()
        if build.resume_after is not None:  # a run interrupted with --keep: start over, the figures stay honest
            build.abort()
            build = self.index.rebuild()
        count, batch = 0, []
        for doc in docs:
            batch.append(doc)
            if len(batch) == REBUILD_BATCH:
                build.add(batch)
                count, batch = count + len(batch), []
        if batch:
            build.add(batch)
            count += len(batch)
        build.finish()
        self.index.refresh()
        return count

    def _index_in_batches(self, docs: Iterable[IndexedDocument]) -> int:
        self.index.clear()
        counter = _Counted(docs)
        self.index.index(counter)
        self.index.refresh()
        return counter.count

    def search(self, query: SearchQuery) -> Answer:
        result = self.index.search(query)
        return Answer(result.total, result.total_all_words, result.total_is_exact, [h.id for h in result.hits],
                      sum(1 for h in result.hits if h.highlight),
                      {name: [(f.value, f.count) for f in values] for name, values in result.facets.items()})

    def count(self) -> int:
        return self.index.count()

    def close(self) -> None:
        self.index.close()


class WithRules:
    """docsvc's engine searched with other values of search.ranking (``--before``), the same index."""

    def __init__(self, engine: Docsvc, variant: Variant) -> None:
        self.engine, self.variant = engine, variant

    def search(self, query: SearchQuery) -> Answer:
        with rules(self.variant):
            return self.engine.search(query)

    def close(self) -> None:
        pass  # the engine is docsvc's own side, closed there


class _Counted:
    def __init__(self, docs: Iterable[IndexedDocument]) -> None:
        self.docs, self.count = docs, 0

    def __iter__(self) -> Iterator[IndexedDocument]:
        for doc in self.docs:
            self.count += 1
            yield doc


# --- where the indexes live ---------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """One index of the run: docsvc's or the raw engine's, on one backend."""

    backend: str
    side: str  # "docsvc" | "raw"
    docs: int
    seed: int
    where: Path = INDEXES  # Tantivy's directories and every index's marker
    prefix: str = ES_PREFIX  # of the Elasticsearch index names

    @property
    def name(self) -> str:
        return f"{self.prefix}-{self.docs}-s{self.seed}-{self.side}"

    @property
    def path(self) -> Path:
        return self.where / f"tantivy-{self.docs}-s{self.seed}-{self.side}"

    @property
    def marker(self) -> Path:
        """What built the index and how fast: --reuse trusts an index only beside this."""
        return self.where / f"{self.backend}-{self.docs}-s{self.seed}-{self.side}.json"


def open_engine(place: Place, es_url: str | None) -> Docsvc | RawTantivy | RawElastic:
    path = place.path
    if place.backend == "tantivy":
        if place.side == "raw":
            return RawTantivy(path)
        return Docsvc(open_index({"search_backend": "tantivy", "search_tantivy_path": str(path)}))
    return _open_elastic(place, es_url)


def _open_elastic(place: Place, es_url: str | None) -> Docsvc | RawElastic:
    if not es_url:
        raise SystemExit("DOCSVC_TEST_ELASTICSEARCH_URL is not set: start the services (scripts/services/up)")
    if place.side == "raw":
        from elasticsearch import Elasticsearch

        return RawElastic(Elasticsearch(es_url, request_timeout=120), place.name)
    return Docsvc(open_index({"search_backend": "elasticsearch", "elasticsearch_url": es_url,
                              "elasticsearch_index": place.name}))


def drop(place: Place, es_url: str | None) -> None:
    """Remove the index (every generation a rebuild left) and its marker."""
    place.marker.unlink(missing_ok=True)
    if place.backend == "tantivy":
        shutil.rmtree(place.path, ignore_errors=True)
        return
    from elasticsearch import Elasticsearch

    admin = Elasticsearch(es_url, request_timeout=60)
    try:
        # The prefix is this bench's own: a rebuild's generations, aliases and templates all carry it.
        admin.indices.delete(index=f"{place.name}*", ignore_unavailable=True, allow_no_indices=True,
                             expand_wildcards="all")
        templates = admin.options(ignore_status=404).indices.get_index_template(name=f"{place.name}*")
        for template in templates.get("index_templates", []):
            admin.indices.delete_index_template(name=template["name"])
    finally:
        admin.close()


# --- indexing --------------------------------------------------------------------------------


class Progress:
    """Counts the documents a stream hands out, times the generating, prints every PROGRESS_SECONDS."""

    def __init__(self, label: str, total: int, say: Callable[[str], None]) -> None:
        self.label, self.total, self.say = label, total, say
        self.count, self.generating = 0, 0.0

    def stream(self, docs: Iterator[IndexedDocument]) -> Iterator[IndexedDocument]:
        started = last = time.perf_counter()
        while True:
            before = time.perf_counter()
            doc = next(docs, None)
            self.generating += time.perf_counter() - before
            if doc is None:
                self.say(f"  {self.label}: all {self.count:,} handed over; the engine finishes (commit, merge, swap)")
                return
            self.count += 1
            if before - last >= PROGRESS_SECONDS:
                last = before
                rate = self.count / (before - started)
                self.say(f"  {self.label}: {self.count:,} / {self.total:,} documents, {rate:,.0f} docs/s")
            yield doc


def build_index(engine, place: Place, corpus: Corpus, docsvc_path: str, say: Callable[[str], None]) -> dict:
    progress = Progress(f"{place.backend} {place.side}", place.docs, say)
    started = time.perf_counter()
    stream = progress.stream(corpus.documents(place.docs))
    count = engine.build(stream, docsvc_path) if isinstance(engine, Docsvc) else engine.build(stream)
    seconds = time.perf_counter() - started
    return {"docs": count, "seconds": seconds, "docs_per_s": count / seconds, "generating_s": progress.generating,
            "docs_per_s_without_generating": count / max(seconds - progress.generating, 1e-9),
            "path": docsvc_path if isinstance(engine, Docsvc) else "raw bulk", "reused": False}


def reusable(place: Place, engine) -> dict | None:
    """The indexing figures of the run that built this index, if it holds these documents."""
    if not place.marker.exists():
        return None
    marker = json.loads(place.marker.read_text())
    wanted = {"docs": place.docs, "seed": place.seed, "corpus_version": CORPUS_VERSION}
    if {k: marker.get(k) for k in wanted} != wanted:
        return None
    try:
        if engine.count() != place.docs:
            return None
    except Exception:  # a missing index on either engine: build it
        return None
    return {**marker["indexing"], "reused": True}


def prepare(engine, place: Place, corpus: Corpus, args: argparse.Namespace, say: Callable[[str], None]) -> dict:
    if args.reuse and (figures := reusable(place, engine)):
        say(f"  {place.backend} {place.side}: reusing the index of {place.docs:,} documents")
        return figures
    figures = build_index(engine, place, corpus, args.docsvc_path, say)
    say(f"  {place.backend} {place.side}: {figures['docs']:,} documents in {figures['seconds']:.1f} s, "
        f"{figures['docs_per_s']:,.0f} docs/s ({figures['generating_s']:.1f} s of it generating)")
    if args.keep or args.reuse:
        place.where.mkdir(parents=True, exist_ok=True)
        place.marker.write_text(json.dumps({"docs": place.docs, "seed": place.seed, "corpus_version": CORPUS_VERSION,
                                            "built": datetime.now(UTC).isoformat(), "indexing": figures}))
    return figures


# --- queries ---------------------------------------------------------------------------------


def run_mix(engines: dict[str, Any], mix: list[BenchQuery], rounds: int, warmup: int,
            say: Callable[[str], None]) -> dict:
    """Per (side, mode), the seconds (wall and CPU) of every timed query by class, and the last answers."""
    # Every class from the start: a class that failed on one side still has its row.
    seconds = {f"{s}/{m}": {q.kind: [] for q in mix} for s in engines for m in MODES}
    cpu = {f"{s}/{m}": {q.kind: [] for q in mix} for s in engines for m in MODES}
    answers: dict[str, list[dict]] = {f"{s}/{m}": [] for s in engines for m in MODES}
    sides = list(engines)
    for number in range(warmup + rounds):
        timed, last = number >= warmup, number == warmup + rounds - 1
        for bench_query in mix:
            for mode in MODES:
                query = replace(bench_query.query, **MODES[mode])
                for side in sides if number % 2 == 0 else sides[::-1]:
                    took, answer = timed_search(engines[side], query)
                    if timed and took is not None:
                        seconds[f"{side}/{mode}"][bench_query.kind].append(took)
                        cpu[f"{side}/{mode}"][bench_query.kind].append(answer["cpu_ms"] / 1000)
                    if last or "error" in answer:
                        answers[f"{side}/{mode}"].append({"class": bench_query.kind, "text": query.text,
                                                          "round": number, **answer})
        if timed:
            say(f"  round {number - warmup + 1}/{rounds}: " + ", ".join(
                f"{key} p50 {percentile(sorted(sum(v.values(), [])), 50) * 1000:.1f} ms"
                for key, v in seconds.items()))
    return {"seconds": seconds, "cpu": cpu, "answers": answers}


def timed_search(engine: Any, query: SearchQuery) -> tuple[float | None, dict]:
    """(seconds, the answer as a dict), or (None, the error): one failing query must not throw away
    the hour of indexing before it.

    ``cpu_ms`` is this process's CPU time during the query (every thread: the search's own threads
    beside the caller count too). On a machine shared with other work the wall time includes waiting
    for a core; the CPU time does not. Elasticsearch works in its own process, so its side's CPU is
    only the client's."""
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        answer = engine.search(query)
    except Exception as exc:
        return None, {"error": f"{type(exc).__name__}: {exc}"[:300]}
    took, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return took, {"ms": took * 1000, "cpu_ms": cpu * 1000, **asdict(answer)}


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest rank, as verify_ecopy.percentile (importing that bench would put bench/ first on sys.path)."""
    return sorted_values[max(0, math.ceil(q / 100 * len(sorted_values)) - 1)] if sorted_values else float("nan")


def latency_table(seconds: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    rows = {kind: sorted(values) for kind, values in seconds.items()}
    rows["overall"] = sorted(sum(seconds.values(), []))
    return {kind: {"queries": len(v), "p50_ms": percentile(v, 50) * 1000, "p95_ms": percentile(v, 95) * 1000}
            for kind, v in rows.items()}


def last_answers(answers: dict[str, list[dict]], key: str) -> list[dict]:
    """The answers of the last round, one per query of the mix (errors of earlier rounds left out)."""
    final = max((a["round"] for a in answers[key]), default=0)
    return [a for a in answers[key] if a["round"] == final]


def failures(answers: dict[str, list[dict]]) -> dict[str, list[str]]:
    return {key: [f"{a['class']} {a['text']!r} round {a['round']}: {a['error']}" for a in values if "error" in a]
            for key, values in answers.items()}


def disagreements(answers: dict[str, list[dict]], mode: str) -> list[str]:
    """Queries whose totals differ between docsvc and raw: the semantics are not the same there."""
    found = []
    for ours, theirs in zip(last_answers(answers, f"docsvc/{mode}"), last_answers(answers, f"raw/{mode}"), strict=False):
        a = (ours.get("total"), ours.get("total_all_words"), ours.get("total_is_exact"), ours.get("error"))
        b = (theirs.get("total"), theirs.get("total_all_words"), theirs.get("total_is_exact"), theirs.get("error"))
        if a != b:
            found.append(f"{ours['class']} {ours['text']!r}: docsvc {a}, raw {b}")
    return found


# --- one backend, start to end ----------------------------------------------------------------


def bench_backend(backend: str, corpus: Corpus, args: argparse.Namespace, es_url: str | None,
                  say: Callable[[str], None], where: Path = INDEXES, prefix: str = ES_PREFIX) -> dict:
    places = {side: Place(backend, side, args.docs, args.seed, where, prefix) for side in ("docsvc", "raw")}
    engines: dict[str, Any] = {}
    try:
        indexing = {}
        for side, place in places.items():
            engines[side] = open_engine(place, es_url)
            indexing[side] = prepare(engines[side], place, corpus, args, say)
            indexing[side]["count_after"] = engines[side].count()
        indexing["docsvc_over_raw"] = indexing["docsvc"]["docs_per_s"] / indexing["raw"]["docs_per_s"]
        if getattr(args, "before", None):
            engines["before"] = WithRules(engines["docsvc"], parse_variant(args.before))
        mix = query_mix(corpus, args.docs)
        say(f"  {backend}: {len(mix)} queries x {len(MODES)} total modes x {args.warmup} warm-up + {args.rounds} rounds")
        measured = run_mix(engines, mix, args.rounds, args.warmup, say)
        latency = {key: latency_table(v) for key, v in measured["seconds"].items()}
        cpu = {key: latency_table(v) for key, v in measured["cpu"].items()}
        return {"backend": backend, "indexing": indexing, "latency": latency, "cpu": cpu, "answers": measured["answers"],
                "ratios": ratios(latency), "disagreements": {m: disagreements(measured["answers"], m) for m in MODES},
                "failures": failures(measured["answers"])}
    finally:
        for engine in engines.values():
            engine.close()
        if not (args.keep or args.reuse):
            for place in places.values():
                drop(place, es_url)


def ratios(latency: dict[str, dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """docsvc / raw, per mode and class, of p50 and p95."""
    out: dict[str, dict[str, float]] = {}
    for mode in MODES:
        ours, theirs = latency[f"docsvc/{mode}"], latency[f"raw/{mode}"]
        for kind in ours:
            out.setdefault(mode, {})[f"{kind} p50"] = ours[kind]["p50_ms"] / theirs[kind]["p50_ms"]
            out[mode][f"{kind} p95"] = ours[kind]["p95_ms"] / theirs[kind]["p95_ms"]
    return out


# --- report ------------------------------------------------------------------------------------


def markdown(run: dict) -> str:
    load = ", ".join(f"{n:.1f}" for n in run["machine"]["load_average_1_5_15"])
    lines = [f"# bench/search.py, {run['docs']:,} documents (seed {run['seed']})", "",
             f"{run['machine']['cpu']}, {run['machine']['cpus']} cores, load {load}, "
             f"commit {run['machine']['git_commit']}; `{run['command']}`", "",
             f"Generating alone: {run['generation']['docs_per_s']:,.0f} docs/s "
             f"({run['generation']['docs']:,} documents, {run['generation']['chars_per_doc']:,.0f} chars each)", "",
             "## Indexing", "",
             "| backend | docsvc docs/s | raw docs/s | docsvc / raw (target ≥ 0.5) | docsvc path | generating s (docsvc, raw) |",
             "| --- | --- | --- | --- | --- | --- |"]
    for result in run["backends"]:
        ix = result["indexing"]
        lines.append(f"| {result['backend']} | {ix['docsvc']['docs_per_s']:,.0f} | {ix['raw']['docs_per_s']:,.0f} | "
                     f"**{ix['docsvc_over_raw']:.2f}**{reused(ix)} | {ix['docsvc']['path']} | "
                     f"{ix['docsvc']['generating_s']:.1f}, {ix['raw']['generating_s']:.1f} |")
    for result in run["backends"]:
        lines += latency_markdown(result)
    lines += ["", "## Targets (issue 10)", "", *targets(run)]
    return "\n".join(lines) + "\n"


def reused(indexing: dict) -> str:
    """A ratio across runs is flagged: --reuse takes each side's figures from the run that built it."""
    sides = [side for side in ("docsvc", "raw") if indexing[side]["reused"]]
    return f" (reused: {', '.join(sides)})" if sides else ""


def latency_markdown(result: dict) -> list[str]:
    lines = []
    for mode in MODES:
        ours, theirs = result["latency"][f"docsvc/{mode}"], result["latency"][f"raw/{mode}"]
        ours_cpu, theirs_cpu = result["cpu"][f"docsvc/{mode}"], result["cpu"][f"raw/{mode}"]
        lines += ["", f"## {result['backend']}, {MODE_TITLES[mode]}", "",
                  "| class | queries | docsvc p50 / p95 ms | raw p50 / p95 ms | docsvc / raw p95 "
                  "| docsvc CPU p50 / p95 ms | raw CPU p50 / p95 ms |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        for kind in ours:
            strong = "**" if kind == "overall" else ""
            lines.append(f"| {strong}{kind}{strong} | {ours[kind]['queries']} | {ours[kind]['p50_ms']:.1f} / "
                         f"{ours[kind]['p95_ms']:.1f} | {theirs[kind]['p50_ms']:.1f} / {theirs[kind]['p95_ms']:.1f} | "
                         f"{strong}{ours[kind]['p95_ms'] / theirs[kind]['p95_ms']:.2f}{strong} | "
                         f"{ours_cpu[kind]['p50_ms']:.1f} / {ours_cpu[kind]['p95_ms']:.1f} | "
                         f"{theirs_cpu[kind]['p50_ms']:.1f} / {theirs_cpu[kind]['p95_ms']:.1f} |")
        lines += ["", "| class | query | docsvc total (every word) | raw total (every word) | same top 20 |",
                  "| --- | --- | --- | --- | --- |"]
        for a, b in zip(last_answers(result["answers"], f"docsvc/{mode}"),
                        last_answers(result["answers"], f"raw/{mode}"), strict=False):
            same = "yes" if a.get("ids") == b.get("ids") else "no"
            lines.append(f"| {a['class']} | {a['text']} | {_total(a)} | {_total(b)} | {same} |")
        if f"before/{mode}" in result["latency"]:
            lines += before_markdown(result, mode)
        for key in (f"docsvc/{mode}", f"raw/{mode}"):
            if result["failures"][key]:
                lines += ["", f"**Queries that failed ({key}):** " + "; ".join(result["failures"][key][:10])]
        if result["disagreements"][mode]:
            lines += ["", "**Totals that disagree:** " + "; ".join(result["disagreements"][mode])]
    return lines


def before_markdown(result: dict, mode: str) -> list[str]:
    """docsvc against itself with the ``--before`` rules, query by query in the same run."""
    lines = ["", f"docsvc now against docsvc with `--before` rules ({mode}):", "",
             "| class | CPU now p50 / p95 ms | CPU before p50 / p95 ms | wall now p95 ms | wall before p95 ms | same top 20 |",
             "| --- | --- | --- | --- | --- | --- |"]
    cpu, wall = result["cpu"], result["latency"]
    now_answers, before_answers = last_answers(result["answers"], f"docsvc/{mode}"), last_answers(
        result["answers"], f"before/{mode}")
    same = sum(a.get("ids") == b.get("ids") for a, b in zip(now_answers, before_answers, strict=False))
    for kind in cpu[f"docsvc/{mode}"]:
        now, before = cpu[f"docsvc/{mode}"][kind], cpu[f"before/{mode}"][kind]
        lines.append(f"| {kind} | {now['p50_ms']:.1f} / {now['p95_ms']:.1f} | {before['p50_ms']:.1f} / "
                     f"{before['p95_ms']:.1f} | {wall[f'docsvc/{mode}'][kind]['p95_ms']:.1f} | "
                     f"{wall[f'before/{mode}'][kind]['p95_ms']:.1f} | "
                     f"{f'{same} of {len(now_answers)}' if kind == 'overall' else ''} |")
    return lines


def _total(answer: dict) -> str:
    if "error" in answer:
        return "error"
    more = "" if answer["total_is_exact"] else "+"
    return f"{answer['total']:,}{more} ({answer['total_all_words']:,})"


def targets(run: dict) -> list[str]:
    """Issue 10's targets with this run's figures; each says at which scale the issue sets it."""
    lines = []
    for result in run["backends"]:
        for mode in MODES:
            p95 = result["latency"][f"docsvc/{mode}"]["overall"]["p95_ms"]
            cpu_p95 = result["cpu"][f"docsvc/{mode}"]["overall"]["p95_ms"]
            ratio = result["ratios"][mode]["overall p95"]
            # Each target is judged at the scale the issue sets it for (and
            # told as "for reference" at any other).
            if result["backend"] == "tantivy":
                goals = "; ".join([_judged(p95 <= 30, "≤ 30 ms", 100_000, run["docs"]),
                                   _judged(ratio <= 2, "≤ 2 × raw", 1_000_000, run["docs"])])
            else:
                goals = f"{_met(ratio <= 1.5)} ≤ 1.5 × raw, the target at 100,000 and 1,000,000"
            lines.append(f"- {result['backend']}, {MODE_TITLES[mode]}: docsvc p95 {p95:.1f} ms (CPU {cpu_p95:.1f} ms), "
                         f"{ratio:.2f} × raw p95 at {run['docs']:,} documents ({goals})")
        ratio = result["indexing"]["docsvc_over_raw"]
        lines.append(f"- {result['backend']} indexing: {ratio:.2f} × raw bulk{reused(result['indexing'])} "
                     f"({_met(ratio >= 0.5)} ≥ 0.5)")
    return lines


def _met(ok: bool) -> str:
    return "meets" if ok else "misses"


def _judged(ok: bool, goal: str, at: int, docs: int) -> str:
    if at == docs:
        return f"{_met(ok)} {goal}, the target at {at:,}"
    return f"{goal} would be {'met' if ok else 'missed'} (the target at {at:,}, for reference)"


# --- main --------------------------------------------------------------------------------------


def generation_rate(corpus: Corpus, docs: int) -> dict:
    started, chars = time.perf_counter(), 0
    for doc in corpus.documents(docs):
        chars += len(doc.text)
    seconds = time.perf_counter() - started
    return {"docs": docs, "seconds": seconds, "docs_per_s": docs / seconds, "chars_per_doc": chars / docs}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=100_000)
    ap.add_argument("--backends", default="tantivy,elasticsearch")
    ap.add_argument("--rounds", type=int, default=5, help="timed rounds of the mix (default 5)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed rounds first (default 1)")
    ap.add_argument("--seed", type=int, default=10)
    ap.add_argument("--docsvc-path", choices=("rebuild", "index"), default="rebuild",
                    help="how docsvc indexes: rebuild() as docsvc reindex does (default), or index()")
    ap.add_argument("--keep", action="store_true", help="keep the indexes for a later --reuse")
    ap.add_argument("--reuse", action="store_true", help="use the indexes a --keep run built for the same documents")
    ap.add_argument("--before", metavar="RULES", help="also run docsvc with these search.ranking values, e.g. "
                    "MAX_PAIRS=None,EXACT_WORDS_IN_PAIRS=True (the rules before a change)")
    args = ap.parse_args(argv)
    args.backends = [b for b in args.backends.split(",") if b]
    if args.docs < 8 or args.rounds < 1 or args.warmup < 0:
        ap.error("--docs takes at least 8, --rounds at least 1, --warmup at least 0")
    if unknown := set(args.backends) - {"tantivy", "elasticsearch"}:
        ap.error(f"unknown backends {sorted(unknown)}: tantivy, elasticsearch")
    try:
        parse_variant(args.before or "")
    except ValueError as exc:
        ap.error(str(exc))
    return args


def main() -> None:
    args = parse_args()
    import upload as shared  # machine_info, the services env file

    shared.load_services_env()
    started = datetime.now(UTC)
    clock = time.perf_counter()

    def say(text: str) -> None:
        print(f"[{time.perf_counter() - clock:6.0f} s] {text}", flush=True)

    info = shared.machine_info()
    say(f"{info['cpu']}, {info['cpus']} cores, load {info['load_average_1_5_15']}, commit {info['git_commit']}")
    corpus = Corpus(args.seed)
    generation = generation_rate(corpus, min(args.docs, 20_000))
    say(f"generating alone: {generation['docs_per_s']:,.0f} docs/s")
    es_url = os.environ.get("DOCSVC_TEST_ELASTICSEARCH_URL")
    results = []
    for backend in args.backends:
        say(f"{backend}: {args.docs:,} documents")
        results.append(bench_backend(backend, corpus, args, es_url, say))
    info["load_average_end"] = os.getloadavg()
    run = {"command": " ".join([os.path.relpath(sys.executable, ROOT), *sys.argv]), "started": started.isoformat(),
           "docs": args.docs, "seed": args.seed, "corpus_version": CORPUS_VERSION, "settings": vars(args),
           "machine": info, "generation": generation, "ranking": {"FIELD_WEIGHTS": ranking.FIELD_WEIGHTS,
           "PROXIMITY_BOOST": ranking.PROXIMITY_BOOST, "EXACT_BOOST": ranking.EXACT_BOOST,
           "EXACT_PAIR_BOOST": ranking.EXACT_PAIR_BOOST, "MAX_PAIRS": ranking.MAX_PAIRS}, "backends": results}
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = RESULTS / f"search-{args.docs}-{started:%Y%m%dT%H%M%SZ}"
    text = markdown(run)
    stem.with_suffix(".md").write_text(text)
    stem.with_suffix(".json").write_text(json.dumps(run, indent=2, ensure_ascii=False, default=str))
    print("\n" + text)
    say(f"{stem.relative_to(ROOT)}.md, .json")


if __name__ == "__main__":
    main()
