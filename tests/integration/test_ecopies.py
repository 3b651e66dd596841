"""A citizen's certified e-copy, on both profiles: the clerk scans the paper
original and issues the e-copy; the citizen finds it in their portal and
shares it with an agency; anyone verifies it by code or by file; tampered
copies, a revoked e-copy and a dead share link are reported as such."""
from __future__ import annotations

import dataclasses
import io
import json
from datetime import timedelta

import pikepdf
import pytest
from sqlalchemy import select

from docsvc.ecopies.codes import normalize
from docsvc.models import AuditEvent, ShareLink
from docsvc.pdf import iter_page_texts
from docsvc.runtime import Runtime
from tests.letters import Letter, scanned_letter
from tests.signing.helpers import seal_png

PASSPHRASE = "docsvc-dev"
CITIZEN = "001203004567"


@pytest.fixture(scope="module")
def birth_certificate_scan(tmp_path_factory):
    letter = Letter(parent_body="ỦY BAN NHÂN DÂN", issuing_body="XÃ QUẢNG PHÚ", number_symbol="45/2024/TLKS-BS",
                    type_name="GIẤY KHAI SINH", summary="Bản sao trích lục khai sinh")
    return scanned_letter(tmp_path_factory.mktemp("scan") / "khai-sinh.jpg", letter, kind="jpeg")


@pytest.fixture
def issued(backend, birth_certificate_scan, tmp_path):
    backend.run("db", "upgrade", check=True)
    backend.run("pki", "init", check=True)
    (tmp_path / "con-dau.png").write_bytes(seal_png())
    settings = backend.settings()
    backend.run("key", "add", "--agency", "UBND-XA", "--pkcs12", f"{settings.pki_dir}/agency.p12",
                "--image", str(tmp_path / "con-dau.png"), check=True)
    backend.run("user", "add", "cong-dan", "--role", "citizen", "--citizen-id", CITIZEN, "--password-env", "PW",
                check=True, extra_env={"PW": "mat-khau-cong-dan-2026"})
    backend.run("user", "add", "cong-dan-khac", "--role", "citizen", "--citizen-id", "079099001122",
                "--password-env", "PW", check=True, extra_env={"PW": "mat-khau-cong-dan-2026"})
    result = backend.run("ecopy", "issue", str(birth_certificate_scan.path), "--citizen", CITIZEN,
                         "--title", "Bản sao giấy khai sinh", "--json", extra_env={"DOCSVC_SIGNING_PASSPHRASE": PASSPHRASE})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _client(backend, username: str):
    from docsvc.app import create_app

    app = create_app(runtime=Runtime(backend.settings()))
    client = app.test_client()
    token = client.post("/api/v1/tokens", json={"username": username, "password": "mat-khau-cong-dan-2026"}).get_json()
    return client, {"Authorization": f"Bearer {token['token']}"}


