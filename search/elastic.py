"""Elasticsearch 8 backend (official ``elasticsearch`` client).

Index settings and mappings live in config/elasticsearch/documents-template.json
and are installed as an index template; only the character mappings are
generated here (folding from ``search.folding.FOLDING_TABLE``, word joiners
from ``search.query.WORD_JOINERS``) so each is written once.

Ranking executes ``search.ranking.plan``: the first tier is the AND of the
clauses (each a ``multi_match`` phrase over the folded fields, weighted by
``ranking.FIELD_WEIGHTS``), the second tier every document holding all but
one clause. Each tier is its own search, because a tier is not a score: the
two run in one ``_msearch`` (the first tier's page and the count of both), and
the second tier's page is fetched only when the page reaches past the first.
The bonuses (adjacent query words standing together, words spelled exactly
as typed) are ``constant_score`` clauses in ``should``, so Lucene's block-max
WAND can still skip documents that cannot reach the top of the page.

Layout: the configured name is an alias to one physical index
``<name>-v<generation>``. ``rebuild()`` fills the next generation beside it
(its alias ``<name>-rebuild`` marks it, so every process sees the build and
writes to both), and ``finish()`` moves the alias in one atomic ``_aliases``
request that also deletes the old index. An install from before aliases
(``<name>`` a concrete index) keeps working until its first rebuild swaps it.

Highlights come from Elasticsearch's unified highlighter on the stored
original text, so they carry the document's own diacritics.
"""

from __future__ import annotations

import html
import json
import re
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from elasticsearch import ApiError, BadRequestError, Elasticsearch, helpers

from . import ranking
from .folding import FOLDING_TABLE, nfc
from .model import (
    FACET_FIELDS,
    FACET_SIZE,
    TOTAL_CAP,
    FacetCount,
    IndexedDocument,
    SearchHit,
    SearchQuery,
    SearchResult,
    created_at_key,
)
from .query import WORD_JOINERS, validate
from .snippets import SNIPPET_CHARS

__all__ = [
    "DEFAULT_TEMPLATE_PATH",
    "ElasticsearchIndex",
    "ElasticsearchRebuild",
    "folding_mappings",
    "joiner_mappings",
    "load_template",
]

DEFAULT_TEMPLATE_PATH = Path(__file__).resolve().parent.parent / "config" / "elasticsearch" / "documents-template.json"

# Bulk requests: a few hundred documents, capped in bytes because one extracted
# text can be several MB (ES rejects requests over http.max_content_length).
_BULK_DOCS = 500
_BULK_BYTES = 20 * 1024 * 1024
BULK_TIMEOUT_SECONDS = 120.0  # a bulk request of _BULK_BYTES during a merge may take this long
# Entries per page when versions() walks the whole index.
_VERSIONS_PAGE = 5000
_PIT_KEEP_ALIVE = "2m"

# The fields whose matches the hit shows (search.snippets' rule: text, else title).
_HIGHLIGHTED = ("title", "text")
# The unfolded copy of every searchable field (copy_to in the template).
_EXACT_FIELD = "exact"
_EXACT_PAIRS_FIELD = "exact_pairs"  # shingles of the exact field's words, joined by a space
# Where each facet counts its values.
_FACET_SOURCE = {
    "kind": "kind",
    "year": "year",
    "issuing_body": "issuing_body.raw",
    "doc_type": "doc_type",
    "agency_id": "agency_id",
}
# Fields an install from before this mapping lacks and can take without
# reopening the index (no new analyzer): ensure_ready adds them in place.
_LEGACY_ADDED_FIELDS = ("doc_type", "doc_date", "version")


def load_template(index_name: str, path: Path = DEFAULT_TEMPLATE_PATH) -> dict[str, Any]:
    """The template body for ``index_name``'s physical indices, with the character mappings filled in."""
    template: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    template["index_patterns"] = [f"{index_name}-v*"]
    char_filters = template["template"]["settings"]["analysis"]["char_filter"]
    char_filters["vi_folding"]["mappings"] = folding_mappings()
    char_filters["vi_joiners"]["mappings"] = joiner_mappings()
    return template


