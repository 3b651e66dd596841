"""A registered document keeps its place in its book, whatever is done with
it afterwards, and every signed version of a record is kept (WORM) for what
the record is.

The story: the văn thư of a commune registers a letter from the province
(incoming number 1) and gives it to an official with a deadline; a citizen
asks for a certified e-copy of it. The letter must stay number 1 in the
incoming book, in the official's queue and in the month's report; the
e-copy is a record of its own in the certification book."""
from __future__ import annotations

from datetime import UTC, date, timedelta

import pytest
from sqlalchemy import select

from docsvc import registers
from docsvc.localtime import today
from docsvc.models import Document, Ecopy, FileRole
from docsvc.signatures import archiving
from docsvc.signatures.retention import RETENTION_YEARS, record_terms, retention_until
from tests.integration.records import CITIZEN, PASSPHRASE, draft, issue_ecopy, register_letter
from tests.integration.test_api_and_permissions import process_all
from tests.pdfs import make_pdf, sample_paragraphs


def test_an_ecopy_of_a_registered_letter_leaves_it_in_the_book_the_queue_and_the_report(rt, office, tmp_path):
    drafter, _, clerk, _ = office  # drafter: an official of the commune, who handles the letter
    letter = register_letter(rt, clerk, tmp_path, "thu-tinh")
    assert letter["incoming_number"] == 1
    deadline = (today() + timedelta(days=10)).isoformat()
    assigned = clerk.post(f"/api/v1/documents/{letter['id']}/assign", json={"assignee": "chuyen-vien", "deadline": deadline})
    assert assigned.status_code == 200, assigned.get_json()

    ecopy = issue_ecopy(clerk, letter["id"])
    assert ecopy["certification_number"].startswith("1 quyển số 01/")

    # The letter is what it was: incoming number 1, in the book, the queue and the report.
    after = clerk.get(f"/api/v1/documents/{letter['id']}").get_json()
    assert (after["kind"], after["incoming_number"], after["register"]["book"]) == ("incoming", 1, "incoming")
    assert after["handling"]["status"] == "assigned" and after["handling"]["assignee"] == "chuyen-vien"
    book = clerk.get("/api/v1/registers/incoming", query_string={"year": today().year}).get_json()["entries"]
    assert [(e["id"], e["incoming_number"]) for e in book] == [(letter["id"], 1)]
    assert [d["id"] for d in drafter.get("/api/v1/queue").get_json()["documents"]] == [letter["id"]]
    period = {"from": today().isoformat(), "to": today().isoformat()}
    report = clerk.get("/api/v1/reports/incoming", query_string=period).get_json()
    assert report["counts"]["received"] == 1
    assert [(e["document_id"], e["number"]) for e in report["entries"]] == [(letter["id"], 1)]

    # The e-copy is its own record, in the certification book, pointing at the letter.
    assert ecopy["document_id"] != letter["id"]
    record = clerk.get(f"/api/v1/documents/{ecopy['document_id']}").get_json()
    assert record["kind"] == "ecopy" and record["register"]["book"] == "certification"
    assert record["register"]["number"] == 1 and record["incoming_number"] is None
    assert [f["role"] for f in record["files"]] == ["signed", "text"]
    with rt.read() as session:
        row = session.scalar(select(Ecopy).where(Ecopy.document_id == ecopy["document_id"]))
        assert row.source_document_id == letter["id"]
    # Both are found by search, each as what it is.
    found = clerk.get("/api/v1/search", query_string={"q": "cai cach hanh chinh"}).get_json()
    assert sorted((h["id"], h["kind"]) for h in found["hits"]) == sorted(
        [(letter["id"], "incoming"), (ecopy["document_id"], "ecopy")])
    # The letter's page shows the e-copy made of it (and offers no second one).
    assert clerk.post("/api/v1/ecopies", json={"document_id": letter["id"], "citizen_id": CITIZEN,
                                               "passphrase": PASSPHRASE}).status_code == 409

    # The next letter is number 2: no gap.
    second = register_letter(rt, clerk, tmp_path, "thu-huyen")
    assert second["incoming_number"] == 2


