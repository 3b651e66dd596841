"""A recall between two installations, as the receiving agency sees it: the
commune sends a decision to the Government Office, whose văn thư registers
and assigns it; the commune asks for it back (13). Refusing (16) changes
nothing in the receiver's register; asked again and agreed (15), the
document is withdrawn: kept in the book with its number, marked recalled
with who, when and the commune's reason, out of its handler's queue, no
step or status after it, still found by search but marked, in the audit
chain. The statuses travel as signed messages, as the worker sends them
(its POST caught here instead of a server's)."""
from __future__ import annotations

import time

from sqlalchemy import select

from docsvc.exchange import delivery
from docsvc.models import AuditEvent, OutboxEntry
from tests.integration import conftest as fixtures
from tests.integration.test_edxml_exchange import (  # noqa: F401 (receiver is a fixture)
    GOVERNMENT_OFFICE,
    peers_and_package,
    process_documents,
    receiver,
)

REASON = "Văn bản ban hành nhầm số"


def signed_statuses(rt, monkeypatch, code: str) -> list[bytes]:
    """The signed status messages with `code` waiting in `rt`'s outbox, as
    docsvc.exchange.delivery would POST them to the peer."""
    sent: list[bytes] = []
    monkeypatch.setattr(delivery, "post", lambda rt, url, token, data: sent.append(data) or delivery.Answer(201))
    with rt.read() as session:
        payloads = [e.payload for e in session.scalars(select(OutboxEntry).where(
            OutboxEntry.task == "exchange.send_status").order_by(OutboxEntry.id)) if e.payload["code"] == code]
    for payload in payloads:
        delivery.deliver_status(rt, payload, None)
    return sent