def folding_mappings() -> list[str]:
    """Rules of the folded fields' ``mapping`` char_filter: Vietnamese letters
    to their base, word joiners to a space. One char for one, so offsets need
    no correction.
    """
    return [f"{letter} => {base}" for letter, base in sorted(FOLDING_TABLE.items())] + joiner_mappings()


def joiner_mappings() -> list[str]:
    """Every word joiner to a space, so the standard tokenizer splits where
    search.query.TOKEN_RE does (the exact fields use only these).

    Written as \\uXXXX escapes: the rule parser trims whitespace (a literal
    space value would become "delete") and some joiners ("=", quotes) would
    be ambiguous literally.
    """
    return [f"\\u{ord(char):04x} => \\u0020" for char in sorted(WORD_JOINERS)]


# -- documents ---------------------------------------------------------------------


def _nfc_or_none(value: str | None) -> str | None:
    return nfc(value) if value is not None else None


def _source(doc: IndexedDocument) -> dict[str, Any]:
    # NFC before sending: the mapping char_filter only knows precomposed
    # letters, and Elasticsearch has no Unicode normaliser without the ICU plugin.
    return {
        "id": doc.id,
        "agency_id": doc.agency_id,
        "kind": doc.kind,
        "title": nfc(doc.title),
        "text": nfc(doc.text),
        "number_symbol": _nfc_or_none(doc.number_symbol),
        "issuing_body": _nfc_or_none(doc.issuing_body),
        "doc_type": _nfc_or_none(doc.doc_type),
        "year": doc.year,
        "issued_date": doc.issued_date.isoformat() if doc.issued_date else None,
        "doc_date": doc.doc_date.isoformat() if doc.doc_date else None,
        "created_at": created_at_key(doc.created_at),
        "version": doc.version,
    }


# -- queries -----------------------------------------------------------------------


def _clause_query(clause: tuple[str, ...]) -> dict[str, Any]:
    fields = [f"{name}^{weight:g}" for name, weight in ranking.FIELD_WEIGHTS.items()]
    # Tokens are already folded letters/digits; the analyzer leaves them as is.
    return {"multi_match": {"query": " ".join(clause), "type": "phrase", "fields": fields}}


def _highlight_clause(clause: tuple[str, ...]) -> dict[str, Any]:
    """A clause as the highlighter should mark it in the title and the text.

    Spans, not a phrase: with index_phrases a two-word phrase becomes one
    term of the shingle subfield, which the highlighter cannot place in the
    text (the phrase went unmarked).
    """
    if len(clause) == 1:
        return {"multi_match": {"query": clause[0], "fields": list(_HIGHLIGHTED)}}
    spans = [
        {"span_near": {"clauses": [{"span_term": {field: token}} for token in clause], "slop": 0, "in_order": True}}
        for field in _HIGHLIGHTED
    ]
    return {"bool": {"should": spans}}


def _bonus_queries(plan: ranking.RankingPlan) -> list[dict[str, Any]]:
    """The plan's bonuses, each a constant added to a document's score.

    The boosts are read now, not at import, so bench/relevance can switch a
    rule off (boost 0 sends nothing) and measure what it did.
    """
    bonuses: list[dict[str, Any]] = []
    if ranking.PROXIMITY_BOOST:
        for pair in plan.pairs:
            phrase = {"multi_match": {"query": " ".join(pair), "type": "phrase", "fields": list(ranking.FIELD_WEIGHTS)}}
            bonuses.append({"constant_score": {"filter": phrase, "boost": ranking.PROXIMITY_BOOST}})
    if ranking.EXACT_BOOST:
        for word in plan.exact:
            # term, not match: the word is already one exact token.
            bonuses.append({"constant_score": {"filter": {"term": {_EXACT_FIELD: word}}, "boost": ranking.EXACT_BOOST}})
    if ranking.EXACT_PAIR_BOOST:
        for pair in plan.exact_pairs:
            term = {"term": {_EXACT_PAIRS_FIELD: " ".join(pair)}}
            bonuses.append({"constant_score": {"filter": term, "boost": ranking.EXACT_PAIR_BOOST}})
    return bonuses


