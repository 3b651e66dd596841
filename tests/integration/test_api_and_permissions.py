"""The JSON API as a clerk's scanner integration or an agency's portal uses it,
and the rule that a user sees only what their role and agency allow: in the
API, in the pages and in search results alike."""
from __future__ import annotations

import hashlib
import io

from sqlalchemy import select

from docsvc import accounts
from docsvc.documents import pipeline
from docsvc.models import OutboxEntry
from tests.pdfs import make_pdf, sample_paragraphs


def upload(user, pdf_bytes: bytes, title: str):
    response = user.post(
        "/api/v1/documents", data={"file": (io.BytesIO(pdf_bytes), "van-ban.pdf"), "title": title},
        content_type="multipart/form-data",
    )
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def process_all(rt) -> None:
    """What the worker does with each queued entry; called directly, as Celery tasks are in tests."""
    with rt.read() as session:
        pending = session.scalars(select(OutboxEntry.id).where(OutboxEntry.done_at.is_(None))).all()
    assert pending
    for entry_id in pending:
        assert pipeline.run_entry(rt, entry_id)


def test_upload_process_download_and_search_through_the_api(rt, clerk, tmp_path):
    paragraphs = sample_paragraphs("binh-duong-cchc-2020.txt")[:4]
    pdf = make_pdf(tmp_path / "qd.pdf", "Quyết định số 15/QĐ-UBND", paragraphs).read_bytes()
    created = upload(clerk, pdf, "Quyết định số 15/QĐ-UBND về CCHC")
    # The upload returns at once; the work is queued, not done in the request.
    assert created["status"] == "received"
    assert created["files"][0]["sha256"] == hashlib.sha256(pdf).hexdigest()

    process_all(rt)
    shown = clerk.get(f"/api/v1/documents/{created['id']}?text=1").get_json()
    assert shown["status"] == "ready" and shown["progress"]["percent"] == 100
    assert "Quyết định số 15/QĐ-UBND" in shown["text"]

    original = clerk.get(f"/api/v1/documents/{created['id']}/files/original")
    assert original.status_code == 200 and original.data == pdf

    found = clerk.get("/api/v1/search", query_string={"q": "quyet dinh 15"}).get_json()
    assert [hit["id"] for hit in found["hits"]] == [created["id"]]
    assert "<mark>" in found["hits"][0]["highlight"]

    listing = clerk.get("/api/v1/documents").get_json()
    assert listing["total"] == 1


def test_api_errors_share_one_shape(rt, clerk, app):
    anonymous = app.test_client()
    checks = [
        (anonymous.get("/api/v1/documents"), 401, "unauthorized"),
        (anonymous.get("/api/v1/documents", headers={"Authorization": "Bearer dsv_wrong"}), 401, "unauthorized"),
        (clerk.get("/api/v1/documents/00000000-0000-0000-0000-000000000000"), 404, "not_found"),
        (clerk.get("/api/v1/search", query_string={"q": '"unbalanced'}), 400, "invalid_query"),
        (clerk.get("/api/v1/search", query_string={"q": "x", "page": "two"}), 400, "invalid_input"),
        (clerk.get("/api/v1/no-such-endpoint"), 404, "not_found"),
        (clerk.post("/api/v1/documents", data={}, content_type="multipart/form-data"), 400, "invalid_input"),
    ]
    for response, status, code in checks:
        body = response.get_json()
        assert (response.status_code, body["code"]) == (status, code), body
        assert set(body) == {"code", "message"} and body["message"]


def test_agencies_see_only_their_own_documents(rt, make_user, tmp_path):
    with rt.write() as session:
        accounts.add_agency(session, "UBND-PHUONG-2", "UBND Phường 2", level="commune")
    ours = make_user("clerk", agency="UBND-XA", username="clerk-xa")
    theirs = make_user("clerk", agency="UBND-PHUONG-2", username="clerk-p2")
    citizen = make_user("citizen", agency=None, username="cong-dan")
    admin = make_user("admin", agency=None, username="quan-tri")

    paragraphs = sample_paragraphs("quang-trach-cchc-7-thang-2021.txt")[:3]
    pdf = make_pdf(tmp_path / "a.pdf", "Tờ trình về một cửa liên thông", paragraphs).read_bytes()
    document = upload(ours, pdf, "Tờ trình một cửa")
    process_all(rt)

    assert ours.get(f"/api/v1/documents/{document['id']}").status_code == 200
    assert admin.get(f"/api/v1/documents/{document['id']}").status_code == 200
    for stranger in (theirs, citizen):
        # Not "forbidden": another agency's documents do not exist for them.
        assert stranger.get(f"/api/v1/documents/{document['id']}").status_code == 404
        assert stranger.get(f"/api/v1/documents/{document['id']}/files/original").status_code == 404
        assert stranger.get("/api/v1/documents").get_json()["total"] == 0
        assert stranger.get("/api/v1/search", query_string={"q": "mot cua"}).get_json()["total"] == 0
    assert ours.get("/api/v1/search", query_string={"q": "mot cua"}).get_json()["total"] == 1
    assert admin.get("/api/v1/search", query_string={"q": "mot cua"}).get_json()["total"] == 1

    # Citizens cannot file agency documents.
    refused = citizen.post(
        "/api/v1/documents", data={"file": (io.BytesIO(pdf), "x.pdf")}, content_type="multipart/form-data"
    )
    assert refused.status_code == 403 and refused.get_json()["code"] == "forbidden"


def test_pages_need_a_signed_in_user_and_respect_agencies(rt, make_user, app, tmp_path):
    with rt.write() as session:
        accounts.add_agency(session, "UBND-PHUONG-2", "UBND Phường 2", level="commune")
    owner = make_user("clerk", agency="UBND-XA", username="clerk-xa")
    make_user("clerk", agency="UBND-PHUONG-2", username="clerk-p2")
    pdf = make_pdf(tmp_path / "a.pdf", "Kế hoạch cải cách", sample_paragraphs("binh-duong-cchc-2020.txt")[:2]).read_bytes()
    document = upload(owner, pdf, "Kế hoạch cải cách")
    process_all(rt)

    browser = app.test_client()
    assert browser.get("/").status_code == 302
    app.config["WTF_CSRF_ENABLED"] = False  # the form's token is tested in the browser suite
    wrong = browser.post("/login", data={"username": "clerk-p2", "password": "sai-mat-khau"})
    assert wrong.status_code == 401 and "Sai tên đăng nhập hoặc mật khẩu" in wrong.get_data(as_text=True)
    from tests.integration.conftest import PASSWORD

    assert browser.post("/login", data={"username": "clerk-p2", "password": PASSWORD}).status_code == 302
    assert browser.get(f"/documents/{document['id']}").status_code == 404
    page = browser.get("/search", query_string={"q": "cai cach"}).get_data(as_text=True)
    assert 'id="result-total">0<' in page


def test_openapi_document_describes_every_api_route(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    documented = set(spec["paths"])
    routes = {
        rule.rule.removeprefix("/api/v1").replace("<", "{").replace(">", "}")
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1")
    }
    assert routes == documented
