"""The audit chain's head, anchored where the database cannot rewrite it.

A checkpoint is a small JSON object (sequence number, head hash, time, and
an HMAC of them with the audit key) written once to object storage under a
name that also says its sequence number and head hash, retained WORM: MinIO
compliance-mode object lock (nobody, the storage credentials included, can
delete it before its date) or the filesystem store's write-once, read-only
file. Written by a beat task every `audit_checkpoint_minutes` and by
`docsvc audit checkpoint`, after checking what was appended since the last one.

`check_log` holds the database to every checkpoint: the events up to a
checkpoint's sequence number must still exist and hash to its head. So
someone who holds the key and rewrites or cuts the log in the database
(re-chaining, re-sealing) is still found out, unless they can also delete
objects that the storage itself refuses to delete.
"""
from __future__ import annotations

import hmac
import json
import logging
import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from docsvc import audit
from docsvc.errors import DocsvcError
from docsvc.models import AuditHead, utcnow
from docsvc.runtime import Runtime
from storage import AnchorExists

log = logging.getLogger(__name__)
PREFIX = "audit/checkpoint-"
_NAME = re.compile(r"^audit/checkpoint-(\d{12})-([0-9a-f]{64})\.json$")


class AuditTampered(DocsvcError):
    code = "audit_tampered"
    http_status = 500


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    head: str
    at: str  # ISO 8601, UTC
    mac: str

    @property
    def name(self) -> str:
        return f"{PREFIX}{self.seq:012d}-{self.head}.json"

    def to_bytes(self) -> bytes:
        return json.dumps({"seq": self.seq, "head": self.head, "at": self.at, "mac": self.mac}, sort_keys=True).encode()

    def sealed_by(self, key: bytes) -> bool:
        return hmac.compare_digest(self.mac, _mac(key, self.seq, self.head, self.at))


def _mac(key: bytes, seq: int, head: str, at: str) -> str:
    return audit.mac(key, "checkpoint", seq, f"{head}\0{at}")


@dataclass(frozen=True)
class LogCheck:
    ok: bool
    events: int
    checkpoints: int
    latest_checkpoint: int | None  # its sequence number
    reason: str = ""
    first_bad_id: int | None = None


def _anchored(rt: Runtime) -> list[tuple[int, str, str]]:
    """(seq, head, name) of every checkpoint in storage, oldest first."""
    found = []
    for name in rt.store.anchor_names(PREFIX):
        match = _NAME.match(name)
        if match:
            found.append((int(match.group(1)), match.group(2), name))
    return sorted(found)


def _read(rt: Runtime, name: str) -> Checkpoint:
    data = json.loads(rt.store.read_anchor(name))
    return Checkpoint(int(data["seq"]), str(data["head"]), str(data["at"]), str(data["mac"]))


def write_checkpoint(rt: Runtime, *, retain_for: timedelta | None = None) -> Checkpoint | None:
    """Anchor the chain's head now; None if nothing was appended since the
    last checkpoint. Refuses (AuditTampered) to anchor a chain that does not
    hold since the last checkpoint: that would bless the tampering."""
    key = audit.audit_key(rt.settings)
    anchored = _anchored(rt)
    with rt.read() as session:
        head = session.get(AuditHead, 1)
        seq, last_hash = head.seq, head.last_hash
        if seq == 0 or (anchored and anchored[-1][0] == seq and anchored[-1][1] == last_hash):
            return None
        after = (anchored[-1][0], anchored[-1][1]) if anchored else None
        check = audit.verify_chain(session, key, after=after)
    if not check.ok:
        raise AuditTampered(f"The audit log was not anchored: {check.reason}.")
    at = utcnow().isoformat()
    checkpoint = Checkpoint(seq, last_hash, at, _mac(key, seq, last_hash, at))
    until = None
    if rt.settings.record_retention:
        until = utcnow() + (retain_for or timedelta(days=rt.settings.audit_checkpoint_retention_days))
    try:
        rt.store.put_anchor(checkpoint.name, checkpoint.to_bytes(), until)
    except AnchorExists:
        return None  # another process anchored the same head a moment ago
    log.info("audit log anchored at event %s", seq)
    return checkpoint


def check_log(rt: Runtime, session: Session, key: bytes) -> LogCheck:
    """The chain and its MACs, then every checkpoint against the database;
    the newest checkpoint's own MAC is checked too."""
    anchored = _anchored(rt)
    chain = audit.verify_chain(session, key, hashes_at=frozenset(seq for seq, _, _ in anchored))
    latest = anchored[-1][0] if anchored else None

    def bad(reason: str, event_id: int | None = None) -> LogCheck:
        return LogCheck(False, chain.events, len(anchored), latest, reason, event_id)

    for seq, head, name in reversed(anchored):
        cut = chain.ok and seq > chain.events
        if (cut or chain.hashes_at.get(seq, head) != head) and not _genuine(rt, name, key):
            return bad(f"the checkpoint {name} was not written by docsvc (it does not carry the audit key's seal)")
        if cut:
            return bad(f"a checkpoint anchors event number {seq}, but the log now ends at {chain.events}: "
                       "its newest events were removed")
        if chain.hashes_at.get(seq, head) != head:
            return bad(f"event number {seq} no longer has the hash its checkpoint anchored: the log was rewritten")
    if not chain.ok:
        return bad(chain.reason, chain.first_bad_id)
    if anchored and not _genuine(rt, anchored[-1][2], key):
        return bad(f"the newest checkpoint {anchored[-1][2]} does not carry the audit key's seal")
    return LogCheck(True, chain.events, len(anchored), latest)


def _genuine(rt: Runtime, name: str, key: bytes) -> bool:
    """Written by docsvc: sealed with the key, and saying what its name says."""
    try:
        checkpoint = _read(rt, name)
    except (ValueError, KeyError, TypeError):
        return False
    return checkpoint.name == name and checkpoint.sealed_by(key)
