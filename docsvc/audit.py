"""The append-only audit log, hash-chained so that tampering with history shows."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from docsvc.models import AuditEvent, AuditHead, User, utcnow

GENESIS_HASH = "0" * 64


def _event_hash(prev_hash: str, event: AuditEvent) -> str:
    # SQLite returns timestamps without a zone and PostgreSQL in the session's
    # zone: hash the same instant in UTC either way.
    at = event.at if event.at.tzinfo else event.at.replace(tzinfo=timezone.utc)
    body = json.dumps(
        {
            "prev": prev_hash,
            "at": at.astimezone(timezone.utc).isoformat(),
            "actor_id": event.actor_id,
            "actor": event.actor_label,
            "action": event.action,
            "object_type": event.object_type,
            "object_id": event.object_id,
            "detail": event.detail,
        },
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def record(
    session: Session,
    actor: User | None,
    action: str,
    object_type: str,
    object_id: str,
    detail: dict[str, Any] | None = None,
    *,
    actor_label: str | None = None,
) -> AuditEvent:
    """Append an event inside the caller's transaction (so it commits with the change it records)."""
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one()
    event = AuditEvent(
        at=utcnow(),
        actor_id=actor.id if actor else None,
        actor_label=actor_label or (actor.username if actor else "system"),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        detail=detail or {},
        prev_hash=head.last_hash,
    )
    event.hash = _event_hash(head.last_hash, event)
    head.last_hash = event.hash
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    events: int
    first_bad_id: int | None = None


def verify_chain(session: Session) -> ChainCheck:
    prev = GENESIS_HASH
    count = 0
    for event in session.scalars(select(AuditEvent).order_by(AuditEvent.id)).yield_per(1000):
        count += 1
        if event.prev_hash != prev or _event_hash(prev, event) != event.hash:
            return ChainCheck(False, count, event.id)
        prev = event.hash
    head = session.get(AuditHead, 1)
    if head is None or head.last_hash != prev:
        return ChainCheck(False, count, None)
    return ChainCheck(True, count)
