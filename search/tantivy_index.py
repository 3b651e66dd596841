"""Tantivy backend: the embedded search index (the ``tantivy`` package, the
official binding of the Rust engine), for a commune's archive up to a province's.

Why Tantivy: it answers a common word over a million documents, with exact
totals, in tens of milliseconds (block-max WAND, posting lists in columnar
blocks), where SQLite FTS5 scored every match with bm25 first and took
seconds (issue 10). Paperless-ngx made the same move.

Layout under the configured directory (``search_tantivy_path``)::

    CURRENT          names the live index directory (replaced atomically)
    BUILDING         names the directory a rebuild is writing, while it runs
    write.lock       fcntl lock: one writer at a time across processes
    index-<hex>/     a Tantivy index; a build also keeps ``resume.json`` here

What is indexed: the four searchable fields folded in Python
(search.folding.fold, so the rule is written once) and split by an analyzer
that cuts like search.query.TOKEN_RE (letters and digits; no length cut, the
parser bounds query words instead); an unfolded ``exact`` field for the
exact-spelling bonus (docs only, no positions: it is only ever a term); a
``pairs`` field of each two adjacent words as one term, folded and as
spelt, for the proximity and exact-pair bonuses; fast fields for filters,
facets, sorting and tie-breaks; the originals as one stored blob for hits
and highlights (search.snippets, for the page's hits only).

How a search runs: each tier is one query (the clauses and filters must
match; each bonus a constant should clause, a term), which gives its count
and its page in one pass; facets run on the clauses and filters alone.
What does not wait for the first tier's ranking (the second tier's count,
the facets) runs beside it on a thread, the engine releasing the GIL; with
the total capped, a cheap intersection that already passes the cap spares
the second tier's count (_Search).
Ranking a long query's first tier at 100,000 documents, the pair bonus as
phrases (which read positions for every document of the tier) took 100-230
ms; rescoring only a cut of the best documents by BM25 with them (the
design before the ``pairs`` field) 60-100 ms; as terms, 14-36 ms.

Processes: the web server (threads), the Celery worker and the CLI all
write. Tantivy allows one IndexWriter per index, so a writer is opened per
batch under our own fcntl lock (bounded wait), commits, waits for the merges
its commit started (dropping a writer abandons them: measured, 30 one-document
commits left 30 segments and 190 files) and is dropped, which releases
Tantivy's own lock. Readers stat ``meta.json`` before each search (a few
microseconds) and reload only when another process committed.

Forking: the engine is not fork-safe. A child forked from a process that
has opened a Tantivy index hangs, now and then, in its first
``tantivy.Index.open`` (measured: 4 runs in 30), on a lock one of the
parent's engine threads held. So the processes that fork never open it:
``docsvc serve`` prepares the index in a child process of its own before
gunicorn forks its worker, and the Celery worker's main process leaves it
to the pool processes. A forked child still opens everything anew (its
own reader and writer state), for a parent that only built the object.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cached_property
from itertools import islice, pairwise
from pathlib import Path
from typing import Any

import tantivy
from tantivy import FieldType, Occur, Order, Query

from . import ranking
from .folding import fold, nfc
from .model import (
    FACET_SIZE,
    TOTAL_CAP,
    FacetCount,
    IndexedDocument,
    SearchHit,
    SearchQuery,
    SearchResult,
    batches,
)
from .query import validate
from .snippets import build_highlight

__all__ = ["IndexBusy", "TantivyIndex"]

log = logging.getLogger(__name__)

#: Bumped when the schema changes: an index of another version is rebuilt empty
#: (the index is derived data; ``docsvc reindex`` or ``search check`` fills it).
SCHEMA_VERSION = 4  # 2: id_hash indexed; 3: the pairs field, id_hash a column only; 4: exact pairs
#: How long a live write (a clerk's change, the pipeline, an outbox retry)
#: waits for another writer before giving up: its callers leave a busy index
#: to the worker's outbox retries (docsvc.documents.indexing), so a web request never
#: hangs behind a rebuild's batch or its merges.
WRITE_WAIT_SECONDS = 5.0
#: How long the rebuild, the setup and the administrator's jobs wait: long
#: jobs that would rather wait than fail.
BUILD_WAIT_SECONDS = 120.0

_CURRENT = "CURRENT"
_BUILDING = "BUILDING"
_LOCK_FILE = "write.lock"
_MARKER = "docsvc-index.json"
_RESUME = "resume.json"
_TOKENIZER = "docsvc_words"
_PAIR_TOKENIZER = "docsvc_pairs"
# Joins two words into one ``pairs`` term: never inside a word (TOKEN_RE).
_PAIR_JOINER = "_"
# Tantivy's simple tokenizer splits on what Rust's char::is_alphanumeric
# refuses: the characters of search.query.TOKEN_RE ([^\W_]) and a few more
# (130 circled and squared Latin letters, and letters of Unicode versions newer
# than Python 3.11's; checked over every code point). Each character neither
# ASCII nor of TOKEN_RE becomes a space before indexing (one for one), so the
# two split alike. Folded Vietnamese is ASCII and skips that. Measured on
# 20,000 documents: the engine's side of indexing takes 4 s of CPU so, 9-10 s
# with the regex tokenizer [\p{L}\p{N}]+.
_NOT_TOKEN_CHAR = re.compile(r"[^\x00-\x7f\w]")
_FOLDED = tuple(ranking.FIELD_WEIGHTS)  # title, number_symbol, issuing_body, text
# One commit per batch: big enough that a reindex makes few segments, small
# enough that the lock is released between batches for a clerk's upload.
_BATCH_DOCS = 5_000
_BATCH_CHARS = 64_000_000
_WRITER_HEAP = 64_000_000
_WRITER_THREADS = 1
_NO_DATE_DESC = -(10**8)  # below every ordinal date: undated documents sort last
# Hits past the page's end fetched at once, so that a tie of scores at its
# edge (documents made from one template) is seen whole without ranking the
# tier again: 12 ms at 100,000 documents, for 2 of the 31 first pages by
# relevance of bench/search.py and for "cải cách hành chính" in 4 agencies.
_TIE_ROOM = 32
_VERSIONS_CHUNK = 4_096
# Threads per process for the engine work a search runs beside its first
# tier's ranking (the second tier's count, the facets): the engine releases
# the GIL while it searches, so they overlap with the ranking and with the
# highlights written in Python. Two: one for the count, one for the facets.
_BESIDE_THREADS = 2
_ENTRY_SEPARATOR = "\x1f"  # between id and version in the ``entry`` column


def _busy(wait: float) -> str:
    return f"the search index is busy: another writer has held it for more than {wait:g} s; try again later"


class IndexBusy(RuntimeError):
    """Another writer kept the index's write lock past the wait allowed."""


