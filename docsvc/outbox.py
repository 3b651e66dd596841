"""The transactional outbox: accepted work survives broker and worker outages.

Life of an entry:
  enqueue()   same transaction as the row the work is about; once that
              transaction commits, the entry publishes itself (publish())
  due()       the relay (periodically, and when a worker starts) publishes
              entries that are not done and not leased: what a dead broker
              refused, or a dead worker left
  claim()     a task takes a lease and counts the attempt (a worker that dies
              mid-task never reports, so attempts are counted here, not on
              failure); a second delivery of the same entry finds it leased
              or done and does nothing
  complete()  only a task that finished marks the entry done
A worker killed mid-task leaves its lease to expire; the relay then publishes
the entry again and another worker finishes it. Handlers are idempotent.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, or_, select, update
from sqlalchemy.orm import Session

from docsvc import logs
from docsvc.models import OutboxEntry, utcnow

if TYPE_CHECKING:
    from docsvc.runtime import Runtime

log = logging.getLogger(__name__)

# How long a published entry is left alone before the relay publishes it again
# (the worker may simply be busy). Shorter than the lease on purpose: an entry
# that was published but never claimed (broker lost it) comes back sooner.
REPUBLISH_AFTER = timedelta(seconds=60)


# Session.info keys. The Runtime gives its sessions a publisher (PUBLISHER);
# the ids of the entries a transaction added wait under NEW_ENTRIES for it to
# commit: published before, a worker could look for a row not yet there.
PUBLISHER = "outbox_publisher"
NEW_ENTRIES = "outbox_new_entries"
Publisher = Callable[[list[int]], object]


def enqueue(session: Session, task: str, payload: dict[str, Any], *, publish: bool = True) -> OutboxEntry:
    """Add work to the caller's transaction; it is handed to a worker once that
    commits. `publish=False` leaves it to the relay's next round instead (a
    retry that would fail again if tried at once)."""
    request_id = logs.current_request_id()
    if request_id:  # the worker logs this entry's work under the request that caused it
        payload = {**payload, "request_id": request_id}
    entry = OutboxEntry(task=task, payload=payload, available_at=utcnow())
    session.add(entry)
    session.flush()
    if publish:
        session.info.setdefault(NEW_ENTRIES, []).append(entry.id)
    return entry


@event.listens_for(Session, "after_commit")
def _publish_committed(session: Session) -> None:
    # A savepoint's release fires this too; its entries wait for the real commit.
    if session.in_nested_transaction():
        return
    entry_ids = session.info.pop(NEW_ENTRIES, None)
    publisher = session.info.get(PUBLISHER)
    if not entry_ids or publisher is None:
        return  # no publisher (a session not made by a Runtime): the relay's
    try:
        publisher(entry_ids)
    except Exception:
        # The work is committed: failing the caller now would tell it otherwise.
        log.exception("could not publish outbox entries %s; the relay will", entry_ids[:10])


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(NEW_ENTRIES, None)


def publish(rt: Runtime, entry_ids: list[int]) -> bool:
    """Hand entries to the workers. False, and nothing lost, if the broker is
    down: the entries stay due and the relay publishes them later."""
    if not entry_ids:
        return True
    try:
        rt.send_to_workers(entry_ids)
    except Exception as exc:
        log.warning("broker unavailable, %d outbox entries left for the relay: %s", len(entry_ids), exc)
        return False
    with rt.write() as session:
        mark_published(session, entry_ids)
    return True


def relay(rt: Runtime) -> int:
    """Publish every due outbox entry (new, failed for a while, or lease expired)."""
    with rt.read() as session:
        ids = [entry.id for entry in due(session)]
    return len(ids) if publish(rt, ids) else 0


def due(session: Session, now: datetime | None = None, limit: int = 100) -> list[OutboxEntry]:
    now = now or utcnow()
    return list(
        session.scalars(
            select(OutboxEntry)
            .where(OutboxEntry.done_at.is_(None), OutboxEntry.available_at <= now)
            .where(or_(OutboxEntry.locked_until.is_(None), OutboxEntry.locked_until <= now))
            .order_by(OutboxEntry.id)
            .limit(limit)
        )
    )


def mark_published(session: Session, entry_ids: list[int], republish_after: timedelta = REPUBLISH_AFTER) -> None:
    if entry_ids:
        session.execute(
            update(OutboxEntry).where(OutboxEntry.id.in_(entry_ids)).values(available_at=utcnow() + republish_after)
        )


def claim(session: Session, entry_id: int, lease_seconds: int) -> OutboxEntry | None:
    """Take the entry for this worker, or None if it is done or someone holds it.

    One UPDATE with the conditions in its WHERE clause: on PostgreSQL and
    SQLite alike only one of two racing workers sees its row count be 1.
    """
    now = utcnow()
    lease_end = now + timedelta(seconds=lease_seconds)
    result = session.execute(
        update(OutboxEntry)
        .where(OutboxEntry.id == entry_id, OutboxEntry.done_at.is_(None))
        .where(or_(OutboxEntry.locked_until.is_(None), OutboxEntry.locked_until <= now))
        # Due again the moment the lease runs out: that is when a dead worker's
        # work must be handed to a live one.
        .values(locked_until=lease_end, available_at=lease_end, attempts=OutboxEntry.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return None
    return session.get(OutboxEntry, entry_id, populate_existing=True)


def extend(session: Session, entry_id: int, lease_seconds: int) -> None:
    """A long task (OCR of a 300-page scan) renews its lease while it makes
    progress, so it is not handed to a second worker while still alive."""
    lease_end = utcnow() + timedelta(seconds=lease_seconds)
    session.execute(
        update(OutboxEntry)
        .where(OutboxEntry.id == entry_id, OutboxEntry.done_at.is_(None))
        .values(locked_until=lease_end, available_at=lease_end)
    )


def complete(session: Session, entry_id: int, *, error: str = "") -> None:
    """Done for good: finished, or given up on (`error` says why)."""
    session.execute(
        update(OutboxEntry).where(OutboxEntry.id == entry_id)
        .values(done_at=utcnow(), locked_until=None, last_error=error[:2000])
    )


def release(session: Session, entry_id: int, error: str, retry_in: timedelta) -> None:
    """Give the entry back after a failure that may pass (storage down, say)."""
    session.execute(
        update(OutboxEntry)
        .where(OutboxEntry.id == entry_id)
        .values(locked_until=None, last_error=error[:2000], available_at=utcnow() + retry_in)
    )