def _filters(query: SearchQuery) -> list[dict[str, Any]]:
    """Every restriction of the query, in filter context (cached, not scored)."""
    filters: list[dict[str, Any]] = []
    for field, value in (("kind", query.kind), ("year", query.year), ("agency_id", query.agency_id)):
        if value is not None:
            filters.append({"term": {field: value}})
    if query.issuing_body is not None:
        filters.append({"term": {"issuing_body.raw": nfc(query.issuing_body)}})
    if query.doc_type is not None:
        filters.append({"term": {"doc_type": nfc(query.doc_type)}})
    if query.agency_ids is not None:
        filters.append({"terms": {"agency_id": sorted(query.agency_ids)}})
    dates = {op: day.isoformat() for op, day in (("gte", query.date_from), ("lte", query.date_to)) if day is not None}
    if dates:
        filters.append({"range": {"doc_date": dates}})
    return filters


@dataclass(frozen=True)
class _Tiers:
    """The query of each tier, and of both together for the total."""

    first: dict[str, Any]
    second: dict[str, Any] | None  # None: a one-clause query has no second tier
    second_alone: dict[str, Any] | None  # the second tier when the first is empty: no must_not to check
    both: dict[str, Any] | None  # unscored: counts the two tiers at once
    highlight: dict[str, Any]  # the clauses alone: bonuses add nothing to mark


def _tiers(plan: ranking.RankingPlan, query: SearchQuery) -> _Tiers:
    clauses = [_clause_query(c) for c in plan.clauses]
    bonuses, filters = _bonus_queries(plan), _filters(query)
    first = {"bool": {"must": clauses, "should": bonuses, "filter": filters}}
    highlight = {"bool": {"should": [_highlight_clause(c) for c in plan.clauses]}}
    minimum = plan.relaxed_minimum
    if minimum is None:
        return _Tiers(first, None, None, None, highlight)
    relaxed = {"bool": {"should": clauses, "minimum_should_match": minimum}}
    second = {
        "bool": {
            "must": [relaxed],
            "must_not": [{"bool": {"filter": clauses}}],
            "should": bonuses,
            "filter": filters,
        }
    }
    second_alone = {"bool": {"must": [relaxed], "should": bonuses, "filter": filters}}
    both = {"bool": {"filter": [relaxed, *filters]}}
    return _Tiers(first, second, second_alone, both, highlight)


# Tier first always (each tier is its own search), then these.
_SORTS: dict[str, list[dict[str, Any]]] = {
    "relevance": [
        {"_score": {"order": "desc"}},
        {"created_at": {"order": "desc", "missing": "_last"}},
        {"id": {"order": "asc"}},  # stable paging
    ],
    "newest": [
        {"doc_date": {"order": "desc", "missing": "_last"}},
        {"created_at": {"order": "desc", "missing": "_last"}},
        {"id": {"order": "asc"}},
    ],
    "oldest": [
        {"doc_date": {"order": "asc", "missing": "_last"}},
        {"created_at": {"order": "asc", "missing": "_last"}},
        {"id": {"order": "asc"}},
    ],
}


def _facet_aggregations() -> dict[str, Any]:
    order = [{"_count": "desc"}, {"_key": "asc"}]
    return {name: {"terms": {"field": _FACET_SOURCE[name], "size": FACET_SIZE, "order": order}} for name in FACET_FIELDS}


def _facets(response: Mapping[str, Any] | None) -> dict[str, list[FacetCount]]:
    aggregations = (response or {}).get("aggregations", {})
    return {
        name: [FacetCount(b["key"], b["doc_count"]) for b in aggregations.get(name, {}).get("buckets", [])]
        for name in FACET_FIELDS
    }


def _total(response: Mapping[str, Any]) -> int:
    return int(response["hits"]["total"]["value"])


