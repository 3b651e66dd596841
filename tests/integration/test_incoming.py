"""A clerk's day with incoming paper (văn bản đến), on both profiles: a scan
becomes a searchable PDF/A with the original kept byte for byte, the register
fields are suggested from the OCR text, the clerk confirms, the document gets
the next incoming number, is assigned with a deadline, and its handler moves
it to done. Real Tesseract, real storage, real index."""
from __future__ import annotations

import hashlib
import io
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pikepdf
import pytest
from sqlalchemy import select

from docsvc import accounts, audit
from docsvc.documents import records as documents
from docsvc.errors import Conflict
from docsvc.incoming import handling as incoming
from docsvc.models import AuditEvent, Document, User
from docsvc.runtime import Runtime
from tests.integration.conftest import row_counts
from tests.integration.test_api_and_permissions import process_all
from tests.letters import Letter, letter_pdf, scanned_letter


@pytest.fixture(scope="module")
def letter_scan(tmp_path_factory):
    return scanned_letter(tmp_path_factory.mktemp("scan") / "cong-van-den.jpg", kind="jpeg")


def ingest_json(backend, *args):
    result = backend.run("ingest", *args, "--json")
    return result, (json.loads(result.stdout) if result.returncode == 0 else None)


def test_a_scan_is_read_registered_and_found(backend, letter_scan):
    backend.run("db", "upgrade", check=True)
    result, doc = ingest_json(backend, str(letter_scan.path), "--register", "incoming")
    assert result.returncode == 0, result.stderr
    assert doc["incoming_number"] == 1 and doc["register"]["year"] == int(doc["received_date"][:4])
    assert doc["status"] == "ready" and doc["kind"] == "incoming"
    # The fields a clerk would otherwise type, read from the OCR text.
    assert doc["number_symbol"] == "15/QĐ-UBND"
    assert doc["issued_date"] == "2023-07-19"
    assert doc["doc_type"] == "Quyết định"
    assert doc["title"].startswith("Về việc phê duyệt Kế hoạch cải cách hành chính")
    assert doc["handling"]["status"] == "received"

    original, searchable = (next(f for f in doc["files"] if f["role"] == role) for role in ("original", "derived"))
    assert original["media_type"] == "image/jpeg"
    assert original["sha256"] == hashlib.sha256(letter_scan.path.read_bytes()).hexdigest()
    assert searchable["media_type"] == "application/pdf"

    shown = json.loads(backend.run("show", doc["id"], "--json", check=True).stdout)
    assert "cải cách hành chính" in shown["text"].lower()

    runtime = Runtime(backend.settings())
    try:
        # The searchable copy is a PDF/A, kept beside the untouched original.
        with runtime.store.open(searchable["storage_key"]) as reader, \
                pikepdf.open(io.BytesIO(b"".join(reader.iter_chunks()))) as pdf:
            assert pdf.open_metadata().pdfa_status.startswith(("1", "2", "3"))
        with runtime.store.open(original["storage_key"]) as reader:
            assert b"".join(reader.iter_chunks()) == letter_scan.path.read_bytes()
    finally:
        runtime.close()

    # Found by OCR'd words without diacritics, and by its number and symbol.
    for query in ("cai cach hanh chinh", '"15/QĐ-UBND"'):
        found = json.loads(backend.run("search", query, "--json", check=True).stdout)
        assert [hit["id"] for hit in found["hits"]] == [doc["id"]], query

    # The same paper scanned again: the clerk is told, and nothing is stored…
    rows_before = _rows(backend)
    again, _ = ingest_json(backend, str(letter_scan.path), "--register", "incoming")
    assert again.returncode == 2
    assert "(duplicate_document)" in again.stderr and "1/" in again.stderr
    assert _rows(backend) == rows_before
    # …unless they say it really is a second copy.
    forced, second = ingest_json(backend, str(letter_scan.path), "--register", "incoming", "--allow-duplicate")
    assert forced.returncode == 0, forced.stderr
    assert second["incoming_number"] == 2


def _rows(backend) -> dict:
    runtime = Runtime(backend.settings())
    try:
        return row_counts(runtime)
    finally:
        runtime.close()


def _user(rt, username: str) -> User:
    with rt.read() as session:
        return session.scalar(select(User).where(User.username == username))


