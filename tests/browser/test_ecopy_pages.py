"""Citizens' e-copies in a real browser against the real `docsvc serve`: the
clerk scans a birth certificate and issues the e-copy for a citizen; the
citizen finds it on /cong-dan, downloads it and shares it; a stranger opens
the link and downloads it; the citizen sees the access and withdraws the link,
after which the stranger is refused in Vietnamese. A stranger verifies by the
code (typed in lower case with spaces) and by uploading the file (the genuine
one, then one with a byte changed); once the clerk revokes it, /v/<code> says
so with the reason. The certification entry's fields typed at issue show on
the citizen's page and in the certification book; public verification shows
only those that do not identify the citizen (never the requester nor the
original's title)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from test_clerk_pages import READY_TIMEOUT, sign_in
from test_outgoing_pages import sign_in_as

from tests.letters import Letter, scanned_letter
from tests.signing.helpers import seal_png

pytestmark = pytest.mark.browser

PASSPHRASE = "docsvc-dev"  # the development PKI's agency key
CITIZEN = ("tran.thi.mai", "Trần Thị Mai", "Mat-khau-cong-dan-2026")
CITIZEN_ID = "001203004567"
TITLE = "Bản sao giấy khai sinh Trần Thị Mai"
ORIGINAL_TITLE = "Giấy khai sinh của Trần Thị Mai"
DOSSIER = "000.00.12.H56-261123-0042"
ISSUE_TIMEOUT = 90_000  # ms: stamping and signing at B-LTA with the development TSA


@pytest.fixture(scope="module")
def commune(server, tmp_path_factory):
    """The commune's seal on its agency key, and a citizen with an account."""
    folder = tmp_path_factory.mktemp("ecopy-keys")
    (folder / "con-dau.png").write_bytes(seal_png())
    run = server.installation.run
    pki = server.installation.settings().pki_dir
    run("key", "add", "--agency", "UBND-XA", "--pkcs12", f"{pki}/agency.p12", "--image", str(folder / "con-dau.png"),
        check=True)
    run("user", "add", CITIZEN[0], "--role", "citizen", "--citizen-id", CITIZEN_ID, "--full-name", CITIZEN[1],
        "--password-env", "PW", check=True, extra_env={"PW": CITIZEN[2]})


@pytest.fixture(scope="module")
def birth_certificate(tmp_path_factory) -> Path:
    letter = Letter(parent_body="ỦY BAN NHÂN DÂN", issuing_body="XÃ QUẢNG PHÚ", number_symbol="45/2024/TLKS-BS",
                    type_name="GIẤY KHAI SINH", summary="Bản sao trích lục khai sinh")
    return scanned_letter(tmp_path_factory.mktemp("scan") / "khai-sinh.jpg", letter, kind="jpeg").path


