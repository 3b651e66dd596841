"""Signed records are retained: the store refuses to delete them before their
date, on both profiles; on MinIO the refusal comes from MinIO itself (object
lock, compliance mode), so the storage credentials cannot delete them either."""
from __future__ import annotations

import hashlib
import io
import logging
import os
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from minio.commonconfig import COMPLIANCE, GOVERNANCE
from minio.deleteobjects import DeleteObject
from minio.error import S3Error
from minio.retention import Retention

from docsvc.signatures.retention import retention_until
from docsvc.stored import remove_if_unreferenced
from storage import ObjectMissing, RetentionError, content_key

# Compliance retention on MinIO cannot be lifted by anyone, so the scaled
# tests retain for seconds only and wait for the date before the suite's
# cleanup empties the bucket. The embedded store keeps real policy dates.
MINIO_HOLD = timedelta(seconds=20)


def is_minio(store) -> bool:
    return hasattr(store, "client")


class Holds:
    """Retention dates for a test, and the wait for them to pass on MinIO."""

    def __init__(self, rt) -> None:
        self.rt = rt
        self.latest: datetime | None = None
        self.keys: set[str] = set()

    def until(self, extra: timedelta = timedelta(0)) -> datetime:
        if is_minio(self.rt.store):
            base = datetime.now(UTC).replace(microsecond=0) + MINIO_HOLD
        else:
            base = retention_until("ecopy", date.today())
        return base + extra

    def retain(self, key: str, until: datetime) -> None:
        self.keys.add(key)
        self.latest = until if self.latest is None else max(self.latest, until)
        self.rt.store.retain(key, until)

    def release(self) -> None:
        if not is_minio(self.rt.store) or self.latest is None:
            return
        # Not an assertion on time: MinIO will not let anyone delete earlier.
        while datetime.now(UTC) <= self.latest + timedelta(seconds=1):
            time.sleep(0.5)
        # Once the date has passed, the store deletes as before.
        for key in self.keys:
            self.rt.store.delete(key)
            assert not self.rt.store.exists(key)


@pytest.fixture
def holds(rt):
    holder = Holds(rt)
    yield holder
    holder.release()


def put(rt, data: bytes):
    return rt.store.put(io.BytesIO(data), "application/pdf")


def read(rt, key: str) -> bytes:
    with rt.store.open(key) as reader:
        return b"".join(reader.iter_chunks())


def test_retention_schedule_by_category():
    utc = UTC
    # To the end of the anniversary day in Vietnam (UTC+7).
    assert retention_until("ecopy", date(2026, 3, 15)) == datetime(2031, 3, 15, 17, 0, tzinfo=utc)
    assert retention_until("procedure_result", date(2026, 3, 15)) == datetime(2046, 3, 15, 17, 0, tzinfo=utc)
    assert retention_until("outgoing", date(2026, 3, 15)) == datetime(2096, 3, 15, 17, 0, tzinfo=utc)
    # 29 February in a year without one: a day longer, never shorter.
    assert retention_until("ecopy", date(2028, 2, 29)) == datetime(2033, 3, 1, 17, 0, tzinfo=utc)
    with pytest.raises(ValueError, match="no retention period"):
        retention_until("draft", date(2026, 3, 15))


def test_a_retained_object_cannot_be_deleted_and_stays_readable(rt, holds):
    data = "Bản sao điện tử — Giấy chứng nhận".encode() * 200
    stored = put(rt, data)
    assert rt.store.retained_until(stored.key) is None
    until = holds.until()
    holds.retain(stored.key, until)
    assert rt.store.retained_until(stored.key) == until

    with pytest.raises(RetentionError, match=until.strftime("%Y-%m-%d %H:%M:%S")):
        rt.store.delete(stored.key)
    assert rt.store.exists(stored.key)
    assert read(rt, stored.key) == data
    # Storing the same bytes again is still harmless.
    assert put(rt, data).created is False
    assert rt.store.retained_until(stored.key) == until

    if is_minio(rt.store):
        stat = rt.store.client.stat_object(rt.store.bucket, stored.key)
        retention = rt.store.client.get_object_retention(rt.store.bucket, stored.key, version_id=stat.version_id)
        assert retention.mode == COMPLIANCE
    else:
        assert os.stat(rt.store.root / stored.key).st_mode & 0o777 == 0o444
        assert (rt.store.root / ".retention" / f"{stored.key}.json").exists()


