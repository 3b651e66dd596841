"""SQLite FTS5 backend: zero-infrastructure search for development, tests and
small single-server installs.

Layout:
* ``search_documents``: the original fields (what hits and snippets show);
* ``search_fts``: an FTS5 table holding the *folded* searchable fields with the
  same rowid. The tokenizer is unicode61 with ``remove_diacritics 0`` because
  we fold ourselves (its own diacritic removal does not handle đ and would be
  a second, different folding to keep in sync with Elasticsearch).

The FTS table keeps its own copy of the folded text (contentful). A contentless
table would halve the size, but deleting from it in SQLite < 3.43 requires
re-supplying the exact folded values; any change to ``fold`` would then
silently corrupt the index.

Concurrency: one connection per process guarded by a lock (the service calls
us from Flask threads and Celery workers). WAL mode lets other processes read
while one writes; a forked child (gunicorn/celery prefork) reopens its own
connection because SQLite connections must not cross fork().
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable
from itertools import islice
from pathlib import Path

from .folding import fold, nfc
from .model import IndexedDocument, SearchHit, SearchQuery, SearchResult, created_at_key
from .query import ParsedQuery, validate
from .ranking import FIELD_WEIGHTS
from .snippets import build_highlight

__all__ = ["SqliteFtsIndex"]

# Commit in batches so a full reindex does not hold the write lock for minutes.
_BATCH = 200
# Column order of the FTS table; bm25() weights follow it.
_FTS_COLUMNS = ("title", "number_symbol", "issuing_body", "text")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS search_documents (
    pk            INTEGER PRIMARY KEY,   -- rowid shared with search_fts
    id            TEXT NOT NULL UNIQUE,
    agency_id     INTEGER NOT NULL,
    kind          TEXT NOT NULL,
    title         TEXT NOT NULL,
    text          TEXT NOT NULL,
    number_symbol TEXT,
    issuing_body  TEXT,
    year          INTEGER,
    issued_date   TEXT,
    created_at    TEXT                   -- created_at_key(): sortable UTC string
);
CREATE INDEX IF NOT EXISTS search_documents_agency ON search_documents (agency_id);
CREATE INDEX IF NOT EXISTS search_documents_kind_year ON search_documents (kind, year);
CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5 (
    title, number_symbol, issuing_body, text,
    tokenize = 'unicode61 remove_diacritics 0'
);
"""


def match_expression(parsed: ParsedQuery) -> str:
    """FTS5 MATCH string: every clause is a double-quoted string, AND-ed.

    Quoting every clause means nothing the user typed is FTS5 syntax (no
    column filters, NEAR, *, ^, OR...). Tokens only contain letters and
    digits anyway; doubling quotes is belt and braces.
    """
    return " AND ".join('"' + " ".join(clause).replace('"', '""') + '"' for clause in parsed.clauses)