def fresh_context(browser: Browser, server) -> BrowserContext:
    context = browser.new_context(base_url=server.url, locale="vi-VN", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    return context


def download(page: Page, link) -> bytes:
    with page.expect_download() as info:
        link.click()
    return Path(info.value.path()).read_bytes()


def _nothing_private(html: str) -> None:
    for private in (CITIZEN_ID, CITIZEN[1], ORIGINAL_TITLE, DOSSIER, "20.000"):
        assert private not in html, private


def upload_file(page: Page, path: Path) -> None:
    page.goto("/verify")
    page.locator("input[type=file]").set_input_files(path)
    page.get_by_role("button", name="Kiểm tra", exact=True).click()
    expect(page.locator("#report")).to_be_visible()


def test_issue_share_verify_revoke(page: Page, browser, server, commune, birth_certificate, tmp_path, artifacts):
    shot = lambda pg, name: pg.screenshot(path=str(artifacts / f"ecopy-{name}-{server.profile}.png"), full_page=True)  # noqa: E731

    # The clerk uploads the scan of the paper original and, once it is processed, issues the e-copy.
    sign_in(page, server)
    page.locator("#upload-title").fill(TITLE)
    page.locator("#upload-files").set_input_files([birth_certificate])
    page.get_by_role("button", name="Tải lên", exact=True).click()
    item = page.locator("#upload-list li.upload").first
    expect(item).to_have_class(re.compile(r"\bok\b"), timeout=60_000)
    item.locator(".state a").click()
    expect(page.locator("#document[data-status=ready]")).to_be_visible(timeout=READY_TIMEOUT)
    document_url = page.url
    form = page.locator("#ecopy-issue-form")
    form.get_by_label("Số định danh cá nhân").fill(CITIZEN_ID)
    form.get_by_label("Loại").select_option("certified_copy")
    form.get_by_label("Mật khẩu khóa ký số của cơ quan").fill(PASSPHRASE)
    form.get_by_label("Tên bản chính giấy tờ, văn bản").fill(ORIGINAL_TITLE)
    form.get_by_label("Cơ quan cấp bản chính").fill("UBND xã Quảng Phú")
    form.get_by_label("Số, ký hiệu bản chính").fill("45/2024/TLKS-BS")
    form.get_by_label("Ngày cấp bản chính").fill("2024-03-15")
    form.get_by_label("Số bản sao").fill("2")
    form.get_by_label("Người ký chứng thực").fill("Nguyễn Văn An")
    form.get_by_label("Chức danh người ký").fill("Phó Chủ tịch UBND xã Quảng Phú")
    form.get_by_label("Mã hồ sơ TTHC").fill(DOSSIER)
    form.get_by_label("Lệ phí (đồng)").fill("20.000")
    shot(page, "issue-form")
    form.get_by_role("button", name="Cấp bản sao điện tử").click()
    expect(page.locator("#ecopy-code")).to_be_visible(timeout=ISSUE_TIMEOUT)
    code = page.locator("#ecopy-code").inner_text().strip()
    assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}-[0-9A-Z]", code), code
    expect(page.locator("#ecopy-number")).to_have_text(re.compile(r"^1 quyển số 01/\d{4}-SCT/BS$"))
    expect(page.locator("#ecopy-verify-url")).to_have_text(re.compile(re.escape(f"/v/{code}") + "$"))
    expect(page.locator("#ecopy .ecopy-status")).to_have_text("Còn hiệu lực")
    expect(page.locator("#ecopy .ecopy-requester-name")).to_have_text(CITIZEN[1])  # the account's name
    expect(page.locator("#ecopy .ecopy-fee")).to_have_text("20.000")
    shot(page, "issued")
    # The certification book lists the entry with the form's columns.
    page.locator("#nav-certification-book").click()
    entry = page.locator("#book-table tr.book-entry").first
    expect(entry).to_have_attribute("data-code", code)
    expect(entry.locator(".requester")).to_have_text(CITIZEN[1])
    expect(entry.locator(".book")).to_have_text(re.compile(r"^01/\d{4}-SCT/BS$"))
    expect(entry.locator(".certifier")).to_have_text("Nguyễn Văn An, Phó Chủ tịch UBND xã Quảng Phú")
    expect(entry.locator(".fee")).to_have_text("20.000")
    shot(page, "certification-book")
    with page.expect_download() as book_download:
        page.locator("#book-xlsx").click()
    assert book_download.value.suggested_filename.endswith("_ca-nam.xlsx")
    registered = tmp_path / "ban-sao.pdf"
    server.installation.run("ecopy", "download", code, str(registered), check=True)
    registered_bytes = registered.read_bytes()

    citizen_context, stranger_context = fresh_context(browser, server), fresh_context(browser, server)
    try:
        # The citizen signs in and lands on their e-copies; downloads the registered file.
        citizen = citizen_context.new_page()
        sign_in_as(citizen, CITIZEN, "/")
        expect(citizen).to_have_url(re.compile(r"/cong-dan$"))
        expect(citizen.get_by_role("link", name="Bản sao của tôi")).to_be_visible()
        card = citizen.locator(f"#ecopy-{code}")
        expect(card.locator(".ecopy-kind")).to_have_text("Chứng thực bản sao từ bản chính")
        expect(card.locator(".ecopy-issuer")).not_to_be_empty()
        expect(card.locator(".ecopy-status")).to_have_text("Còn hiệu lực")
        # Every field of the entry: the citizen's own.
        for field, shown in (("requester-name", CITIZEN[1]), ("original-title", ORIGINAL_TITLE),
                             ("original-issuer", "UBND xã Quảng Phú"), ("original-number", "45/2024/TLKS-BS"),
                             ("original-date", "15/03/2024"), ("copies", "2"), ("book-number", "01"),
                             ("certifier-name", "Nguyễn Văn An"), ("dossier-code", DOSSIER), ("fee", "20.000")):
            expect(card.locator(f".ecopy-{field}")).to_have_text(shown)
        expect(card.locator(".ecopy-number")).to_have_text(re.compile(r"^1 quyển số 01/\d{4}-SCT/BS$"))
        assert download(citizen, card.get_by_role("link", name="Tải bản sao (PDF)")) == registered_bytes

        # A share link for the tax office, twice at most: the full link is shown once.
        card.get_by_label("Gửi cho").fill("Chi cục Thuế huyện Quảng Trạch")
        card.get_by_label("Hiệu lực (ngày)").fill("7")
        card.get_by_label("Số lượt tải tối đa").fill("2")
        card.get_by_role("button", name="Tạo liên kết").click()
        share_url = citizen.locator("#new-share-url").input_value()
        assert re.fullmatch(re.escape(server.url) + r"/s/[A-Za-z0-9_-]{20,}", share_url), share_url
        shot(citizen, "share-created")

        # A stranger opens the link: issuer, date, status, never the citizen; downloads the file.
        stranger = stranger_context.new_page()
        landing = stranger.goto(share_url)
        assert landing.status == 200
        expect(stranger.locator("#shared .ecopy-status")).to_have_text("Còn hiệu lực")
        expect(stranger.locator("#shared-issuer")).not_to_be_empty()
        content = stranger.content()
        assert CITIZEN_ID not in content and CITIZEN[1] not in content and "khai sinh" not in content.lower()
        shot(stranger, "share-landing")
        assert download(stranger, stranger.get_by_role("link", name="Tải bản sao (PDF)")) == registered_bytes

        # The citizen sees the access, then withdraws the link.
        citizen.goto("/cong-dan")
        row = citizen.locator(f"#ecopy-{code} tr.share", has_text="Chi cục Thuế")
        expect(row.locator(".share-uses")).to_have_text("1/2")
        expect(row.locator(".share-state")).to_have_text("Còn hiệu lực")
        expect(row.locator("li.access")).to_have_count(1)
        expect(row.locator("li.access")).to_contain_text("Đã tải tệp")
        row.get_by_role("button", name="Thu hồi liên kết").click()
        expect(row.locator(".share-state")).to_have_text("Đã thu hồi")
        shot(citizen, "portal")

        # The stranger is refused, in Vietnamese, with 410; the refusal shows among the accesses.
        refused = stranger.goto(share_url)
        assert refused.status == 410
        expect(stranger.locator("#share-refused")).to_have_text("Công dân đã thu hồi liên kết chia sẻ này.")
        expect(stranger.get_by_role("link", name="Tải bản sao (PDF)")).to_have_count(0)
        shot(stranger, "share-refused")

        # A stranger verifies by the code, typed carelessly: lower case, spaces for hyphens.
        stranger.goto("/verify")
        stranger.get_by_label("Nhập mã kiểm tra").fill(code.lower().replace("-", " "))
        stranger.get_by_role("button", name="Kiểm tra mã").click()
        result = stranger.locator("#ecopy-result")
        expect(result.locator(".ecopy-status")).to_have_text("Còn hiệu lực")
        expect(result.locator("#result-verdict")).to_contain_text("Hợp lệ")
        expect(result.locator(".ecopy-code")).to_have_text(code)
        # What the original is and who certified it; never who asked, the title, the dossier or the fee.
        expect(result.locator(".ecopy-original-issuer")).to_have_text("UBND xã Quảng Phú")
        expect(result.locator(".ecopy-original-number")).to_have_text("45/2024/TLKS-BS")
        expect(result.locator(".ecopy-original-date")).to_have_text("15/03/2024")
        expect(result.locator(".ecopy-certifier-title")).to_have_text("Phó Chủ tịch UBND xã Quảng Phú")
        expect(result.locator("#result-number")).to_have_text(re.compile(r"^1 quyển số 01/\d{4}-SCT/BS$"))
        _nothing_private(stranger.content())
        shot(stranger, "verify-code")
        # A mistyped code: a clear message, 400.
        typo = code[:-1] + ("0" if code[-1] != "0" else "1")
        answer = stranger.goto(f"/v/{typo}")
        assert answer.status == 400
        expect(stranger.locator("#code-error")).to_contain_text("Mã kiểm tra không đúng")

        # ... and by uploading the file: the genuine one, then one with a byte changed.
        upload_file(stranger, registered)
        box = stranger.locator("#ecopy-match")
        expect(box).to_have_attribute("data-matches", "yes")
        expect(box.locator(".ecopy-code")).to_have_text(code)
        expect(box.locator(".ecopy-file")).to_have_text("tệp này đúng là tệp đã đăng ký.")
        expect(box).to_contain_text("Còn hiệu lực")
        expect(box.locator(".ecopy-original-number")).to_have_text("45/2024/TLKS-BS")
        expect(box.locator(".ecopy-certifier-name")).to_have_text("Nguyễn Văn An")
        _nothing_private(box.inner_html())
        shot(stranger, "verify-file")
        changed = bytearray(registered_bytes)
        changed[len(changed) // 2] ^= 0x20
        forged = tmp_path / "ban-sao-sua.pdf"
        forged.write_bytes(bytes(changed))
        upload_file(stranger, forged)
        expect(stranger.locator("#ecopy-match")).to_have_attribute("data-matches", "no")
        expect(stranger.locator("#ecopy-match .ecopy-file")).to_have_text("tệp này KHÔNG đúng là tệp đã đăng ký.")
        expect(stranger.locator("#report")).to_have_attribute("data-verdict", "invalid")
        shot(stranger, "verify-forged")

        # The clerk revokes it with a reason; verification says so at once.
        page.goto(document_url)
        page.get_by_label("Lý do").fill("Cấp nhầm người")
        page.get_by_role("button", name="Thu hồi", exact=True).click()
        expect(page.locator("#ecopy .ecopy-status")).to_have_text("Đã bị thu hồi")
        stranger.goto(f"/v/{code}")
        expect(stranger.locator("#ecopy-result .ecopy-status")).to_have_text("Đã bị thu hồi")
        expect(stranger.locator("#ecopy-result .ecopy-reason")).to_have_text("Lý do: Cấp nhầm người")
        shot(stranger, "revoked")
        stranger.goto(f"/v/{code}?lang=en")
        expect(stranger.locator("#ecopy-result .ecopy-status")).to_have_text("Revoked")
        # The citizen's portal says so too, and offers no new share link.
        citizen.goto("/cong-dan")
        expect(citizen.locator(f"#ecopy-{code} .ecopy-status")).to_have_text("Đã bị thu hồi")
        expect(citizen.locator(f"#ecopy-{code} form.share-form")).to_have_count(0)
    finally:
        citizen_context.close()
        stranger_context.close()
