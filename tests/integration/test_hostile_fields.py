"""Text and numbers an attacker (or a clumsy script) sends, on both profiles:
a NUL byte or a control character in any text field, text longer than its
column, 10**30 as a page or a year, a report on year 1 or 9999. Each gets
one clear 400 in the one JSON shape (or one CLI line) and changes nothing;
before, PostgreSQL's refusal of NUL and SQLite's 64-bit integers made them
500s, and an over-long name was silently kept on SQLite only."""
from __future__ import annotations

import io
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from docsvc.models import AuditEvent, Document
from tests.integration.conftest import NOTHING, PASSWORD, leftovers
from tests.integration.test_api_and_permissions import process_all, upload
from tests.pdfs import make_pdf, sample_paragraphs

HUGE = str(10**30)


@pytest.fixture
def pdf(tmp_path) -> bytes:
    return make_pdf(tmp_path / "qd.pdf", "Quyết định", sample_paragraphs("binh-duong-cchc-2020.txt")[:2]).read_bytes()


def _refused(response, code: str, status: int = 400) -> dict:
    body = response.get_json()
    assert response.status_code == status, body
    assert set(body) == {"code", "message"} and body["code"] == code, body
    return body


@pytest.mark.parametrize("title, code", [
    ("Quyết định\x00 số 15", "invalid_characters"),
    ("Công văn\x1b[31m đỏ", "invalid_characters"),
    ("Thông báo " + "x" * 600, "text_too_long"),
])
def test_a_bad_title_is_refused_before_anything_is_stored(rt, clerk, pdf, title, code):
    response = clerk.post("/api/v1/documents", data={"file": (io.BytesIO(pdf), "van-ban.pdf"), "title": title},
                          content_type="multipart/form-data")
    body = _refused(response, code)
    assert "title" in body["message"]
    assert leftovers(rt) == NOTHING


def test_a_bad_filename_in_the_query_string_is_refused(rt, clerk, pdf):
    for filename, code in [("du-thao\x00.pdf", "invalid_characters"), ("d" * 300 + ".pdf", "text_too_long")]:
        response = clerk.post(f"/api/v1/outgoing?filename={quote(filename)}&title=Du+thao", data=pdf,
                              content_type="application/pdf")
        assert "filename" in _refused(response, code)["message"]
    assert leftovers(rt) == NOTHING


def test_every_text_field_of_the_register_and_the_workflow_refuses_nul(rt, clerk, make_user, pdf):
    """Registration, assignment, handling, submission, return: each field that
    reaches a row or a lookup (usernames, agency codes) refuses a NUL."""
    document = upload(clerk, pdf, "Công văn đến")
    process_all(rt)
    url = f"/api/v1/documents/{document['id']}"
    for field in ("title", "issuing_body", "number_symbol", "doc_type"):
        _refused(clerk.post(f"{url}/register", json={"title": "Trích yếu", field: "a\x00b"}), "invalid_characters")
    # A lone surrogate, which JSON can carry ("\ud800") and no database driver can encode.
    _refused(clerk.post(f"{url}/register", data='{"title": "Tr\\ud800ch"}', content_type="application/json"),
             "invalid_characters")
    assert clerk.post(f"{url}/register", json={"title": "Trích yếu"}).status_code == 200
    for body in ({"assignee": "clerk-ubnd-xa\x00"}, {"department": "Văn\x00phòng"},
                 {"department": "Văn phòng", "note": "ghi\x00chú"}):
        _refused(clerk.post(f"{url}/assign", json=body), "invalid_characters")
    assert clerk.post(f"{url}/assign", json={"assignee": "clerk-ubnd-xa"}).status_code == 200
    _refused(clerk.post(f"{url}/handling", json={"status": "in_progress", "note": "\x00"}), "invalid_characters")
    _refused(clerk.post(f"{url}/assign", json={"department": "P" * 129}), "text_too_long")

    draft = clerk.post("/api/v1/outgoing?filename=du-thao.pdf&title=Du+thao", data=pdf, content_type="application/pdf")
    draft_url = f"/api/v1/documents/{draft.get_json()['id']}"
    make_user("official", username="lanh-dao")
    for body in ({"approver": "lanh-dao\x00"}, {"approver": "lanh-dao", "recipients": ["UBND\x00"]}):
        _refused(clerk.post(f"{draft_url}/submit", json=body), "invalid_characters")
    # A signature box of NaN passes every comparison; a page of 10**30 overflows.
    box = {"x": 300, "y": 100, "width": 170, "height": 68}
    _refused(clerk.post(f"{draft_url}/submit", json={"approver": "lanh-dao", "position": box | {"x": "nan"}}),
             "invalid_input")
    _refused(clerk.post(f"{draft_url}/submit", json={"approver": "lanh-dao", "position": box | {"page": 10**30}}),
             "out_of_range")

    with rt.read() as session:
        registered = session.get(Document, document["id"])
        assert (registered.title, registered.handling_status, registered.handling_note) == ("Trích yếu", "assigned", "")


