"""A stranger, handed a signed decision, checks it on the public page without
signing in: the genuine file is valid, a file changed by one byte is not."""
from __future__ import annotations

from pathlib import Path

import pytest
from pdfs import make_pdf, sample_paragraphs
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def signed_decision(server, tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("verify")
    draft = make_pdf(folder / "quyet-dinh.pdf", "Quyết định số 15/QĐ-UBND", sample_paragraphs("binh-duong-cchc-2020.txt")[:3])
    signed = folder / "quyet-dinh-da-ky.pdf"
    p12 = Path(server.installation.env["DOCSVC_DATA_DIR"]) / "pki" / "official.p12"
    server.installation.run(
        "sign", str(draft), str(signed), "--pkcs12", str(p12), "--passphrase-env", "P", "--level", "B-LT",
        extra_env={"P": "docsvc-dev"}, check=True,
    )
    forged = folder / "quyet-dinh-bi-sua.pdf"
    data = bytearray(signed.read_bytes())
    data[len(draft.read_bytes()) // 2] ^= 0x01
    forged.write_bytes(bytes(data))
    return signed, forged


def test_a_stranger_verifies_a_signed_decision(page: Page, server, signed_decision, artifacts):
    genuine, forged = signed_decision
    page.goto("/verify")
    expect(page.get_by_role("heading", name="Kiểm tra văn bản điện tử có chữ ký số")).to_be_visible()

    page.locator("input[type=file]").set_input_files(genuine)
    page.get_by_role("button", name="Kiểm tra", exact=True).click()
    report = page.locator("#report")
    expect(report).to_have_attribute("data-verdict", "valid")
    expect(report.locator(".verdict")).to_contain_text("Hợp lệ")
    expect(report.locator(".signer")).to_have_text("Nguyễn Văn An")
    page.screenshot(path=str(artifacts / f"verify-valid-{server.profile}.png"), full_page=True)

    page.locator("input[type=file]").set_input_files(forged)
    page.get_by_role("button", name="Kiểm tra", exact=True).click()
    expect(page.locator("#report")).to_have_attribute("data-verdict", "invalid")
    expect(page.locator("#report .verdict")).to_contain_text("Không hợp lệ")


def test_a_stranger_reads_why_a_changed_file_fails_in_their_language(page: Page, server, signed_decision, artifacts):
    _, forged = signed_decision
    page.goto("/verify")
    page.locator("input[type=file]").set_input_files(forged)
    page.get_by_role("button", name="Kiểm tra", exact=True).click()
    reason = page.locator("#report .signature .reason[data-code=content_altered]")
    expect(reason).to_have_text("Nội dung đã bị thay đổi sau khi ký (chữ ký không còn khớp).")
    page.screenshot(path=str(artifacts / f"verify-changed-{server.profile}.png"), full_page=True)

    page.get_by_role("link", name="English").click()
    page.locator("input[type=file]").set_input_files(forged)
    page.get_by_role("button", name="Verify", exact=True).click()
    expect(page.locator("#report .verdict")).to_contain_text("Invalid")
    expect(reason).to_have_text("The signed content was altered after signing (the signature no longer matches).")
