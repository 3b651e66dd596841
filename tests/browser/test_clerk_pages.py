"""A clerk at the commune uses the pages in a real browser against the real service.

Each test opens a fresh browser profile on a `docsvc serve` started by the
fixtures in conftest.py, and asserts what a person sees on the screen.
"""
from __future__ import annotations

import re
import time
import unicodedata
from pathlib import Path
from urllib.parse import urlencode

import pytest
from pdfs import make_pdf, sample_paragraphs
from playwright.sync_api import Page, expect

from search.folding import fold

pytestmark = pytest.mark.browser

READY_TIMEOUT = 120_000  # ms: extraction and indexing by the worker
BINH_DUONG_TITLE = "Kết quả cải cách hành chính năm 2020 – Bình Dương"
CA_MAU_TITLE = "Hiện đại hóa nền hành chính phục vụ nhân dân – Cà Mau"


def sign_in(page: Page, server, path: str = "/") -> None:
    page.goto(path)
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("Tên đăng nhập").fill(server.username)
    page.get_by_label("Mật khẩu").fill(server.password)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.locator("header .who")).to_have_text(server.full_name)


def recent_count(page: Page) -> int:
    heading = page.get_by_role("heading", name=re.compile(r"^Văn bản gần đây"))
    expect(heading).to_be_visible()
    return int(re.search(r"\((\d+)\)", heading.inner_text()).group(1))


