"""Outgoing documents in a real browser against the real `docsvc serve`: a
drafter uploads a draft and submits it; the leader places the signature on the
preview and signs with their key (after a wrong passphrase); the văn thư
numbers, dates, seals and issues it; the district's văn thư finds it among its
documents. A leader sends a draft back with a comment, and signs three drafts
in one batch with one passphrase while the page shows the progress."""
from __future__ import annotations

import io
import json
import re
from urllib.parse import urlencode

import pikepdf
import pytest
from pdfs import make_pdf, sample_paragraphs
from playwright.sync_api import Page, expect
from test_clerk_pages import READY_TIMEOUT, sign_in

from docsvc.incoming.handling import today
from tests.signing.helpers import handwritten_signature_png, seal_png

pytestmark = pytest.mark.browser

PASSPHRASE = "docsvc-dev"  # the development PKI's keys
DRAFTER = ("hoa.le", "Lê Thị Hoa", "Mat-khau-chuyen-vien-2024")
LEADER = ("minh.pham", "Phạm Văn Minh", "Mat-khau-pho-chu-tich-2024")
DISTRICT_CLERK = ("nam.vo", "Võ Văn Nam", "Mat-khau-van-thu-huyen-2024")
DISTRICT = ("UBND-HUYEN", "UBND huyện Quảng Trạch")
SAMPLE = "quang-trach-cchc-7-thang-2021.txt"
SIGNATURE_BOX = (170.0, 68.0)  # outgoing.DEFAULT_SIGNATURE's width and height


@pytest.fixture(scope="module")
def office(server, tmp_path_factory):
    """The commune's drafter and leader (with his key), the commune's seal, and
    a district with its own văn thư, made with the `docsvc` commands."""
    run = server.installation.run
    run("agency", "add", DISTRICT[0], DISTRICT[1], "--level", "district", check=True)
    for (username, full_name, password), role, agency in (
        (DRAFTER, "official", "UBND-XA"), (LEADER, "official", "UBND-XA"), (DISTRICT_CLERK, "clerk", DISTRICT[0]),
    ):
        run("user", "add", username, "--role", role, "--agency", agency, "--full-name", full_name,
            "--password-env", "PW", check=True, extra_env={"PW": password})
    folder = tmp_path_factory.mktemp("keys")
    (folder / "chu-ky.png").write_bytes(handwritten_signature_png())
    (folder / "con-dau.png").write_bytes(seal_png())
    pki = server.installation.settings().pki_dir
    run("key", "add", "--user", LEADER[0], "--pkcs12", f"{pki}/official.p12", "--image", str(folder / "chu-ky.png"),
        check=True)
    run("key", "add", "--agency", "UBND-XA", "--pkcs12", f"{pki}/agency.p12", "--image", str(folder / "con-dau.png"),
        check=True)


def sign_in_as(page: Page, person: tuple[str, str, str], path: str = "/") -> None:
    username, full_name, password = person
    page.goto(path)
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.locator("header .who")).to_have_text(full_name)


