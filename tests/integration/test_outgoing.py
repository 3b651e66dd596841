"""An outgoing decision from draft to issue, through the API, on both
profiles: the drafter submits it to the vice-chairman, who sends it back once,
then signs; the văn thư numbers, dates and seals it; it lands in the district's
inbox. The issued PDF is checked by docsvc's verifier and poppler's pdfsig."""
from __future__ import annotations

import dataclasses
import hashlib
import io
import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from docsvc import accounts
from docsvc.models import AuditEvent, Document, FileRole, User
from docsvc.outgoing import workflow as outgoing
from docsvc.runtime import Runtime
from docsvc.signatures.verification import verify
from signing.fields import field_value
from tests.integration.conftest import PASSWORD
from tests.integration.records import PASSPHRASE, draft
from tests.integration.test_api_and_permissions import process_all
from tests.signing.helpers import make_nssdb, pdfsig


def test_draft_to_signed_to_issued_to_the_district(rt, backend, app, office, tmp_path):
    drafter, leader, clerk, district = office
    doc = draft(drafter, tmp_path)
    assert doc["workflow"]["status"] == "draft" and doc["kind"] == "outgoing"
    process_all(rt)
    url = f"/api/v1/documents/{doc['id']}"

    submitted = drafter.post(f"{url}/submit", json={"approver": "pho-chu-tich", "recipients": ["UBND-HUYEN"]})
    assert submitted.status_code == 200, submitted.get_json()
    workflow = submitted.get_json()["workflow"]
    assert (workflow["status"], workflow["approver"], workflow["recipients"]) == ("submitted", "pho-chu-tich", ["UBND-HUYEN"])

    # Sent back with a comment; the drafter sees it and submits again.
    assert leader.post(f"{url}/return", json={}).status_code == 400
    returned = leader.post(f"{url}/return", json={"comment": "Bổ sung căn cứ pháp lý"}).get_json()
    assert returned["workflow"]["status"] == "returned" and returned["workflow"]["note"] == "Bổ sung căn cứ pháp lý"
    assert drafter.post(f"{url}/sign", json={"passphrase": PASSPHRASE}).status_code in (403, 409, 404)
    assert drafter.post(f"{url}/submit", json={"approver": "pho-chu-tich", "recipients": ["UBND-HUYEN"]}).status_code == 200

    # A wrong passphrase changes nothing.
    files_before = len(leader.get(url).get_json()["files"])
    wrong = leader.post(f"{url}/sign", json={"passphrase": "sai-mat-khau"})
    assert wrong.status_code == 422 and wrong.get_json()["code"] == "wrong_passphrase"
    after = leader.get(url).get_json()
    assert after["workflow"]["status"] == "submitted" and len(after["files"]) == files_before

    signed = leader.post(f"{url}/sign", json={"passphrase": PASSPHRASE})
    assert signed.status_code == 200, signed.get_json()
    assert signed.get_json()["workflow"]["status"] == "signed"

    # Issuing is the văn thư's (or the agency signer's) job, not the drafter's.
    refused = drafter.post(f"{url}/issue", json={"type_code": "QĐ", "passphrase": PASSPHRASE})
    assert refused.status_code == 403
    issued = clerk.post(f"{url}/issue", json={"type_code": "QĐ", "passphrase": PASSPHRASE})
    assert issued.status_code == 200, issued.get_json()
    body = issued.get_json()
    assert body["number_symbol"] == "01/QĐ-UBND" and body["workflow"]["status"] == "issued"
    assert body["register"]["book"] == "outgoing" and body["doc_type"] == "Quyết định"

    pdf = clerk.get(f"{url}/files/signed").data
    assert field_value(pdf, "docsvc_so_ky_hieu") == "Số: 01/QĐ-UBND"
    report = verify(rt.settings, io.BytesIO(pdf))
    assert report.verdict == "valid", report.to_json()
    person, seal = report.signatures
    assert person.verdict == "valid" and person.modifications == "form_filling"
    assert seal.verdict == "valid" and seal.level == "B-LTA" and seal.modifications == "none"
    path = tmp_path / "ban-hanh.pdf"
    path.write_bytes(pdf)
    (tmp_path / "nss").mkdir()
    nss = make_nssdb(tmp_path / "nss", Path(rt.settings.pki_dir) / "root-ca.pem")
    checked = pdfsig(path, nss)
    assert checked.count("Signature is Valid.") == 2, checked

    # Years later, before the time-stamp's certificate expires, beat renews the archive time-stamp.
    with rt.read() as session:
        due = session.get(Document, doc["id"]).archive_due_at
    assert due is not None
    later = (due + timedelta(days=1)).isoformat()
    renewed = json.loads(backend.run("archive", "renew", "--as-of", later, "--json", check=True).stdout)
    assert renewed == {"renewed": [doc["id"]]}
    renewed_pdf = clerk.get(f"{url}/files/signed").data
    assert renewed_pdf.startswith(pdf) and len(renewed_pdf) > len(pdf)  # an incremental update
    assert verify(rt.settings, io.BytesIO(renewed_pdf)).verdict == "valid"
    again = json.loads(backend.run("archive", "renew", "--as-of", later, "--json", check=True).stdout)
    assert again == {"renewed": []}

    # The district's văn thư finds it in its documents, ready to register as incoming.
    with rt.read() as session:
        commune = accounts.agency_by_code(session, "UBND-XA").name
    inbox = district.get("/api/v1/documents").get_json()["documents"]
    assert [(d["kind"], d["number_symbol"], d["issuing_body"]) for d in inbox] == [("incoming", "01/QĐ-UBND", commune)]
    copy = district.get(f"/api/v1/documents/{inbox[0]['id']}/files/original").data
    assert copy == pdf
    registered = district.post(f"/api/v1/documents/{inbox[0]['id']}/register", json={})
    assert registered.status_code == 200 and registered.get_json()["incoming_number"] == 1

    # The văn thư's page offers to give the issued document to a citizen as it is: no key passphrase asked.
    app.config["WTF_CSRF_ENABLED"] = False  # the form's token is tested in the browser suite
    browser = app.test_client()
    assert browser.post("/login", data={"username": "van-thu", "password": PASSWORD}).status_code == 302
    page = browser.get(f"/documents/{doc['id']}").get_data(as_text=True)
    assert 'id="ecopy-issue-form"' in page and 'id="ecopy-passphrase"' not in page

    # Given to a citizen as their procedure result: registered as it is, verifiable by code and by file.
    result = clerk.post("/api/v1/ecopies", json={"document_id": doc["id"], "citizen_id": "001203004567",
                                                 "passphrase": PASSPHRASE})
    assert result.status_code == 201, result.get_json()
    assert result.get_json()["sha256"] == hashlib.sha256(renewed_pdf).hexdigest()  # the current version
    by_code = clerk.get(f"/api/v1/ecopies/{result.get_json()['code']}").get_json()
    assert (by_code["kind"], by_code["status"], by_code["signatures"]["verdict"]) == ("procedure_result", "active", "valid")
    # Verification by file knows the issued version as well as the renewed one.
    for version in (pdf, renewed_pdf):
        by_file = clerk.post("/api/v1/verify", data=version, content_type="application/pdf").get_json()
        assert by_file["ecopy"]["matches_registered_file"] is True and by_file["verdict"] == "valid"

    # The next decision of the year is 02.
    second = draft(drafter, tmp_path, "Quyết định thành lập tổ công tác")
    process_all(rt)
    drafter.post(f"/api/v1/documents/{second['id']}/submit", json={"approver": "pho-chu-tich"})
    leader.post(f"/api/v1/documents/{second['id']}/sign", json={"passphrase": PASSPHRASE})
    again = clerk.post(f"/api/v1/documents/{second['id']}/issue", json={"type_code": "QĐ", "passphrase": PASSPHRASE})
    assert again.get_json()["number_symbol"] == "02/QĐ-UBND"

    with rt.read() as session:
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == doc["id"])
                                  .order_by(AuditEvent.id)).all()
    assert [a for a in actions if a.startswith("outgoing.")] == [
        "outgoing.draft", "outgoing.submit", "outgoing.return", "outgoing.submit", "outgoing.sign", "outgoing.issue",
    ]



