"""Someone who can write the database tries to rewrite the audit log, on both
profiles: deleting the newest events and re-chaining, rewriting an event in
the middle, and (holding the key too, but not the storage) cutting the log
below its last checkpoint. `docsvc audit verify` finds each one. The
checkpoint itself cannot be deleted: MinIO's compliance lock refuses it,
the filesystem store keeps it write-once and read-only."""
from __future__ import annotations

import dataclasses
import json
import os
import time
from datetime import UTC, datetime, timedelta

import pytest
from minio.error import S3Error
from sqlalchemy import delete, select, update

from docsvc import accounts, audit, audit_anchor
from docsvc.models import AuditEvent, AuditHead
from docsvc.runtime import Runtime
from storage import AnchorExists


def _add_events(rt, count: int, prefix: str = "to") -> None:
    for n in range(count):
        with rt.write() as session:
            accounts.add_agency(session, f"{prefix.upper()}-{n}", f"Tổ công tác {prefix} số {n}")


def _rechain(session, key: bytes | None) -> None:
    """What an attacker does after deleting or editing rows: number the
    events again, recompute every hash and the head; with the key, the seals too."""
    prev = audit.GENESIS_HASH
    events = session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    for seq, event in enumerate(events, start=1):
        event.seq, event.prev_hash = seq, prev
        event.hash = audit._event_hash(prev, event)
        if key is not None:
            event.mac = audit.mac(key, "event", seq, event.hash)
        prev = event.hash
    head = session.get(AuditHead, 1)
    head.seq, head.last_hash = len(events), prev
    if key is not None:
        head.mac = audit.mac(key, "head", head.seq, prev)


def _verify(backend):
    result = backend.run("audit", "verify")
    return result.returncode, result.stdout + result.stderr


def test_deleting_the_newest_events_and_rechaining_without_the_key_is_found(rt, backend):
    _add_events(rt, 4)
    code, out = _verify(backend)
    assert code == 0 and "audit log intact" in out, out

    with rt.write() as session:
        newest = session.scalars(select(AuditEvent.id).order_by(AuditEvent.seq.desc()).limit(2)).all()
        session.execute(delete(AuditEvent).where(AuditEvent.id.in_(newest)))
        _rechain(session, key=None)
    code, out = _verify(backend)
    assert code == 2 and "altered" in out and "newest events were removed" in out, out

    # Dropping the head's seal as well does not help.
    with rt.write() as session:
        session.execute(update(AuditHead).values(mac=None))
    code, out = _verify(backend)
    assert code == 2 and "does not carry the key's seal" in out, out


def test_rewriting_an_event_in_the_middle_is_found(rt, backend):
    _add_events(rt, 4)
    with rt.write() as session:
        middle = session.scalar(select(AuditEvent).where(AuditEvent.action == "agency.add").order_by(AuditEvent.seq))
        middle_id = middle.id
        middle.detail = {**middle.detail, "name": "Một cơ quan khác"}
        _rechain(session, key=None)
    code, out = _verify(backend)
    assert code == 2 and f"first bad event: {middle_id}" in out and "rewritten without the key" in out, out

    # Removing its seal instead of leaving a wrong one: still found.
    with rt.write() as session:
        session.execute(update(AuditEvent).where(AuditEvent.id == middle_id).values(mac=None))
    code, out = _verify(backend)
    assert code == 2 and "has no seal" in out, out


def test_cutting_the_log_below_its_checkpoint_is_found_even_with_the_key(rt, backend):
    _add_events(rt, 3)
    anchored = backend.run("audit", "checkpoint", check=True).stdout
    assert "anchored at event" in anchored
    assert "already anchored" in backend.run("audit", "checkpoint", check=True).stdout  # nothing new
    with rt.read() as session:
        checkpoint_seq = session.get(AuditHead, 1).seq
    _add_events(rt, 2, prefix="sau")
    code, out = _verify(backend)
    assert code == 0 and f"anchored up to event {checkpoint_seq}" in out, out

    # Someone holding the key (not the storage) cuts the log below the checkpoint and re-seals it.
    key = audit.audit_key(rt.settings)
    with rt.write() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.seq > checkpoint_seq - 2))
        _rechain(session, key)
    with rt.read() as session:
        assert audit.verify_chain(session, key).ok  # the chain and its seals alone look fine
    code, out = _verify(backend)
    assert code == 2 and f"anchors event number {checkpoint_seq}" in out and "were removed" in out, out
    # ... and the checkpoint task refuses to anchor the cut log.
    result = backend.run("audit", "checkpoint")
    assert result.returncode == 2 and "not anchored" in result.stderr, result.stderr


