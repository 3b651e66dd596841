"""The rules of the workflows, through the API, on both profiles: only the
drafter submits their draft; a signed document is a record, issued or not;
an outgoing draft is not an incoming document (nor an e-copy before it is
issued); an e-copy is superseded only by another active e-copy of its agency.
Each refusal has its own code and changes nothing."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from docsvc.ecopies.codes import normalize
from docsvc.models import Document, Ecopy
from tests.integration.records import PASSPHRASE, draft
from tests.integration.test_api_and_permissions import process_all, upload
from tests.pdfs import make_pdf, sample_paragraphs

CITIZEN = "001203004567"


def _refused(response, code: str, status: int) -> None:
    body = response.get_json()
    assert (response.status_code, body["code"]) == (status, code), body
    assert set(body) == {"code", "message"}


def _status(rt, document_id: str) -> str | None:
    with rt.read() as session:
        document = session.get(Document, document_id)
        return None if document is None else document.workflow_status


def test_only_the_drafter_submits_theirdraft(rt, office, make_user, tmp_path):
    drafter, leader, clerk, _ = office
    admin = make_user("admin", username="quan-tri")
    doc = draft(drafter, tmp_path)
    process_all(rt)
    url = f"/api/v1/documents/{doc['id']}/submit"
    body = {"approver": "pho-chu-tich", "recipients": ["UBND-HUYEN"]}
    for someone_else in (leader, clerk, admin):
        _refused(someone_else.post(url, json=body), "not_the_drafter", 403)
    assert _status(rt, doc["id"]) == "draft"
    assert drafter.post(url, json=body).status_code == 200

    # Sent back: still only the drafter submits it again.
    assert leader.post(f"/api/v1/documents/{doc['id']}/return", json={"comment": "Sửa lại"}).status_code == 200
    _refused(leader.post(url, json=body), "not_the_drafter", 403)
    assert drafter.post(url, json=body).status_code == 200


def test_a_signed_document_is_a_record_before_and_after_it_is_issued(rt, office, tmp_path):
    drafter, leader, clerk, _ = office
    unwanted = draft(drafter, tmp_path, "Dự thảo viết nhầm")
    doc = draft(drafter, tmp_path)
    process_all(rt)
    # A draft nobody signed may still be thrown away…
    assert drafter.client.delete(f"/api/v1/documents/{unwanted['id']}", headers=drafter.headers).status_code == 204
    assert _status(rt, unwanted["id"]) is None

    url = f"/api/v1/documents/{doc['id']}"
    assert drafter.post(f"{url}/submit", json={"approver": "pho-chu-tich"}).status_code == 200
    assert leader.post(f"{url}/sign", json={"passphrase": PASSPHRASE}).status_code == 200
    # …a signed one may not, by anyone, though it is not issued yet.
    for user in (drafter, leader, clerk):
        _refused(user.client.delete(url, headers=user.headers), "record_not_deletable", 409)
    assert _status(rt, doc["id"]) == "signed"
    signed_file = clerk.get(f"{url}/files/signed")
    assert signed_file.status_code == 200 and signed_file.data.startswith(b"%PDF")

    assert clerk.post(f"{url}/issue", json={"type_code": "QĐ", "passphrase": PASSPHRASE}).status_code == 200
    _refused(clerk.client.delete(url, headers=clerk.headers), "record_not_deletable", 409)
    assert _status(rt, doc["id"]) == "issued"


def test_an_outgoing_draft_is_not_registered_as_incoming_nor_certified(rt, office, tmp_path):
    drafter, _, clerk, _ = office
    doc = draft(drafter, tmp_path)
    process_all(rt)
    url = f"/api/v1/documents/{doc['id']}"
    _refused(clerk.post(f"{url}/register", json={"title": "Vào sổ nhầm"}), "wrong_register", 409)
    _refused(clerk.post("/api/v1/ecopies", json={"document_id": doc["id"], "citizen_id": CITIZEN,
                                                  "passphrase": PASSPHRASE}), "wrong_register", 409)
    with rt.read() as session:
        document = session.get(Document, doc["id"])
        assert (document.kind, document.register_book, document.workflow_status) == ("outgoing", None, "draft")
        assert session.scalar(select(Ecopy.id)) is None


@pytest.fixture
def ecopies_of_two_agencies(rt, backend, office, make_user, tmp_path):
    """Three e-copies of the commune (A, B, C) and one of the district (D)."""
    _, _, clerk, _ = office
    district_clerk = make_user("clerk", agency="UBND-HUYEN", username="van-thu-huyen-2")
    backend.run("key", "add", "--agency", "UBND-HUYEN", "--pkcs12", f"{rt.settings.pki_dir}/agency.p12",
                "--image", str(tmp_path / "con-dau.png"), check=True)
    documents = []
    for n, who in enumerate((clerk, clerk, clerk, district_clerk)):
        pdf = make_pdf(tmp_path / f"ban-chinh-{n}.pdf", f"Giấy xác nhận số {n}",
                       sample_paragraphs("binh-duong-cchc-2020.txt")[:1]).read_bytes()
        documents.append((who, upload(who, pdf, f"Giấy xác nhận số {n}")["id"]))
    process_all(rt)
    codes = []
    for who, document_id in documents:
        issued = who.post("/api/v1/ecopies", json={"document_id": document_id, "citizen_id": CITIZEN,
                                                    "passphrase": PASSPHRASE})
        assert issued.status_code == 201, issued.get_json()
        codes.append(issued.get_json()["code"])
    return clerk, codes


def test_an_ecopy_is_superseded_only_by_another_active_one_of_its_agency(rt, ecopies_of_two_agencies):
    clerk, (a, b, c, d) = ecopies_of_two_agencies

    def supersede(code, by):
        return clerk.post(f"/api/v1/ecopies/{code}/supersede", json={"reason": "Cấp lại do sai tên", "superseded_by": by})

    _refused(supersede(a, a), "invalid_replacement", 409)
    _refused(supersede(a, d), "invalid_replacement", 409)  # the district's e-copy
    assert clerk.post(f"/api/v1/ecopies/{b}/revoke", json={"reason": "Cấp nhầm"}).status_code == 200
    _refused(supersede(a, b), "invalid_replacement", 409)  # revoked
    assert clerk.get(f"/api/v1/ecopies/{a}").get_json()["status"] == "active"

    replaced = supersede(a, c)
    assert replaced.status_code == 200, replaced.get_json()
    assert (replaced.get_json()["status"], replaced.get_json()["superseded_by"]) == ("superseded", c)
    # A superseded e-copy cannot take another's place either: no chains back to it.
    _refused(supersede(c, a), "invalid_replacement", 409)
    assert clerk.get(f"/api/v1/ecopies/{c}").get_json()["status"] == "active"


def test_a_reason_with_a_nul_is_refused(rt, ecopies_of_two_agencies):
    clerk, (a, *_) = ecopies_of_two_agencies
    response = clerk.post(f"/api/v1/ecopies/{a}/revoke", json={"reason": "Cấp\x00nhầm"})
    _refused(response, "invalid_characters", 400)
    response = clerk.post(f"/api/v1/ecopies/{a}/revoke", json={"reason": "x" * 1001})
    _refused(response, "text_too_long", 400)
    with rt.read() as session:
        assert session.scalar(select(Ecopy.status).where(Ecopy.code == normalize(a))) == "active"
