"""`docsvc check`: does the installation still hold what it says it holds?

Five checks, each a name in the report:
  files      every file row (document files, signing-key images) has its
             stored object, of the row's size, whose bytes hash to its key
             (read whole through the store's verifying reader), and the
             row's sha256 is the key's
  objects    every stored content object is referred to by a row, and none
             is left hidden by an orphan sweep that did not finish
  index      every index entry matches its row (`docsvc search check`)
  retention  with record_retention on, every version a signed record is
             kept as is locked at least until the record's date
  registers  each register book (agency, book, year) holds the numbers
             1..N once each, N its counter's last number: no gap (a number
             given and lost), no repeat, none beyond the counter
  audit      the audit chain and its checkpoints verify (`docsvc audit verify`)

Memory stays bounded at a million files: rows are read in key order a batch
at a time (so a key shared by several rows is read once), the store's
listing is streamed and each batch of keys looked up in the database, and
only counts and the first few problems of each kind are kept.

It reads while the installation runs: an upload between storing its object
and committing its row shows as an unreferenced object, a discard between
deleting its row and its object likewise. Run it when the installation is
quiet, or run it again to tell damage from a moment's traffic.
"""
from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TypeVar

from sqlalchemy import and_, func, or_, select

from docsvc import audit, audit_anchor, documents, signatures
from docsvc.models import Document, DocumentFile, RegisterCounter, SigningCredential
from docsvc.runtime import Runtime
from storage import IntegrityError, ObjectMissing
from storage.base import sha256_of_key

log = logging.getLogger(__name__)
CHECKS = ("files", "objects", "index", "retention", "registers", "audit")
ROW_BATCH = 1000
KEY_BATCH = 500  # keys looked up in one query (well under every database's limit on parameters)
SHOWN_PER_KIND = 20  # problems listed per check and kind; all are counted
T = TypeVar("T")


@dataclass(frozen=True)
class Problem:
    check: str  # one of CHECKS
    kind: str  # missing, corrupt, wrong_size, wrong_hash, unreferenced, stale, extra, short, tampered, …
    detail: str
    document_id: str | None = None
    key: str | None = None
    event_id: int | None = None

    def to_json(self) -> dict:
        return {name: value for name, value in asdict(self).items() if value is not None}


@dataclass
class IntegrityReport:
    checked: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHECKS, 0))
    skipped: dict[str, str] = field(default_factory=dict)  # check -> why it did not run
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)  # (check, kind) -> problems found
    problems: list[Problem] = field(default_factory=list)  # the first SHOWN_PER_KIND of each kind

    @property
    def ok(self) -> bool:
        return not self.counts

    def add(self, problem: Problem) -> None:
        """Count the problem; list it too while its kind's list has room."""
        if self.counts[problem.check, problem.kind] < SHOWN_PER_KIND:
            self.problems.append(problem)
        self.counts[problem.check, problem.kind] += 1

    def count_unlisted(self, check: str, kind: str, count: int) -> None:
        """Problems known only by their number (a check that keeps a sample)."""
        if count > 0:
            self.counts[check, kind] += count

    def to_json(self) -> dict:
        found: dict[str, dict[str, int]] = {}
        for (check, kind), count in sorted(self.counts.items()):
            found.setdefault(check, {})[kind] = count
        return {"ok": self.ok, "checked": self.checked, "skipped": self.skipped, "found": found,
                "problems": [problem.to_json() for problem in self.problems]}


def check_installation(rt: Runtime, *, repair: bool = False) -> IntegrityReport:
    """`repair` also makes the search index true to the database first
    (`docsvc check --repair`, which sweeps orphan objects before)."""
    report = IntegrityReport()
    check_files(rt, report)
    check_objects(rt, report)
    if repair:
        documents.check_index(rt, repair=True)
    check_index(rt, report)
    check_retention(rt, report)
    check_registers(rt, report)
    check_audit(rt, report)
    return report


# --- files: every row has its object -------------------------------------------


@dataclass(frozen=True)
class FileRef:
    key: str
    what: str  # for the report: "the original of document …", "the image of signing key 3"
    document_id: str | None = None
    sha256: str | None = None  # the row's columns, where it has them
    size: int | None = None


def check_files(rt: Runtime, report: IntegrityReport) -> None:
    for key, refs in _grouped_by_key(_document_files(rt)):
        report.checked["files"] += len(refs)
        _check_object(rt, report, key, refs)
    for credential_id, key in _credential_images(rt):
        report.checked["files"] += 1
        _check_object(rt, report, key, [FileRef(key, f"the image of signing key {credential_id}")])


