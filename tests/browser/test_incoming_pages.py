"""A clerk receives a paper letter: scans it, watches OCR run, confirms the
suggested register fields, registers it and assigns it to a leader with a
deadline; the leader finds it in their queue and finishes it. Real Chromium,
real `docsvc serve` with its worker, real Tesseract."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from letters import scanned_letter
from playwright.sync_api import Page, expect
from test_clerk_pages import READY_TIMEOUT, sign_in

from docsvc.incoming.handling import today

pytestmark = pytest.mark.browser

LEADER = ("tuan.tran", "Trần Văn Tuấn", "Mat-khau-lanh-dao-2024")


@pytest.fixture(scope="module")
def leader(server):
    username, full_name, password = LEADER
    server.installation.run(
        "user", "add", username, "--role", "official", "--agency", "UBND-XA", "--full-name", full_name,
        "--password-env", "PW", check=True, extra_env={"PW": password},
    )
    return LEADER


def test_scan_to_register_to_assign_to_done(page: Page, context, browser, server, leader, tmp_path, artifacts):
    scan = scanned_letter(tmp_path / "Công_văn_đến_UBND_huyện.jpg", kind="jpeg")
    sign_in(page, server)
    page.locator("#upload-files").set_input_files([scan.path])
    page.get_by_role("button", name="Tải lên", exact=True).click()
    item = page.locator("#upload-list li.upload").first
    expect(item).to_have_class(re.compile(r"\bok\b"), timeout=60_000)
    item.locator(".state a").click()

    # OCR runs in the worker; the page shows it, then reloads with the text.
    expect(page).to_have_url(re.compile(r"/documents/[^/]+$"))
    card = page.locator("#document")
    if card.get_attribute("data-status") != "ready":
        expect(page.locator("#progress .step")).to_have_text(
            re.compile("Đang nhận dạng chữ|Đang trích xuất|Đang lập chỉ mục|Đang chuyển"), timeout=30_000
        )
    expect(page.locator("#document[data-status=ready]")).to_be_visible(timeout=READY_TIMEOUT)
    expect(page.locator("#document-text")).to_contain_text("cải cách hành chính")
    expect(page.locator("dl.meta")).to_contain_text("Bản gốc — Công_văn_đến_UBND_huyện.jpg")

    # The register form comes filled from the OCR text; the clerk corrects the summary.
    form = page.locator("#register-form")
    expect(form.locator("#f-number_symbol")).to_have_value("15/QĐ-UBND")
    expect(form.locator("#f-issued_date")).to_have_value("2023-07-19")
    expect(form.locator("#f-doc_type")).to_have_value("Quyết định")
    expect(form.locator("#f-received_date")).to_have_value(today().isoformat())
    form.locator("#f-title").fill("Về việc phê duyệt Kế hoạch cải cách hành chính năm 2023")
    form.locator("#f-issuing_body").fill("UBND huyện Quảng Trạch")
    page.screenshot(path=str(artifacts / f"register-form-{server.profile}.png"), full_page=True)
    page.get_by_role("button", name="Xác nhận và vào sổ").click()

    entry = page.locator("#register-entry")
    expect(entry).to_be_visible()
    number = page.locator("#incoming-number").inner_text()
    assert re.fullmatch(rf"\d+/{today().year}", number), number
    expect(page.locator("#handling-status")).to_have_text("Đã vào sổ, chờ giao")

    # Assign to the leader with a deadline; a deadline before the date received is refused.
    page.locator("#assignee").select_option(leader[0])
    page.locator("#deadline-input").fill((today() - timedelta(days=30)).isoformat())
    page.get_by_role("button", name="Giao", exact=True).click()
    expect(page.locator("#action-error")).to_be_visible()
    deadline = today() + timedelta(days=7)
    page.locator("#assignee").select_option(leader[0])
    page.locator("#deadline-input").fill(deadline.isoformat())
    page.get_by_role("button", name="Giao", exact=True).click()
    expect(page.locator("#handling-status")).to_have_text("Đã giao xử lý")
    expect(page.locator("#handler")).to_have_text(leader[1])
    expect(page.locator("#deadline")).to_have_text(deadline.strftime("%d/%m/%Y"))
    document_url = page.url

    # The incoming book lists it under its number.
    page.get_by_role("link", name="Sổ văn bản đến").click()
    row = page.locator("#register-table tbody tr", has_text="Về việc phê duyệt Kế hoạch cải cách hành chính năm 2023")
    expect(row).to_have_count(1)
    expect(row.locator("td.num")).to_have_text(number.split("/")[0])
    page.screenshot(path=str(artifacts / f"incoming-register-{server.profile}.png"), full_page=True)

    # The leader, in another browser profile, finds it in their queue and finishes it.
    other = browser.new_context(base_url=server.url, locale="vi-VN", viewport={"width": 1280, "height": 900})
    try:
        leader_page = other.new_page()
        leader_page.goto("/login")
        leader_page.get_by_label("Tên đăng nhập").fill(leader[0])
        leader_page.get_by_label("Mật khẩu").fill(leader[2])
        leader_page.get_by_role("button", name="Đăng nhập").click()
        leader_page.get_by_role("link", name="Việc của tôi").click()
        queued = leader_page.locator("#queue tbody tr")
        expect(queued).to_have_count(1)
        expect(queued).to_contain_text(number)
        queued.get_by_role("link").click()
        expect(leader_page).to_have_url(document_url)
        leader_page.get_by_role("button", name="Bắt đầu xử lý").click()
        expect(leader_page.locator("#handling-status")).to_have_text("Đang xử lý")
        leader_page.get_by_label("Ý kiến").first.fill("Đã chỉ đạo phòng Nội vụ thực hiện")
        leader_page.get_by_role("button", name="Hoàn thành").click()
        expect(leader_page.locator("#handling-status")).to_have_text("Đã xử lý xong")
        leader_page.get_by_role("link", name="Việc của tôi").click()
        expect(leader_page.locator("#queue-empty")).to_be_visible()
    finally:
        other.close()


def test_the_same_scan_twice_is_flagged_and_can_be_discarded(page: Page, server, tmp_path):
    scan = scanned_letter(tmp_path / "to-trinh.png", kind="png", seed=11)
    sign_in(page, server)
    for attempt in range(2):
        page.goto("/")
        page.locator("#upload-files").set_input_files([scan.path])
        page.get_by_role("button", name="Tải lên", exact=True).click()
        item = page.locator("#upload-list li.upload").first
        expect(item).to_have_class(re.compile(r"\bok\b"), timeout=60_000)
        item.locator(".state a").click()
        expect(page.locator("#document[data-status=ready]")).to_be_visible(timeout=READY_TIMEOUT)
        if attempt == 0:
            page.get_by_role("button", name="Xác nhận và vào sổ").click()
            expect(page.locator("#register-entry")).to_be_visible()
            first_number = page.locator("#incoming-number").inner_text()

    # The second upload of the same bytes: the clerk is told which entry it repeats.
    warning = page.locator("#duplicate-warning")
    expect(warning).to_contain_text("Tệp này giống hệt một văn bản đã vào sổ")
    expect(warning).to_contain_text(first_number)
    page.get_by_role("button", name="Xác nhận và vào sổ").click()
    expect(page.locator("#action-error")).to_have_attribute("data-code", "duplicate_document")
    page.get_by_role("button", name="Hủy tệp này").click()
    expect(page).to_have_url(server.url + "/")