# ------------------------------------------------------------------ schema ---


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    for name in _FOLDED:
        builder.add_text_field(name, tokenizer_name=_TOKENIZER, index_option="position")
    builder.add_text_field("exact", tokenizer_name=_TOKENIZER, index_option="basic")
    # Each two adjacent folded words of a field as one term ("hanh_chinh"), as
    # Elasticsearch's index_phrases: the pair bonus becomes a term lookup
    # instead of a phrase that reads positions (measured at 100,000
    # documents: 60-180 ms for the bonuses of a long query, as phrases).
    builder.add_text_field("pairs", tokenizer_name=_PAIR_TOKENIZER, index_option="basic")
    builder.add_text_field("id", tokenizer_name="raw", index_option="basic")
    # id + version in one column: versions() reads both without the stored texts.
    builder.add_text_field("entry", tokenizer_name="raw", index_option="basic", fast=True)
    # Splits versions() into chunks (range queries read the column).
    builder.add_integer_field("id_hash", fast=True)
    for name in ("kind", "issuing_body_value", "doc_type"):
        builder.add_text_field(name, tokenizer_name="raw", index_option="basic", fast=True)
    for name in ("agency_id", "year", "doc_day"):
        builder.add_integer_field(name, indexed=True, fast=True)
    for name in ("newest", "oldest", "created"):
        builder.add_integer_field(name, fast=True)
    builder.add_bytes_field("source", stored=True)
    return builder.build()


_SCHEMA = _schema()


def _analyzer() -> tantivy.TextAnalyzer:
    return tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple()).build()


def _pair_analyzer() -> tantivy.TextAnalyzer:
    return tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()


def _pair_term(first: str, second: str) -> str:
    return first + _PAIR_JOINER + second


# After _tokenizable every character beyond ASCII is a letter or digit of
# TOKEN_RE, so the words are the runs of bytes other than ASCII punctuation
# and spaces: bytes.translate and split find them, and the pairs are joined,
# on the UTF-8 bytes in a third of findall's time (74 against 175 us for a
# 1,500-character folded text).
_ASCII_NON_WORD = bytes(c if c >= 0x80 or chr(c).isalnum() else 0x20 for c in range(256))
_PAIR_JOINER_BYTES = _PAIR_JOINER.encode()


def _pairs_text(tokenizable: str) -> str:
    """The ``pairs`` terms of one field value (after _tokenizable): each two adjacent words."""
    words = tokenizable.encode().translate(_ASCII_NON_WORD).split()
    return b" ".join(map(_PAIR_JOINER_BYTES.join, pairwise(words))).decode()


def _tokenizable(text: str) -> str:
    """``text`` as the simple tokenizer must see it to split like TOKEN_RE."""
    return text if text.isascii() else _NOT_TOKEN_CHAR.sub(" ", text)


