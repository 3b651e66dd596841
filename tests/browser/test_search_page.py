"""A clerk looks for last year's decisions of the province on the search page:
types without diacritics, narrows by year and issuing body through the
facets, orders by date, lifts a filter again, and opens a hit; then the
same page in English, and a query one word of which most documents lack.

The documents are put in and registered through the API beforehand, as a
clerk's scanner integration would, and processed by the real worker."""
from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from pdfs import make_pdf, sample_paragraphs
from playwright.sync_api import Page, expect

from tests.browser.test_clerk_pages import sign_in, wait_ready_api

pytestmark = pytest.mark.browser

BINH_DUONG = "UBND tỉnh Bình Dương"
QUANG_TRACH = "UBND huyện Quảng Trạch"
CA_MAU = "UBND tỉnh Cà Mau"
# title: (issuing body, document type, number and symbol, issued, sample text)
REGISTER = {
    "Quyết định công bố kết quả cải cách hành chính quý I": (
        BINH_DUONG, "Quyết định", "15/QĐ-UBND", "2024-03-15", "binh-duong-cchc-2020.txt"),
    "Kế hoạch cải cách hành chính sáu tháng cuối năm": (
        BINH_DUONG, "Kế hoạch", "88/KH-UBND", "2024-09-20", "binh-duong-cchc-2020.txt"),
    "Báo cáo cải cách hành chính năm 2023": (
        BINH_DUONG, "Báo cáo", "41/BC-UBND", "2023-05-04", "binh-duong-cchc-2020.txt"),
    "Thông báo kết quả cải cách hành chính bảy tháng": (
        QUANG_TRACH, "Thông báo", "06/TB-UBND", "2024-06-01", "quang-trach-cchc-7-thang-2021.txt"),
    "Kế hoạch hiện đại hóa nền hành chính, cải cách hành chính": (
        CA_MAU, "Kế hoạch", "12/KH-UBND", "2025-02-01", "ca-mau-hien-dai-hoa-hanh-chinh.txt"),
}
DECISION, PLAN, REPORT, NOTICE, CA_MAU_PLAN = REGISTER


@pytest.fixture(scope="module")
def registered(server, tmp_path_factory) -> dict[str, str]:
    """The five documents uploaded, processed and registered: {title: id}."""
    folder = tmp_path_factory.mktemp("register")
    token = server.token()
    made = {}
    for number, (title, (_, _, _, _, sample)) in enumerate(REGISTER.items()):
        pdf = make_pdf(folder / f"van-ban-{number}.pdf", title, sample_paragraphs(sample)[:3])
        status, body = server.api("POST", "/api/v1/documents?" + urlencode({"filename": pdf.name, "title": title}),
                                  pdf.read_bytes(), token=token, headers={"Content-Type": "application/pdf"})
        assert status == 202, body
        made[title] = body["id"]
    for title, document_id in made.items():
        wait_ready_api(server, token, document_id)
        body, doc_type, number_symbol, issued, _ = REGISTER[title]
        fields = {"title": title, "issuing_body": body, "doc_type": doc_type, "number_symbol": number_symbol,
                  "issued_date": issued}
        status, answer = server.api("POST", f"/api/v1/documents/{document_id}/register", json.dumps(fields).encode(),
                                    token=token, headers={"Content-Type": "application/json"})
        assert status == 200, answer
    return made


def hit_titles(page: Page) -> list[str]:
    return page.locator("ol.hits li.hit a.hit-title").all_inner_texts()


def facet_value(page: Page, facet: str, value: str):
    return page.locator(f"#facet-{facet} a.facet-value").filter(
        has=page.locator(".value", has_text=re.compile(f"^{re.escape(value)}$")))


def query_of(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query, keep_blank_values=True)


def expect_titles(page: Page, titles: list[str]) -> None:
    expect(page.locator("ol.hits li.hit a.hit-title")).to_have_text(titles)