def _capped(count: int, exact_total: bool) -> tuple[int, bool]:
    """(total to show, whether it is exact): past TOTAL_CAP, "more than TOTAL_CAP"."""
    if exact_total or count <= TOTAL_CAP:
        return count, True
    return TOTAL_CAP, False


def _snippet(raw: Mapping[str, Any]) -> str:
    highlight = raw.get("highlight", {})
    text_fragment = (highlight.get("text") or [""])[0]
    title_fragment = (highlight.get("title") or [""])[0]
    # Same fallback order as search.snippets.build_highlight.
    if "<mark>" in text_fragment:
        return str(text_fragment)
    if title_fragment:
        return str(title_fragment)
    return str(text_fragment or html.escape(raw["_source"]["title"]))


def _hit(raw: Mapping[str, Any], all_words: bool, scored: bool) -> SearchHit:
    source = raw["_source"]
    doc_date = source.get("doc_date")
    return SearchHit(
        id=source["id"],
        title=source["title"],
        kind=source["kind"],
        year=source.get("year"),
        number_symbol=source.get("number_symbol"),
        agency_id=source["agency_id"],
        # The score is the first sort value: asking for _score as well
        # (track_scores) would score every match a second way.
        score=float(raw["sort"][0]) if scored else 0.0,
        highlight=_snippet(raw),
        all_words=all_words,
        issuing_body=source.get("issuing_body"),
        doc_date=date.fromisoformat(doc_date) if doc_date else None,
    )


# What a search meets when the alias moved and the old index was deleted
# while it ran (measured: one search in a few swaps fails so).
_SWAP_RACE_ERRORS = ("no_shard_available_action_exception", "index_not_found_exception")


_SWAP_RETRY_PAUSES = (0.02, 0.1, 0.5)


class _SwapRace(Exception):
    """A search ran on the index a rebuild or clear() just replaced; run it again."""


class IndexUnavailable(RuntimeError):
    """The node answers but the index's shards do not, retries or not: a node
    restarted and still recovering them (measured: up to a few seconds after
    it answers again), or the index gone. For the caller the search engine is
    down (docsvc.outages: 503 search_unavailable), not a bug (500)."""


def _raise_search_error(error: object, cause: BaseException | None = None) -> None:
    if any(kind in str(error) for kind in _SWAP_RACE_ERRORS):
        raise _SwapRace(str(error)) from cause
    if cause is not None:
        raise cause
    raise RuntimeError(f"Elasticsearch search failed: {error}")


def _checked(response: Mapping[str, Any]) -> Mapping[str, Any]:
    """One _msearch response, raising its error (msearch reports them per search)."""
    if "error" in response:
        _raise_search_error(response["error"])
    return response


# -- the index layout ----------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    """Which physical indices serve the configured name right now."""

    live: tuple[str, ...]  # behind the alias, or the legacy concrete index itself
    legacy: bool  # the name is a concrete index, from before aliases
    building: str | None  # the index an unfinished rebuild is filling
    generations: tuple[int, ...]  # of every physical <name>-v<n>


def _missing_index(detail: Mapping[str, Any]) -> bool:
    return detail.get("status") == 404 and detail.get("error", {}).get("type") == "index_not_found_exception"


def _bulk_errors(errors: list[Any], dual: bool, ignore_status: tuple[int, ...]) -> list[Any]:
    """The bulk errors that matter (not those with a status in ``ignore_status``).

    During a build every action goes to the live index and to the build. When
    the build goes live (or is aborted) meanwhile, one of the two copies finds
    its index gone: the old one deleted by the swap, or the build's alias
    removed. The other copy then landed in the index that is live now, so
    that is not an error; both copies missing is. A delete of an id the
    index lacks is what the caller wanted.
    """
    details = [next(iter(item.items())) for item in errors]
    missing = Counter(detail["_id"] for _op, detail in details if _missing_index(detail))
    real = []
    for item, (op, detail) in zip(errors, details, strict=True):
        if detail.get("status") in ignore_status:
            continue
        if op == "delete" and detail.get("status") == 404 and "error" not in detail:
            continue
        if dual and _missing_index(detail) and missing[detail["_id"]] == 1:
            continue
        real.append(item)
    return real


