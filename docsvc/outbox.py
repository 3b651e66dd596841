"""The transactional outbox: accepted work survives broker and worker outages.

Life of an entry:
  enqueue()   same transaction as the row the work is about
  due()       the relay (after commit, and periodically) publishes entries that
              are not done and not leased
  claim()     a task takes a lease and counts the attempt (a worker that dies
              mid-task never reports, so attempts are counted here, not on
              failure); a second delivery of the same entry finds it leased
              or done and does nothing
  complete()  only a task that finished marks the entry done
A worker killed mid-task leaves its lease to expire; the relay then publishes
the entry again and another worker finishes it. Handlers are idempotent.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from docsvc import logs
from docsvc.models import OutboxEntry, utcnow

# How long a published entry is left alone before the relay publishes it again
# (the worker may simply be busy). Shorter than the lease on purpose: an entry
# that was published but never claimed (broker lost it) comes back sooner.
REPUBLISH_AFTER = timedelta(seconds=60)


def enqueue(session: Session, task: str, payload: dict[str, Any]) -> OutboxEntry:
    request_id = logs.current_request_id()
    if request_id:  # the worker logs this entry's work under the request that caused it
        payload = {**payload, "request_id": request_id}
    entry = OutboxEntry(task=task, payload=payload, available_at=utcnow())
    session.add(entry)
    session.flush()
    return entry


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