@pytest.fixture
def people(rt, make_user):
    clerk = make_user("clerk")
    leader = make_user("official", username="pho-chu-tich")
    specialist = make_user("official", username="chuyen-vien-tu-phap")
    with rt.write() as session:
        session.scalar(select(User).where(User.username == "chuyen-vien-tu-phap")).department = "Phòng Tư pháp"
        accounts.add_agency(session, "UBND-XA-KHAC", "UBND xã khác")
    stranger = make_user("clerk", agency="UBND-XA-KHAC", username="van-thu-xa-khac")
    return clerk, leader, specialist, stranger


def _upload_letter(clerk, tmp_path, letter: Letter | None = None) -> dict:
    pdf = letter_pdf(tmp_path / "cong-van.pdf", letter or Letter())
    response = clerk.post(
        "/api/v1/documents?filename=cong-van.pdf", data=pdf.read_bytes(), content_type="application/pdf"
    )
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def test_register_assign_and_handle_through_the_api(rt, people, tmp_path):
    clerk, leader, specialist, stranger = people
    uploaded = _upload_letter(clerk, tmp_path)
    process_all(rt)
    doc = clerk.get(f"/api/v1/documents/{uploaded['id']}").get_json()
    assert doc["suggestions"]["number_symbol"] == "15/QĐ-UBND"

    # The clerk corrects one field and confirms the rest as suggested.
    received = incoming.today() - timedelta(days=10)
    response = clerk.post(f"/api/v1/documents/{doc['id']}/register", json={
        "issuing_body": "Sở Nội vụ tỉnh Quảng Bình", "received_date": received.isoformat(),
    })
    assert response.status_code == 200, response.get_json()
    registered = response.get_json()
    assert registered["incoming_number"] == 1
    assert registered["number_symbol"] == "15/QĐ-UBND" and registered["issuing_body"] == "Sở Nội vụ tỉnh Quảng Bình"
    # The corrected register field is searchable at once, with or without diacritics.
    found = clerk.get("/api/v1/search", query_string={"q": "so noi vu quang binh"}).get_json()
    assert [hit["id"] for hit in found["hits"]] == [doc["id"]]

    again = clerk.post(f"/api/v1/documents/{doc['id']}/register", json={})
    assert again.status_code == 409 and again.get_json()["code"] == "conflict"

    # Assigned to the Justice section, with a deadline already past.
    deadline = incoming.today() - timedelta(days=2)
    response = clerk.post(f"/api/v1/documents/{doc['id']}/assign", json={
        "department": "Phòng Tư pháp", "deadline": deadline.isoformat(), "note": "Tham mưu trả lời",
    })
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["handling"] == {
        "status": "assigned", "assignee": None, "department": "Phòng Tư pháp", "deadline": deadline.isoformat(),
        "overdue": True, "handled_at": None, "note": "Tham mưu trả lời", "recalled": None,
    }
    queue = specialist.get("/api/v1/queue").get_json()["documents"]
    assert [(d["id"], d["handling"]["overdue"]) for d in queue] == [(doc["id"], True)]
    assert leader.get("/api/v1/queue").get_json()["documents"] == []

    # Only the handler moves it, and only along allowed steps.
    wrong = specialist.post(f"/api/v1/documents/{doc['id']}/handling", json={"status": "received"})
    assert wrong.status_code == 409 and set(wrong.get_json()) == {"code", "message"}
    assert specialist.post(f"/api/v1/documents/{doc['id']}/handling", json={"status": "in_progress"}).status_code == 200
    done = specialist.post(f"/api/v1/documents/{doc['id']}/handling", json={"status": "done", "note": "Đã trả lời"})
    assert done.status_code == 200
    assert done.get_json()["handling"]["status"] == "done" and done.get_json()["handling"]["overdue"] is False
    assert specialist.get("/api/v1/queue").get_json()["documents"] == []
    assert [d["id"] for d in specialist.get("/api/v1/queue?done=1").get_json()["documents"]] == [doc["id"]]

    # Another agency's clerk does not even learn it exists.
    assert stranger.get(f"/api/v1/documents/{doc['id']}").status_code == 404
    assert stranger.post(f"/api/v1/documents/{doc['id']}/handling", json={"status": "in_progress"}).status_code == 404
    assert stranger.get("/api/v1/registers/incoming").get_json()["entries"] == []
    book = clerk.get("/api/v1/registers/incoming", query_string={"year": received.year}).get_json()["entries"]
    assert [e["incoming_number"] for e in book] == [1]

    # Every step is in the audit log, and the chain holds.
    with rt.read() as session:
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.object_id == doc["id"]).order_by(AuditEvent.id)
        ).all()
        assert audit.verify_chain(session).ok
    assert [a for a in actions if a.startswith("incoming.")] == [
        "incoming.register", "incoming.assign", "incoming.move", "incoming.move",
    ]