def _micros(value: datetime) -> int:
    """created_at as microseconds since the epoch, naive meaning UTC (as created_at_key)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _id_hash(doc_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(doc_id.encode(), digest_size=8).digest(), "big") >> 1


def _optional_nfc(value: str | None) -> str | None:
    return nfc(value) if value is not None else None


def _source(doc: IndexedDocument) -> bytes:
    # NFC on the way in: highlights slice the stored text by offsets computed
    # on NFC text (search.snippets).
    return json.dumps(
        {
            "id": doc.id,
            "title": nfc(doc.title),
            "text": nfc(doc.text),
            "number_symbol": _optional_nfc(doc.number_symbol),
            "issuing_body": _optional_nfc(doc.issuing_body),
            "kind": doc.kind,
            "agency_id": doc.agency_id,
            "year": doc.year,
            "doc_date": doc.doc_date.isoformat() if doc.doc_date else None,
        },
        ensure_ascii=False,
    ).encode()


def _document(doc: IndexedDocument) -> tantivy.Document:
    out = tantivy.Document()
    searchable = {"title": doc.title, "number_symbol": doc.number_symbol, "issuing_body": doc.issuing_body, "text": doc.text}
    for name, value in searchable.items():
        if value:
            folded, exact = _tokenizable(fold(value)), _tokenizable(nfc(value).lower())  # ranking.exact_tokens
            out.add_text(name, folded)
            out.add_text("exact", exact)
            # Folded pairs and pairs as spelt in one field: a pair with a
            # word that has diacritics never equals a folded one.
            out.add_text("pairs", _pairs_text(folded))
            out.add_text("pairs", _pairs_text(exact))
    out.add_text("id", doc.id)
    out.add_text("entry", doc.id + _ENTRY_SEPARATOR + doc.version)
    out.add_integer("id_hash", _id_hash(doc.id))
    out.add_text("kind", doc.kind)
    for name, value in (("issuing_body_value", doc.issuing_body), ("doc_type", doc.doc_type)):
        if value is not None:
            out.add_text(name, nfc(value))
    out.add_integer("agency_id", doc.agency_id)
    if doc.year is not None:
        out.add_integer("year", doc.year)
    day = doc.doc_date.toordinal() if doc.doc_date else None
    if day is not None:
        out.add_integer("doc_day", day)
    out.add_integer("newest", day if day is not None else _NO_DATE_DESC)
    out.add_integer("oldest", -day if day is not None else _NO_DATE_DESC)
    if doc.created_at is not None:
        out.add_integer("created", _micros(doc.created_at))
    out.add_bytes("source", _source(doc))
    return out


# ----------------------------------------------------------------- queries ---


def _clause(tokens: tuple[str, ...], fields: Sequence[str] = _FOLDED) -> Query:
    """A word or phrase on any of ``fields`` (by default every folded field), each field weighted."""
    per_field = []
    for name in fields:
        if len(tokens) == 1:
            match = Query.term_query(_SCHEMA, name, tokens[0])
        else:
            match = Query.phrase_query(_SCHEMA, name, list(tokens))
        per_field.append(Query.boost_query(match, ranking.FIELD_WEIGHTS[name]))
    if len(per_field) == 1:
        # One field: its weighted term alone scores the same (x, where the
        # union added x to 0.0), and the intersection can seek in it.
        return per_field[0]
    return Query.boolean_query([(Occur.Should, match) for match in per_field])


def _field_freqs(searcher: tantivy.Searcher, tokens: tuple[str, ...]) -> dict[str, int]:
    """Per folded field, at most how many documents hold the clause there: its rarest word's doc_freq."""
    return {name: min(searcher.doc_freq(name, token) for token in tokens) for name in _FOLDED}


def _clause_in(freqs: dict[str, int], tokens: tuple[str, ...]) -> Query:
    """The clause over only the fields where some document holds all its words.

    A field where a word occurs in no document adds nothing to any score;
    left in, it makes the clause a union, which reads every posting of the
    other fields in blocks (at 100,000 documents a long query's first tier
    took 15 ms ranked over the four fields, 8 over those that hold its
    words: most of its words occur only in the text). doc_freq counts
    deleted documents too, so a 0 is sure. A clause no field can hold keeps
    the four: it matches nothing either way.
    """
    held = [name for name in _FOLDED if freqs[name]]
    return _clause(tokens, held or _FOLDED)


def _bonuses(plan: ranking.RankingPlan, searcher: tantivy.Searcher) -> list[tuple[Occur, Query]]:
    """The adjacent-pair (one ``pairs`` term), exact-spelling and exact-pair
    bonuses as constant should clauses: each adds to a matching document's
    score and matches nothing alone. A term no document has, and a bonus
    worth 0, are left out (neither changes a score). The boosts are read
    now, so bench/relevance can switch a rule off."""
    wanted = [(ranking.PROXIMITY_BOOST, "pairs", _pair_term(*pair)) for pair in plan.pairs]
    wanted += [(ranking.EXACT_BOOST, "exact", word) for word in plan.exact]
    wanted += [(ranking.EXACT_PAIR_BOOST, "pairs", _pair_term(*pair)) for pair in plan.exact_pairs]
    return [
        (Occur.Should, Query.const_score_query(Query.term_query(_SCHEMA, field, term), boost))
        for boost, field, term in wanted
        if boost and searcher.doc_freq(field, term)
    ]


def _filters(query: SearchQuery) -> list[Query]:
    terms: list[tuple[str, Any]] = [
        ("kind", query.kind),
        ("year", query.year),
        ("issuing_body_value", _optional_nfc(query.issuing_body)),
        ("doc_type", _optional_nfc(query.doc_type)),
        ("agency_id", query.agency_id),
    ]
    filters = [Query.term_query(_SCHEMA, name, value) for name, value in terms if value is not None]
    if query.agency_ids is not None:
        filters.append(Query.term_set_query(_SCHEMA, "agency_id", sorted(query.agency_ids)))
    if query.date_from is not None or query.date_to is not None:
        low = query.date_from.toordinal() if query.date_from else None
        high = query.date_to.toordinal() if query.date_to else None
        filters.append(Query.range_query(_SCHEMA, "doc_day", FieldType.Integer, low, high))
    return filters


@dataclass(frozen=True)
class _Tier:
    """One tier's documents: the clauses and filters alone, without the bonuses
    (which only reorder: _Search._ranking adds them)."""

    matches: Query
    all_words: bool
    # This tier and the ones before it: cheaper to count than ``matches``
    # (no exclusion of the first tier to evaluate), less what came before.
    reaching: Query


def _filter_clauses(query: SearchQuery) -> list[tuple[Occur, Query]]:
    # Filters score nothing: a constant 0 keeps them out of the ranking.
    return [(Occur.Must, Query.const_score_query(f, 0.0)) for f in _filters(query)]


