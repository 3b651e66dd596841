"""`docsvc check` on both profiles: an installation with an incoming letter
in the register, a certified e-copy of it and an outgoing decision signed,
sealed and sent to the district passes; then each kind of damage is done
on purpose, one at a time, and the check names exactly that one and exits 1:
a stored object deleted or overwritten, an object no row refers to, an index
entry removed or left stale, a retention lock removed or shortened, a
number lost from a register book, an audit event rewritten.

The installation is built once per profile for the module (signing is slow):
each test undoes its damage, and the check passing again shows that it did."""
from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from docsvc import upkeep
from docsvc.documents import indexing
from docsvc.models import AuditEvent, Document, DocumentFile, FileRole, RegisterBook, RegisterCounter
from tests.integration.test_storage import corrupt


def run_check(backend, **env: str) -> tuple[int, dict]:
    result = backend.run("check", "--json", extra_env=env)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    return result.returncode, json.loads(result.stdout)


def named(report: dict) -> set[tuple]:
    """What the problems name: (check, kind, document or key)."""
    return {(p["check"], p["kind"], p.get("document_id") or p.get("key")) for p in report["problems"]}


def key_of(rt, document_id: str, role: FileRole) -> str:
    with rt.read() as session:
        return session.scalars(select(DocumentFile.storage_key).where(
            DocumentFile.document_id == document_id, DocumentFile.role == role).order_by(DocumentFile.id)).all()[-1]


def is_minio(store) -> bool:
    return hasattr(store, "client")


def assert_clean(rt) -> None:
    """The damage undone: what `docsvc check` checks finds nothing. Checked
    here, not through the command, which takes seconds to start (the damage
    itself is found by the command)."""
    report = upkeep.check_installation(rt)
    assert report.ok and report.problems == [], report.to_json()


@contextmanager
def object_put_back(store, key: str) -> Iterator[None]:
    """Whatever the block does to the stored object, it is as it was after:
    on MinIO the versions the block added (a delete marker, other bytes) are
    removed, in a data folder its bytes and mode are written back."""
    if not is_minio(store):
        with file_put_back(store.root / key):
            yield
        return
    before = _versions(store, key)
    try:
        yield
    finally:
        for version_id in _versions(store, key) - before:
            store.client.remove_object(store.bucket, key, version_id=version_id)


def _versions(store, key: str) -> set[str]:
    listing = store.client.list_objects(store.bucket, prefix=key, include_version=True)
    return {obj.version_id for obj in listing if obj.object_name == key}


@contextmanager
def file_put_back(path: Path) -> Iterator[None]:
    """The file's bytes and mode as they were, whatever the block does to it."""
    data, mode = path.read_bytes(), path.stat().st_mode & 0o777
    try:
        yield
    finally:
        if path.exists():
            os.chmod(path, 0o644)  # stored files are read-only
        path.write_bytes(data)
        os.chmod(path, mode)


def test_a_clean_installation_passes(populated):
    rt, backend = populated.rt, populated.installation
    code, report = run_check(backend)
    assert code == 0, report
    assert report["ok"] and report["problems"] == [] and report["found"] == {}
    checked = report["checked"]
    with rt.read() as session:
        rows = len(session.scalars(select(DocumentFile.id)).all())
    assert checked["files"] == rows + 2  # and the leader's signature image and the agency's seal
    assert checked["objects"] > 0 and checked["audit"] > 0
    assert checked["index"] >= 3  # the letter, the e-copy, the decision (the district's copy waits for the worker)
    if backend.profile == "embedded":
        # The e-copy and the issued decision, each kept as its record (not the leader's signature before the seal).
        assert checked["retention"] == 2 and report["skipped"] == {}
    else:
        assert list(report["skipped"]) == ["retention"]  # the scaled test profile runs without locks

    text = backend.run("check")
    assert text.returncode == 0 and text.stdout.splitlines()[-1] == "no damage found", text.stdout


def test_a_deleted_object_is_found(populated):
    rt, backend, letter = populated.rt, populated.installation, populated.letter["id"]
    key = key_of(rt, letter, FileRole.ORIGINAL)
    with object_put_back(rt.store, key):
        if is_minio(rt.store):
            rt.store.client.remove_object(rt.store.bucket, key)  # a delete marker: gone to every reader
        else:
            os.unlink(rt.store.root / key)
        code, report = run_check(backend)
        missing = {"files": {"missing": 1}}
        if is_minio(rt.store):
            # Its version is still there beneath the marker, as an orphan sweep hides objects: the next sweep
            # puts it back, since a row refers to it.
            assert code == 1 and named(report) == {("files", "missing", letter), ("objects", "hidden", key)}
            assert report["found"] == {**missing, "objects": {"hidden": 1}}
        else:
            assert code == 1 and named(report) == {("files", "missing", letter)} and report["found"] == missing
        assert report["problems"][0]["key"] == key

        text = backend.run("check")
        problems = 2 if is_minio(rt.store) else 1
        assert text.returncode == 1 and text.stdout.splitlines()[-1] == f"damage found: {problems} problem(s)"
        assert f"files missing: {letter}: the original file of document {letter}" in text.stdout
    assert_clean(rt)


def test_an_overwritten_object_is_found(populated):
    rt, backend, letter = populated.rt, populated.installation, populated.letter["id"]
    key = key_of(rt, letter, FileRole.ORIGINAL)
    with object_put_back(rt.store, key):
        corrupt(rt.store, key)  # other bytes under the same key
        code, report = run_check(backend)
        assert code == 1 and named(report) == {("files", "corrupt", letter)}
        assert report["problems"][0]["key"] == key
    assert_clean(rt)