def test_a_nul_in_a_document_id_is_not_found(rt, clerk):
    _refused(clerk.get("/api/v1/documents/%00"), "not_found", 404)
    _refused(clerk.get("/api/v1/signing-jobs/ab%00cd"), "not_found", 404)


@pytest.mark.parametrize("url", [
    "/api/v1/search?q=quyet&page=" + HUGE,
    "/api/v1/search?q=quyet&per_page=" + HUGE,
    "/api/v1/search?q=quyet&year=" + HUGE,
    "/api/v1/search?q=quyet&year=-" + HUGE,
    "/api/v1/documents?page=" + HUGE,
    "/api/v1/registers/incoming?year=" + HUGE,
    "/api/v1/reports/incoming?from=2026-01-01&to=2026-01-31&agency_id=" + HUGE,
])
def test_huge_numbers_are_out_of_range(rt, clerk, url):
    _refused(clerk.get(url), "out_of_range")


def test_search_deeper_than_the_result_window_is_refused_on_both_backends(rt, clerk, pdf):
    upload(clerk, pdf, "Quyết định")
    process_all(rt)
    _refused(clerk.get("/api/v1/search?q=quyet&page=101&per_page=100"), "invalid_query")
    assert clerk.get("/api/v1/search?q=quyet&page=100&per_page=100").status_code == 200
    assert clerk.get("/api/v1/search?q=quyet&year=2999").get_json()["total"] == 0


@pytest.mark.parametrize("start, end", [("0001-01-01", "0001-01-31"), ("9999-12-01", "9999-12-31"),
                                        ("0001-01-01", "9999-12-31")])
def test_reports_on_year_1_or_9999_are_refused(rt, clerk, start, end):
    body = _refused(clerk.get(f"/api/v1/reports/incoming?from={start}&to={end}"), "out_of_range")
    assert "1900-01-01" in body["message"] and "2999-12-31" in body["message"]
    assert clerk.get(f"/api/v1/reports/incoming?from={start}&to={end}&format=xlsx").status_code == 400


def test_the_pages_answer_400_for_huge_numbers_and_impossible_dates(rt, app, clerk):
    app.config["WTF_CSRF_ENABLED"] = False
    browser = app.test_client()
    assert browser.post("/login", data={"username": clerk.username, "password": PASSWORD}).status_code == 302
    for url in ("/search?q=quyet&page=" + HUGE, "/search?q=quyet&year=" + HUGE, "/search?page=abc",
                "/registers/incoming?year=" + HUGE, "/reports?from=0001-01-01&to=0001-01-31",
                "/reports?from=9999-12-01&to=9999-12-31", "/reports/incoming.csv?from=9999-12-01&to=9999-12-31"):
        response = browser.get(url)
        assert response.status_code == 400, (url, response.status_code)
        assert "internal_error" not in response.get_data(as_text=True)


def test_the_command_line_says_one_line_for_huge_numbers_and_long_names(backend):
    backend.run("db", "upgrade", check=True)
    for args in (["search", "quyet", "--year", HUGE], ["search", "quyet", "--page", HUGE],
                 ["report", "incoming", "--from", "0001-01-01", "--to", "0001-01-02"],
                 ["user", "add", "u" * 200, "--role", "clerk", "--agency", "UBND-XA", "--password-env", "PW"],
                 ["agency", "add", "X" * 100, "Xã quá dài"]):
        result = backend.run(*args, extra_env={"PW": "mat-khau-an-toan-2026"})
        assert result.returncode == 2, (args, result.stderr)
        [line] = result.stderr.strip().splitlines()
        assert line.startswith("docsvc: error: ") and line.endswith(")") and "Traceback" not in result.stderr


def test_refused_fields_write_no_audit_event(rt, clerk, pdf):
    with rt.read() as session:
        before = session.scalar(select(func.count()).select_from(AuditEvent))
    clerk.post("/api/v1/documents", data={"file": (io.BytesIO(pdf), "a.pdf"), "title": "\x00"},
               content_type="multipart/form-data")
    clerk.get("/api/v1/search?q=a&page=" + HUGE)
    with rt.read() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == before