def _tiers(plan: ranking.RankingPlan, query: SearchQuery, clauses: list[Query]) -> list[_Tier]:
    """The tiers of ``plan``, whose clauses are ``clauses`` as queries (_clause_in)."""
    filters = _filter_clauses(query)
    every = Query.boolean_query([(Occur.Must, c) for c in clauses])
    first = Query.boolean_query([(Occur.Must, every), *filters])
    tiers = [_Tier(first, True, first)]
    if plan.relaxed_minimum is not None:
        most = Query.boolean_query([(Occur.Should, c) for c in clauses], plan.relaxed_minimum)
        second = [(Occur.Must, most), (Occur.MustNot, every), *filters]
        tiers.append(_Tier(Query.boolean_query(second), False, Query.boolean_query([(Occur.Must, most), *filters])))
    return tiers


# ------------------------------------------------------------ ordering ---


# (order value negated, created missing, created in the order's direction)
_SortKey = tuple[float, bool, float]


@dataclass(frozen=True)
class _Order:
    """How hits are ordered: by score, or by a date key; then created_at; then id."""

    field: str | None  # None: by score
    created_descending: bool

    def key(self, order_value: float, created: float | None) -> _SortKey:
        created_key = 0 if created is None else (-created if self.created_descending else created)
        return (-order_value, created is None, created_key)


_ORDERS = {
    "relevance": _Order(None, created_descending=True),
    "newest": _Order("newest", created_descending=True),
    "oldest": _Order("oldest", created_descending=False),
}


@dataclass(frozen=True)
class _Cut:
    """The first ``limit`` hits of a tier in one order (all of them if fewer)."""

    hits: list[tuple[Any, tantivy.DocAddress]]
    limit: int

    @property
    def whole(self) -> bool:
        return len(self.hits) < self.limit


def _count_of(found: tantivy.SearchResult) -> int:
    """How many documents matched (0 when the search was run without counting)."""
    # tantivy-py's stub lacks the `count` that search(count=True) fills.
    count: int | None = found.count  # type: ignore[attr-defined]
    return count or 0


def _cut(searcher: tantivy.Searcher, q: Query, order: _Order, limit: int, count: bool = False) -> tuple[int, _Cut]:
    """(how many match, the cut); count=True costs nothing more when scoring reads them all anyway."""
    found = searcher.search(q, limit, count=count, order_by_field=order.field, order=Order.Desc)
    return _count_of(found), _Cut(found.hits, limit)


def _with_ties(
    searcher: tantivy.Searcher, q: Query, order: _Order, need: int, cut: _Cut
) -> list[tuple[Any, tantivy.DocAddress]]:
    """At least the best ``need`` hits, plus every hit tied with the last of them.

    Tantivy breaks ties by document address; the contract breaks them by
    creation time and id, so the tie group at the page's edge is fetched
    whole and ordered here.
    """
    if cut.whole or cut.hits[-1][0] != cut.hits[need - 1][0]:
        return cut.hits
    if order.field is None:  # a tie past _TIE_ROOM: a bigger cut
        _, bigger = _cut(searcher, q, order, cut.limit * 2)
        return _with_ties(searcher, q, order, need, bigger)
    # A day is shared by hundreds of documents at a million (370 on
    # average): the tied day is asked for alone, which the date column
    # answers at once, instead of reading the tier again per doubling
    # (measured at 1,000,000: 190-300 ms for the newest page).
    edge = cut.hits[need - 1][0]
    above = [hit for hit in cut.hits if hit[0] != edge]  # the cut is in order: all before the edge
    on_day = Query.range_query(_SCHEMA, order.field, FieldType.Integer, edge, edge)
    tied_query = Query.boolean_query([(Occur.Must, q), (Occur.Must, Query.const_score_query(on_day, 0.0))])
    tied_count, tied = _cut(searcher, tied_query, order, max(cut.limit, 1_024), count=True)
    if not tied.whole:
        _, tied = _cut(searcher, tied_query, order, tied_count + 1)
    return above + tied.hits


def _ordered_page(
    searcher: tantivy.Searcher, hits: list[tuple[Any, tantivy.DocAddress]], order: _Order, start: int, end: int
) -> list[tuple[Any, tantivy.DocAddress, dict[str, Any] | None]]:
    """Hits [start, end) of one tier as (order value, address, source if loaded)."""
    created = searcher.fast_field_values("created", [address for _, address in hits])
    keyed = sorted(
        ((order.key(value, stamp), address) for (value, address), stamp in zip(hits, created, strict=True)),
        key=lambda item: item[0],
    )
    return _break_ties_by_id(searcher, keyed, start, end)


def _break_ties_by_id(
    searcher: tantivy.Searcher, keyed: list[tuple[_SortKey, tantivy.DocAddress]], start: int, end: int
) -> list[tuple[Any, tantivy.DocAddress, dict[str, Any] | None]]:
    # Only groups equal in score *and* creation time need the id, which is in
    # the stored blob; real documents almost never share both.
    page: list[tuple[Any, tantivy.DocAddress, dict[str, Any] | None]] = []
    i = 0
    while i < len(keyed) and i < end:
        j = i + 1
        while j < len(keyed) and keyed[j][0] == keyed[i][0]:
            j += 1
        group: list[tuple[Any, tantivy.DocAddress, dict[str, Any] | None]]
        if j > start and j - i > 1:
            loaded = [(key, address, _load(searcher, address)) for key, address in keyed[i:j]]
            group = sorted(loaded, key=lambda item: item[2]["id"])  # type: ignore[index]
        else:
            group = [(key, address, None) for key, address in keyed[i:j]]
        page.extend(group)
        i = j
    return [(-key[0], address, source) for key, address, source in page[start:end]]