def new_page(browser, server) -> Page:
    context = browser.new_context(base_url=server.url, locale="vi-VN", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    return context.new_page()


def token_of(server, person) -> str:
    status, body = server.api("POST", "/api/v1/tokens", json.dumps({"username": person[0], "password": person[2]}).encode(),
                              headers={"Content-Type": "application/json"})
    assert status == 201, body
    return body["token"]


def submitted_draft(server, tmp_path, title: str, recipients: tuple[str, ...] = ()) -> str:
    """A draft uploaded and submitted to the leader through the API, as the drafter."""
    token = token_of(server, DRAFTER)
    pdf = make_pdf(tmp_path / "du-thao.pdf", title, sample_paragraphs(SAMPLE)[:2]).read_bytes()
    status, body = server.api("POST", "/api/v1/outgoing?" + urlencode({"filename": "du-thao.pdf", "title": title}),
                              pdf, token, headers={"Content-Type": "application/pdf"})
    assert status == 202, body
    status, submitted = server.api("POST", f"/api/v1/documents/{body['id']}/submit",
                                   json.dumps({"approver": LEADER[0], "recipients": list(recipients)}).encode(), token,
                                   headers={"Content-Type": "application/json"})
    assert status == 200, submitted
    return body["id"]


def click_on_preview(page: Page, x_px: float, y_px: float) -> tuple[int, float, float]:
    """Click the preview at (x_px, y_px) from its top-left corner; return the
    (page, x, y) in PDF points the page should send, by the documented formula."""
    image = page.locator("#preview-image")
    expect(image).to_have_js_property("complete", True)
    page.wait_for_function("document.getElementById('preview-image').naturalWidth > 0")
    pages = json.loads(page.locator("#sign-preview").get_attribute("data-pages"))
    shown = int(page.locator("#page-buttons button.current").get_attribute("data-page"))
    width_pt, height_pt = pages[shown]
    scale = image.evaluate("img => img.clientWidth") / width_pt
    image.click(position={"x": x_px, "y": y_px})
    return shown, x_px / scale, height_pt - y_px / scale - SIGNATURE_BOX[1]


def signature_rect(pdf: bytes, field: str = "nguoi_ky") -> tuple[int, list[float]]:
    """(page index, [x1, y1, x2, y2]) of the signature field's widget."""
    with pikepdf.open(io.BytesIO(pdf)) as document:
        for index, pdf_page in enumerate(document.pages):
            for annot in pdf_page.obj.get("/Annots", []):
                if str(annot.get("/T", "")) == field:
                    return index, [float(v) for v in annot["/Rect"]]
    raise AssertionError(f"no {field} field")


def test_draft_sign_issue_deliver(page: Page, browser, server, office, tmp_path, artifacts):
    title = "Quyết định phê duyệt kế hoạch cải cách hành chính năm 2026"
    draft = make_pdf(tmp_path / "du-thao-quyet-dinh.pdf", title, sample_paragraphs(SAMPLE), pages=2)

    # The drafter uploads the draft on /outgoing and submits it to the leader, for the district.
    sign_in_as(page, DRAFTER)
    page.get_by_role("link", name="Văn bản đi").click()
    page.locator("#upload-title").fill(title)
    page.locator("#upload-files").set_input_files([draft])
    page.get_by_role("button", name="Tải lên dự thảo").click()
    item = page.locator("#upload-list li.upload").first
    expect(item).to_have_class(re.compile(r"\bok\b"), timeout=60_000)
    item.locator(".state a").click()
    expect(page.locator("#document[data-status=ready]")).to_be_visible(timeout=READY_TIMEOUT)
    expect(page.locator("#workflow-status")).to_have_text("Dự thảo")
    document_url = page.url
    page.locator("#approver-select").select_option(LEADER[0])
    page.get_by_label(re.compile(DISTRICT[1])).check()
    page.screenshot(path=str(artifacts / f"outgoing-submit-{server.profile}.png"), full_page=True)
    page.get_by_role("button", name="Trình ký").click()
    expect(page.locator("#workflow-status")).to_have_text("Đã trình, chờ lãnh đạo ký")
    expect(page.locator("#approver")).to_have_text(LEADER[1])
    expect(page.locator("#recipient-list")).to_contain_text(DISTRICT[1])
    page.get_by_role("link", name="Văn bản đi").click()
    expect(page.locator("#my-drafts tbody tr", has_text=title)).to_contain_text("Đã trình, chờ lãnh đạo ký")

    # The leader finds it waiting, places the signature on the last page's preview and signs.
    leader = new_page(browser, server)
    try:
        sign_in_as(leader, LEADER, "/outgoing")
        leader.locator("#to-sign tbody tr", has_text=title).get_by_role("link").click()
        expect(leader).to_have_url(document_url)
        expect(leader.locator("#page-buttons button")).to_have_count(2)
        expect(leader.locator("#page-buttons button.current")).to_have_text("Trang 2")  # the last page first
        expect(leader.locator("#signature-box")).to_be_visible()  # the default place
        expect(leader.locator("#pos-x")).to_have_value("")

        # A wrong passphrase: the Vietnamese error, nothing signed.
        click_on_preview(leader, 120, 700)
        leader.get_by_label("Mật khẩu khóa ký số (mã PIN)").fill("sai-mat-khau")
        leader.get_by_role("button", name="Ký số", exact=True).click()
        error = leader.locator("#action-error")
        expect(error).to_have_attribute("data-code", "wrong_passphrase")
        expect(error).to_contain_text("Mật khẩu (mã PIN) không mở được khóa ký số")
        expect(leader.locator("#workflow-status")).to_have_text("Đã trình, chờ lãnh đạo ký")

        # Look at page 1, then go back to page 2 and click where the signature goes.
        leader.locator("#page-buttons button", has_text="Trang 1").click()
        expect(leader.locator("#signature-box")).to_be_hidden()
        leader.locator("#page-buttons button", has_text="Trang 2").click()
        shown, x_pt, y_pt = click_on_preview(leader, 450, 820)
        assert shown == 1
        expect(leader.locator("#signature-box")).to_have_class(re.compile(r"\bchosen\b"))
        expect(leader.locator("#placement")).to_have_text("Chữ ký ở vị trí bạn đã chọn.")
        assert leader.locator("#pos-page").input_value() == "1"
        # Within a pixel or so: the browser clicks whole pixels of a box that may sit at half a pixel.
        sent_x, sent_y = float(leader.locator("#pos-x").input_value()), float(leader.locator("#pos-y").input_value())
        assert abs(sent_x - x_pt) < 1.5 and abs(sent_y - y_pt) < 1.5, (sent_x, sent_y, x_pt, y_pt)
        leader.get_by_label("Mật khẩu khóa ký số (mã PIN)").fill(PASSPHRASE)
        leader.screenshot(path=str(artifacts / f"outgoing-place-signature-{server.profile}.png"), full_page=True)
        leader.get_by_role("button", name="Ký số", exact=True).click()
        expect(leader.locator("#workflow-status")).to_have_text("Lãnh đạo đã ký, chờ phát hành", timeout=60_000)

        # The signature is where the leader clicked.
        signed = leader.request.get(f"{document_url.replace('/documents/', '/api/v1/documents/')}/files/signed")
        assert signed.ok
        index, rect = signature_rect(signed.body())
        assert index == 1
        assert abs(rect[0] - sent_x) < 0.5 and abs(rect[1] - sent_y) < 0.5, (rect, sent_x, sent_y)
        assert abs(rect[2] - rect[0] - SIGNATURE_BOX[0]) < 1 and abs(rect[3] - rect[1] - SIGNATURE_BOX[1]) < 1
    finally:
        leader.context.close()

    # The văn thư issues it as a decision (QĐ): number, date, seal.
    clerk = new_page(browser, server)
    try:
        sign_in(clerk, server, "/outgoing")
        clerk.locator("#to-issue tbody tr", has_text=title).get_by_role("link").click()
        form = clerk.locator("#issue-form")
        expect(form.locator("#type-code")).to_have_value("QĐ")
        expect(form.locator("#issue-date")).to_have_value(today().isoformat())
        clerk.get_by_label("Mật khẩu khóa ký số của cơ quan").fill(PASSPHRASE)
        clerk.get_by_role("button", name="Cấp số, đóng dấu và phát hành").click()
        expect(clerk.locator("#workflow-status")).to_have_text("Đã phát hành", timeout=60_000)
        expect(clerk.locator("#issued-number")).to_have_text("01/QĐ-UBND")
        expect(clerk.locator("#issued-date")).to_have_text(today().strftime("%d/%m/%Y"))
        expect(clerk.locator("#issued-recipients")).to_have_text(DISTRICT[1])
        expect(clerk.locator("#verify-link")).to_have_attribute("href", "/verify")
        clerk.screenshot(path=str(artifacts / f"outgoing-issued-{server.profile}.png"), full_page=True)
        issued = clerk.request.get(clerk.locator("#download-issued").get_attribute("href"))
        assert issued.ok and issued.body().startswith(b"%PDF")
        status, report = server.api("POST", "/api/v1/verify?filename=ban-hanh.pdf", issued.body(),
                                    headers={"Content-Type": "application/pdf"})
        assert status == 200 and report["verdict"] == "valid", report
        assert len(report["signatures"]) == 2
    finally:
        clerk.context.close()

    # The district's văn thư finds it among its documents, ready to register.
    district = new_page(browser, server)
    try:
        sign_in_as(district, DISTRICT_CLERK)
        row = district.locator("table.docs tbody tr", has_text=title)
        expect(row).to_have_count(1)
        expect(row).to_contain_text("Văn bản đến")
        row.get_by_role("link").click()
        expect(district.locator("dl.meta").first).to_contain_text("01/QĐ-UBND")
        expect(district.locator("#register-form")).to_be_visible()
    finally:
        district.context.close()


def test_a_draft_sent_back_shows_the_comment(page: Page, browser, server, office, tmp_path):
    title = "Kế hoạch kiểm tra công tác văn thư lưu trữ năm 2026"
    document_id = submitted_draft(server, tmp_path, title)
    comment = "Đề nghị bổ sung căn cứ Nghị định 30/2020/NĐ-CP"

    sign_in_as(page, LEADER, f"/documents/{document_id}")
    expect(page.locator("#document[data-status=ready]")).to_be_visible(timeout=READY_TIMEOUT)
    page.get_by_role("button", name="Trả lại").click()  # the comment is required: nothing is sent
    expect(page.locator("#workflow-status")).to_have_text("Đã trình, chờ lãnh đạo ký")
    page.get_by_label("Ý kiến khi trả lại (bắt buộc)").fill(comment)
    page.get_by_role("button", name="Trả lại").click()
    expect(page.locator("#workflow-status")).to_have_text("Lãnh đạo trả lại")
    expect(page.locator("#submit-form")).to_have_count(0)  # the leader did not draft it

    drafter = new_page(browser, server)
    try:
        sign_in_as(drafter, DRAFTER, "/outgoing")
        row = drafter.locator("#my-drafts tbody tr", has_text=title)
        expect(row).to_contain_text("Lãnh đạo trả lại")
        expect(row.locator(".return-comment")).to_contain_text(comment)
        row.get_by_role("link").click()
        expect(drafter.locator("#return-comment")).to_contain_text(comment)
        expect(drafter.locator("#approver-select")).to_have_value(LEADER[0])
        expect(drafter.get_by_role("button", name="Trình ký")).to_be_visible()
        # The same page in English.
        drafter.goto(f"/documents/{document_id}?lang=en")
        expect(drafter.locator("#workflow-status")).to_have_text("Sent back by the leader")
        expect(drafter.locator("#return-comment")).to_contain_text("The leader's comment:")
        expect(drafter.get_by_role("button", name="Submit")).to_be_visible()
    finally:
        drafter.context.close()


def test_batch_signing_with_one_passphrase(page: Page, server, office, tmp_path, artifacts):
    titles = [f"Thông báo lịch tiếp công dân tháng {month}/2026" for month in (7, 8, 9)]
    ids = [submitted_draft(server, tmp_path, title) for title in titles]

    sign_in_as(page, LEADER)
    page.get_by_role("link", name="Ký số", exact=True).click()
    rows = page.locator("#batch-table tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator('#batch-table input[name="document_ids"]:checked')).to_have_count(3)

    page.get_by_label("Mật khẩu khóa ký số (mã PIN)").fill("sai-mat-khau")
    page.get_by_role("button", name="Ký các văn bản đã chọn").click()
    expect(page.locator("#batch-error")).to_contain_text("Mật khẩu (mã PIN) không mở được khóa ký số")
    expect(page.locator("#batch-progress")).to_be_hidden()

    page.get_by_label("Mật khẩu khóa ký số (mã PIN)").fill(PASSPHRASE)
    page.get_by_role("button", name="Ký các văn bản đã chọn").click()
    expect(page.locator("#batch-progress")).to_be_visible()
    expect(page.locator("#batch-count")).to_have_text("Đã ký 3/3", timeout=90_000)
    expect(page.locator("#batch-finished")).to_be_visible()
    expect(page.locator("#batch-progress")).to_have_attribute("data-status", "finished")
    for document_id in ids:
        row = page.locator(f'#batch-table tr[data-id="{document_id}"]')
        expect(row).to_have_attribute("data-result", "ok")
        expect(row.locator(".result")).to_contain_text("Đã ký")
        expect(row.locator(".result a")).to_have_attribute("href", f"/documents/{document_id}")
    expect(page.locator("#batch-error")).to_be_hidden()
    page.screenshot(path=str(artifacts / f"batch-signing-{server.profile}.png"), full_page=True)

    page.goto("/outgoing")
    expect(page.locator("#to-sign tbody tr")).to_have_count(0)
    expect(page.locator("#to-sign")).to_contain_text("Không có văn bản nào chờ bạn ký.")
