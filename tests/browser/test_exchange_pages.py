"""Two docsvc installations on this machine, each its own `docsvc serve`
with its worker, exchange a decision in edXML over real HTTP: the commune
(embedded profile) issues it to the Government Office (scaled profile), a
configured peer; the package goes by the commune's worker, the Office's
installation answers "arrived" by itself, and "registered" once its văn thư
registers it, and the commune's văn thư sees that on the document's page.
Then she asks for it back, and sees the Office agree."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from test_clerk_pages import sign_in
from test_outgoing_pages import (  # noqa: F401  (office: a fixture)
    LEADER,
    PASSPHRASE,
    new_page,
    office,
    submitted_draft,
    token_of,
)

from docsvc.bootstrap import DEFAULT_AGENCY
from docsvc.signatures.verification import dev_pki
from tests.waiting import wait_until

pytestmark = pytest.mark.browser

COMMUNE, GOVERNMENT_OFFICE = "000.00.00.H41", "000.00.00.G22"
EXCHANGE_TIMEOUT = 120  # seconds: the worker's round trip on two busy cores, never a performance check
TESTS = Path(__file__).resolve().parent.parent


def _plugin(config: pytest.Config, path: Path):
    module = config.pluginmanager.get_plugin(str(path))
    assert module is not None, f"{path} was not loaded"
    return module


@pytest.fixture(scope="module")
def installation(request, tmp_path_factory):
    """The sender, the commune: embedded (this module's `server`; the peer is scaled)."""
    yield from _plugin(request.config, TESTS / "conftest.py").make_installation(
        "embedded", tmp_path_factory.mktemp("exchange-commune"))


@pytest.fixture(scope="module")
def peer(request, tmp_path_factory):
    """The Government Office's installation, scaled, served with its worker."""
    maker = _plugin(request.config, TESTS / "conftest.py").make_installation(
        "scaled", tmp_path_factory.mktemp("exchange-office"))
    installation = next(maker)
    try:
        with _plugin(request.config, TESTS / "browser" / "conftest.py").serve(installation, tmp_path_factory) as srv:
            yield srv
    finally:
        maker.close()


@pytest.fixture(scope="module")
def linked(server, peer, office):  # noqa: F811
    """Organization codes, each trusting the other's CA, and peers both ways
    with the tokens their administrators exchange."""
    commune, ministry = server.installation, peer.installation
    commune.run("agency", "set-org-code", "UBND-XA", COMMUNE, check=True)
    ministry.run("agency", "set-org-code", "UBND-XA", GOVERNMENT_OFFICE, check=True)
    for one, other in ((commune, ministry), (ministry, commune)):
        trust = Path(other.settings().trust_store_dir)
        trust.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(dev_pki(one.settings()).cert_path("root-ca"), trust / f"peer-{one.profile}-root-ca.pem")
    to_commune = commune.run("peer", "add", GOVERNMENT_OFFICE, peer.url, "--name", "Văn phòng Chính phủ",
                             check=True).stdout.strip()
    to_office = ministry.run("peer", "add", COMMUNE, server.url, "--name", "UBND xã Mẫu", "--send-token-env", "T",
                             check=True, extra_env={"T": to_commune}).stdout.strip()
    commune.run("peer", "set-token", GOVERNMENT_OFFICE, "--token-env", "T", check=True, extra_env={"T": to_office})


def sent_to_office(server, token: str, document_id: str) -> dict:
    status, body = server.api("GET", f"/api/v1/documents/{document_id}", token=token)
    assert status == 200, body
    [recipient] = body["workflow"]["exchange"]
    assert recipient["to"] == GOVERNMENT_OFFICE
    return recipient


def received_at_office(peer, token: str, number_symbol: str) -> dict | None:
    status, body = peer.api("GET", "/api/v1/documents?per_page=50", token=token)
    assert status == 200, body
    return next((d for d in body["documents"] if d["number_symbol"] == number_symbol), None)


def test_a_decision_sent_to_a_peer_shows_registered_once_the_peer_registers_it(
        page: Page, browser, server, peer, linked, tmp_path, artifacts):
    title = "Quyết định về việc kiện toàn Tổ công tác cải cách hành chính năm 2026"
    document_id = submitted_draft(server, tmp_path, title, recipients=(GOVERNMENT_OFFICE,))
    status, body = server.api("POST", f"/api/v1/documents/{document_id}/sign",
                              json.dumps({"passphrase": PASSPHRASE}).encode(), token_of(server, LEADER),
                              headers={"Content-Type": "application/json"})
    assert status == 200, body

    # The văn thư issues it on its page; the Government Office is among the recipients, by edXML.
    sign_in(page, server, f"/documents/{document_id}")
    page.get_by_label("Mật khẩu khóa ký số của cơ quan").fill(PASSPHRASE)
    page.get_by_role("button", name="Cấp số, đóng dấu và phát hành").click()
    expect(page.locator("#workflow-status")).to_have_text("Đã phát hành", timeout=60_000)
    number_symbol = page.locator("#issued-number").inner_text()
    row = page.locator(f"#exchange-statuses tr[data-org='{GOVERNMENT_OFFICE}']")
    expect(row).to_contain_text("Văn phòng Chính phủ")

    # The package travels; the Office's installation answers "arrived" (01) by itself.
    clerk_token = server.token()
    arrived = wait_until(lambda: (r := sent_to_office(server, clerk_token, document_id))["status"] == "01" and r,
                         EXCHANGE_TIMEOUT, "the peer's status 01 (arrived)")
    assert arrived["delivered_at"] and not arrived["delivery_error"]

    # Its văn thư registers it: the register fields came from the package's header.
    office_token = peer.token()
    incoming = wait_until(lambda: received_at_office(peer, office_token, number_symbol), EXCHANGE_TIMEOUT,
                          "the incoming document at the peer")
    assert (incoming["kind"], incoming["title"], incoming["issuing_body"]) == ("incoming", title, DEFAULT_AGENCY[1])
    status, registered = peer.api("POST", f"/api/v1/documents/{incoming['id']}/register", b"{}", office_token,
                                  headers={"Content-Type": "application/json"})
    assert status == 200, registered
    assert registered["register"]["agency_org_code"] == GOVERNMENT_OFFICE

    # "Registered" (03) flows back; the page shows it, in Vietnamese, with its time.
    done = wait_until(lambda: (r := sent_to_office(server, clerk_token, document_id))["status"] == "03" and r,
                      EXCHANGE_TIMEOUT, "the peer's status 03 (registered)")
    assert [s["code"] for s in done["statuses"]] == ["01", "03"]
    assert done["statuses"][1]["staff"] == peer.full_name
    page.reload()
    expect(row.locator(".exchange-status")).to_have_text("Đã vào sổ")
    expect(row.locator(".exchange-time")).not_to_be_empty()
    row.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "exchange-registered-at-peer.png"), full_page=True)

    # She asks for it back (13); the Office's văn thư agrees (15), which comes back too.
    row.get_by_placeholder("Lý do").fill("Văn bản ban hành nhầm số")
    row.get_by_role("button", name="Yêu cầu thu hồi").click()
    expect(row.locator(".exchange-status")).to_have_text("Yêu cầu thu hồi: Văn bản ban hành nhầm số")

    def asked_back():
        status, body = peer.api("GET", f"/api/v1/documents/{incoming['id']}", token=office_token)
        assert status == 200, body
        return "13" in [s["code"] for s in body["received_from"]["statuses"]]

    wait_until(asked_back, EXCHANGE_TIMEOUT, "the recall request at the peer")
    office_page = new_page(browser, peer)
    try:
        sign_in(office_page, peer, f"/documents/{incoming['id']}")
        received = office_page.locator("#exchange-received")
        expect(received.locator("#exchange-sender")).to_contain_text(COMMUNE)
        expect(received.locator("tr[data-status='13']")).to_contain_text("Yêu cầu thu hồi: Văn bản ban hành nhầm số")
        office_page.screenshot(path=str(artifacts / "exchange-recall-requested-at-peer.png"), full_page=True)
        office_page.get_by_role("button", name="Đồng ý thu hồi").click()
        expect(received.locator("tr[data-status='15']")).to_be_visible()
        expect(office_page.locator("#recall-answer-form")).to_have_count(0)
    finally:
        office_page.context.close()
    wait_until(lambda: sent_to_office(server, clerk_token, document_id)["status"] == "15", EXCHANGE_TIMEOUT,
               "the peer's status 15 (recall agreed)")
    page.reload()
    expect(row.locator(".exchange-status")).to_have_text("Đồng ý thu hồi")