def _load(searcher: tantivy.Searcher, address: tantivy.DocAddress) -> dict[str, Any]:
    blob = searcher.doc(address).get_first("source")
    assert blob is not None, "every entry is written with its source"
    source: dict[str, Any] = json.loads(blob)
    return source


def _hit(source: dict[str, Any], score: float, all_words: bool, plan: ranking.RankingPlan) -> SearchHit:
    return SearchHit(
        id=source["id"],
        title=source["title"],
        kind=source["kind"],
        year=source["year"],
        number_symbol=source["number_symbol"],
        agency_id=source["agency_id"],
        score=score,
        highlight=build_highlight(source["title"], source["text"], plan.clauses),
        all_words=all_words,
        issuing_body=source["issuing_body"],
        doc_date=date.fromisoformat(source["doc_date"]) if source["doc_date"] else None,
    )


# ------------------------------------------------------------------ facets ---

_FACET_COLUMNS = {
    "kind": "kind",
    "year": "year",
    "issuing_body": "issuing_body_value",
    "doc_type": "doc_type",
    "agency_id": "agency_id",
}


def _facets(searcher: tantivy.Searcher, q: Query) -> dict[str, list[FacetCount]]:
    """The FACET_SIZE most frequent values of every facet, ties by value: one pass.

    The engine orders equal counts its own way, so a facet whose count at the
    cut is tied with values left out is asked again with more values.
    segment_size keeps per-segment lists long enough for exact counts.
    """
    sizes = dict.fromkeys(_FACET_COLUMNS, FACET_SIZE * 2)
    facets: dict[str, list[FacetCount]] = {}
    while pending := [name for name in _FACET_COLUMNS if name not in facets]:
        spec = {
            name: {"terms": {"field": _FACET_COLUMNS[name], "size": sizes[name], "segment_size": max(sizes[name], 65_536)}}
            for name in pending
        }
        answers = searcher.aggregate(q, spec)
        for name in pending:
            counted = _counted(answers[name], sizes[name])
            if counted is None:
                sizes[name] *= 4
            else:
                facets[name] = counted
    return {name: facets[name] for name in _FACET_COLUMNS}


def _counted(answer: dict[str, Any], size: int) -> list[FacetCount] | None:
    """The facet's values from one terms aggregation, or None if ties were cut off."""
    buckets = sorted((-b["doc_count"], b["key"]) for b in answer["buckets"])
    complete = not answer.get("sum_other_doc_count") or (
        len(buckets) > FACET_SIZE and buckets[FACET_SIZE][0] != buckets[FACET_SIZE - 1][0]
    )
    if not complete and len(buckets) >= size:
        return None
    return [FacetCount(_facet_value(key), -count) for count, key in buckets[:FACET_SIZE]]


def _facet_value(key: Any) -> str | int:
    return int(key) if isinstance(key, float) else key


# -------------------------------------------------------- index directories ---


def _atomic_write(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)  # atomic: a reader sees the old name or the new one


