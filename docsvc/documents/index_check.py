"""`docsvc search check`: is the search index true to the database?

Three kinds of finding:
  missing  a ready document has no entry (nobody finds it)
  stale    its entry was made from an older state of the row
  extra    an entry for a document that is gone or not ready (a search
           shows what should not be there)
and, beside them, the index writes still waiting for a retry.

Memory stays bounded at a million documents: the index's (id, version)
pairs, which come in no useful order, are spilled into a temporary SQLite
file keyed by id; the database is read in id order, a batch at a time, and
each batch is looked up there. What is left in the file at the end has no
ready row: the extras. Only counts and a few ids per finding are kept.
"""
from __future__ import annotations

import logging
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from docsvc.documents import indexing
from docsvc.models import DocumentStatus
from docsvc.runtime import Runtime

log = logging.getLogger(__name__)
CHECK_BATCH = 1000
SPILL_BATCH = 5000
SAMPLE_IDS = 10  # ids shown per finding


@dataclass
class Finding:
    count: int = 0
    ids: list[str] = field(default_factory=list)  # the first SAMPLE_IDS

    def add(self, ids: list[str]) -> None:
        self.count += len(ids)
        self.ids.extend(ids[: max(SAMPLE_IDS - len(self.ids), 0)])


@dataclass
class CheckReport:
    documents: int = 0  # ready documents in the database
    entries: int = 0  # entries in the index
    missing: Finding = field(default_factory=Finding)
    stale: Finding = field(default_factory=Finding)
    extra: Finding = field(default_factory=Finding)
    pending: Finding = field(default_factory=Finding)  # documents whose index write waits for a retry
    written: int = 0  # by --repair
    removed: int = 0
    unreachable: str = ""  # why the index could not be read (then only `pending` is known)

    FINDINGS = ("missing", "stale", "extra")

    @property
    def ok(self) -> bool:
        return not self.unreachable and not any(getattr(self, name).count for name in self.FINDINGS)

    def to_json(self) -> dict:
        findings = {name: {"count": getattr(self, name).count, "ids": getattr(self, name).ids}
                    for name in (*self.FINDINGS, "pending")}
        return {"ok": self.ok, "unreachable": self.unreachable or None, "documents": self.documents,
                "entries": self.entries, **findings, "repaired": {"written": self.written, "removed": self.removed}}


def check(rt: Runtime, *, repair: bool = False) -> CheckReport:
    """Compare the index with the database; with `repair`, write the missing
    and stale entries and delete the extra ones as they are found."""
    report = CheckReport()
    try:
        _compare_all(rt, report, repair)
    except Exception as exc:  # the index is down: what waits for it is still worth telling
        log.warning("search check could not read the index", exc_info=True)
        report.unreachable = f"{type(exc).__name__}: {exc}"[:300]
    with rt.read() as session:
        report.pending.count = indexing.pending_retry_count(session)
        report.pending.ids = [e.payload["document_id"] for e in indexing.pending_retries(session, limit=SAMPLE_IDS)]
    if repair and (report.written or report.removed) and not report.unreachable:
        rt.index.refresh()
    return report


def _compare_all(rt: Runtime, report: CheckReport, repair: bool) -> None:
    with _spilled(rt, rt.index.versions()) as spill:
        report.entries = spill.execute("SELECT count(*) FROM entries").fetchone()[0]
        for rows in _database_batches(rt):
            _compare(rt, report, spill, rows, repair)
        for ids in _leftovers(spill):
            report.extra.add(ids)
            if repair:
                _repair(rt, report, ids)


def _compare(rt: Runtime, report: CheckReport, spill: sqlite3.Connection,
             rows: list[tuple[str, str, str]], repair: bool) -> None:
    ready = {id_: version for id_, status, version in rows if status == DocumentStatus.READY}
    indexed = _lookup(spill, list(ready))
    missing = [id_ for id_ in ready if id_ not in indexed]
    stale = [id_ for id_ in ready if id_ in indexed and indexed[id_] != ready[id_]]
    # Entries of ready documents are accounted for; what stays is extra.
    spill.executemany("DELETE FROM entries WHERE id = ?", [(id_,) for id_ in indexed])
    report.documents += len(ready)
    report.missing.add(missing)
    report.stale.add(stale)
    if repair and (missing or stale):
        _repair(rt, report, missing + stale)


def _repair(rt: Runtime, report: CheckReport, ids: list[str]) -> None:
    written, removed = indexing.write_under_lock(rt, ids)
    report.written += written
    report.removed += removed


def _database_batches(rt: Runtime) -> Iterator[list[tuple[str, str, str]]]:
    """(id, status, version) of every document, in id order, a batch at a time."""
    after = ""
    while True:
        with rt.read() as session:
            rows = indexing.row_versions(session, after=after, limit=CHECK_BATCH)
        if not rows:
            return
        after = rows[-1][0]
        yield rows


def _lookup(spill: sqlite3.Connection, ids: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    # SQLite's default limit on bound parameters is 999 in older builds.
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        found.update(spill.execute(f"SELECT id, version FROM entries WHERE id IN ({marks})", chunk).fetchall())
    return found


def _leftovers(spill: sqlite3.Connection) -> Iterator[list[str]]:
    cursor = spill.execute("SELECT id FROM entries ORDER BY id")
    while rows := cursor.fetchmany(CHECK_BATCH):
        yield [row[0] for row in rows]


@contextmanager
def _spilled(rt: Runtime, versions: Iterable[tuple[str, str]]) -> Iterator[sqlite3.Connection]:
    folder = Path(rt.settings.data_dir) / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="search-check-", dir=folder) as work:
        spill = sqlite3.connect(Path(work) / "entries.sqlite")
        try:
            # A scratch file: nothing to recover after a crash.
            spill.execute("PRAGMA journal_mode=OFF")
            spill.execute("PRAGMA synchronous=OFF")
            spill.execute("CREATE TABLE entries (id TEXT PRIMARY KEY, version TEXT NOT NULL) WITHOUT ROWID")
            _fill(spill, versions)
            yield spill
        finally:
            spill.close()


def _fill(spill: sqlite3.Connection, versions: Iterable[tuple[str, str]]) -> None:
    batch: list[tuple[str, str]] = []
    for pair in versions:
        batch.append(pair)
        if len(batch) >= SPILL_BATCH:
            spill.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?)", batch)
            batch.clear()
    spill.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?)", batch)
    spill.commit()