class ElasticsearchIndex:
    def __init__(
        self,
        url: str,
        index_name: str = "docsvc-documents",
        *,
        client: Elasticsearch | None = None,
        template_path: Path = DEFAULT_TEMPLATE_PATH,
        request_timeout: float = 15.0,
    ) -> None:
        self.index_name = index_name
        self.template_name = f"{index_name}-template"
        self.rebuild_alias = f"{index_name}-rebuild"
        self._template_path = template_path
        self._generation_re = re.compile(re.escape(index_name) + r"-v(\d+)")
        # A search that meets a dead node gives up within about 2 x request_timeout
        # (the caller then answers 503); bulk writes get BULK_TIMEOUT each.
        self.client = client or Elasticsearch(url, request_timeout=request_timeout, retry_on_timeout=True, max_retries=1)

    def close(self) -> None:
        self.client.close()

    # -- SearchIndex -----------------------------------------------------------

    def ensure_ready(self) -> None:
        self._install_template()
        layout = self._layout()
        if layout.legacy:
            self._extend_legacy_mapping()
        elif not layout.live:
            self._create_generation(layout, aliases={self.index_name: {}}, race_ok=True)

    def index(self, docs: Iterable[IndexedDocument]) -> None:
        layout = self._layout()

        def actions() -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
            for doc in docs:  # a generator: the service can stream rows from the DB
                source = _source(doc)
                for target in self._write_targets(layout):
                    yield {"index": {**target, "_id": doc.id}}, source

        self._bulk(actions(), dual=layout.building is not None)

    def delete(self, ids: Iterable[str]) -> None:
        layout = self._layout()

        def actions() -> Iterator[tuple[dict[str, Any], None]]:
            for doc_id in ids:
                for target in self._write_targets(layout):
                    yield {"delete": {**target, "_id": doc_id}}, None

        self._bulk(actions(), dual=layout.building is not None)

    def search(self, query: SearchQuery) -> SearchResult:
        parsed = validate(query)
        sort = _SORTS[query.sort]  # validate() refused any other
        if query.agency_ids is not None and not query.agency_ids:
            # May see nothing: same as every backend, without asking the node.
            return SearchResult(total=0, hits=[], facets=_facets(None) if query.facets else {})
        tiers = _tiers(ranking.plan(query.text, parsed), query)
        for pause in _SWAP_RETRY_PAUSES:
            try:
                return _TieredSearch(self, query, tiers, sort).run()
            except _SwapRace:
                # The node deletes the old shards a moment before its
                # searches see the alias moved: a short pause, then on the
                # new index. A failure after the last pause is no race.
                time.sleep(pause)
        try:
            return _TieredSearch(self, query, tiers, sort).run()
        except _SwapRace as exc:
            raise IndexUnavailable(f"the index's shards are not available: {exc}") from exc

    def clear(self) -> None:
        # A fresh generation swapped in for the live one: searches see the
        # empty index at once instead of failing in a gap, and it carries the
        # current template (new analyzer, mappings).
        self._install_template()
        layout = self._layout()
        fresh = self._create_generation(layout, aliases={})
        self._swap(layout, fresh)

    def drop(self) -> None:
        """Delete every index this name made *and* its template (uninstall, test teardown).

        Not part of SearchIndex.
        """
        layout = self._layout()
        names = [f"{self.index_name}-v{n:06d}" for n in layout.generations]
        if layout.legacy:
            names.append(self.index_name)
        if names:
            self.client.indices.delete(index=",".join(names), ignore_unavailable=True)
        self.client.options(ignore_status=404).indices.delete_index_template(name=self.template_name)

    def count(self) -> int:
        return int(self.client.count(index=self.index_name)["count"])

    def refresh(self) -> None:
        self.client.indices.refresh(index=self.index_name)

    def rebuild(self) -> ElasticsearchRebuild:
        self._install_template()
        layout = self._layout()
        if layout.building is not None:
            return ElasticsearchRebuild(self, layout.building, self._resume_point(layout.building))
        # Built without refreshes and replicas, which finish() restores:
        # nobody searches the new index until it goes live.
        building = self._create_generation(
            layout,
            aliases={self.rebuild_alias: {}},
            settings={"refresh_interval": "-1", "auto_expand_replicas": "false", "number_of_replicas": 0},
        )
        return ElasticsearchRebuild(self, building, None)

    def versions(self) -> Iterator[tuple[str, str]]:
        # A point in time: a stable view while the walk takes its time, with
        # search_after over _shard_doc (index order, the cheapest: nothing to
        # sort) and the values read from doc values, not the multi-MB _source.
        pit = self.client.open_point_in_time(index=self.index_name, keep_alive=_PIT_KEEP_ALIVE)["id"]
        try:
            after: list[Any] | None = None
            while True:
                response = self.client.search(
                    pit={"id": pit, "keep_alive": _PIT_KEEP_ALIVE},
                    sort=[{"_shard_doc": "asc"}],
                    search_after=after,
                    size=_VERSIONS_PAGE,
                    source=False,
                    # Field names, which Elasticsearch takes; the client's types know only the object form.
                    docvalue_fields=["id", "version"],  # type: ignore[list-item]
                    track_total_hits=False,
                )
                pit = response.get("pit_id", pit)
                hits = response["hits"]["hits"]
                for raw in hits:
                    fields = raw.get("fields", {})
                    yield fields["id"][0], (fields.get("version") or [""])[0]
                if len(hits) < _VERSIONS_PAGE:
                    return
                after = hits[-1]["sort"]
        finally:
            self.client.options(ignore_status=404).close_point_in_time(id=pit)

    # -- layout ----------------------------------------------------------------

    def _install_template(self) -> None:
        body = load_template(self.index_name, self._template_path)
        # Always (re)install the template: cheap and idempotent, and a changed
        # template is picked up by the next rebuild.
        self.client.indices.put_index_template(
            name=self.template_name,
            index_patterns=body["index_patterns"],
            priority=body["priority"],
            template=body["template"],
            meta=body["_meta"],
        )

    def _layout(self) -> _Layout:
        # One cheap cluster-state read: the alias, the legacy index, the build.
        response = self.client.options(ignore_status=404).indices.get_alias(
            index=[self.index_name, f"{self.index_name}-v*"], ignore_unavailable=True, allow_no_indices=True
        )
        found: dict[str, Any] = {k: v for k, v in response.body.items() if isinstance(v, Mapping) and "aliases" in v}
        legacy = self.index_name in found
        live = tuple(sorted(n for n, v in found.items() if self.index_name in v["aliases"]))
        building = next((n for n, v in sorted(found.items()) if self.rebuild_alias in v["aliases"]), None)
        generations = tuple(sorted(int(m.group(1)) for n in found if (m := self._generation_re.fullmatch(n))))
        return _Layout(live=(self.index_name,) if legacy else live, legacy=legacy, building=building, generations=generations)

    def _create_generation(
        self,
        layout: _Layout,
        *,
        aliases: dict[str, Any],
        settings: dict[str, Any] | None = None,
        race_ok: bool = False,
    ) -> str:
        """Create the next physical index (settings and mappings from the template)."""
        name = f"{self.index_name}-v{max(layout.generations, default=0) + 1:06d}"
        try:
            self.client.indices.create(index=name, aliases=aliases, settings=settings)
        except BadRequestError as exc:
            # Another worker's ensure_ready won the race: its index serves.
            if not (race_ok and exc.error == "resource_already_exists_exception"):
                raise
        return name

    def _swap(self, layout: _Layout, fresh: str) -> None:
        """Make ``fresh`` the live index and delete the old one, in one atomic request.

        remove_index also replaces a legacy concrete index by the alias of
        the same name, so searches never see the name missing.
        """
        actions: list[dict[str, Any]] = [{"add": {"index": fresh, "alias": self.index_name}}]
        actions += [{"remove_index": {"index": old}} for old in layout.live if old != fresh]
        if layout.building == fresh:
            actions.append({"remove": {"index": fresh, "alias": self.rebuild_alias}})
        self.client.indices.update_aliases(actions=actions)

    def _extend_legacy_mapping(self) -> None:
        template = load_template(self.index_name, self._template_path)
        properties = template["template"]["mappings"]["properties"]
        self.client.indices.put_mapping(
            index=self.index_name, properties={name: properties[name] for name in _LEGACY_ADDED_FIELDS}
        )

    def _write_targets(self, layout: _Layout) -> list[dict[str, Any]]:
        # require_alias: a write never creates an index. Without it, a write
        # racing a finished rebuild would auto-create "<name>-rebuild".
        live: dict[str, Any] = {"_index": self.index_name}
        if not layout.legacy:
            live["require_alias"] = True
        if layout.building is None:
            return [live]
        return [live, {"_index": self.rebuild_alias, "require_alias": True}]

    def _bulk(
        self,
        actions: Iterable[tuple[dict[str, Any], Any]],
        *,
        dual: bool = False,
        ignore_status: tuple[int, ...] = (),
    ) -> None:
        _ok, errors = helpers.bulk(
            self.client.options(request_timeout=BULK_TIMEOUT_SECONDS),
            actions,  # type: ignore[arg-type]  # (header, body) pairs: the callback below passes them through
            expand_action_callback=lambda action: action,  # already (header, body)
            chunk_size=_BULK_DOCS,
            max_chunk_bytes=_BULK_BYTES,
            raise_on_error=False,
            stats_only=False,
        )
        real = _bulk_errors(list(errors), dual, ignore_status)  # type: ignore[arg-type]
        if real:
            # A rejected document raises instead of silently missing from search.
            raise helpers.BulkIndexError(f"{len(real)} document(s) failed to index.", real)

    def _resume_point(self, building: str) -> str | None:
        mapping = self.client.indices.get_mapping(index=building)
        resume_after: str | None = mapping[building]["mappings"].get("_meta", {}).get("resume_after")
        return resume_after