def test_a_person_not_assigned_cannot_move_it(rt, people, tmp_path):
    clerk, leader, specialist, _ = people
    doc = _upload_letter(clerk, tmp_path)
    clerk.post(f"/api/v1/documents/{doc['id']}/register", json={"title": "Về việc cải cách hành chính"})
    clerk.post(f"/api/v1/documents/{doc['id']}/assign", json={"assignee": leader.username})
    refused = specialist.post(f"/api/v1/documents/{doc['id']}/handling", json={"status": "done"})
    assert refused.status_code == 403 and refused.get_json()["code"] == "forbidden"
    assert [d["id"] for d in leader.get("/api/v1/queue").get_json()["documents"]] == [doc["id"]]
    bad = clerk.post(f"/api/v1/documents/{doc['id']}/assign", json={"assignee": "khong-co-ai"})
    assert bad.status_code == 400 and bad.get_json()["code"] == "invalid_input"
    bad_date = clerk.post(f"/api/v1/documents/{doc['id']}/assign", json={"assignee": leader.username, "deadline": "31/12"})
    assert bad_date.status_code == 400 and "YYYY-MM-DD" in bad_date.get_json()["message"]


def test_a_discarded_upload_leaves_nothing_but_a_registered_one_stays(rt, people, tmp_path):
    clerk, *_ = people
    doc = _upload_letter(clerk, tmp_path)
    response = clerk.client.delete(f"/api/v1/documents/{doc['id']}", headers=clerk.headers)
    assert response.status_code == 204
    assert clerk.get(f"/api/v1/documents/{doc['id']}").status_code == 404
    # Its processing, still queued, finds nothing to do and stores nothing.
    process_all(rt)
    with rt.read() as session:
        assert session.scalar(select(Document).where(Document.id == doc["id"])) is None
    assert rt.index.count() == 0

    kept = _upload_letter(clerk, tmp_path, Letter(number_symbol="16/QĐ-UBND"))
    clerk.post(f"/api/v1/documents/{kept['id']}/register", json={"title": "Về việc cải cách hành chính"})
    refused = clerk.client.delete(f"/api/v1/documents/{kept['id']}", headers=clerk.headers)
    assert refused.status_code == 409


def test_many_clerks_registering_at_once_get_one_to_n(rt, tmp_path):
    """Numbers 1..N with no gap and no repeat when registrations race, on
    SQLite and PostgreSQL; a document registered twice at once gets one number."""
    with rt.write() as session:
        clerks = [accounts.add_user(session, f"van-thu-{i}", "mat-khau-an-toan-2026", "clerk", agency_code="UBND-XA")
                  for i in range(6)]
    pdf = letter_pdf(tmp_path / "cv.pdf", Letter())
    ids = []
    for number in range(36):
        # Distinct bytes per document (a different title), so none is a duplicate of another.
        spooled = documents.spool(io.BytesIO(pdf.read_bytes() + f"\n% {number}\n".encode()), f"cv-{number}.pdf", rt)
        ids.append(documents.ingest(rt, clerks[0], spooled)[0])

    def register(index: int) -> int:
        clerk = clerks[index % len(clerks)]
        incoming.register_document(rt, clerk, ids[index], {"title": f"Công văn số {index}"})
        with rt.read() as session:
            return session.get(Document, ids[index]).register_number

    with ThreadPoolExecutor(6) as pool:
        numbers = list(pool.map(register, range(len(ids))))
    assert sorted(numbers) == list(range(1, len(ids) + 1))

    extra = documents.ingest(rt, clerks[0], documents.spool(io.BytesIO(pdf.read_bytes() + b"\n% x\n"), "x.pdf", rt))[0]

    def register_same(clerk) -> str:
        try:
            incoming.register_document(rt, clerk, extra, {"title": "Công văn"})
            return "registered"
        except Conflict:
            return "refused"

    with ThreadPoolExecutor(4) as pool:
        outcomes = sorted(pool.map(register_same, clerks[:4]))
    assert outcomes == ["refused", "refused", "refused", "registered"]
    with rt.read() as session:
        assert session.get(Document, extra).register_number == len(ids) + 1
