"""Signing in and out against the real service: in Chromium, the pages a
clerk and a citizen walk through run under the Content-Security-Policy
without a single violation and their scripts still work; over plain HTTP,
a copied session cookie dies when its owner signs out, and guessing one
account's password meets 429 with Retry-After."""
from __future__ import annotations

import json
import re

import pytest
import requests
from pdfs import make_pdf, sample_paragraphs
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

READY_TIMEOUT = 120_000  # ms: extraction and indexing by the worker
CITIZEN = ("le.van.binh", "Lê Văn Bình", "Mat-khau-cong-dan-2026")
CITIZEN_ID = "079203001234"

# Runs before the pages' own scripts (and is not itself subject to the
# policy): every violation the browser reports becomes a console error.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " in " + e.sourceFile);
});
"""


@pytest.fixture
def violations(page) -> list[str]:
    """Every Content-Security-Policy violation reported in the page's console."""
    found: list[str] = []
    page.add_init_script(REPORT_VIOLATIONS)
    page.on("console", lambda msg: found.append(msg.text) if (
        msg.type == "error" and ("Content Security Policy" in msg.text or "CSP violation" in msg.text)) else None)
    return found


@pytest.fixture(scope="module")
def citizen(server):
    server.installation.run("user", "add", CITIZEN[0], "--role", "citizen", "--citizen-id", CITIZEN_ID,
                            "--full-name", CITIZEN[1], "--password-env", "PW", check=True,
                            extra_env={"PW": CITIZEN[2]})
    return CITIZEN


def sign_in_at(page: Page, path: str, username: str, password: str) -> None:
    page.goto(path)
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()


def test_pages_run_under_the_policy_without_violations_and_their_scripts_work(
        page: Page, server, citizen, violations, tmp_path):
    # The detector sees what it is meant to see: an injected inline script is refused.
    page.goto("/login")
    page.evaluate("""() => { const s = document.createElement("script");
                             s.textContent = "window.__ran = true"; document.body.appendChild(s); }""")
    expect(page.locator("body")).to_be_visible()
    page.wait_for_timeout(200)
    assert any("script-src" in v for v in violations), violations
    assert page.evaluate("() => window.__ran") is None
    violations.clear()

    # A hostile `next` leads home, on this site, once signed in.
    sign_in_at(page, "/login?next=/%09/evil.example", server.username, server.password)
    expect(page).to_have_url(server.url + "/")
    expect(page.locator("header .who")).to_have_text(server.full_name)

    # Home: upload.js takes its texts from the page's JSON block.
    pdf = make_pdf(tmp_path / "Chinh_sach_bao_mat.pdf", "Quy chế bảo mật thông tin",
                   sample_paragraphs("binh-duong-cchc-2020.txt")[:2])
    page.locator("#upload-files").set_input_files([pdf])
    page.get_by_role("button", name="Tải lên", exact=True).click()
    item = page.locator("#upload-list li.upload").first
    expect(item.locator(".state a")).to_have_text("Đã nhận", timeout=60_000)

    # The document page: progress.js polls, names the steps in Vietnamese, reloads when ready.
    item.locator(".state a").click()
    expect(page).to_have_url(re.compile(r"/documents/[^/]+$"))
    expect(page.locator("#document[data-status=ready]")).to_be_visible(timeout=READY_TIMEOUT)
    expect(page.locator("#document-text")).to_contain_text("Quy chế bảo mật thông tin")

    # /verify: the report's print button is wired by print.js, not an onclick.
    page.goto("/verify")
    page.locator("input[type=file]").set_input_files(pdf)
    page.get_by_role("button", name="Kiểm tra", exact=True).click()
    expect(page.locator("#report")).to_be_visible()
    page.evaluate("() => { window.print = () => { window.__printed = true; }; }")
    page.locator("#report [data-print]").click()
    assert page.evaluate("() => window.__printed") is True

    page.goto("/outgoing")
    expect(page.locator("#upload-files")).to_be_visible()
    page.goto("/reports")
    expect(page.locator("[data-print]")).to_be_visible()

    # Sign out; the citizen signs in and lands on /cong-dan.
    page.get_by_role("button", name="Đăng xuất").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    sign_in_at(page, "/login", citizen[0], citizen[2])
    expect(page).to_have_url(re.compile(r"/cong-dan$"))
    expect(page.locator("header .who")).to_have_text(citizen[1])

    assert violations == []


# --- over plain HTTP -------------------------------------------------------------------------


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_a_copied_session_cookie_stops_working_when_its_owner_signs_out(server):
    owner = requests.Session()
    form = owner.get(server.url + "/login", timeout=60)
    signed_in = owner.post(server.url + "/login", timeout=60, allow_redirects=False, data={
        "csrf_token": csrf_token(form.text), "username": server.username, "password": server.password})
    assert signed_in.status_code == 302, signed_in.text
    cookie = signed_in.cookies["session"]
    assert "HttpOnly" in signed_in.headers["Set-Cookie"] and "SameSite=Lax" in signed_in.headers["Set-Cookie"]

    thief = requests.Session()
    thief.cookies.set("session", cookie)
    assert thief.get(server.url + "/queue", timeout=60, allow_redirects=False).status_code == 200

    page = owner.get(server.url + "/queue", timeout=60)
    for response in (form, page):
        assert "Content-Security-Policy" in response.headers and response.headers["X-Frame-Options"] == "DENY"
    signed_out = owner.post(server.url + "/logout", data={"csrf_token": csrf_token(page.text)}, timeout=60,
                            allow_redirects=False)
    assert signed_out.status_code == 302

    for client in (owner, thief):
        response = client.get(server.url + "/queue", timeout=60, allow_redirects=False)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    # The copy, sent again exactly as it was, is refused by the API too.
    stale = requests.get(server.url + "/api/v1/queue", cookies={"session": cookie}, timeout=60)
    assert stale.status_code == 401 and stale.json()["code"] == "unauthorized"


def test_guessing_one_accounts_password_meets_429_with_retry_after(server):
    """The default bucket: 10 attempts per account, whether it exists or not."""
    body = json.dumps({"username": "ke.do.mat.khau", "password": "doan-bua"}).encode()
    headers = {"Content-Type": "application/json"}
    statuses = [server.api("POST", "/api/v1/tokens", body, headers=headers)[0] for _ in range(10)]
    assert statuses == [401] * 10
    response = requests.post(server.url + "/api/v1/tokens", data=body, headers=headers, timeout=60)
    assert response.status_code == 429 and response.json()["code"] == "too_many_sign_ins"
    assert 0 < int(response.headers["Retry-After"]) <= 180  # one attempt every 3 minutes
    assert response.headers["Content-Security-Policy"] and response.headers["X-Content-Type-Options"] == "nosniff"
