"""Elasticsearch 8 backend (official ``elasticsearch`` client).

Index settings and mappings live in config/elasticsearch/documents-template.json
and are installed as an index template; only the Vietnamese folding mappings
are generated here from ``search.folding.FOLDING_TABLE`` so folding is written
once. The same parser (``search.query``) as the SQLite backend produces the
clauses; each clause becomes a ``multi_match`` of type ``phrase`` (a one-token
phrase is just a term), all in ``must`` (AND), with kind/year/agency in
``filter`` context (cached, not scored).

Highlights come from Elasticsearch's unified highlighter on the stored
original text, so they carry the document's own diacritics.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from elasticsearch import BadRequestError, Elasticsearch, helpers

from .folding import FOLDING_TABLE, nfc
from .model import IndexedDocument, SearchHit, SearchQuery, SearchResult, created_at_key
from .query import WORD_JOINERS, ParsedQuery, validate
from .ranking import FIELD_WEIGHTS
from .snippets import SNIPPET_CHARS

__all__ = ["DEFAULT_TEMPLATE_PATH", "ElasticsearchIndex", "folding_mappings", "load_template"]

DEFAULT_TEMPLATE_PATH = Path(__file__).resolve().parent.parent / "config" / "elasticsearch" / "documents-template.json"

# Bulk requests: a few hundred documents, capped in bytes because one extracted
# text can be several MB (ES rejects requests over http.max_content_length).
_BULK_DOCS = 200
_BULK_BYTES = 20 * 1024 * 1024


def load_template(index_name: str, path: Path = DEFAULT_TEMPLATE_PATH) -> dict[str, Any]:
    """The template body for ``index_name``, with the folding char_filter filled in."""
    template: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    template["index_patterns"] = [index_name]
    char_filter = template["template"]["settings"]["analysis"]["char_filter"]["vi_folding"]
    char_filter["mappings"] = folding_mappings()
    return template


def folding_mappings() -> list[str]:
    """Rules of the ``mapping`` char_filter: Vietnamese letters to their base,
    word joiners to a space. One char for one, so offsets need no correction.

    Joiners are written as \\uXXXX escapes: the rule parser trims whitespace
    (a literal space value would become "delete") and some joiners ("=",
    quotes) would be ambiguous literally.
    """
    rules = [f"{letter} => {base}" for letter, base in sorted(FOLDING_TABLE.items())]
    rules += [f"\\u{ord(char):04x} => \\u0020" for char in sorted(WORD_JOINERS)]
    return rules


def _clause_query(clause: tuple[str, ...]) -> dict[str, Any]:
    fields = [f"{name}^{weight:g}" for name, weight in FIELD_WEIGHTS.items()]
    # Tokens are already folded letters/digits; the analyzer leaves them as is.
    return {"multi_match": {"query": " ".join(clause), "type": "phrase", "fields": fields}}


def _source(doc: IndexedDocument) -> dict[str, Any]:
    # NFC before sending: the mapping char_filter only knows precomposed
    # letters, and Elasticsearch has no Unicode normaliser without the ICU plugin.
    return {
        "id": doc.id,
        "agency_id": doc.agency_id,
        "kind": doc.kind,
        "title": nfc(doc.title),
        "text": nfc(doc.text),
        "number_symbol": nfc(doc.number_symbol) if doc.number_symbol is not None else None,
        "issuing_body": nfc(doc.issuing_body) if doc.issuing_body is not None else None,
        "year": doc.year,
        "issued_date": doc.issued_date.isoformat() if doc.issued_date else None,
        "created_at": created_at_key(doc.created_at),
    }


class ElasticsearchIndex:
    def __init__(
        self,
        url: str,
        index_name: str = "docsvc-documents",
        *,
        client: Elasticsearch | None = None,
        template_path: Path = DEFAULT_TEMPLATE_PATH,
        request_timeout: float = 30.0,
    ) -> None:
        self.index_name = index_name
        self.template_name = f"{index_name}-template"
        self._template_path = template_path
        self.client = client or Elasticsearch(url, request_timeout=request_timeout, retry_on_timeout=True, max_retries=2)

    def close(self) -> None:
        self.client.close()

    # -- SearchIndex -----------------------------------------------------------

    def ensure_ready(self) -> None:
        body = load_template(self.index_name, self._template_path)
        # Always (re)install the template: cheap and idempotent, and a changed
        # template is picked up by the next clear() + reindex.
        self.client.indices.put_index_template(
            name=self.template_name,
            index_patterns=body["index_patterns"],
            priority=body["priority"],
            template=body["template"],
            meta=body["_meta"],
        )
        if not self.client.indices.exists(index=self.index_name):
            try:
                self.client.indices.create(index=self.index_name)  # settings/mappings from the template
            except BadRequestError as exc:
                if exc.error != "resource_already_exists_exception":  # another worker won the race
                    raise

    def index(self, docs: Iterable[IndexedDocument]) -> None:
        def actions() -> Iterator[dict[str, Any]]:
            for doc in docs:  # a generator: the service can stream rows from the DB
                yield {"_op_type": "index", "_index": self.index_name, "_id": doc.id, "_source": _source(doc)}

        # raise_on_error (default): a rejected document raises BulkIndexError
        # instead of silently missing from search.
        helpers.bulk(self.client, actions(), chunk_size=_BULK_DOCS, max_chunk_bytes=_BULK_BYTES)

    def delete(self, ids: Iterable[str]) -> None:
        actions = ({"_op_type": "delete", "_index": self.index_name, "_id": doc_id} for doc_id in ids)
        # 404 = already gone, which is what we wanted.
        helpers.bulk(self.client, actions, chunk_size=1000, ignore_status=(404,))

    def search(self, query: SearchQuery) -> SearchResult:
        parsed = validate(query)
        if query.agency_ids is not None and not query.agency_ids:
            return SearchResult(total=0, hits=[])  # may see nothing: same as SQLite

        response = self.client.search(
            index=self.index_name,
            query=self._query(parsed, query),
            sort=[
                {"_score": {"order": "desc"}},
                {"created_at": {"order": "desc", "missing": "_last"}},
                {"id": {"order": "asc"}},  # stable paging
            ],
            from_=(query.page - 1) * query.per_page,
            size=query.per_page,
            track_total_hits=True,  # exact totals, not "10 000+"
            track_scores=True,  # sorting by more than _score would drop scores otherwise
            source_excludes=["text"],  # don't ship multi-MB texts back; highlights suffice
            highlight={
                "type": "unified",
                "encoder": "html",  # escape the document text, keep our <mark>
                "pre_tags": ["<mark>"],
                "post_tags": ["</mark>"],
                "fields": {
                    # no_match_size: start of text when only another field matched.
                    "text": {"fragment_size": SNIPPET_CHARS, "number_of_fragments": 1, "no_match_size": SNIPPET_CHARS},
                    "title": {"number_of_fragments": 0},  # whole title
                },
            },
        )
        hits = [self._hit(raw) for raw in response["hits"]["hits"]]
        return SearchResult(total=int(response["hits"]["total"]["value"]), hits=hits)

    def clear(self) -> None:
        # Delete and recreate instead of delete_by_query: instant, reclaims
        # space, and applies the current template (new analyzer, mappings).
        # Searches in the gap fail with index_not_found; clear() is a
        # maintenance operation (full reindex).
        self.client.indices.delete(index=self.index_name, ignore_unavailable=True)
        self.ensure_ready()

    def drop(self) -> None:
        """Delete the index *and* its template (uninstall, test teardown).

        Not part of SearchIndex. Deleting only the index leaves the
        per-index template behind.
        """
        self.client.indices.delete(index=self.index_name, ignore_unavailable=True)
        self.client.options(ignore_status=404).indices.delete_index_template(name=self.template_name)

    def count(self) -> int:
        return int(self.client.count(index=self.index_name)["count"])

    def refresh(self) -> None:
        self.client.indices.refresh(index=self.index_name)

    # -- helpers ---------------------------------------------------------------

    @staticmethod
    def _query(parsed: ParsedQuery, query: SearchQuery) -> dict[str, Any]:
        filters: list[dict[str, Any]] = []
        if query.kind is not None:
            filters.append({"term": {"kind": query.kind}})
        if query.year is not None:
            filters.append({"term": {"year": query.year}})
        if query.agency_ids is not None:
            filters.append({"terms": {"agency_id": sorted(query.agency_ids)}})
        return {"bool": {"must": [_clause_query(c) for c in parsed.clauses], "filter": filters}}

    @staticmethod
    def _hit(raw: Mapping[str, Any]) -> SearchHit:
        source = raw["_source"]
        highlight = raw.get("highlight", {})
        text_fragment = (highlight.get("text") or [""])[0]
        title_fragment = (highlight.get("title") or [""])[0]
        # Same fallback order as search.snippets.build_highlight.
        if "<mark>" in text_fragment:
            snippet = text_fragment
        elif title_fragment:
            snippet = title_fragment
        else:
            snippet = text_fragment or html.escape(source["title"])
        return SearchHit(
            id=source["id"],
            title=source["title"],
            kind=source["kind"],
            year=source.get("year"),
            number_symbol=source.get("number_symbol"),
            agency_id=source["agency_id"],
            score=float(raw["_score"] or 0.0),
            highlight=snippet,
        )