def test_clerk_narrows_by_year_and_issuing_body_sorts_by_date_and_opens_a_hit(
        page: Page, server, registered, artifacts: Path):
    sign_in(page, server)
    page.get_by_role("link", name="Tìm kiếm", exact=True).click()
    box = page.get_by_role("textbox", name="Tìm kiếm văn bản")
    box.fill("cai cach hanh chinh")
    box.press("Enter")
    assert query_of(page) == {"q": ["cai cach hanh chinh"]}  # no blank date fields in the address

    expect(page.locator("#result-total")).to_have_text("5")
    expect(page.locator("#count-all-words")).to_have_text("5 văn bản có đủ mọi từ")
    assert sorted(hit_titles(page)) == sorted(REGISTER)
    decision = page.locator("ol.hits li.hit").filter(has=page.get_by_role("link", name=DECISION, exact=True))
    expect(decision.locator(".meta")).to_contain_text("15/QĐ-UBND")
    expect(decision.locator(".meta .body")).to_have_text(BINH_DUONG)
    expect(decision.locator(".meta .date")).to_have_text("15/03/2024")
    expect(decision.locator(".meta .kind")).to_have_text("Văn bản đến")
    expect(decision.locator(".snippet mark").first).to_be_visible()
    # Each hit has its first page beside it, drawn by the server (not the placeholder).
    thumb = decision.locator("a.thumb img")
    expect(thumb).to_have_attribute("loading", "lazy")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    assert thumb.evaluate("img => img.naturalWidth") > 100
    expect(facet_value(page, "year", "2024").locator(".n")).to_have_text("3")
    expect(facet_value(page, "issuing_body", BINH_DUONG).locator(".n")).to_have_text("3")
    expect(page.locator("#facet-agency_id")).to_have_count(0)  # the clerk sees one agency

    facet_value(page, "year", "2024").click()
    expect(page.locator("#result-total")).to_have_text("3")
    assert sorted(hit_titles(page)) == sorted([DECISION, PLAN, NOTICE])
    expect(page.locator("#active-filters .chip")).to_have_text([re.compile(r"^Năm: 2024")])
    expect(facet_value(page, "year", "2024")).to_have_attribute("aria-current", "true")

    facet_value(page, "issuing_body", BINH_DUONG).click()
    expect(page.locator("#result-total")).to_have_text("2")
    assert query_of(page)["year"] == ["2024"] and query_of(page)["issuing_body"] == [BINH_DUONG]

    page.get_by_role("navigation", name="Sắp xếp").get_by_role("link", name="Mới nhất").click()
    expect_titles(page, [PLAN, DECISION])
    page.get_by_role("navigation", name="Sắp xếp").get_by_role("link", name="Cũ nhất").click()
    expect_titles(page, [DECISION, PLAN])
    expect(page.get_by_role("textbox", name="Tìm kiếm văn bản")).to_have_value("cai cach hanh chinh")
    page.screenshot(path=str(artifacts / f"search-facets-vi-{server.profile}.png"), full_page=True)

    # Lifting the year keeps the issuing body and the order.
    page.locator("#active-filters .chip", has_text="Năm: 2024").click()
    expect_titles(page, [REPORT, DECISION, PLAN])
    assert "year" not in query_of(page) and query_of(page)["sort"] == ["oldest"]

    # A date range typed back to front is explained; put right, it narrows
    # further, with the filters kept.
    page.get_by_label("Từ ngày", exact=True).fill("2024-06-30")
    page.get_by_label("Đến ngày", exact=True).fill("2024-01-01")
    page.get_by_role("button", name="Tìm", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text('Khoảng ngày không hợp lệ: "Từ ngày" phải trước hoặc trùng "Đến ngày".')
    expect(page.locator("ol.hits li.hit")).to_have_count(0)
    page.get_by_label("Từ ngày", exact=True).fill("2024-01-01")
    page.get_by_label("Đến ngày", exact=True).fill("2024-06-30")
    page.get_by_role("button", name="Tìm", exact=True).click()
    expect_titles(page, [DECISION])
    expect(page.locator("#active-filters")).to_contain_text("Từ ngày 01/01/2024")

    page.get_by_role("link", name=DECISION, exact=True).click()
    expect(page).to_have_url(re.compile(f"/documents/{registered[DECISION]}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(DECISION)

    # The same search in English: the language switch keeps every filter.
    page.go_back()
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#count-all-words")).to_have_text("1 with every word")
    expect(page.locator("#active-filters .chip")).to_have_text(
        [re.compile(f"^Issuing body: {BINH_DUONG}"), re.compile("^From 01/01/2024"), re.compile("^To 30/06/2024")])
    expect(page.get_by_role("navigation", name="Order").get_by_role("link", name="Oldest first")).to_have_attribute(
        "aria-current", "true")
    page.screenshot(path=str(artifacts / f"search-facets-en-{server.profile}.png"), full_page=True)


def test_documents_lacking_a_word_follow_marked(page: Page, server, registered, artifacts: Path):
    sign_in(page, server, "/search?" + urlencode({"q": 'cai cach hanh chinh "Quang Trach"'}))
    expect(page.locator("#count-all-words")).to_have_text("1 văn bản có đủ mọi từ")
    expect(page.locator("#count-fewer-words")).to_have_text("4 văn bản thiếu một số từ, xếp sau")
    hits = page.locator("ol.hits li.hit")
    expect(hits).to_have_count(5)
    expect(hits.first.locator("a.hit-title")).to_have_text(NOTICE)
    expect(hits.first.locator(".fewer-words-badge")).to_have_count(0)
    expect(page.locator("ol.hits li.tier-break")).to_have_text("Các văn bản sau thiếu một số từ đã nhập")
    expect(page.locator("ol.hits li.hit.fewer-words .fewer-words-badge")).to_have_count(4)
    page.screenshot(path=str(artifacts / f"search-tiers-vi-{server.profile}.png"), full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    # Scrolled through, every thumbnail loads (they load lazily, as they come into view).
    page.mouse.wheel(0, 10_000)
    page.wait_for_function("() => [...document.querySelectorAll('a.thumb img')].every(i => i.complete && i.naturalWidth > 0)")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than a phone"
    page.screenshot(path=str(artifacts / f"search-tiers-phone-{server.profile}.png"), full_page=True)