class _TieredSearch:
    """One query, run as its tiers: first tier's page and both tiers' count
    in one round trip, the second tier's page only when it is on the page."""

    def __init__(self, owner: ElasticsearchIndex, query: SearchQuery, tiers: _Tiers, sort: list[dict[str, Any]]) -> None:
        self.owner, self.query, self.tiers, self.sort = owner, query, tiers, sort
        self.start = (query.page - 1) * query.per_page
        self.end = query.page * query.per_page
        # One more than the cap tells "exactly TOTAL_CAP" from "more".
        self.track: bool | int = True if query.exact_total else TOTAL_CAP + 1
        self.scored = query.sort == "relevance"  # a date sort does not score at all

    def run(self) -> SearchResult:
        first_body = self._body(self.tiers.first, self.start, self.query.per_page, self.query.facets)
        if self.tiers.second is None or self.tiers.both is None:
            first = self._search(first_body)
            return self._result(first, _total(first), None)
        count_body = {"query": self.tiers.both, "size": 0, "track_total_hits": self.track}
        first, both = self._msearch(first_body, count_body)
        return self._result(first, _total(both), self._second_tier(_total(first), _total(both)))

    def _second_tier(self, in_first: int, in_both: int) -> Mapping[str, Any] | None:
        # The first tier is exactly counted whenever the page reaches past it
        # (a page ends within MAX_RESULT_WINDOW < TOTAL_CAP + 1).
        in_second = in_both - in_first
        wants_hits = in_first < self.end and in_second > 0
        wants_facets = self.query.facets and in_first == 0 and in_second > 0
        if not (wants_hits or wants_facets):
            return None
        query = self.tiers.second_alone if in_first == 0 else self.tiers.second
        assert query is not None
        start = max(0, self.start - in_first)
        size = self.end - max(self.start, in_first) if wants_hits else 0
        return self._search(self._body(query, start, size, wants_facets))

    def _body(self, query: dict[str, Any], start: int, size: int, facets: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "query": query,
            # Tried: the score order alone (block-max WAND) with ties settled
            # here, the full sort only when a tie ran past the page's edge. It
            # lost at 100,000 documents: the bonus clauses leave WAND little to
            # skip (1.1x at p95), and on titles that repeat nearly every page
            # of common words ended inside a tie and paid both searches.
            "sort": self.sort,
            "from": start,
            "size": size,
            "track_total_hits": self.track,
            "_source": {"excludes": ["text", "version"]},  # no multi-MB texts back; highlights suffice
            "highlight": {
                "type": "unified",
                "encoder": "html",  # escape the document text, keep our <mark>
                "pre_tags": ["<mark>"],
                "post_tags": ["</mark>"],
                "highlight_query": self.tiers.highlight,
                "fields": {
                    # no_match_size: start of text when only another field matched.
                    "text": {"fragment_size": SNIPPET_CHARS, "number_of_fragments": 1, "no_match_size": SNIPPET_CHARS},
                    "title": {"number_of_fragments": 0},  # whole title
                },
            },
        }
        if facets:
            body["aggs"] = _facet_aggregations()
        return body

    def _search(self, body: dict[str, Any]) -> Mapping[str, Any]:
        try:
            answer: Mapping[str, Any] = self.owner.client.search(index=self.owner.index_name, **body).body
            return answer
        except ApiError as exc:
            _raise_search_error(exc.body, exc)
            raise

    def _msearch(self, *bodies: dict[str, Any]) -> list[Mapping[str, Any]]:
        searches: list[dict[str, Any]] = []
        for body in bodies:
            searches += [{}, body]
        response = self.owner.client.msearch(index=self.owner.index_name, searches=searches)
        return [_checked(r) for r in response["responses"]]

    def _result(self, first: Mapping[str, Any], in_both: int, second: Mapping[str, Any] | None) -> SearchResult:
        in_first = _total(first)
        hits = [_hit(raw, True, self.scored) for raw in first["hits"]["hits"]]
        if second is not None:
            hits += [_hit(raw, False, self.scored) for raw in second["hits"]["hits"]]
        total, exact = _capped(in_both, self.query.exact_total)
        facets = _facets(second if second is not None and in_first == 0 else first) if self.query.facets else {}
        return SearchResult(
            total=total,
            hits=hits,
            total_all_words=_capped(in_first, self.query.exact_total)[0],
            total_is_exact=exact,
            facets=facets,
        )