def _read_pointer(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def _register_analyzers(index: tantivy.Index) -> None:
    index.register_tokenizer(_TOKENIZER, _analyzer())
    index.register_tokenizer(_PAIR_TOKENIZER, _pair_analyzer())


def _open_tantivy(directory: Path) -> tantivy.Index:
    opened = tantivy.Index.open(str(directory))
    _register_analyzers(opened)
    # Manual reloads: TantivyIndex stats meta.json itself, at once, instead of
    # the engine's watcher thread that polls every 500 ms.
    opened.config_reader("manual")
    return opened


def _create_tantivy(directory: Path) -> None:
    directory.mkdir(parents=True)
    created = tantivy.Index(_SCHEMA, path=str(directory))
    _register_analyzers(created)
    (directory / _MARKER).write_text(json.dumps({"schema": SCHEMA_VERSION}), encoding="utf-8")


def _schema_version(directory: Path) -> int | None:
    try:
        return int(json.loads((directory / _MARKER).read_text(encoding="utf-8"))["schema"])
    except (FileNotFoundError, ValueError, KeyError):
        return None


def _meta_signature(directory: Path) -> tuple[int, int, int] | None:
    try:
        stat = os.stat(directory / "meta.json")  # replaced by rename at every commit
    except FileNotFoundError:
        return None
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


class _Reader:
    """One index directory opened for searching in this process."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.index = _open_tantivy(directory)
        self.signature = _meta_signature(directory)

    def searcher(self) -> tantivy.Searcher:
        signature = _meta_signature(self.directory)
        if signature != self.signature:  # another writer committed
            self.index.reload()
            self.signature = signature
        return self.index.searcher()


def _write_batch(directory: Path, docs: list[IndexedDocument], deletes: Iterable[str] = ()) -> None:
    """Upsert and delete in one commit; call with the write lock held."""
    writer = _open_tantivy(directory).writer(_WRITER_HEAP, _WRITER_THREADS)
    try:
        for doc_id in deletes:
            writer.delete_documents_by_term("id", doc_id)
        for doc in docs:
            writer.delete_documents_by_term("id", doc.id)
            writer.add_document(_document(doc))
        writer.commit()
    except BaseException:
        writer.rollback()
        raise
    finally:
        # Merges started by the commit finish here (a dropped writer would
        # abandon them); consuming the writer releases Tantivy's lock.
        writer.wait_merging_threads()


# ------------------------------------------------------------------- index ---


class TantivyIndex:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._root = Path(path)
        self._reset_process_state()

    def _reset_process_state(self) -> None:
        self._pid = os.getpid()
        self._write_lock = threading.RLock()  # this process's writers take turns
        self._reader_lock = threading.Lock()  # apart: a search never waits for a write
        self._reader: _Reader | None = None
        # Created at the first search, in the process that searches (a forked
        # child starts its own: the parent's threads are not in it).
        self._beside: ThreadPoolExecutor | None = None

    def _beside_pool(self) -> ThreadPoolExecutor:
        with self._reader_lock:
            if self._beside is None:
                self._beside = ThreadPoolExecutor(_BESIDE_THREADS, thread_name_prefix="docsvc-search")
            return self._beside

    def _own(self) -> None:
        # A forked child must not share the parent's engine threads, mmaps or
        # file locks: start over (the parent keeps its own).
        if self._pid != os.getpid():
            self._reset_process_state()

    # -- locking and directories -------------------------------------------------

    @contextmanager
    def _writing(self, wait: float = BUILD_WAIT_SECONDS) -> Iterator[None]:
        """This process's lock, then the cross-process one, within ``wait`` seconds in all."""
        self._own()
        deadline = time.monotonic() + wait
        if not self._write_lock.acquire(timeout=wait):
            raise IndexBusy(_busy(wait))
        try:
            self._root.mkdir(parents=True, exist_ok=True)
            with open(self._root / _LOCK_FILE, "a+b") as handle:
                self._acquire(handle.fileno(), deadline, wait)
                try:
                    yield
                finally:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        finally:
            self._write_lock.release()

    @staticmethod
    def _acquire(fd: int, deadline: float, wait: float) -> None:
        delay = 0.005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
            if time.monotonic() >= deadline:
                raise IndexBusy(_busy(wait))
            time.sleep(delay)
            delay = min(delay * 2, 0.2)

    def _live_directory(self) -> Path:
        name = _read_pointer(self._root / _CURRENT)
        if name is None:
            raise RuntimeError(f"no search index in {self._root}; call ensure_ready() first")
        return self._root / name

    def _building_directory(self) -> Path | None:
        name = _read_pointer(self._root / _BUILDING)
        return self._root / name if name else None

    def _new_directory(self) -> Path:
        directory = self._root / f"index-{uuid.uuid4().hex}"
        _create_tantivy(directory)
        return directory

    def _searcher(self) -> tantivy.Searcher:
        self._own()
        with self._reader_lock:
            live = self._live_directory()
            if self._reader is None or self._reader.directory != live:
                try:
                    self._reader = _Reader(live)
                except ValueError:
                    # A rebuild finished and removed it between the read of
                    # CURRENT and the open: the pointer names the new one now.
                    self._reader = _Reader(self._live_directory())
            return self._reader.searcher()

    def _write(self, docs: list[IndexedDocument], deletes: Sequence[str] = ()) -> None:
        with self._writing(WRITE_WAIT_SECONDS):
            targets = [self._live_directory()]
            building = self._building_directory()
            if building is not None:  # a rebuild runs: it must not miss this write
                targets.append(building)
            for directory in targets:
                _write_batch(directory, docs, deletes)

    # -- SearchIndex ---------------------------------------------------------------

    def ensure_ready(self) -> None:
        with self._writing():
            name = _read_pointer(self._root / _CURRENT)
            if name is not None and _schema_version(self._root / name) == SCHEMA_VERSION:
                return
            if name is not None:
                log.warning("search index %s has another schema; starting an empty one (run docsvc reindex)", name)
            fresh = self._new_directory()
            _atomic_write(self._root / _CURRENT, fresh.name)
            if name is not None:
                shutil.rmtree(self._root / name, ignore_errors=True)

    def index(self, docs: Iterable[IndexedDocument]) -> None:
        for batch in batches(docs, _BATCH_DOCS, _BATCH_CHARS):
            self._write(batch)

    def delete(self, ids: Iterable[str]) -> None:
        iterator = iter(ids)
        while batch := list(islice(iterator, _BATCH_DOCS)):
            self._write([], batch)

    def search(self, query: SearchQuery) -> SearchResult:
        parsed = validate(query)
        if query.agency_ids is not None and not query.agency_ids:
            return SearchResult(total=0, hits=[])  # may see nothing: don't even ask
        plan = ranking.plan(query.text, parsed)
        return _Search(self._searcher(), plan, query, self._beside_pool()).result()

    def clear(self) -> None:
        with self._writing():
            writer = _open_tantivy(self._live_directory()).writer(_WRITER_HEAP, _WRITER_THREADS)
            writer.delete_all_documents()
            writer.commit()
            writer.wait_merging_threads()

    def count(self) -> int:
        return int(self._searcher().num_docs)

    def refresh(self) -> None:
        """Nothing to wait for: every search reloads when a commit happened."""
        self._searcher()

    def close(self) -> None:
        with self._reader_lock:
            self._reader = None
            beside, self._beside = self._beside, None
        if beside is not None:
            beside.shutdown(wait=True)

    def drop(self) -> None:
        """Remove the whole directory (uninstall, test teardown); not part of SearchIndex."""
        with self._writing(), self._reader_lock:
            self._reader = None
            for child in self._root.iterdir():
                if child.is_dir():
                    shutil.rmtree(child)
                elif child.name != _LOCK_FILE:
                    child.unlink()

    def rebuild(self) -> _Rebuild:
        with self._writing():
            building = self._building_directory()
            if building is not None and _schema_version(building) == SCHEMA_VERSION:
                return _Rebuild(self, building, _read_resume(building))
            building = self._new_directory()
            _atomic_write(self._root / _BUILDING, building.name)
            return _Rebuild(self, building, None)

    def versions(self) -> Iterator[tuple[str, str]]:
        searcher = self._searcher()  # one snapshot for the whole walk
        chunks = max(1, -(-searcher.num_docs // _VERSIONS_CHUNK))
        span = (1 << 63) // chunks
        for chunk in range(chunks):
            low = chunk * span
            high = (chunk + 1) * span - 1 if chunk < chunks - 1 else None  # hashes are 63 bits
            in_chunk = Query.range_query(_SCHEMA, "id_hash", FieldType.Integer, low, high)
            yield from _entries(searcher, in_chunk)


def _entries(searcher: tantivy.Searcher, q: Query) -> Iterator[tuple[str, str]]:
    limit = _VERSIONS_CHUNK * 2
    while True:
        found = searcher.search(q, limit, count=True, order_by_field="entry")
        if _count_of(found) <= limit:
            break
        limit = _count_of(found)
    for entry, _address in found.hits:
        doc_id, _, version = entry.partition(_ENTRY_SEPARATOR)
        yield doc_id, version


def _read_resume(directory: Path) -> str | None:
    try:
        return json.loads((directory / _RESUME).read_text(encoding="utf-8"))["resume_after"]  # type: ignore[no-any-return]
    except FileNotFoundError:
        return None


class _Rebuild:
    """A fresh index built beside the live one (search.model.Rebuild)."""

    def __init__(self, owner: TantivyIndex, directory: Path, resume_after: str | None) -> None:
        self._owner = owner
        self._directory = directory
        self.resume_after = resume_after

    def add(self, docs: list[IndexedDocument]) -> None:
        if not docs:
            return
        with self._owner._writing():
            self._check_still_building()
            for batch in batches(docs, _BATCH_DOCS, _BATCH_CHARS):
                _write_batch(self._directory, batch)
            # After the commit: a crash in between re-adds the batch (upserts).
            _atomic_write(self._directory / _RESUME, json.dumps({"resume_after": docs[-1].id}))
        self.resume_after = docs[-1].id

    def finish(self) -> None:
        owner = self._owner
        with owner._writing():
            self._check_still_building()
            old = _read_pointer(owner._root / _CURRENT)
            _atomic_write(owner._root / _CURRENT, self._directory.name)
            (owner._root / _BUILDING).unlink()
            # Readers elsewhere keep their mmaps of the old files until their
            # next search notices CURRENT changed.
            if old is not None and old != self._directory.name:
                shutil.rmtree(owner._root / old, ignore_errors=True)

    def abort(self) -> None:
        owner = self._owner
        with owner._writing():
            if owner._building_directory() == self._directory:
                (owner._root / _BUILDING).unlink()
            shutil.rmtree(self._directory, ignore_errors=True)

    def _check_still_building(self) -> None:
        if self._owner._building_directory() != self._directory:
            raise RuntimeError("this rebuild was finished or aborted by another process")


# ------------------------------------------------------------------ search ---


class _Search:
    """One query against one searcher snapshot: tiers, page, totals, facets.

    The first tier's ranking (and the page's highlights) run on the calling
    thread; what does not need its outcome starts at once beside it, on
    ``beside``: the count of both tiers, and the facets of the first. At
    100,000 documents, on a quiet machine, the count of a long query's
    second tier (all words but half, most of the index) took 32 ms, the
    first tier's ranking 14 ms and the page's highlights 8 ms. On a machine
    whose cores are all busy the thread gains nothing (measured: the same
    latencies within noise) and costs nothing but the work it does.
    """

    def __init__(
        self, searcher: tantivy.Searcher, plan: ranking.RankingPlan, query: SearchQuery, beside: ThreadPoolExecutor
    ) -> None:
        self.searcher = searcher
        self.plan = plan
        self.query = query
        self.clause_freqs = [_field_freqs(searcher, tokens) for tokens in plan.clauses]
        self.clauses = [_clause_in(freqs, tokens) for freqs, tokens in zip(self.clause_freqs, plan.clauses, strict=True)]
        self.tiers = _tiers(plan, query, self.clauses)
        self.order = _ORDERS[query.sort]
        self.bonuses = _bonuses(plan, searcher)
        self.start = (query.page - 1) * query.per_page
        self.end = self.start + query.per_page
        self.beside = beside

    def _count(self, q: Query) -> int:
        # Scoring off: the count alone never needs BM25.
        return _count_of(self.searcher.search(Query.const_score_query(q, 0.0), 1, count=True))

    # -- the second tier's count ----------------------------------------------
    #
    # Counting the second tier is a heap over every clause (Tantivy's
    # minimum-should-match), the dearest part of a search that needs it: at
    # 100,000 documents 10 ms for "cải cách hành chính", 30 ms for a long
    # query whose tiers hold most of the index. It is needed unless the total
    # is capped, and begun beside the first tier's ranking when it most
    # likely will be (a guess that, wrong, costs time, never a different
    # result: the two paths answer alike).

    @cached_property
    def _clause_bounds(self) -> list[int]:
        """At most how many documents hold each clause (doc_freq, no search)."""
        return [sum(freqs.values()) for freqs in self.clause_freqs]

    def _expected(self, bounds: Iterable[int], share: float = 1.0) -> float:
        """How many documents hold all of them, were the clauses independent: a guess."""
        documents = max(1, self.searcher.num_docs)
        expected = documents * share
        for bound in bounds:
            expected *= min(1.0, bound / documents)
        return expected

    @cached_property
    def _densest(self) -> list[int]:
        """The ``relaxed_minimum`` clauses (their indexes) that most documents hold."""
        by_size = sorted(range(len(self.plan.clauses)), key=lambda i: -self._clause_bounds[i])
        return by_size[: self.plan.relaxed_minimum or 0]

    @cached_property
    def _filtered_share(self) -> float:
        """The share of the index the filters leave (1.0 without filters)."""
        filters = _filter_clauses(self.query)
        if not filters:
            return 1.0
        return self._count(Query.boolean_query(filters)) / max(1, self.searcher.num_docs)

    def _count_beside(self) -> bool:
        """Whether to count the second tier beside the first's ranking, from the start."""
        if self._expected(self._clause_bounds) < 4 * self.end:
            return False  # the page likely reaches into the second tier, whose ranking counts it
        if self.query.exact_total:
            return True
        densest = [self._clause_bounds[i] for i in self._densest]
        if min(densest) <= TOTAL_CAP:
            return True  # neither the first tier nor _passes_cap can pass the cap
        # The filters' share is counted (a millisecond) only when the clauses alone leave it open.
        return self._expected(densest, self._filtered_share) <= 2 * TOTAL_CAP

    def _passes_cap(self) -> bool:
        """Whether the second tier is sure to take the total past TOTAL_CAP, from a cheap count.

        Its documents hold ``relaxed_minimum`` clauses or more: those that
        hold the densest so many (and pass the filters) are some of them, and
        counting them is an intersection (at 100,000 documents 3 ms, where
        the heap over a long query's clauses takes 30 ms).
        """
        clauses = [(Occur.Must, self.clauses[i]) for i in self._densest]
        return self._count(Query.boolean_query(clauses + _filter_clauses(self.query))) > TOTAL_CAP

    def _ranking(self, tier: _Tier) -> Query:
        """The tier as ordered: by score with the bonuses, or by a date (where they change nothing)."""
        if self.order.field is not None or not self.bonuses:
            return tier.matches
        return Query.boolean_query([(Occur.Must, tier.matches), *self.bonuses])

    def _count_and_cut(self, tier: _Tier, offset: int) -> tuple[int, _Cut]:
        """The tier's count and its first ``end - offset`` hits, in one pass
        (ranking reads every match anyway; the bonuses match nothing alone),
        with room for a tie at the page's edge."""
        room = _TIE_ROOM if self.order.field is None else 1  # a tied day is asked for alone
        return _cut(self.searcher, self._ranking(tier), self.order, max(1, self.end - offset) + room, count=True)

    def result(self) -> SearchResult:
        relaxed = len(self.tiers) > 1
        reaching: Future[int] | None = None
        if relaxed and self._count_beside():
            reaching = self.beside.submit(self._count, self.tiers[1].reaching)
        facets = self.beside.submit(_facets, self.searcher, self.tiers[0].matches) if self.query.facets else None
        first_count, first_cut = self._count_and_cut(self.tiers[0], 0)
        if facets is not None and not first_count and relaxed:
            # No document has every word: the facets count the second tier.
            facets.cancel()
            facets = self.beside.submit(_facets, self.searcher, self.tiers[1].matches)
        hits = self._page(self.tiers[0], 0, first_count, first_cut)
        # None: more than TOTAL_CAP in both tiers, not counted further.
        second_count: int | None = 0
        if relaxed:
            if self.end > first_count:  # the page reaches into the second tier: its ranking counts it
                if reaching is not None:
                    reaching.cancel()
                second_count, second_cut = self._count_and_cut(self.tiers[1], first_count)
                hits += self._page(self.tiers[1], first_count, second_count, second_cut)
            elif not self.query.exact_total and (first_count > TOTAL_CAP or (reaching is None and self._passes_cap())):
                second_count = None  # more than TOTAL_CAP, whatever the exact number
            else:
                both = reaching.result() if reaching is not None else self._count(self.tiers[1].reaching)
                second_count = both - first_count
        total = None if second_count is None else first_count + second_count
        exact = self.query.exact_total or (total is not None and total <= TOTAL_CAP)
        return SearchResult(
            total=total if exact and total is not None else TOTAL_CAP,
            hits=hits,
            total_all_words=first_count if exact or first_count <= TOTAL_CAP else TOTAL_CAP,
            total_is_exact=exact,
            facets=facets.result() if facets is not None else {},
        )

    def _page(self, tier: _Tier, offset: int, count: int, cut: _Cut | None) -> list[SearchHit]:
        """This page's hits of a tier that follows ``offset`` others and holds ``count``."""
        start, end = max(0, self.start - offset), min(count, self.end - offset)
        if start >= end:
            return []
        if cut is None:
            _, cut = self._count_and_cut(tier, offset)
        hits = _with_ties(self.searcher, self._ranking(tier), self.order, end, cut)
        ranked = _ordered_page(self.searcher, hits, self.order, start, end)
        score_of: Callable[[Any], float] = float if self.order.field is None else (lambda value: 0.0)
        return [
            _hit(source or _load(self.searcher, address), score_of(value), tier.all_words, self.plan)
            for value, address, source in ranked
        ]
