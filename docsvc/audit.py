"""The append-only audit log, hash-chained and keyed so that tampering with
history shows.

Each event's SHA-256 covers the previous event's hash (the chain), and
carries HMAC-SHA256(key, seq, hash) with a key that is never in the
database (`audit_key`, or the file `audit_key_file`, made once in the data
folder): whoever can only write the database cannot re-chain after deleting
or editing events, because they cannot recompute the MACs. The head row
carries the MAC of (seq, last hash), so deleting the newest events shows
too. Against someone who also has the key, the chain head is anchored
outside the database (docsvc/audit_anchor.py: checkpoints in WORM storage).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from docsvc.config import Settings
from docsvc.errors import DocsvcError
from docsvc.models import AuditEvent, AuditHead, User, utcnow

GENESIS_HASH = "0" * 64
KEY_BYTES = 32


class AuditKeyMissing(DocsvcError):
    code = "audit_key_missing"
    http_status = 500


# --- the key -------------------------------------------------------------------------

_KEYS: dict[str, bytes] = {}
_KEYS_LOCK = threading.Lock()


def key_path(settings: Settings) -> Path:
    return Path(settings.audit_key_file or Path(settings.data_dir) / "audit.key")


def audit_key(settings: Settings, *, create: bool = True) -> bytes:
    """The log's key: the setting, else the key file (made on first use,
    readable by its owner only; written whole before it appears, so a
    process racing to make it reads the winner's key, never half of one)."""
    if settings.audit_key:
        return settings.audit_key.encode("utf-8")
    path = key_path(settings)
    with _KEYS_LOCK:
        cached = _KEYS.get(str(path))
        if cached is not None:
            return cached
        if not path.exists():
            if not create:
                raise AuditKeyMissing(f"The audit log's key file {path} is missing; without it the log cannot be checked.")
            _make_key_file(path)
        key = bytes.fromhex(path.read_text().strip())
        _KEYS[str(path)] = key
        return key


def _make_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(KEY_BYTES))
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(tmp, path)  # fails if another process made it first: theirs is the key
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)


def _session_key(session: Session) -> bytes:
    settings = session.info.get("settings")
    if settings is None:
        raise RuntimeError("audit events are written through Runtime sessions, which know the audit key")
    return audit_key(settings)


def mac(key: bytes, purpose: str, seq: int, digest: str) -> str:
    """HMAC-SHA256 of one chain position; `purpose` keeps an event's MAC
    from serving as the head's (or a checkpoint's) and the other way round."""
    return hmac.new(key, f"{purpose}\0{seq}\0{digest}".encode(), hashlib.sha256).hexdigest()


# --- writing -------------------------------------------------------------------------


def _event_hash(prev_hash: str, event: AuditEvent) -> str:
    # The instant in UTC, however it was given (read back, it is UTC:
    # docsvc/column_types.py), so writing and verifying hash the same text.
    body = json.dumps(
        {
            "prev": prev_hash,
            "at": event.at.astimezone(UTC).isoformat(),
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
    key = _session_key(session)
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
        seq=head.seq + 1,
    )
    event.hash = _event_hash(head.last_hash, event)
    event.mac = mac(key, "event", event.seq, event.hash)
    head.seq, head.last_hash = event.seq, event.hash
    head.mac = mac(key, "head", head.seq, head.last_hash)
    session.add(event)
    session.flush()
    return event


# --- checking ------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    events: int
    first_bad_id: int | None = None
    reason: str = ""
    # The chain's hash at each sequence number asked for (checkpoints'), as recomputed.
    hashes_at: dict[int, str] = field(default_factory=dict)


def verify_chain(
    session: Session, key: bytes | None = None, *, hashes_at: frozenset[int] = frozenset(),
    after: tuple[int, str] | None = None,
) -> ChainCheck:
    """Recompute the chain and every MAC; `hashes_at` names sequence numbers
    whose recomputed hash the caller wants (to compare with checkpoints).
    `after` (seq, hash), a position already anchored, checks only what came
    since: that position must still hold that hash."""
    key = key if key is not None else _session_key(session)
    prev, count, wanted = GENESIS_HASH, 0, {}

    def bad(reason: str, event_id: int | None = None) -> ChainCheck:
        return ChainCheck(False, count, event_id, reason, wanted)

    query = select(AuditEvent).order_by(AuditEvent.seq, AuditEvent.id)
    if after is not None:
        count, prev = after
        anchored = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == count))
        if anchored != prev:
            return bad(f"event number {count} is missing or no longer has the hash anchored for it")
        query = query.where(AuditEvent.seq > count)
    for event in session.scalars(query).yield_per(1000):
        count += 1
        if event.seq != count:
            return bad(f"event {event.id} is number {event.seq} where {count} was expected (events were removed)", event.id)
        if event.prev_hash != prev or _event_hash(prev, event) != event.hash:
            return bad(f"event {event.id} (number {count}) does not match the chain (it was edited)", event.id)
        if event.mac is None:
            return bad(f"event {event.id} (number {count}) has no seal: written before the log had a key (an "
                       "administrator runs `docsvc audit seal` once after upgrading) or its seal was removed", event.id)
        if not hmac.compare_digest(event.mac, mac(key, "event", count, event.hash)):
            return bad(f"event {event.id} (number {count}) does not carry the key's seal (rewritten without the key)",
                       event.id)
        if count in hashes_at:
            wanted[count] = event.hash
        prev = event.hash
    head = session.get(AuditHead, 1)
    if head is None or head.last_hash != prev or head.seq != count:
        return bad("the chain's head does not point at its last event (events were removed or added)")
    if count and (head.mac is None or not hmac.compare_digest(head.mac, mac(key, "head", count, prev))):
        return bad("the chain's head does not carry the key's seal (the newest events were removed)")
    return ChainCheck(True, count, hashes_at=wanted)


def seal(session: Session, key: bytes | None = None) -> int:
    """Give the key's seal to events written before the log had a key (an
    upgraded installation), once the plain chain is checked intact; the
    number sealed. An administrator's act (`docsvc audit seal`), never
    automatic: it would also seal events rewritten in the database."""
    key = key if key is not None else _session_key(session)
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one()
    prev, count, unsealed = GENESIS_HASH, 0, []
    for event in session.scalars(select(AuditEvent).order_by(AuditEvent.seq, AuditEvent.id)):
        count += 1
        if event.seq != count or event.prev_hash != prev or _event_hash(prev, event) != event.hash:
            raise DocsvcError(f"The audit log's chain is broken at event {event.id}; it cannot be sealed as it is.")
        if event.mac is None:
            unsealed.append(event)
        elif not hmac.compare_digest(event.mac, mac(key, "event", count, event.hash)):
            raise DocsvcError(f"Event {event.id} carries a seal of another key; the log cannot be sealed with this one.")
        prev = event.hash
    if head.last_hash != prev or head.seq != count:
        raise DocsvcError("The audit log's head does not point at its last event; it cannot be sealed as it is.")
    for event in unsealed:
        event.mac = mac(key, "event", event.seq, event.hash)
    if count:
        head.mac = mac(key, "head", count, prev)
    session.flush()
    return len(unsealed)