def _document_files(rt: Runtime) -> Iterator[FileRef]:
    """Every document file row, in key order, a batch at a time."""
    after: tuple[str, int] = ("", 0)
    while True:
        with rt.read() as session:
            rows = session.execute(
                select(DocumentFile.storage_key, DocumentFile.id, DocumentFile.document_id, DocumentFile.role,
                       DocumentFile.sha256, DocumentFile.size)
                .where(or_(DocumentFile.storage_key > after[0],
                           and_(DocumentFile.storage_key == after[0], DocumentFile.id > after[1])))
                .order_by(DocumentFile.storage_key, DocumentFile.id).limit(ROW_BATCH)
            ).all()
        if not rows:
            return
        after = (rows[-1].storage_key, rows[-1].id)
        for row in rows:
            yield FileRef(row.storage_key, f"the {row.role} file of document {row.document_id}", row.document_id,
                          row.sha256, row.size)


def _grouped_by_key(refs: Iterator[FileRef]) -> Iterator[tuple[str, list[FileRef]]]:
    group: list[FileRef] = []
    for ref in refs:
        if group and ref.key != group[0].key:
            yield group[0].key, group
            group = []
        group.append(ref)
    if group:
        yield group[0].key, group


def _credential_images(rt: Runtime) -> list[tuple[int, str]]:
    # One row per person or agency that signs: few enough to read at once.
    with rt.read() as session:
        return [(row.id, row.image_key) for row in
                session.execute(select(SigningCredential.id, SigningCredential.image_key).order_by(SigningCredential.id))]


def _check_object(rt: Runtime, report: IntegrityReport, key: str, refs: list[FileRef]) -> None:
    first = refs[0]
    try:
        expected = sha256_of_key(key)
    except ValueError:
        report.add(Problem("files", "bad_key", f"{first.what} names {key!r}, which is not a content key",
                           first.document_id, key))
        return
    for ref in refs:
        if ref.sha256 is not None and ref.sha256 != expected:
            report.add(Problem("files", "wrong_hash", f"{ref.what} records sha256 {ref.sha256}, "
                               "but its object's key says another", ref.document_id, key))
    try:
        stored_size = rt.store.size(key)
        _read_through(rt, key)
    except ObjectMissing:
        report.add(Problem("files", "missing", f"{first.what} has no stored object", first.document_id, key))
        return
    except IntegrityError:
        report.add(Problem("files", "corrupt", f"the stored bytes of {first.what} do not hash to its key",
                           first.document_id, key))
        return
    for ref in refs:
        if ref.size is not None and ref.size != stored_size:
            report.add(Problem("files", "wrong_size", f"{ref.what} records {ref.size:,} bytes, "
                               f"its object has {stored_size:,}", ref.document_id, key))


def _read_through(rt: Runtime, key: str) -> None:
    """Read the object to its end: the verifying reader checks the hash there."""
    with rt.store.open(key) as reader:
        for _ in reader.iter_chunks():
            pass


# --- objects: every object has its row -----------------------------------------


def check_objects(rt: Runtime, report: IntegrityReport) -> None:
    for keys in batches(rt.store.iter_keys(), KEY_BATCH):
        report.checked["objects"] += len(keys)
        referenced = referenced_keys(rt, keys)
        for key in keys:
            if key not in referenced:
                report.add(Problem("objects", "unreferenced", "a stored object no row refers to", key=key))
    for left in batches(rt.store.iter_hidden(), KEY_BATCH):
        report.checked["objects"] += len(left)
        referenced = referenced_keys(rt, [aside.key for aside, _written in left])
        for aside, _written in left:
            report.add(Problem("objects", "hidden", HIDDEN_REFERENCED if aside.key in referenced else HIDDEN, key=aside.key))


HIDDEN = ("an object an orphan sweep hid and did not finish (it was killed, or is at work now); no row "
          "refers to it: the next sweep removes it")
HIDDEN_REFERENCED = ("an object an orphan sweep hid and did not finish (it was killed, or is at work now), and a "
                     "row refers to it: nobody can read it until the next sweep (or check --repair) puts it back")