def test_a_revoked_certificate_or_an_unreachable_tsa_is_refused_and_nothing_changes(rt, backend, office, tmp_path):
    drafter, leader, clerk, _ = office
    doc = draft(drafter, tmp_path)
    process_all(rt)
    url = f"/api/v1/documents/{doc['id']}"
    assert drafter.post(f"{url}/submit", json={"approver": "pho-chu-tich"}).status_code == 200
    before = leader.get(url).get_json()

    # The time-stamping authority is down: no silent fall-back to a signature without time-stamp.
    unreachable = Runtime(dataclasses.replace(rt.settings, tsa_url="http://127.0.0.1:9/tsa"))
    try:
        with rt.read() as session:
            person = session.scalar(select(User).where(User.username == "pho-chu-tich"))
            session.expunge(person)
        [outcome] = outgoing.sign_as_approver(unreachable, person, [doc["id"]], PASSPHRASE)
    finally:
        unreachable.close()
    assert not outcome.ok and outcome.code == "timestamp_unavailable", outcome
    assert leader.get(url).get_json() == before

    # The leader's certificate was revoked by the CA: refused before anything is written.
    backend.run("key", "add", "--user", "pho-chu-tich", "--pkcs12", f"{rt.settings.pki_dir}/official-revoked.p12",
                "--image", str(tmp_path / "chu-ky.png"), check=True)
    revoked = leader.post(f"{url}/sign", json={"passphrase": PASSPHRASE})
    assert revoked.status_code == 422 and revoked.get_json()["code"] == "certificate_revoked", revoked.get_json()
    assert leader.get(url).get_json() == before