class ElasticsearchRebuild:
    """A build of the next generation beside the live index (see ``ElasticsearchIndex.rebuild``)."""

    def __init__(self, owner: ElasticsearchIndex, index: str, resume_after: str | None) -> None:
        self.owner = owner
        self.index = index  # the physical index being filled
        self.resume_after = resume_after

    def add(self, docs: list[IndexedDocument]) -> None:
        if not docs:
            return
        alias = self.owner.rebuild_alias
        # "create", not "index": a document the service wrote meanwhile (the
        # dual write) is newer than the database rows this build read, so the
        # build must not overwrite it (version_conflict, ignored below).
        actions = (({"create": {"_index": alias, "_id": d.id, "require_alias": True}}, _source(d)) for d in docs)
        self.owner._bulk(actions, ignore_status=(409,))
        # Recorded once the batch is acknowledged (and so durable): a resumed
        # build starts after the last batch that reached the index.
        self.owner.client.indices.put_mapping(index=self.index, meta={"resume_after": docs[-1].id})
        self.resume_after = docs[-1].id

    def finish(self) -> None:
        template = load_template(self.owner.index_name, self.owner._template_path)
        replicas = template["template"]["settings"]["index"].get("auto_expand_replicas", "0-1")
        client = self.owner.client
        client.indices.put_settings(
            index=self.index, settings={"index": {"refresh_interval": None, "auto_expand_replicas": replicas}}
        )
        client.indices.refresh(index=self.index)
        self.owner._swap(self.owner._layout(), self.index)

    def abort(self) -> None:
        self.owner.client.indices.delete(index=self.index, ignore_unavailable=True)