def test_retention_is_extended_never_shortened(rt, holds):
    stored = put(rt, b"%PDF-1.7 signed outgoing decision")
    until = holds.until()
    holds.retain(stored.key, until)

    holds.retain(stored.key, until - timedelta(seconds=5))
    assert rt.store.retained_until(stored.key) == until

    later = holds.until(timedelta(seconds=5))
    later = max(later, until + timedelta(seconds=5))
    holds.retain(stored.key, later)
    assert rt.store.retained_until(stored.key) == later
    with pytest.raises(RetentionError, match=later.strftime("%Y-%m-%d %H:%M:%S")):
        rt.store.delete(stored.key)

    # Sub-second dates are rounded up to the second, never down.
    holds.retain(stored.key, later + timedelta(microseconds=1))
    assert rt.store.retained_until(stored.key) == later + timedelta(seconds=1)

    with pytest.raises(ValueError, match="time zone"):
        rt.store.retain(stored.key, datetime(2099, 1, 1))
    with pytest.raises(ValueError, match="future"):
        rt.store.retain(stored.key, datetime(2020, 1, 1, tzinfo=UTC))
    missing = content_key(hashlib.sha256(b"never stored").hexdigest())
    with pytest.raises(ObjectMissing):
        rt.store.retain(missing, until)


def test_cleanup_of_unreferenced_objects_keeps_retained_ones(rt, holds, caplog):
    retained = put(rt, b"%PDF-1.7 signed e-copy")
    holds.retain(retained.key, holds.until())
    plain = put(rt, b"%PDF-1.7 an unwanted upload")

    with caplog.at_level(logging.WARNING, logger="docsvc.documents.records"):
        remove_if_unreferenced(rt, retained.key)
        remove_if_unreferenced(rt, plain.key)

    assert rt.store.exists(retained.key)
    assert not rt.store.exists(plain.key)
    assert any(retained.key in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("backend", ["scaled"], indirect=True)
def test_minio_itself_refuses_to_delete_the_retained_version(backend, rt, holds):
    client, bucket = rt.store.client, rt.store.bucket  # the service's own credentials
    data = b"%PDF-1.7 signed decision, issued"
    stored = put(rt, data)
    version = client.stat_object(bucket, stored.key).version_id
    until = holds.until()
    holds.retain(stored.key, until)

    # Deleting the version for real: MinIO answers that the object is WORM protected.
    with pytest.raises(S3Error) as refused:
        client.remove_object(bucket, stored.key, version_id=version)
    assert refused.value.code == "InvalidRequest"
    assert "WORM protected" in refused.value.message
    # Asking to bypass governance retention does not help in compliance mode.
    errors = list(client.remove_objects(bucket, [DeleteObject(stored.key, version)], bypass_governance_mode=True))
    assert [(e.code, e.message) for e in errors] == [("InvalidRequest", refused.value.message)]
    # Nor can the retention be shortened or weakened to governance.
    for weaker in (Retention(COMPLIANCE, until - timedelta(seconds=10)), Retention(GOVERNANCE, until)):
        with pytest.raises(S3Error) as shortened:
            client.set_object_retention(bucket, stored.key, weaker, version_id=version)
        assert shortened.value.code == "InvalidRequest"
    assert client.get_object_retention(bucket, stored.key, version_id=version) == Retention(COMPLIANCE, until)

    # A plain delete only adds a delete marker on a versioned bucket ...
    client.remove_object(bucket, stored.key)
    assert not rt.store.exists(stored.key)
    versions = [v for v in client.list_objects(bucket, prefix=stored.key, include_version=True)]
    assert [(v.version_id, v.is_delete_marker) for v in versions if not v.is_delete_marker] == [(version, False)]
    # ... the retained version survives, whole and readable,
    response = client.get_object(bucket, stored.key, version_id=version)
    try:
        assert response.read() == data
    finally:
        response.close()
        response.release_conn()
    # and the store still refuses to remove it, naming the date.
    with pytest.raises(RetentionError, match=until.strftime("%Y-%m-%d %H:%M:%S")):
        rt.store.delete(stored.key)