def test_an_object_no_row_refers_to_is_found(populated):
    rt, backend = populated.rt, populated.installation
    stray = rt.store.put(io.BytesIO(b"%PDF-1.7 an upload whose row was never written"), "application/pdf")
    try:
        code, report = run_check(backend)
        assert code == 1 and named(report) == {("objects", "unreferenced", stray.key)}
    finally:
        rt.store.delete(stray.key)
    assert_clean(rt)


def test_a_row_whose_size_is_wrong_is_found(populated):
    rt, backend, letter = populated.rt, populated.installation, populated.letter["id"]
    original = (DocumentFile.document_id == letter) & (DocumentFile.role == FileRole.ORIGINAL)
    with rt.read() as session:
        size = session.scalar(select(DocumentFile.size).where(original))
    with rt.write() as session:
        session.execute(update(DocumentFile).where(original).values(size=12))
    try:
        code, report = run_check(backend)
        assert code == 1 and named(report) == {("files", "wrong_size", letter)}
    finally:
        with rt.write() as session:
            session.execute(update(DocumentFile).where(original).values(size=size))
    assert_clean(rt)


def test_a_removed_index_entry_is_found(populated):
    rt, backend, letter = populated.rt, populated.installation, populated.letter["id"]
    rt.index.delete([letter])
    rt.index.refresh()
    try:
        code, report = run_check(backend)
        assert code == 1 and named(report) == {("index", "missing", letter)}
    finally:
        indexing.refresh_entry(rt, letter)
    assert_clean(rt)


def test_a_stale_index_entry_is_found(populated):
    rt, backend, ecopy = populated.rt, populated.installation, populated.ecopy["document_id"]
    with rt.read() as session:
        title = session.get(Document, ecopy).title
    with rt.write() as session:  # changed behind the service's back: nothing re-indexes it
        session.execute(update(Document).where(Document.id == ecopy).values(title="Bản sao khác"))
    try:
        code, report = run_check(backend)
        assert code == 1 and named(report) == {("index", "stale", ecopy)}
    finally:
        with rt.write() as session:  # the entry was made from this title: it matches the row again
            session.execute(update(Document).where(Document.id == ecopy).values(title=title))
    assert_clean(rt)


def test_a_missing_retention_lock_is_found(populated):
    rt, backend, decision = populated.rt, populated.installation, populated.decision
    key = key_of(rt, decision, FileRole.SIGNED)
    if is_minio(rt.store):
        # The scaled test profile stores without locks (compliance locks of
        # years would outlive the test bucket): checked as a profile with
        # retention on, both records are found unlocked.
        code, report = run_check(backend, DOCSVC_RECORD_RETENTION="1")
        expected = {("retention", "missing", decision), ("retention", "missing", populated.ecopy["document_id"])}
    else:
        with file_put_back(rt.store.root / ".retention" / f"{key}.json"):
            os.unlink(rt.store.root / ".retention" / f"{key}.json")
            code, report = run_check(backend)
        expected = {("retention", "missing", decision)}
    assert code == 1 and named(report) == expected
    assert key in {p["key"] for p in report["problems"]}
    assert_clean(rt)


@pytest.mark.parametrize("populated", ["embedded"], indirect=True)  # MinIO refuses to shorten a compliance lock
def test_a_shortened_retention_lock_is_found(populated):
    rt, backend, ecopy = populated.rt, populated.installation, populated.ecopy["document_id"]
    key = key_of(rt, ecopy, FileRole.SIGNED)
    sidecar = rt.store.root / ".retention" / f"{key}.json"
    until = rt.store.retained_until(key)
    with file_put_back(sidecar):
        os.chmod(sidecar, 0o644)
        sidecar.write_text(json.dumps({"key": key, "retain_until": (until - timedelta(days=400)).isoformat()}))
        code, report = run_check(backend)
        assert code == 1 and named(report) == {("retention", "short", ecopy)}
    assert_clean(rt)


def test_a_rewritten_audit_event_is_found(populated):
    rt, backend = populated.rt, populated.installation
    with rt.read() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "ecopy.issue"))
        event_id, detail = event.id, dict(event.detail)
    with rt.write() as session:
        session.execute(update(AuditEvent).where(AuditEvent.id == event_id)
                        .values(detail={**detail, "citizen_id": "079099001122"}))
    try:
        code, report = run_check(backend)
        assert code == 1 and named(report) == {("audit", "tampered", None)}
        assert report["problems"][0]["event_id"] == event_id
    finally:
        with rt.write() as session:
            session.execute(update(AuditEvent).where(AuditEvent.id == event_id).values(detail=detail))
    assert_clean(rt)


def test_a_number_lost_from_a_register_book_is_found(populated):
    """The counter moved on without a document taking its number (a
    registration that committed the one but not the other): a gap in the book."""
    rt, backend = populated.rt, populated.installation
    incoming = (RegisterCounter.book == RegisterBook.INCOMING)
    with rt.write() as session:
        session.execute(update(RegisterCounter).where(incoming).values(last_number=RegisterCounter.last_number + 1))
    try:
        code, report = run_check(backend)
        assert code == 1 and report["found"] == {"registers": {"gap": 1}}, report
        assert "the incoming book" in report["problems"][0]["detail"]
    finally:
        with rt.write() as session:
            session.execute(update(RegisterCounter).where(incoming).values(last_number=RegisterCounter.last_number - 1))
    assert_clean(rt)