class SqliteFtsIndex:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = Path(path)
        self._lock = threading.RLock()
        self._connection: sqlite3.Connection | None = None
        self._pid: int | None = None

    # -- connection handling -------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        """The process's connection, (re)opened lazily; call with the lock held."""
        if self._connection is None or self._pid != os.getpid():
            self._path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a batch
            # is one transaction and reads never sit in an implicit one.
            conn = sqlite3.connect(self._path, timeout=30, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # safe with WAL, much faster commits
            self._connection, self._pid = conn, os.getpid()
        return self._connection

    def close(self) -> None:
        with self._lock:
            if self._connection is not None and self._pid == os.getpid():
                self._connection.close()
            self._connection = None

    # -- SearchIndex -----------------------------------------------------------

    def ensure_ready(self) -> None:
        with self._lock:
            try:
                self._conn().executescript(_SCHEMA)
            except sqlite3.OperationalError as exc:
                if "fts5" in str(exc):
                    raise RuntimeError("This Python's SQLite has no FTS5; use the elasticsearch backend") from exc
                raise

    def index(self, docs: Iterable[IndexedDocument]) -> None:
        iterator = iter(docs)
        while batch := list(islice(iterator, _BATCH)):
            with self._lock:
                conn = self._conn()
                conn.execute("BEGIN IMMEDIATE")
                try:
                    for doc in batch:
                        self._upsert(conn, doc)
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise

    @staticmethod
    def _upsert(conn: sqlite3.Connection, doc: IndexedDocument) -> None:
        # NFC on the way in: highlighting slices the stored text by offsets
        # computed on NFC text, so store it that way.
        values = (
            doc.agency_id,
            doc.kind,
            nfc(doc.title),
            nfc(doc.text),
            nfc(doc.number_symbol) if doc.number_symbol is not None else None,
            nfc(doc.issuing_body) if doc.issuing_body is not None else None,
            doc.year,
            doc.issued_date.isoformat() if doc.issued_date else None,
            created_at_key(doc.created_at),
        )
        row = conn.execute("SELECT pk FROM search_documents WHERE id = ?", (doc.id,)).fetchone()
        if row is None:
            pk = conn.execute(
                "INSERT INTO search_documents (agency_id, kind, title, text, number_symbol, issuing_body,"
                " year, issued_date, created_at, id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*values, doc.id),
            ).lastrowid
        else:
            pk = row[0]
            conn.execute(
                "UPDATE search_documents SET agency_id = ?, kind = ?, title = ?, text = ?, number_symbol = ?,"
                " issuing_body = ?, year = ?, issued_date = ?, created_at = ? WHERE pk = ?",
                (*values, pk),
            )
            conn.execute("DELETE FROM search_fts WHERE rowid = ?", (pk,))
        conn.execute(
            "INSERT INTO search_fts (rowid, title, number_symbol, issuing_body, text) VALUES (?, ?, ?, ?, ?)",
            (pk, fold(doc.title), fold(doc.number_symbol or ""), fold(doc.issuing_body or ""), fold(doc.text)),
        )

    def delete(self, ids: Iterable[str]) -> None:
        iterator = iter(ids)
        while batch := list(islice(iterator, _BATCH)):
            with self._lock:
                conn = self._conn()
                conn.execute("BEGIN IMMEDIATE")
                try:
                    for doc_id in batch:
                        row = conn.execute("SELECT pk FROM search_documents WHERE id = ?", (doc_id,)).fetchone()
                        if row is not None:
                            conn.execute("DELETE FROM search_fts WHERE rowid = ?", row)
                            conn.execute("DELETE FROM search_documents WHERE pk = ?", row)
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise

    def search(self, query: SearchQuery) -> SearchResult:
        parsed = validate(query)
        if query.agency_ids is not None and not query.agency_ids:
            return SearchResult(total=0, hits=[])  # may see nothing: don't even ask

        where = ["search_fts MATCH ?"]
        params: list[object] = [match_expression(parsed)]
        if query.kind is not None:
            where.append("d.kind = ?")
            params.append(query.kind)
        if query.year is not None:
            where.append("d.year = ?")
            params.append(query.year)
        if query.agency_ids is not None:
            # json_each keeps it one bound parameter however many agencies
            # (no SQLITE_MAX_VARIABLE_NUMBER limit, no string-built SQL).
            where.append("d.agency_id IN (SELECT value FROM json_each(?))")
            params.append("[" + ",".join(str(int(a)) for a in sorted(query.agency_ids)) + "]")
        from_where = " FROM search_fts JOIN search_documents AS d ON d.pk = search_fts.rowid WHERE " + " AND ".join(where)
        weights = ", ".join(str(FIELD_WEIGHTS[c]) for c in _FTS_COLUMNS)

        with self._lock:
            conn = self._conn()
            total = conn.execute("SELECT count(*)" + from_where, params).fetchone()[0]
            rows = conn.execute(
                # bm25() is "lower is better"; ties go to the newest document,
                # then id so that paging is stable.
                f"SELECT d.id, d.title, d.kind, d.year, d.number_symbol, d.agency_id, d.text,"
                f" bm25(search_fts, {weights}) AS bm25_score"
                + from_where
                + " ORDER BY bm25_score, d.created_at IS NULL, d.created_at DESC, d.id LIMIT ? OFFSET ?",
                [*params, query.per_page, (query.page - 1) * query.per_page],
            ).fetchall()

        # Snippets are computed outside the lock: it is pure Python work.
        hits = [
            SearchHit(
                id=doc_id,
                title=title,
                kind=kind,
                year=year,
                number_symbol=number_symbol,
                agency_id=agency_id,
                score=-bm25_score,
                highlight=build_highlight(title, text, parsed.clauses),
            )
            for doc_id, title, kind, year, number_symbol, agency_id, text, bm25_score in rows
        ]
        return SearchResult(total=total, hits=hits)

    def clear(self) -> None:
        # Drop and recreate rather than DELETE: instant, and a schema change
        # (e.g. a new tokenizer option) takes effect on the following reindex.
        self.drop()
        self.ensure_ready()

    def drop(self) -> None:
        """Remove the search tables (uninstall, test teardown); not part of SearchIndex."""
        with self._lock:
            self._conn().executescript("DROP TABLE IF EXISTS search_fts; DROP TABLE IF EXISTS search_documents;")

    def count(self) -> int:
        with self._lock:
            return int(self._conn().execute("SELECT count(*) FROM search_documents").fetchone()[0])

    def refresh(self) -> None:
        """Nothing to do: a committed SQLite write is immediately visible."""
