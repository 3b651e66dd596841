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
no object and stores the bytes anew), then, `orphan_settle_seconds` (30)
later, the database is asked again. A writer that found the object before
it was hidden commits its row within those seconds, is seen, and the object
is put back; otherwise it is purged, with an audit event per object (action
`object.swept`, which the metric docsvc_orphan_objects_swept counts) and a
log line.

A sweep killed between the two steps (kill -9, a worker restart, a power
cut) leaves its objects hidden: readers find nothing, writers store the
bytes anew, `docsvc check` reports each as objects/hidden. Every sweep
first finishes what it finds hidden (`ObjectStore.iter_hidden`) as it
finishes its own: it waits the settle time itself (the hider may be another
sweep still at work, so the hiding may be only a moment old), asks the
database, puts back what a row now refers to and purges the rest, under the
same rules: one younger than the grace stays hidden, a retained one is put
back. Were the database unable to answer, these stay hidden for the next
sweep (only what a sweep hid itself is put back then: another sweep may be
about to purge it). Two sweeps finishing the same object come to the same
answer, and a purge spares a version that is no longer hidden.
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
SHOWN = 20  # removed keys listed in the report; all are counted


@dataclass
class SweepReport:
    objects: int = 0  # stored objects looked at
    young: int = 0  # unreferenced or not, within the grace period
    removed: int = 0
    removed_keys: list[str] = field(default_factory=list)  # the first SHOWN
    retained: int = 0  # unreferenced, but locked: kept
    recorded_meanwhile: int = 0  # a row appeared while hidden: put back
    # Found hidden by an earlier sweep that did not finish (or one at work):
    # finished here, and counted above too (removed, retained, put back), but
    # for those still hidden (younger than this sweep's grace).
    unfinished: int = 0
    still_hidden: int = 0
    skipped: str = ""  # why nothing was looked at

    def to_json(self) -> dict:
        return asdict(self)


def sweep_orphans(rt: Runtime, grace: timedelta | None = None, *, settle_seconds: float | None = None) -> SweepReport:
    """Remove the stored objects no row refers to that are older than `grace`
    (the setting orphan_grace_hours by default), after those an earlier sweep
    left hidden. `settle_seconds`: the setting orphan_settle_seconds by default."""
    grace = timedelta(hours=rt.settings.orphan_grace_hours) if grace is None else grace
    settle_seconds = rt.settings.orphan_settle_seconds if settle_seconds is None else settle_seconds
    report = SweepReport()
    if not _any_row_refers_to_objects(rt):
        report.skipped = "no row refers to any stored object (a restore under way, or another database): nothing swept"
        return report
    cutoff = datetime.now(UTC) - grace
    # Those left hidden first, all of them before this sweep hides any.
    for left in batches(_old_hidden(rt, cutoff, report), KEY_BATCH):
        time.sleep(settle_seconds)
        _settle(rt, left, report, hid_them=False)
    for keys in batches(_old_keys(rt, cutoff, report), KEY_BATCH):
        hidden = _hide_unreferenced(rt, keys, report)
        if hidden:
            time.sleep(settle_seconds)
            _settle(rt, hidden, report)
    if report.removed or report.retained or report.unfinished:
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


def _old_hidden(rt: Runtime, cutoff: datetime, report: SweepReport) -> Iterator[Hidden]:
    for aside, modified in rt.store.iter_hidden():
        report.unfinished += 1
        if modified > cutoff:
            report.still_hidden += 1
            log.warning("orphan sweep left hidden an object younger than its grace: %s", aside.key)
        else:
            yield aside


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


def _settle(rt: Runtime, hidden: list[Hidden], report: SweepReport, *, hid_them: bool = True) -> None:
    try:
        referenced = referenced_keys(rt, [aside.key for aside in hidden])
    except BaseException:
        # The database cannot say: nothing this sweep hid may stay hidden.
        # What it found hidden stays so, for the next sweep to finish.
        for aside in hidden if hid_them else ():
            rt.store.reveal(aside)
        raise
    for aside in hidden:
        if aside.key in referenced:
            rt.store.reveal(aside)
            report.recorded_meanwhile += 1
            continue
        try:
            rt.store.purge(aside)
        except RetentionError as exc:  # locked since it was hidden
            rt.store.reveal(aside)
            report.retained += 1
            log.warning("orphan sweep kept a retained object: %s", exc)
            continue
        report.removed += 1
        if len(report.removed_keys) < SHOWN:
            report.removed_keys.append(aside.key)
        log.info("orphan sweep removed %s", aside.key, extra={"key": aside.key})
        # Removed first, then recorded: an event never names an object still there.
        with rt.write() as session:
            audit.record(session, None, ORPHAN_SWEPT, "object", sha256_of_key(aside.key), {"key": aside.key},
                         actor_label=SWEEPER)
