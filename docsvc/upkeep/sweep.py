"""The orphan sweep: stored objects that no row refers to, removed once old enough.

A writer stores its object first and records its row after (docsvc/stored.py).
When it fails in between and cannot ask the database whether someone else
uses the bytes (PostgreSQL is down), or its process is killed, the object
stays with no row; `docsvc check` reports it as objects/unreferenced. The
beat task `docsvc.sweep_orphans` (every `orphan_sweep_hours`, on both
profiles: the embedded worker runs beat too), `docsvc sweep` and
`docsvc check --repair` remove such objects.

What is never removed:
  - an object younger than `orphan_grace_hours`, by its store's own clock
    (the time it was last written): a writer's object between its store and
    its commit. A writer commits within seconds of storing (one transaction,
    whose connection gives up after database_connect_timeout_seconds); a
    day is orders of magnitude more, and absorbs a clock set wrong by hours.
  - an object referred to by a row (a document file, a signing key's image).
  - a retained object (a signed record's, locked until its date).
  - anything while the database has no row referring to any object: a
    restore stores every object of the backup before it inserts the rows in
    one transaction at the end (docsvc/upkeep/backup.py), a restore from a
    manifest finds them already in the storage, and an installation pointed
    at the wrong (empty) database must not lose its storage.
  - anchors (audit checkpoints) and unfinished uploads: they are not content
    keys, and the store's listing never names them.

Objects whose row is being written right now: an old orphan's bytes may be
uploaded again, and content addressing then hands the writer the existing
object (StoredObject.created False) without making it young. So an object
is first hidden (a rename, a delete marker: every writer from then on finds
no object and stores the bytes anew), then, SETTLE_SECONDS later, the
database is asked again. A writer that found the object before it was
hidden commits its row within those seconds, is seen, and the object is put
back; otherwise it is purged, with an audit event per object (action
`object.swept`, which the metric docsvc_orphan_objects_swept counts) and a
log line.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from docsvc import audit
from docsvc.metrics import ORPHAN_SWEPT
from docsvc.models import DocumentFile, SigningCredential
from docsvc.runtime import Runtime
from docsvc.upkeep.check import KEY_BATCH, batches, referenced_keys
from storage.base import Hidden, RetentionError, sha256_of_key

log = logging.getLogger(__name__)
SWEEPER = "docsvc:sweep"
# A writer that found an object just before it was hidden commits its row
# within this: its transaction follows its store at once and waits at most
# database_connect_timeout_seconds (5) for a connection.
SETTLE_SECONDS = 30.0
SHOWN = 20  # removed keys listed in the report; all are counted


@dataclass
class SweepReport:
    objects: int = 0  # stored objects looked at
    young: int = 0  # unreferenced or not, within the grace period
    removed: int = 0
    removed_keys: list[str] = field(default_factory=list)  # the first SHOWN
    retained: int = 0  # unreferenced, but locked: kept
    recorded_meanwhile: int = 0  # a row appeared while hidden: put back
    skipped: str = ""  # why nothing was looked at

    def to_json(self) -> dict:
        return asdict(self)


def sweep_orphans(rt: Runtime, grace: timedelta | None = None, *, settle_seconds: float = SETTLE_SECONDS) -> SweepReport:
    """Remove the stored objects no row refers to that are older than `grace`
    (the setting orphan_grace_hours by default)."""
    grace = timedelta(hours=rt.settings.orphan_grace_hours) if grace is None else grace
    report = SweepReport()
    if not _any_row_refers_to_objects(rt):
        report.skipped = "no row refers to any stored object (a restore under way, or another database): nothing swept"
        return report
    cutoff = datetime.now(UTC) - grace
    for keys in batches(_old_keys(rt, cutoff, report), KEY_BATCH):
        hidden = _hide_unreferenced(rt, keys, report)
        if hidden:
            time.sleep(settle_seconds)
            _settle(rt, hidden, report)
    if report.removed or report.retained:
        log.warning("orphan sweep: %s", report.to_json())
    return report


def _any_row_refers_to_objects(rt: Runtime) -> bool:
    with rt.read() as session:
        return (session.scalar(select(DocumentFile.id).limit(1)) is not None
                or session.scalar(select(SigningCredential.id).limit(1)) is not None)


def _old_keys(rt: Runtime, cutoff: datetime, report: SweepReport) -> Iterator[str]:
    for key, modified in rt.store.iter_objects():
        report.objects += 1
        if modified > cutoff:
            report.young += 1
        else:
            yield key


def _hide_unreferenced(rt: Runtime, keys: list[str], report: SweepReport) -> list[Hidden]:
    referenced = referenced_keys(rt, keys)
    hidden = []
    for key in keys:
        if key in referenced:
            continue
        try:
            aside = rt.store.hide(key)
        except RetentionError as exc:
            report.retained += 1
            log.warning("orphan sweep kept a retained object: %s", exc)
            continue
        if aside is not None:
            hidden.append(aside)
    return hidden


def _settle(rt: Runtime, hidden: list[Hidden], report: SweepReport) -> None:
    try:
        referenced = referenced_keys(rt, [aside.key for aside in hidden])
    except BaseException:
        # The database cannot say: nothing hidden may stay hidden.
        for aside in hidden:
            rt.store.reveal(aside)
        raise
    for aside in hidden:
        if aside.key in referenced:
            rt.store.reveal(aside)
            report.recorded_meanwhile += 1
            continue
        rt.store.purge(aside)
        report.removed += 1
        if len(report.removed_keys) < SHOWN:
            report.removed_keys.append(aside.key)
        log.info("orphan sweep removed %s", aside.key, extra={"key": aside.key})
        # Removed first, then recorded: an event never names an object still there.
        with rt.write() as session:
            audit.record(session, None, ORPHAN_SWEPT, "object", sha256_of_key(aside.key), {"key": aside.key},
                         actor_label=SWEEPER)