def test_issue_retrieve_share_verify_revoke(backend, issued, tmp_path):
    code = issued["code"]
    assert len(normalize(code)) == 17 and issued["verify_url"].endswith("/v/" + code)
    assert issued["certification_number"].startswith("1 quyển số 01/")

    # The registered file: stamped with the certification, the code and a QR, signed at B-LTA.
    out = tmp_path / "ban-sao.pdf"
    backend.run("ecopy", "download", code, str(out), check=True)
    verified = json.loads(backend.run("verify", str(out), "--json").stdout)
    assert verified["verdict"] == "valid" and verified["signatures"][0]["level"] == "B-LTA"
    assert verified["ecopy"]["code"] == code
    assert verified["ecopy"]["status"] == "active" and verified["ecopy"]["matches_registered_file"] is True
    first_page = next(iter_page_texts(out))
    assert "Chứng thực bản sao đúng với bản chính" in first_page and code in first_page

    # Anyone, by code: issuer, date, status, signatures; nothing about the citizen.
    status = json.loads(backend.run("ecopy", "status", code.lower().replace("-", " "), "--json", check=True).stdout)
    assert status["status"] == "active" and status["signatures"]["verdict"] == "valid"
    assert CITIZEN not in json.dumps(status) and "khai sinh" not in json.dumps(status).lower()

    # The citizen's portal lists it; another citizen does not even learn it exists.
    citizen, auth = _client(backend, "cong-dan")
    mine = citizen.get("/api/v1/my/ecopies", headers=auth).get_json()["ecopies"]
    assert [(e["code"], e["title"]) for e in mine] == [(code, "Bản sao giấy khai sinh")]
    assert citizen.get(f"/api/v1/my/ecopies/{code}/file", headers=auth).data == out.read_bytes()
    other, other_auth = _client(backend, "cong-dan-khac")
    assert other.get("/api/v1/my/ecopies", headers=other_auth).get_json()["ecopies"] == []
    assert other.get(f"/api/v1/my/ecopies/{code}/file", headers=other_auth).status_code == 404

    # A share link for the tax office: twice at most.
    share = citizen.post(f"/api/v1/my/ecopies/{code}/shares", headers=auth,
                         json={"recipient": "Chi cục Thuế", "days": 7, "max_uses": 2}).get_json()
    anonymous = citizen.application.test_client()
    for _ in range(2):
        got = anonymous.get(f"/api/v1/shares/{share['token']}/file")
        assert got.status_code == 200 and got.data == out.read_bytes()
    used_up = anonymous.get(f"/api/v1/shares/{share['token']}/file")
    assert used_up.status_code == 410 and used_up.get_json()["code"] == "share_refused"
    # An expired link is refused too; the citizen sees every access.
    expiring = citizen.post(f"/api/v1/my/ecopies/{code}/shares", headers=auth,
                            json={"recipient": "Ngân hàng", "days": 1, "max_uses": 5}).get_json()
    runtime = Runtime(backend.settings())
    try:
        with runtime.write() as session:
            link = session.get(ShareLink, expiring["id"])
            link.expires_at = link.created_at - timedelta(seconds=1)
    finally:
        runtime.close()
    expired = anonymous.get(f"/api/v1/shares/{expiring['token']}/file")
    assert expired.status_code == 410 and "expired" in expired.get_json()["message"]
    shares = citizen.get(f"/api/v1/my/ecopies/{code}/shares", headers=auth).get_json()["shares"]
    outcomes = {s["recipient"]: [a["outcome"] for a in s["accesses"]] for s in shares}
    assert outcomes == {"Chi cục Thuế": ["used_up", "granted", "granted"], "Ngân hàng": ["expired"]}
    # Withdrawn: refused at once.
    withdrawn = citizen.post(f"/api/v1/my/ecopies/{code}/shares", headers=auth,
                             json={"recipient": "Sở Tư pháp", "days": 3, "max_uses": 3}).get_json()
    assert citizen.delete(f"/api/v1/my/shares/{withdrawn['id']}", headers=auth).status_code == 204
    assert anonymous.get(f"/api/v1/shares/{withdrawn['token']}/file").status_code == 410

    # Tampered copies: one byte, a page replaced in an incremental update, the stamp edited.
    original = out.read_bytes()
    one_byte = bytearray(original)
    one_byte[len(one_byte) // 2] ^= 0x20
    replaced = _append_replaced_first_page(original)
    for name, data in (("mot-byte.pdf", bytes(one_byte)), ("thay-trang.pdf", replaced)):
        path = tmp_path / name
        path.write_bytes(data)
        result = backend.run("verify", str(path), "--json")
        report = json.loads(result.stdout)
        assert result.returncode == 1 and report["verdict"] == "invalid", name
        assert report["ecopy"]["matches_registered_file"] is False, name
    edited = tmp_path / "sua-dau.pdf"
    edited.write_bytes(_edit_stamp(original))
    report = json.loads(backend.run("verify", str(edited), "--json").stdout)
    assert report["verdict"] == "invalid" and report["ecopy"]["matches_registered_file"] is False

    # Revoked: verification says so at once, with the reason; the file stays stored.
    backend.run("ecopy", "revoke", code, "--reason", "Cấp nhầm người", check=True)
    status = json.loads(backend.run("ecopy", "status", code, "--json", check=True).stdout)
    assert status["status"] == "revoked" and status["reason"] == "Cấp nhầm người"
    result = backend.run("verify", str(out), "--json")
    assert result.returncode == 1 and json.loads(result.stdout)["ecopy"]["status"] == "revoked"
    assert anonymous.get(f"/api/v1/ecopies/{code}").get_json()["status"] == "revoked"
    backend.run("ecopy", "download", code, str(tmp_path / "van-con.pdf"), check=True)

    runtime = Runtime(backend.settings())
    try:
        with runtime.read() as session:
            actions = set(session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("ecopy.%"))))
    finally:
        runtime.close()
    assert {"ecopy.issue", "ecopy.verify", "ecopy.download", "ecopy.share", "ecopy.share_access",
            "ecopy.share_withdraw", "ecopy.revoke"} <= actions


def test_codes_are_checked_and_verification_is_rate_limited(backend, issued):
    from docsvc.app import create_app

    runtime = Runtime(dataclasses.replace(backend.settings(), verify_rate_per_minute=1, verify_burst=3))
    client = create_app(runtime=runtime).test_client()
    code = issued["code"]
    typo = code[:-1] + ("0" if code[-1] != "0" else "1")
    bad = client.get(f"/api/v1/ecopies/{typo}")
    assert bad.status_code == 400 and bad.get_json()["code"] == "invalid_verification_code"
    # A burst of three per client, the mistyped code above included.
    answers = [client.get(f"/api/v1/ecopies/{code}") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].get_json()["code"] == "too_many_requests"
    runtime.close()


def _append_replaced_first_page(pdf: bytes) -> bytes:
    """An incremental update that swaps page one's content for another."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page_ref = writer.root["/Pages"]["/Kids"][0]
    page = page_ref.get_object()
    stream = generic.StreamObject(stream_data=b"BT /F1 24 Tf 72 700 Td (Ban sao gia) Tj ET")
    page["/Contents"] = writer.add_object(stream)
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _edit_stamp(pdf: bytes) -> bytes:
    """Someone strikes through the stamp in a PDF editor (a full rewrite of the file)."""
    with pikepdf.open(io.BytesIO(pdf)) as document:
        resources = document.pages[0].obj.Resources
        forms = [resources.XObject[name] for name in resources.XObject
                 if resources.XObject[name].get("/Subtype") == "/Form"]
        assert forms, "the stamp is an overlay form on page one"
        for form in forms:
            form.write(form.read_bytes() + b"\n1 0 0 RG 2 w 0 0 m 500 500 l S\n")
        out = io.BytesIO()
        document.save(out)
        return out.getvalue()
