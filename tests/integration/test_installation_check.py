"""`docsvc check` on both profiles: an installation with an incoming letter
in the register, a certified e-copy of it and an outgoing decision signed,
sealed and sent to the district passes; then each kind of damage is done
on purpose, one at a time, and the check names exactly that one and exits 1:
a stored object deleted or overwritten, an object no row refers to, an index
entry removed or left stale, a retention lock removed or shortened, an audit
event rewritten."""
from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from docsvc.models import AuditEvent, Document, DocumentFile, FileRole
from tests.integration.test_api_and_permissions import process_all
from tests.integration.test_outgoing import PASSPHRASE, _draft, office  # noqa: F401 (a fixture)
from tests.integration.test_records_keep_their_books import _issue_ecopy, _register_letter
from tests.integration.test_storage import corrupt


@dataclass
class Records:
    letter: str  # an incoming letter, registered
    ecopy: str  # the certified e-copy of it (its own document)
    decision: str  # an outgoing decision, issued to the district


@pytest.fixture
def records(rt, office, tmp_path) -> Records:  # noqa: F811 (office is the fixture imported above)
    drafter, leader, clerk, _ = office
    letter = _register_letter(rt, clerk, tmp_path, "thu-tinh")["id"]
    ecopy = _issue_ecopy(clerk, letter)["document_id"]
    decision = _draft(drafter, tmp_path)["id"]
    process_all(rt)
    url = f"/api/v1/documents/{decision}"
    assert drafter.post(f"{url}/submit", json={"approver": "pho-chu-tich", "recipients": ["UBND-HUYEN"]}).status_code == 200
    assert leader.post(f"{url}/sign", json={"passphrase": PASSPHRASE}).status_code == 200
    issued = clerk.post(f"{url}/issue", json={"type_code": "QĐ", "passphrase": PASSPHRASE})
    assert issued.status_code == 200, issued.get_json()
    return Records(letter, ecopy, decision)


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


def test_a_clean_installation_passes(rt, backend, records):
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


def test_a_deleted_object_is_found(rt, backend, records):
    key = key_of(rt, records.letter, FileRole.ORIGINAL)
    if is_minio(rt.store):
        rt.store.client.remove_object(rt.store.bucket, key)  # a delete marker: gone to every reader
    else:
        os.unlink(rt.store.root / key)
    code, report = run_check(backend)
    assert code == 1 and named(report) == {("files", "missing", records.letter)}
    assert report["problems"][0]["key"] == key and report["found"] == {"files": {"missing": 1}}

    text = backend.run("check")
    assert text.returncode == 1 and text.stdout.splitlines()[-1] == "damage found: 1 problem(s)"
    assert f"files missing: {records.letter}: the original file of document {records.letter}" in text.stdout


def test_an_overwritten_object_is_found(rt, backend, records):
    key = key_of(rt, records.letter, FileRole.ORIGINAL)
    corrupt(rt.store, key)  # other bytes under the same key
    code, report = run_check(backend)
    assert code == 1 and named(report) == {("files", "corrupt", records.letter)}
    assert report["problems"][0]["key"] == key


def test_an_object_no_row_refers_to_is_found(rt, backend, records):
    stray = rt.store.put(io.BytesIO(b"%PDF-1.7 an upload whose row was never written"), "application/pdf")
    code, report = run_check(backend)
    assert code == 1 and named(report) == {("objects", "unreferenced", stray.key)}


def test_a_row_whose_size_is_wrong_is_found(rt, backend, records):
    with rt.write() as session:
        session.execute(update(DocumentFile).where(DocumentFile.document_id == records.letter,
                                                   DocumentFile.role == FileRole.ORIGINAL).values(size=12))
    code, report = run_check(backend)
    assert code == 1 and named(report) == {("files", "wrong_size", records.letter)}


def test_a_removed_index_entry_is_found(rt, backend, records):
    rt.index.delete([records.letter])
    rt.index.refresh()
    code, report = run_check(backend)
    assert code == 1 and named(report) == {("index", "missing", records.letter)}


def test_a_stale_index_entry_is_found(rt, backend, records):
    with rt.write() as session:  # changed behind the service's back: nothing re-indexes it
        session.execute(update(Document).where(Document.id == records.ecopy).values(title="Bản sao khác"))
    code, report = run_check(backend)
    assert code == 1 and named(report) == {("index", "stale", records.ecopy)}


def test_a_missing_retention_lock_is_found(rt, backend, records):
    decision = key_of(rt, records.decision, FileRole.SIGNED)
    if is_minio(rt.store):
        # The scaled test profile stores without locks (compliance locks of
        # years would outlive the test bucket): checked as a profile with
        # retention on, both records are found unlocked.
        code, report = run_check(backend, DOCSVC_RECORD_RETENTION="1")
        expected = {("retention", "missing", records.decision), ("retention", "missing", records.ecopy)}
    else:
        os.unlink(rt.store.root / ".retention" / f"{decision}.json")
        code, report = run_check(backend)
        expected = {("retention", "missing", records.decision)}
    assert code == 1 and named(report) == expected
    assert decision in {p["key"] for p in report["problems"]}


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)  # MinIO refuses to shorten a compliance lock
def test_a_shortened_retention_lock_is_found(rt, backend, records):
    key = key_of(rt, records.ecopy, FileRole.SIGNED)
    sidecar = rt.store.root / ".retention" / f"{key}.json"
    until = rt.store.retained_until(key)
    os.chmod(sidecar, 0o644)
    sidecar.write_text(json.dumps({"key": key, "retain_until": (until - timedelta(days=400)).isoformat()}))
    code, report = run_check(backend)
    assert code == 1 and named(report) == {("retention", "short", records.ecopy)}


def test_a_rewritten_audit_event_is_found(rt, backend, records):
    with rt.read() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "ecopy.issue"))
        event_id, detail = event.id, dict(event.detail)
    with rt.write() as session:
        session.execute(update(AuditEvent).where(AuditEvent.id == event_id)
                        .values(detail={**detail, "citizen_id": "079099001122"}))
    code, report = run_check(backend)
    assert code == 1 and named(report) == {("audit", "tampered", None)}
    assert report["problems"][0]["event_id"] == event_id