def test_a_register_entry_cannot_be_rewritten_or_a_record_deleted(rt, office, tmp_path):
    _, _, clerk, _ = office
    letter = register_letter(rt, clerk, tmp_path, "thu-so")
    for change in ({"kind": "ecopy"}, {"register_book": "certification"}, {"register_number": 7}):
        with pytest.raises(registers.RegisterEntryChanged), rt.write() as session:
            document = session.get(Document, letter["id"])
            for name, value in change.items():
                setattr(document, name, value)
    with rt.read() as session:
        document = session.get(Document, letter["id"])
        assert (document.kind, document.register_book, document.register_number) == ("incoming", "incoming", 1)
    # Other fields of a registered document still change (its handling, say).
    with rt.write() as session:
        session.get(Document, letter["id"]).handling_note = "Đã xem"

    # An unregistered scan that was certified is a record too: it cannot be discarded.
    pdf = make_pdf(tmp_path / "khai-sinh.pdf", "Giấy khai sinh", sample_paragraphs("binh-duong-cchc-2020.txt")[:2])
    scan = clerk.post("/api/v1/documents", data={"file": (pdf.open("rb"), "khai-sinh.pdf"), "title": "Giấy khai sinh"})
    process_all(rt)
    issue_ecopy(clerk, scan.get_json()["id"])
    refused = clerk.client.delete(f"/api/v1/documents/{scan.get_json()['id']}", headers=clerk.headers)
    assert refused.status_code == 409, refused.get_json()
    assert clerk.get(f"/api/v1/documents/{scan.get_json()['id']}").status_code == 200


# --- retention: one category per record, derived from the record ----------------------


def _retained(rt, document_id: str) -> list[tuple[str, object]]:
    with rt.read() as session:
        document = session.get(Document, document_id)
        keys = [f.storage_key for f in document.files if f.role == FileRole.SIGNED]
    return [rt.store.retained_until(key) for key in keys]


# MinIO's compliance lock cannot be lifted, and policy dates are years away:
# a scaled test bucket holding them could never be removed. The code path is
# the same store.retain that tests/integration/test_retention.py proves on MinIO.
@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
def test_every_signed_version_is_retained_for_what_the_record_is(rt, office, tmp_path):
    drafter, leader, clerk, _ = office
    on = today()

    certified = issue_ecopy(clerk, register_letter(rt, clerk, tmp_path, "ban-chinh")["id"])
    result = issue_ecopy(clerk, register_letter(rt, clerk, tmp_path, "giay-phep")["id"], kind="procedure_result")
    assert _retained(rt, certified["document_id"]) == [retention_until("ecopy", on)]
    # A procedure result is kept 20 years, not an e-copy's 5.
    assert _retained(rt, result["document_id"]) == [retention_until("procedure_result", on)]

    doc = draft(drafter, tmp_path)
    process_all(rt)
    assert drafter.post(f"/api/v1/documents/{doc['id']}/submit", json={"approver": "pho-chu-tich"}).status_code == 200
    assert leader.post(f"/api/v1/documents/{doc['id']}/sign", json={"passphrase": PASSPHRASE}).status_code == 200
    issued = clerk.post(f"/api/v1/documents/{doc['id']}/issue", json={"type_code": "QĐ", "passphrase": PASSPHRASE})
    assert issued.status_code == 200, issued.get_json()
    outgoing_until = retention_until("outgoing", on)
    # The leader's signature alone is a step of the workflow; the issued file is the record.
    assert _retained(rt, doc["id"]) == [None, outgoing_until]

    # Given to a citizen as their result: kept for the longer of outgoing (70) and procedure result (20).
    assert RETENTION_YEARS["outgoing"] > RETENTION_YEARS["procedure_result"]
    issue_ecopy(clerk, doc["id"])
    assert _retained(rt, doc["id"]) == [None, outgoing_until]

    # Archive renewal adds a signed version; it is the record's current file and is retained like it.
    with rt.read() as session:
        due = {d.id: d.archive_due_at for d in session.scalars(select(Document).where(Document.archive_due_at.is_not(None)))}
    later = max(due.values()) + timedelta(days=1)
    renewed = archiving.renew_due(rt, now=later)
    assert set(renewed) >= {doc["id"], certified["document_id"], result["document_id"]}
    assert _retained(rt, doc["id"]) == [None, outgoing_until, outgoing_until]
    assert _retained(rt, certified["document_id"]) == [retention_until("ecopy", on)] * 2
    assert _retained(rt, result["document_id"]) == [retention_until("procedure_result", on)] * 2


def test_the_category_comes_from_the_record():
    from datetime import datetime

    issued = Document(id="d", workflow_status="issued", issued_date=date(2026, 3, 15))
    draft = Document(id="e", workflow_status="signed")
    at = datetime(2026, 3, 14, 18, 0, tzinfo=UTC)  # 01:00 on 15 March in Vietnam
    copy, result = Ecopy(kind="certified_copy", issued_at=at), Ecopy(kind="procedure_result", issued_at=at)
    assert record_terms(issued, None).category == "outgoing"
    assert record_terms(draft, copy).category == "ecopy"
    assert record_terms(draft, result).category == "procedure_result"
    assert record_terms(draft, result).issued == date(2026, 3, 15)
    assert record_terms(issued, result).category == "outgoing"  # the longer
    with pytest.raises(ValueError, match="not a signed record"):
        record_terms(draft, None)
