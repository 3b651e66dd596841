"""The văn thư opens the reform figures: one chart per counted figure, a
bar slot for each of the last 12 months, the counts beside each share, the
figure docsvc cannot count said so, and nothing the page's CSP refuses.
Real Chromium against the real `docsvc serve`, embedded profile only (the
API test covers both profiles' counts)."""
from __future__ import annotations

import json

import pytest
from pdfs import make_pdf, sample_paragraphs
from playwright.sync_api import Page, expect
from test_clerk_pages import READY_TIMEOUT, sign_in
from test_sign_in_security import violations  # noqa: F401  (a fixture)

from tests.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("installation", ["embedded"], indirect=True)]

COUNTED = ("ecopy_results", "incoming_digitized", "incoming_routed", "outgoing_signed")


def _register_two_letters(server, folder) -> None:
    """Two letters the worker has read, registered; the first assigned to a department."""
    token = server.token()
    ids = []
    for name in ("cong-van-tinh", "cong-van-huyen"):
        pdf = make_pdf(folder / f"{name}.pdf", "Công văn về cải cách hành chính",
                       sample_paragraphs("quang-trach-cchc-7-thang-2021.txt")[:2]).read_bytes()
        status, uploaded = server.api("POST", f"/api/v1/documents?filename={name}.pdf", pdf, token,
                                      {"Content-Type": "application/pdf"})
        assert status == 202, uploaded
        ids.append(uploaded["id"])
    for document_id in ids:
        url = f"/api/v1/documents/{document_id}"
        wait_until(lambda url=url: server.api("GET", url, token=token)[1]["status"] == "ready",
                   READY_TIMEOUT / 1000, "the worker to read the letter", poll=0.5)
        _post(server, token, f"/api/v1/documents/{document_id}/register", {"title": "V/v cải cách hành chính"})
    _post(server, token, f"/api/v1/documents/{ids[0]}/assign", {"department": "Văn phòng"})


def _post(server, token: str, path: str, body: dict) -> None:
    status, answer = server.api("POST", path, json.dumps(body).encode(), token, {"Content-Type": "application/json"})
    assert status == 200, answer


def test_the_reform_page_draws_a_chart_per_figure(page: Page, server, tmp_path, artifacts, violations):  # noqa: F811
    _register_two_letters(server, tmp_path)
    sign_in(page, server, "/reports/reform")
    expect(page.get_by_role("heading", name="Chỉ số cải cách hành chính từ hồ sơ của docsvc")).to_be_visible()
    charts = page.locator("svg.reform-chart")
    expect(charts).to_have_count(len(COUNTED))
    for key in COUNTED:
        chart = page.locator(f"#chart-{key}")
        expect(chart.locator("g.bar")).to_have_count(12)
        expect(chart).to_have_attribute("role", "img")
        assert chart.locator("title").first.text_content()  # its accessible name
    routed = page.locator("#reform-figures tr[data-figure=incoming_routed]")
    expect(routed.locator(".numerator")).to_have_text("1")
    expect(routed.locator(".denominator")).to_have_text("2")
    expect(routed.locator(".share")).to_have_text("50%")
    digitized = page.locator("#reform-figures tr[data-figure=incoming_digitized]")
    expect(digitized.locator(".share")).to_have_text("100%")
    expect(page.locator("#figure-case_files_digitized")).to_contain_text("docsvc không tính được chỉ số này")
    # This month's bar says its counts to whoever hovers or reads it; a month without letters has no bar.
    this_month = page.locator("#chart-incoming_routed g.bar").last
    expect(this_month.locator("rect")).to_have_count(1)
    expect(this_month.locator("title")).to_contain_text("1/2 (50%)")
    expect(page.locator("#chart-incoming_routed g.bar").first.locator("rect")).to_have_count(0)
    page.screenshot(path=str(artifacts / "reform-page.png"), full_page=True)
    # English second: the same charts, their names in English.
    page.goto("/reports/reform?lang=en")
    expect(page.get_by_role("heading", name="Administrative reform figures from docsvc's records")).to_be_visible()
    expect(page.locator("svg.reform-chart")).to_have_count(len(COUNTED))
    expect(page.locator("#chart-incoming_routed g.bar").last.locator("title")).to_contain_text("1 of 2 (50%)")
    assert not violations