def test_a_batch_signs_every_good_document_and_reports_each_bad_one(rt, backend, office, tmp_path):
    """The approver's batch signs its documents together (signing.sign_pdfs):
    a document not waiting for a signature, or whose file cannot be signed,
    is reported in its place and changes nothing; the others are signed."""
    drafter, leader, _, _ = office
    docs = [draft(drafter, tmp_path, f"Quyết định số {n} về cải cách hành chính") for n in range(1, 5)]
    process_all(rt)
    good, damaged, not_submitted, last = (d["id"] for d in docs)
    for document_id in (good, damaged, last):
        assert drafter.post(f"/api/v1/documents/{document_id}/submit", json={"approver": "pho-chu-tich"}).status_code == 200
    with rt.write() as session:  # the prepared file of one document is no PDF any more
        stored = rt.store.put(io.BytesIO(b"not a PDF at all"), "application/pdf")
        session.get(Document, damaged).latest(FileRole.PREPARED).storage_key = stored.key
    before = {d: leader.get(f"/api/v1/documents/{d}").get_json() for d in (damaged, not_submitted)}
    with rt.read() as session:
        person = session.scalar(select(User).where(User.username == "pho-chu-tich"))
        session.expunge(person)
    seen = []
    outcomes = outgoing.sign_as_approver(rt, person, [good, damaged, not_submitted, last], PASSPHRASE,
                                         progress=seen.append)

    assert [(o.document_id, o.ok) for o in outcomes] == [(good, True), (damaged, False), (not_submitted, False),
                                                         (last, True)]
    assert seen == outcomes
    assert outcomes[1].code and outcomes[2].code == "wrong_workflow_step", outcomes
    for document_id in (damaged, not_submitted):
        assert leader.get(f"/api/v1/documents/{document_id}").get_json() == before[document_id]
    for document_id in (good, last):
        assert leader.get(f"/api/v1/documents/{document_id}").get_json()["workflow"]["status"] == "signed"
        report = verify(rt.settings, io.BytesIO(leader.get(f"/api/v1/documents/{document_id}/files/signed").data))
        assert report.signatures[0].intact and report.signatures[0].level == "B-T", report.to_json()