def wait_ready_api(server, token: str, document_id: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT / 1000
    while True:
        status, body = server.api("GET", f"/api/v1/documents/{document_id}", token=token)
        assert status == 200, body
        if body["status"] == "ready":
            return
        assert body["status"] != "failed", body
        assert time.monotonic() < deadline, f"document {document_id} not ready: {body}\n{server.log_tail()}"
        time.sleep(0.5)


@pytest.fixture(scope="module")
def searchable(server, tmp_path_factory) -> dict[str, str]:
    """Two documents put in through the API and processed: {title: id}."""
    folder = tmp_path_factory.mktemp("searchable")
    token = server.token()
    made = {}
    for title, sample in ((BINH_DUONG_TITLE, "binh-duong-cchc-2020.txt"),
                          (CA_MAU_TITLE, "ca-mau-hien-dai-hoa-hanh-chinh.txt")):
        pdf = make_pdf(folder / (sample[:-4] + ".pdf"), title, sample_paragraphs(sample))
        query = urlencode({"filename": pdf.name, "title": title})
        status, body = server.api("POST", f"/api/v1/documents?{query}", pdf.read_bytes(), token=token,
                                  headers={"Content-Type": "application/pdf"})
        assert status == 202, body
        made[title] = body["id"]
    for document_id in made.values():
        wait_ready_api(server, token, document_id)
    return made


# --- 1. sign in, upload two PDFs, watch one become ready -------------------------


def test_clerk_signs_in_uploads_two_pdfs_and_reads_the_text(page: Page, server, tmp_path, artifacts):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=%2F|/login\?next=/"))
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.get_by_role("heading", name="Đăng nhập")).to_be_visible()
    expect(page.get_by_label("Tên đăng nhập")).to_be_visible()
    expect(page.get_by_label("Mật khẩu")).to_be_visible()
    expect(page.get_by_role("link", name="English")).to_be_visible()

    # A wrong password: a Vietnamese message, the form again.
    page.get_by_label("Tên đăng nhập").fill(server.username)
    page.get_by_label("Mật khẩu").fill("khong-dung-mat-khau")
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("alert")).to_have_text("Sai tên đăng nhập hoặc mật khẩu.")

    page.get_by_label("Tên đăng nhập").fill(server.username)
    page.get_by_label("Mật khẩu").fill(server.password)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page).to_have_url(server.url + "/")
    expect(page.locator("header .who")).to_have_text(server.full_name)
    expect(page.get_by_role("heading", name="Tải lên văn bản, ảnh quét")).to_be_visible()
    before = recent_count(page)

    # Vietnamese file names: the title comes from the name when several files go at once.
    first = make_pdf(tmp_path / "Báo_cáo_CCHC_Quảng_Trạch_7_tháng_2021.pdf",
                     "Báo cáo kết quả cải cách hành chính 7 tháng năm 2021",
                     sample_paragraphs("quang-trach-cchc-7-thang-2021.txt"))
    second = make_pdf(tmp_path / "Kế_hoạch_hiện_đại_hóa_hành_chính_Cà_Mau.pdf",
                      "Kế hoạch hiện đại hóa nền hành chính",
                      sample_paragraphs("ca-mau-hien-dai-hoa-hanh-chinh.txt"), pages=2)
    page.locator("#upload-files").set_input_files([first, second])
    page.get_by_role("button", name="Tải lên", exact=True).click()

    items = page.locator("#upload-list li.upload")
    expect(items).to_have_count(2)
    for index, path in enumerate((first, second)):
        item = items.nth(index)
        expect(item.locator(".name")).to_have_text(path.name)
        expect(item.locator("progress")).to_be_visible()
        expect(item).to_have_class(re.compile(r"\bok\b"), timeout=60_000)
        expect(item.locator("progress")).to_have_js_property("value", 100)
        expect(item.locator(".state a")).to_have_text("Đã nhận")

    # Follow the first link; the page polls, then reloads once the worker is done.
    items.nth(0).locator(".state a").click()
    expect(page).to_have_url(re.compile(r"/documents/[^/]+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Báo cáo CCHC Quảng Trạch 7 tháng 2021")
    expect(page.locator("#document[data-status=ready]")).to_be_visible(timeout=READY_TIMEOUT)
    expect(page.locator("#document .status")).to_have_text("Sẵn sàng, đã lập chỉ mục")
    expect(page.locator("#progress")).to_be_hidden()
    expect(page.get_by_role("heading", name=re.compile("Nội dung trích xuất"))).to_be_visible()
    text = page.locator("#document-text")
    expect(text).to_contain_text("Báo cáo kết quả cải cách hành chính 7 tháng năm 2021")
    expect(text).to_contain_text("Huyện Quảng Trạch")
    expect(text).to_contain_text("cải cách hành chính")
    shown = text.inner_text()
    assert unicodedata.is_normalized("NFC", shown), "the extracted text is shown in decomposed Unicode"
    expect(page.locator("dl.meta")).to_contain_text("Bản gốc — Báo_cáo_CCHC_Quảng_Trạch_7_tháng_2021.pdf")
    page.screenshot(path=str(artifacts / f"document-ready-{server.profile}.png"), full_page=True)

    # The second document becomes ready too; both are on the start page.
    page.get_by_role("link", name="Văn bản", exact=True).click()
    expect(page.get_by_role("link", name="Kế hoạch hiện đại hóa hành chính Cà Mau")).to_be_visible()
    page.get_by_role("link", name="Kế hoạch hiện đại hóa hành chính Cà Mau").click()
    expect(page.locator("#document[data-status=ready]")).to_be_visible(timeout=READY_TIMEOUT)
    expect(page.locator("dl.meta")).to_contain_text("2")  # pages
    expect(page.locator("#document-text")).to_contain_text("Kế hoạch hiện đại hóa nền hành chính (trang 2)")
    page.get_by_role("link", name="Văn bản", exact=True).click()
    assert recent_count(page) == before + 2
    page.screenshot(path=str(artifacts / f"home-{server.profile}.png"), full_page=True)


# --- 2. search without diacritics, phrases, a broken query -------------------------


def search(page: Page, query: str) -> None:
    box = page.get_by_role("textbox", name="Tìm kiếm văn bản")
    box.fill(query)
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/search\?q="))


def hit_for(page: Page, title: str):
    return page.locator("ol.hits li.hit").filter(has=page.get_by_role("link", name=title, exact=True))


def test_search_without_diacritics_highlights_the_accented_words(page: Page, server, searchable):
    sign_in(page, server)
    page.get_by_role("link", name="Tìm kiếm", exact=True).click()
    expect(page.get_by_role("heading", name="Tìm kiếm văn bản")).to_be_visible()

    search(page, "cai cach hanh chinh")
    expect(page.locator("#result-total")).not_to_have_text("0")
    for title in searchable:
        expect(hit_for(page, title)).to_have_count(1)
    snippet = hit_for(page, BINH_DUONG_TITLE).locator(".snippet")
    marks = snippet.locator("mark")
    expect(marks.first).to_be_visible()
    mark_texts = [m.strip() for m in marks.all_inner_texts()]
    wanted = {"cai", "cach", "hanh", "chinh"}
    assert all(set(fold(m).lower().split()) <= wanted for m in mark_texts), mark_texts
    # The highlights carry the document's own spelling, with its diacritics.
    assert any(re.search(r"cải|cách", m, re.IGNORECASE) for m in mark_texts), mark_texts
    assert any(re.search(r"hành|chính", m, re.IGNORECASE) for m in mark_texts), mark_texts
    expect(snippet).to_contain_text(re.compile("cải cách", re.IGNORECASE))
    # The snippet is text, not markup: nothing but <mark> inside it.
    assert snippet.evaluate("el => [...el.querySelectorAll('*')].every(e => e.tagName === 'MARK')")

    # A phrase in quotes: only the document with those words in that order.
    search(page, '"cai cach the che"')
    expect(hit_for(page, BINH_DUONG_TITLE)).to_have_count(1)
    expect(hit_for(page, CA_MAU_TITLE)).to_have_count(0)
    marks = hit_for(page, BINH_DUONG_TITLE).locator(".snippet mark")
    expect(marks.first).to_be_visible()
    assert all(set(fold(m).lower().split()) <= {"cai", "cach", "the", "che"} for m in marks.all_inner_texts())
    expect(hit_for(page, BINH_DUONG_TITLE).locator(".snippet")).to_contain_text("cải cách thể chế")
    expect(page.get_by_role("textbox", name="Tìm kiếm văn bản")).to_have_value('"cai cach the che"')

    # The same words in another order are found without quotes, not as a phrase.
    search(page, "hanh chinh cai cach")
    expect(hit_for(page, CA_MAU_TITLE)).to_have_count(1)
    search(page, '"hanh chinh cai cach"')
    expect(page.locator("#result-total")).to_have_text("0")
    expect(page.get_by_text("Không tìm thấy văn bản phù hợp.")).to_be_visible()

    # An unbalanced quote: a clear message on the search page, not an error page.
    response = page.goto("/search?" + urlencode({"q": '"cai cach hanh chinh'}))
    assert response.status == 200
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Câu truy vấn không hợp lệ")
    expect(alert).to_contain_text("ngoặc kép")
    expect(page.get_by_role("heading", name="Tìm kiếm văn bản")).to_be_visible()
    expect(page.get_by_role("textbox", name="Tìm kiếm văn bản")).to_have_value('"cai cach hanh chinh')
    expect(page.locator("ol.hits li")).to_have_count(0)


# --- 3. files that are not PDFs ----------------------------------------------------


VIETNAMESE_ERRORS = {
    "unsupported_format": "Định dạng không được hỗ trợ: chỉ nhận PDF, JPEG, PNG, TIFF.", "empty_file": "Tệp rỗng.",
}


def test_bad_files_show_the_error_per_file_and_add_nothing(page: Page, server, tmp_path, artifacts):
    token = server.token()
    not_pdf = tmp_path / "Công_văn_số_12.pdf"
    not_pdf.write_text("Đây là một tệp văn bản thường, không phải PDF.\n", encoding="utf-8")
    empty = tmp_path / "rỗng.pdf"
    empty.write_bytes(b"")
    # What the API itself answers for each; the page shows that error in Vietnamese.
    expected = {}
    for path in (not_pdf, empty):
        status, body = server.api("POST", "/api/v1/documents?" + urlencode({"filename": path.name}),
                                  path.read_bytes(), token=token, headers={"Content-Type": "application/pdf"})
        assert status in (400, 415), body
        expected[path.name] = body
    assert expected[not_pdf.name]["code"] == "unsupported_format"
    assert expected[empty.name]["code"] == "empty_file"
    _, listing = server.api("GET", "/api/v1/documents", token=token)

    sign_in(page, server)
    before = recent_count(page)
    page.locator("#upload-files").set_input_files([not_pdf, empty])
    page.get_by_role("button", name="Tải lên", exact=True).click()
    items = page.locator("#upload-list li.upload")
    expect(items).to_have_count(2)
    for index, path in enumerate((not_pdf, empty)):
        item = items.nth(index)
        expect(item.locator(".name")).to_have_text(path.name)
        expect(item).to_have_class(re.compile(r"\bfailed\b"))
        state = item.locator(".state")
        expect(state).to_have_text(f"Lỗi: {VIETNAMESE_ERRORS[expected[path.name]['code']]}")
        expect(state).to_have_attribute("data-code", expected[path.name]["code"])
        expect(state.locator("a")).to_have_count(0)
    expect(page.locator("#upload-list li.upload.ok")).to_have_count(0)
    page.screenshot(path=str(artifacts / f"upload-errors-{server.profile}.png"), full_page=True)

    page.reload()
    assert recent_count(page) == before
    _, after = server.api("GET", "/api/v1/documents", token=token)
    assert after["total"] == listing["total"]


# --- 4. English ------------------------------------------------------------------


def test_lang_en_shows_english_labels_and_back(page: Page, server):
    page.goto("/login?lang=en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Username").fill(server.username)
    page.get_by_label("Password").fill(server.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("header .who")).to_have_text(server.full_name)

    page.goto("/")  # the choice stays for the session, without ?lang
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Upload documents and scans")).to_be_visible()
    expect(page.get_by_text("Choose one or more PDFs or scans (JPEG, PNG, TIFF).")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile(r"^Recent documents \(\d+\)"))).to_be_visible()
    expect(page.get_by_role("button", name="Upload", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Search", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("Tải lên văn bản")

    page.get_by_role("link", name="Search", exact=True).click()
    expect(page.get_by_role("heading", name="Search documents")).to_be_visible()
    box = page.get_by_role("textbox", name="Search documents")
    expect(box).to_have_attribute("placeholder", re.compile("with or without Vietnamese accents"))
    # A phrase: eight common words unquoted would find documents lacking
    # just one of them (they follow those with every word).
    box.fill('"khong co van ban nao nhu the nay"')
    box.press("Enter")
    expect(page.get_by_text("No matching documents.")).to_be_visible()

    page.get_by_role("link", name="Tiếng Việt").click()
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.get_by_role("heading", name="Tìm kiếm văn bản")).to_be_visible()
    # Switching language keeps the search that was on the page.
    expect(page.get_by_role("textbox", name="Tìm kiếm văn bản")).to_have_value('"khong co van ban nao nhu the nay"')
    expect(page.get_by_text("Không tìm thấy văn bản phù hợp.")).to_be_visible()
    expect(page.get_by_role("link", name="English")).to_be_visible()


# --- 5. how the results look ------------------------------------------------------


@pytest.mark.parametrize("width,height", [(1280, 900), (390, 844)], ids=["desktop", "phone"])
def test_search_results_screenshot(page: Page, server, searchable, artifacts: Path, width, height):
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, server, "/search?" + urlencode({"q": "cai cach hanh chinh"}))
    expect(page.locator("#result-total")).not_to_have_text("0")
    expect(page.locator("ol.hits mark").first).to_be_visible()
    shot = artifacts / f"search-results-{server.profile}-{width}x{height}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    # Nothing wider than the window: no sideways scrolling.
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than a {width}px window"
    # The query box and the search button are on screen and not overlapping.
    box = page.get_by_role("textbox", name="Tìm kiếm văn bản").bounding_box()
    button = page.get_by_role("button", name="Tìm", exact=True).bounding_box()
    assert box and button
    assert box["x"] >= 0 and button["x"] + button["width"] <= width
    overlap = not (box["x"] + box["width"] <= button["x"] or button["x"] + button["width"] <= box["x"]
                   or box["y"] + box["height"] <= button["y"] or button["y"] + button["height"] <= box["y"])
    assert not overlap, (box, button)