def batches(items: Iterator[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def referenced_keys(rt: Runtime, keys: list[str]) -> set[str]:
    with rt.read() as session:
        found = set(session.scalars(select(DocumentFile.storage_key).where(DocumentFile.storage_key.in_(keys))))
        found.update(session.scalars(select(SigningCredential.image_key).where(SigningCredential.image_key.in_(keys))))
    return found


# --- index ----------------------------------------------------------------------------


INDEX_FINDINGS = {
    "missing": "a ready document has no index entry (nobody finds it)",
    "stale": "the index entry was made from an older state of the document",
    "extra": "an index entry for a document that is gone or not ready",
}


def check_index(rt: Runtime, report: IntegrityReport) -> None:
    found = documents.check_index(rt, repair=False)
    report.checked["index"] = found.documents
    if found.unreachable:
        report.add(Problem("index", "unreachable", f"the search index could not be read: {found.unreachable}"))
        return
    for kind, meaning in INDEX_FINDINGS.items():
        finding = getattr(found, kind)  # the index check keeps the count and a sample of ids
        for document_id in finding.ids:
            report.add(Problem("index", kind, meaning, document_id))
        report.count_unlisted("index", kind, finding.count - len(finding.ids))


# --- retention ----------------------------------------------------------------------


def check_retention(rt: Runtime, report: IntegrityReport) -> None:
    if not rt.settings.record_retention:
        report.skipped["retention"] = "record_retention is off: signed records are not locked"
        return
    after = ""
    while True:
        with rt.read() as session:
            records = signatures.signed_records(session, after=after, limit=ROW_BATCH)
            if not records:
                return
            after = records[-1][0].id
            terms = {document.id: signatures.record_terms(document, ecopy) for document, ecopy in records}
            versions = signatures.record_versions(session, list(terms))
        for version in versions:
            report.checked["retention"] += 1
            _check_lock(rt, report, version.document_id, version.storage_key, terms[version.document_id].until)


def _check_lock(rt: Runtime, report: IntegrityReport, document_id: str, key: str, until: datetime) -> None:
    held = rt.store.retained_until(key)
    if held is None:
        if rt.store.exists(key):  # a missing object is the files check's finding
            report.add(Problem("retention", "missing", f"a signed version of document {document_id} is not "
                               f"locked; its record is kept until {until:%Y-%m-%d %H:%M} UTC", document_id, key))
    elif held < until:
        report.add(Problem("retention", "short", f"a signed version of document {document_id} is locked until "
                           f"{held:%Y-%m-%d %H:%M} UTC, its record is kept until {until:%Y-%m-%d %H:%M} UTC",
                           document_id, key))


# --- registers ------------------------------------------------------------------------


def check_registers(rt: Runtime, report: IntegrityReport) -> None:
    """Counts, not numbers, are compared, so that memory stays bounded: N
    distinct numbers, all within 1..last, are exactly 1..last when N = last."""
    book = (Document.agency_id, Document.register_book, Document.register_year)
    with rt.read() as session:
        held = {(row.agency_id, row.register_book, row.register_year): row for row in session.execute(
            select(*book, func.count().label("entries"),
                   func.count(func.distinct(Document.register_number)).label("numbers"),
                   func.min(Document.register_number).label("low"), func.max(Document.register_number).label("high"))
            .where(Document.register_number.is_not(None)).group_by(*book))}
        counters = {(c.agency_id, c.book, c.year): c.last_number for c in session.scalars(select(RegisterCounter))}
    for where in sorted(held.keys() | counters.keys(), key=lambda k: tuple(str(part) for part in k)):
        agency_id, name, year = where
        what = f"the {name} book of agency {agency_id} for {year}"
        last, row = counters.get(where, 0), held.get(where)
        entries, numbers = (row.entries, row.numbers) if row else (0, 0)
        report.checked["registers"] += entries
        if entries > numbers:
            report.add(Problem("registers", "repeat", f"{what} gives {entries - numbers} number(s) twice"))
        if row and (row.low < 1 or row.high > last):
            report.add(Problem("registers", "beyond", f"{what} holds numbers {row.low}..{row.high}, "
                               f"its counter stops at {last}"))
        elif numbers < last:
            report.add(Problem("registers", "gap", f"{what} has {last - numbers} of the numbers 1..{last} "
                               "given to no document"))


# --- audit ----------------------------------------------------------------------------


def check_audit(rt: Runtime, report: IntegrityReport) -> None:
    try:
        key = audit.audit_key(rt.settings, create=False)
    except audit.AuditKeyMissing as exc:
        report.add(Problem("audit", "key_missing", exc.message))
        return
    with rt.read() as session:
        found = audit_anchor.check_log(rt, session, key)
    report.checked["audit"] = found.events
    if not found.ok:
        report.add(Problem("audit", "tampered", f"the audit log has been altered: {found.reason}",
                           event_id=found.first_bad_id))