def test_rewriting_below_the_checkpoint_with_the_key_is_found(rt, backend):
    _add_events(rt, 3)
    backend.run("audit", "checkpoint", check=True)
    key = audit.audit_key(rt.settings)
    with rt.write() as session:
        first = session.scalar(select(AuditEvent).where(AuditEvent.action == "agency.add").order_by(AuditEvent.seq))
        first.detail = {**first.detail, "name": "Đổi tên"}
        _rechain(session, key)
    code, out = _verify(backend)
    assert code == 2 and "no longer has the hash its checkpoint anchored" in out, out


def test_an_upgraded_log_without_seals_is_sealed_once_by_the_administrator(rt, backend):
    _add_events(rt, 2)
    with rt.write() as session:  # what 0006 finds in an installation written before the key existed
        session.execute(update(AuditEvent).values(mac=None))
        session.execute(update(AuditHead).values(mac=None))
    code, out = _verify(backend)
    assert code == 2 and "audit seal" in out, out
    assert "sealed" in backend.run("audit", "seal", check=True).stdout
    code, out = _verify(backend)
    assert code == 0, out
    assert backend.run("audit", "seal", check=True).stdout.strip() == "sealed 0 event(s)"


def test_the_key_lives_outside_the_database(rt, backend):
    _add_events(rt, 1)
    path = audit.key_path(rt.settings)
    assert path.exists() and os.stat(path).st_mode & 0o777 == 0o600
    key_hex = path.read_text().strip()
    with rt.read() as session:
        rows = session.execute(select(AuditEvent.__table__)).all() + session.execute(select(AuditHead.__table__)).all()
    assert key_hex not in json.dumps([list(map(str, row)) for row in rows])
    # Without its key the log cannot be checked at all: a clear error, not a pass.
    path.rename(path.with_name("audit.key.moved"))
    audit._KEYS.clear()
    code, out = _verify(backend)
    assert code == 2 and "key file" in out and "missing" in out, out


MINIO_HOLD = timedelta(seconds=15)


def test_a_checkpoint_cannot_be_deleted_or_overwritten(rt, backend):
    _add_events(rt, 1)
    locking = Runtime(dataclasses.replace(rt.settings, record_retention=True))
    try:
        # On MinIO the lock is a compliance lock nobody can lift: a short one, so the test bucket can go.
        checkpoint = audit_anchor.write_checkpoint(locking, retain_for=MINIO_HOLD)
        locked_until = datetime.now(UTC) + MINIO_HOLD
        assert checkpoint is not None and json.loads(rt.store.read_anchor(checkpoint.name))["seq"] == checkpoint.seq
        with pytest.raises(AnchorExists):
            rt.store.put_anchor(checkpoint.name, b"{}", None)
        store = rt.store
        if hasattr(store, "client"):
            key = "anchors/" + checkpoint.name
            version = store.client.stat_object(store.bucket, key).version_id
            retention = store.client.get_object_retention(store.bucket, key, version_id=version)
            assert retention.mode == "COMPLIANCE"
            with pytest.raises(S3Error) as refused:
                store.client.remove_object(store.bucket, key, version_id=version)
            assert "WORM protected" in refused.value.message
            # Not an assertion on time: MinIO lets the bucket be emptied only once the date has passed.
            while datetime.now(UTC) <= locked_until + timedelta(seconds=2):
                time.sleep(0.5)
        else:
            path = store.root / ".anchors" / checkpoint.name
            assert os.stat(path).st_mode & 0o777 == 0o444
            assert (store.root / ".retention" / ".anchors" / f"{checkpoint.name}.json").exists()
    finally:
        locking.close()


def test_beat_anchors_the_log_regularly(tmp_path):
    from docsvc.celery_config import AUDIT_CHECKPOINT, celery_config
    from docsvc.config import load_settings

    settings = load_settings({"DOCSVC_AUDIT_CHECKPOINT_MINUTES": "30", "DOCSVC_DATA_DIR": str(tmp_path)})
    schedule = celery_config(settings)["beat_schedule"]
    assert schedule["audit-checkpoint"] == {"task": AUDIT_CHECKPOINT, "schedule": 1800.0}