def test_an_agreed_recall_withdraws_the_received_document(rt, backend, office, receiver, tmp_path, monkeypatch):
    receiver_installation, receiver_rt = receiver
    decision, token, package = peers_and_package(rt, backend, office, receiver, tmp_path)
    backend.run("peer", "set-token", GOVERNMENT_OFFICE, check=True, extra_env={"DOCSVC_PEER_TOKEN": token})

    app = fixtures.testing_app(receiver_rt)
    peer = app.test_client()

    def from_commune(path: str, data: bytes):
        answer = peer.post(path, data=data, content_type="application/xml", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 201, answer.get_json()
        return answer.get_json()

    incoming_id = from_commune("/api/v1/exchange/packages", package.read_bytes())["document_id"]
    process_documents(receiver_rt)
    make = fixtures.user_maker(receiver_rt, app)
    clerk, handler = make("clerk", username="van-thu-vpcp"), make("official", username="chuyen-vien-vpcp")
    url = f"/api/v1/documents/{incoming_id}"
    assert clerk.post(f"{url}/register", json={}).status_code == 200
    assigned = clerk.post(f"{url}/assign", json={"assignee": handler.username, "deadline": "2099-12-31"})
    assert assigned.get_json()["handling"]["status"] == "assigned"
    assert [d["id"] for d in handler.get("/api/v1/queue").get_json()["documents"]] == [incoming_id]

    def ask_back() -> None:
        asked = office.clerk.post(f"/api/v1/documents/{decision}/exchange/recall",
                                  json={"to": GOVERNMENT_OFFICE, "reason": REASON})
        assert asked.status_code == 202, asked.get_json()
        [request] = signed_statuses(rt, monkeypatch, "13")[-1:]
        assert from_commune("/api/v1/exchange/statuses", request)["status"] == "13"
        with rt.write() as session:  # sent: the next request is a new one
            for entry in session.scalars(select(OutboxEntry).where(OutboxEntry.task == "exchange.send_status")):
                session.delete(entry)

    # Asked back and refused: nothing changes on the receiver.
    ask_back()
    refused = clerk.post(f"{url}/exchange/recall-answer", json={"agree": False, "reason": "Đã triển khai"})
    assert refused.status_code == 202, refused.get_json()
    entry = clerk.get(url).get_json()
    assert (entry["handling"]["status"], entry["handling"]["recalled"]) == ("assigned", None)
    assert [d["id"] for d in handler.get("/api/v1/queue").get_json()["documents"]] == [incoming_id]
    again = clerk.post(f"{url}/exchange/recall-answer", json={"agree": True})
    assert (again.status_code, again.get_json()["code"]) == (409, "conflict")  # that request is answered

    # Asked again, agreed: withdrawn, kept.
    time.sleep(1.1)  # a status's time is to the second: the second request is not a redelivery of the first
    ask_back()
    agreed = clerk.post(f"{url}/exchange/recall-answer", json={"agree": True, "reason": "Đồng ý"})
    assert agreed.status_code == 202, agreed.get_json()
    entry = clerk.get(url).get_json()
    assert entry["handling"]["status"] == "recalled"
    recalled = entry["handling"]["recalled"]
    assert (recalled["by"], recalled["reason"]) == ("van-thu-vpcp", REASON) and recalled["at"]
    assert entry["register"]["number"] == 1  # kept: its number is not given back
    assert handler.get("/api/v1/queue").get_json()["documents"] == []
    assert handler.get("/api/v1/queue?done=1").get_json()["documents"] == []
    year = entry["register"]["year"]
    [line] = clerk.get(f"/api/v1/registers/incoming?year={year}").get_json()["entries"]
    assert (line["id"], line["handling"]["status"]) == (incoming_id, "recalled")

    # Nothing follows it: no step, no new assignment, no status 04-06, no second answer.
    moved = handler.post(f"{url}/handling", json={"status": "in_progress"})
    reassigned = clerk.post(f"{url}/assign", json={"department": "Phòng Tổng hợp"})
    twice = clerk.post(f"{url}/exchange/recall-answer", json={"agree": True})
    for answer in (moved, reassigned, twice):
        assert (answer.status_code, answer.get_json()["code"]) == (409, "conflict"), answer.get_json()
    with receiver_rt.read() as session:
        codes = [e.payload["code"] for e in session.scalars(select(OutboxEntry).where(
            OutboxEntry.task == "exchange.send_status").order_by(OutboxEntry.id))]
        actions = [e.action for e in session.scalars(select(AuditEvent).where(
            AuditEvent.object_id == incoming_id).order_by(AuditEvent.id))]
    assert codes[-2:] == ["16", "15"] and not {"04", "05", "06"} & set(codes[codes.index("16"):])
    assert actions[-2:] == ["incoming.recall", "exchange.recall_answer"]
    assert "audit log intact" in receiver_installation.run("audit", "verify", check=True).stdout

    # Search still finds it, marked, in the API and on the page; the document page and the book say so.
    found = clerk.get("/api/v1/search?q=ke+hoach+cai+cach").get_json()["hits"]
    assert [(h["id"], h["recalled"]) for h in found] == [(incoming_id, True)]
    app.config["WTF_CSRF_ENABLED"] = False
    browser = app.test_client()
    assert browser.post("/login", data={"username": clerk.username, "password": fixtures.PASSWORD}).status_code == 302
    results = browser.get("/search?q=ke+hoach+cai+cach").get_data(as_text=True)
    assert 'class="hit recalled"' in results and 'class="badge recalled-badge">Đã thu hồi<' in results
    shown = browser.get(f"/documents/{incoming_id}").get_data(as_text=True)
    assert 'id="recalled"' in shown and REASON in shown and 'data-status="recalled">Đã thu hồi<' in shown
    assert 'id="assign-form"' not in shown and 'id="handling-form"' not in shown
    assert 'id="recall-answer-form"' not in shown
    book = browser.get(f"/registers/incoming?year={year}").get_data(as_text=True)
    assert 'data-status="recalled"' in book and "Đã thu hồi" in book
