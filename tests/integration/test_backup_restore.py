"""The restore drill, on both profiles: an installation with an incoming
letter in its book, an outgoing decision signed and issued to the district,
and a citizen's e-copy shared with an agency is backed up with `docsvc
backup`, restored with `docsvc restore` into a new, empty installation,
and there every row, register number, share link, e-copy and signature is
what it was, search finds the documents again and the audit log verifies.
A damaged backup and a non-empty target are refused, and write nothing."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from docsvc import ecopies, signatures
from docsvc.ecopies import service
from docsvc.models import Base, Document, DocumentFile, FileRole, User
from docsvc.runtime import Runtime
from search import SearchQuery
from storage import read_object
from tests.conftest import make_installation
from tests.integration.test_api_and_permissions import process_all
from tests.integration.test_outgoing import PASSPHRASE, _draft, office  # noqa: F401 (a fixture)
from tests.integration.test_records_keep_their_books import CITIZEN, _issue_ecopy, _register_letter


def _sign_and_issue(rt, office, tmp_path) -> str:
    drafter, leader, clerk, _ = office
    doc = _draft(drafter, tmp_path)
    process_all(rt)
    url = f"/api/v1/documents/{doc['id']}"
    assert drafter.post(f"{url}/submit", json={"approver": "pho-chu-tich", "recipients": ["UBND-HUYEN"]}).status_code == 200
    assert leader.post(f"{url}/sign", json={"passphrase": PASSPHRASE}).status_code == 200
    issued = clerk.post(f"{url}/issue", json={"type_code": "QĐ", "passphrase": PASSPHRASE})
    assert issued.status_code == 200, issued.get_json()
    return doc["id"]


@pytest.fixture
def populated(rt, backend, office, tmp_path):
    """The source installation, with one record of each kind and a share link."""
    _, _, clerk, _ = office
    letter = _register_letter(rt, clerk, tmp_path, "thu-tinh")
    decision = _sign_and_issue(rt, office, tmp_path)
    ecopy = _issue_ecopy(clerk, letter["id"])
    from docsvc import accounts

    with rt.write() as session:
        accounts.add_user(session, "cong-dan", "mat-khau-cong-dan-2026", "citizen", citizen_id=CITIZEN)
    with rt.read() as session:
        citizen = session.scalar(select(User).where(User.username == "cong-dan"))
    share = service.create_share(rt, citizen, ecopy["code"], recipient="Sở Tư pháp", days=30, max_uses=5)
    return {"letter": letter["id"], "decision": decision, "ecopy": ecopy, "share": share.token}


def _all_rows(rt) -> dict[str, list[tuple]]:
    with rt.engine.connect() as conn:
        return {table.name: [tuple(row) for row in conn.execute(select(table).order_by(*table.primary_key.columns))]
                for table in Base.metadata.sorted_tables}


def _signed_bytes(rt, document_id: str) -> bytes:
    with rt.read() as session:
        document = session.get(Document, document_id)
        return read_object(rt.store, document.latest(FileRole.SIGNED).storage_key)


def _verdicts(settings, pdf: bytes) -> list[tuple]:
    import io

    report = signatures.verify(settings, io.BytesIO(pdf))
    return [report.verdict, *[(s.signer, s.verdict, s.level) for s in report.signatures]]


@pytest.fixture
def target(backend, tmp_path):
    yield from make_installation(backend.profile, tmp_path / "target")


def test_an_installation_restored_from_its_backup_is_what_it_was(rt, backend, populated, target, tmp_path):
    saved = backend.run("backup", str(tmp_path / "sao-luu"), "--json")
    assert saved.returncode == 0, saved.stderr
    summary = json.loads(saved.stdout)
    assert summary["tables"]["documents"] >= 4 and summary["objects"] >= 6  # letter, draft, decision's versions, e-copy
    manifest = json.loads((tmp_path / "sao-luu" / "manifest.json").read_text())
    assert manifest["tables"]["documents"]["rows"] == summary["tables"]["documents"]
    assert not (tmp_path / "sao-luu.partial").exists()

    restored = target.run("restore", str(tmp_path / "sao-luu"), "--json")
    assert restored.returncode == 0, restored.stderr
    assert json.loads(restored.stdout)["tables"] == summary["tables"]

    again = Runtime(target.settings())
    try:
        # Every row: documents, files, register counters and entries, e-copies, shares, audit events.
        assert _all_rows(again) == _all_rows(rt)
        # The signed decision and the e-copy verify as before, on the restored trust store.
        for document_id in (populated["decision"], populated["ecopy"]["document_id"]):
            assert _signed_bytes(again, document_id) == _signed_bytes(rt, document_id)
            assert _verdicts(again.settings, _signed_bytes(again, document_id)) == \
                _verdicts(rt.settings, _signed_bytes(rt, document_id))
        code = populated["ecopy"]["code"]
        before, after = ecopies.lookup(rt, code), ecopies.lookup(again, code)
        assert after["status"] == before["status"] == "active"
        assert after["signatures"]["verdict"] == before["signatures"]["verdict"]
        # The citizen's share link opens the same file.
        assert service.open_share(again, populated["share"])[0] == service.open_share(rt, populated["share"])[0]
        # Retention locks came back with the objects.
        with again.read() as session:
            keys = session.scalars(select(DocumentFile.storage_key).where(DocumentFile.role == FileRole.SIGNED)).all()
        assert keys and all(again.store.retained_until(k) == rt.store.retained_until(k) for k in keys)
        # The index was rebuilt: the letter is found again, without diacritics.
        again.index.refresh()
        hits = again.index.search(SearchQuery(text="cai cach hanh chinh", per_page=50))
        assert populated["letter"] in {h.id for h in hits.hits}
    finally:
        again.close()
    verified = target.run("audit", "verify", "--json")
    assert verified.returncode == 0 and json.loads(verified.stdout)["ok"], verified.stderr


def test_a_damaged_backup_is_refused_and_nothing_is_written(rt, backend, populated, target, tmp_path):
    assert backend.run("backup", str(tmp_path / "sao-luu"), check=True).returncode == 0
    table = tmp_path / "sao-luu" / "database" / "documents.jsonl"
    table.write_text(table.read_text().replace("thu-tinh", "thu-gia", 1))

    refused = target.run("restore", str(tmp_path / "sao-luu"))
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines()[-1].endswith("(damaged_backup)")
    assert "documents.jsonl" in refused.stderr
    # Refused before anything was stored: no schema, no row, no object.
    again = Runtime(target.settings())
    try:
        assert "documents" not in inspect(again.engine).get_table_names()
        assert not Path(again.settings.storage_path).exists() if backend.profile == "embedded" \
            else not again.store.client.bucket_exists(again.store.bucket)
    finally:
        again.close()


def test_a_restore_into_an_installation_in_use_is_refused(rt, backend, populated, target, tmp_path):
    assert backend.run("backup", str(tmp_path / "sao-luu"), check=True).returncode == 0
    started = Runtime(target.settings())
    from docsvc.cli import prepare

    prepare(started)  # its own agency and administrator
    rows = _all_rows(started)
    started.close()

    refused = target.run("restore", str(tmp_path / "sao-luu"))
    assert refused.returncode == 2 and refused.stderr.strip().endswith("(backup_refused)")
    assert "not empty" in refused.stderr
    check = Runtime(target.settings())
    try:
        assert _all_rows(check) == rows
    finally:
        check.close()


def test_a_backup_never_overwrites_a_folder(rt, backend, tmp_path):
    (tmp_path / "sao-luu").mkdir()
    (tmp_path / "sao-luu" / "keep.txt").write_text("do not touch")
    refused = backend.run("backup", str(tmp_path / "sao-luu"))
    assert refused.returncode == 2 and refused.stderr.strip().endswith("(backup_refused)")
    assert [p.name for p in Path(tmp_path / "sao-luu").iterdir()] == ["keep.txt"]
