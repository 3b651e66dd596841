"""Two docsvc installations on this machine exchange a decision in edXML:
the commune issues it, its văn thư builds the package for the Government
Office's installation, which receives it from its configured peer into
its incoming register, fields from the header, and answers "arrived" and
"registered" through its outbox. Tampered, unknown and malformed packages
are refused with their reason and leave nothing, over the API and in the
drop folder (where the sender, if it is a peer, is answered 02). A sender
whose peer refuses a package records the refusal as that recipient's 02;
one whose peer answers with a redirect follows none.
(The whole round trip over HTTP, two servers and their workers, is
tests/browser/test_exchange_pages.py.)"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from docsvc import accounts, exchange
from docsvc.documents import pipeline
from docsvc.exchange.delivery import PeerUnavailable
from docsvc.models import Document, DocumentFile, ExchangeMessage, FileRole, OutboxEntry
from docsvc.signatures.verification import dev_pki
from storage import read_object
from tests.conftest import fresh_installation, prepared_runtime
from tests.integration import conftest as fixtures
from tests.integration import records
from tests.listeners import Listener

COMMUNE, GOVERNMENT_OFFICE = "000.00.00.H41", "000.00.00.G22"


@pytest.fixture
def receiver(backend, tmp_path):
    """The second installation (same profile): the Government Office, with a drop folder."""
    folder = tmp_path / "receiver"
    (folder / "drop").mkdir(parents=True)
    with fresh_installation(backend.profile, folder) as installation:
        installation.env["DOCSVC_EXCHANGE_DROP_DIR"] = str(folder / "drop")
        with prepared_runtime(installation) as rt:
            with rt.write() as session:
                accounts.set_org_code(session, "UBND-XA", GOVERNMENT_OFFICE)
            yield installation, rt


def trust_each_other(sender_rt, receiver_rt) -> None:
    trust = Path(receiver_rt.settings.trust_store_dir)
    trust.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(dev_pki(sender_rt.settings).cert_path("root-ca"), trust / "commune-root-ca.pem")


def peers_and_package(rt, backend, office, receiver, tmp_path, *build_options: str) -> tuple[str, str, Path]:
    """The commune and the Government Office peers of each other, a decision
    issued and its package built for the office: (decision, the token the
    office gave the commune, the package file)."""
    receiver_installation, receiver_rt = receiver
    with rt.write() as session:
        accounts.set_org_code(session, "UBND-XA", COMMUNE)
    decision = records.sign_and_issue(rt, office, tmp_path)
    trust_each_other(rt, receiver_rt)
    token = receiver_installation.run("peer", "add", COMMUNE, "http://127.0.0.1:8080", check=True).stdout.strip()
    backend.run("peer", "add", GOVERNMENT_OFFICE, "http://127.0.0.1:8081", "--name", "Văn phòng Chính phủ", check=True)
    package = tmp_path / "qd.edxml"
    backend.run("edxml", "build", decision, str(package), "--to", GOVERNMENT_OFFICE, *build_options,
                check=True, extra_env={"DOCSVC_SIGNING_PASSPHRASE": records.PASSPHRASE})
    return decision, token, package


def test_a_decision_goes_from_one_installation_to_another(rt, backend, office, receiver, tmp_path):
    receiver_installation, receiver_rt = receiver
    decision, token, package = peers_and_package(rt, backend, office, receiver, tmp_path, "--position", "Phó Chủ tịch")
    with rt.read() as session:
        sent = session.get(Document, decision)
        issued = sent.latest(FileRole.SIGNED)
        number_symbol, issued_sha256, commune = sent.number_symbol, issued.sha256, sent.agency.name

    app = fixtures.testing_app(receiver_rt)
    client = app.test_client()
    answer = client.post("/api/v1/exchange/packages", data=package.read_bytes(), content_type="application/xml",
                         headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 201, answer.get_json()
    arrived = answer.get_json()
    assert arrived["status"] == "01"
    assert arrived["edxml_document_id"].startswith(f"{COMMUNE},") and arrived["edxml_document_id"].endswith(number_symbol)
    assert arrived["pdf_verdict"] != "invalid"

    with receiver_rt.read() as session:
        incoming = session.get(Document, arrived["document_id"])
        assert (incoming.kind, incoming.number_symbol, incoming.issuing_body) == ("incoming", number_symbol, commune)
        original, kept = incoming.file(FileRole.ORIGINAL), incoming.file(FileRole.PACKAGE)
        assert original.sha256 == issued_sha256  # exactly the bytes the commune sealed
        assert read_object(receiver_rt.store, kept.storage_key) == package.read_bytes()
    assert queued_statuses(receiver_rt) == [(COMMUNE, arrived["edxml_document_id"], "01")]
    process_documents(receiver_rt)
    clerk = fixtures.user_maker(receiver_rt, app)("clerk", username="van-thu-vpcp")
    registered = clerk.post(f"/api/v1/documents/{arrived['document_id']}/register", json={})
    assert registered.status_code == 200, registered.get_json()
    entry = registered.get_json()
    assert (entry["number_symbol"], entry["issuing_body"], entry["doc_type"]) == (number_symbol, commune, "Quyết định")
    assert entry["title"] == sent_title(rt, decision)
    assert (entry["register"]["number"], entry["register"]["agency_org_code"]) == (1, GOVERNMENT_OFFICE)
    assert [code for *_, code in queued_statuses(receiver_rt)] == ["01", "03"]  # the register's step, answered

    again = client.post("/api/v1/exchange/packages", data=package.read_bytes(), content_type="application/xml",
                        headers={"Authorization": f"Bearer {token}"})
    assert (again.status_code, again.get_json()["code"]) == (409, "edxml_already_received")

    shown = backend.run("edxml", "show", str(package), "--json", check=True)
    assert '"document_id"' in shown.stdout and number_symbol in shown.stdout


def queued_statuses(rt) -> list[tuple[str, str, str]]:
    """The status messages waiting in the outbox: (to, package, code)."""
    with rt.read() as session:
        entries = session.scalars(select(OutboxEntry).where(OutboxEntry.task == "exchange.send_status")
                                  .order_by(OutboxEntry.id))
        return [(e.payload["peer"], e.payload["document_id"], e.payload["code"]) for e in entries]


def process_documents(rt) -> None:
    """What the worker does with the documents (the statuses wait: no peer answers here)."""
    with rt.read() as session:
        pending = session.scalars(select(OutboxEntry.id).where(
            OutboxEntry.done_at.is_(None), OutboxEntry.task != "exchange.send_status")).all()
    for entry_id in pending:
        assert pipeline.run_entry(rt, entry_id)


def sent_title(rt, document_id: str) -> str:
    with rt.read() as session:
        return session.get(Document, document_id).title


def test_refused_packages_leave_nothing_behind(rt, backend, office, receiver, tmp_path):
    receiver_installation, receiver_rt = receiver
    with rt.write() as session:
        accounts.set_org_code(session, "UBND-XA", COMMUNE)
    decision = records.sign_and_issue(rt, office, tmp_path)
    trust_each_other(rt, receiver_rt)
    backend.run("peer", "add", GOVERNMENT_OFFICE, "http://127.0.0.1:8081", check=True)
    package = tmp_path / "qd.edxml"
    backend.run("edxml", "build", decision, str(package), "--to", GOVERNMENT_OFFICE, check=True,
                extra_env={"DOCSVC_SIGNING_PASSPHRASE": records.PASSPHRASE})
    data = package.read_bytes()
    tampered = data.replace(b"<edXML:CodeNumber>", b"<edXML:CodeNumber>9", 1)
    before = fixtures.leftovers(receiver_rt)
    drop = Path(receiver_rt.settings.exchange_drop_dir)

    # In the drop folder before the commune is a peer: refused, the reason beside the file; nobody to answer.
    (drop / "qd.edxml").write_bytes(data)
    (drop / "hong.edxml").write_bytes(b"<edXML><unclosed>")
    (drop / "ghi-chu.txt").write_text("không phải gói tin")  # not a package: left alone
    taken = {t.name: t.reason for t in exchange.take_drop_folder(receiver_rt, settle_seconds=0)}
    assert taken == {"qd.edxml": "edxml_unknown_peer", "hong.edxml": "edxml_malformed"}
    assert "edxml_unknown_peer" in (drop / "refused" / "qd.edxml.txt").read_text()
    assert sorted(p.name for p in drop.iterdir()) == [".claimed", "ghi-chu.txt", "refused"]
    assert queued_statuses(receiver_rt) == []

    token = receiver_installation.run("peer", "add", COMMUNE, "http://127.0.0.1:8080", check=True).stdout.strip()
    client = fixtures.testing_app(receiver_rt).test_client()

    def send(body: bytes, bearer: str = token):
        return client.post("/api/v1/exchange/packages", data=body, content_type="application/xml",
                           headers={"Authorization": f"Bearer {bearer}"})

    cases = [
        (send(tampered), 422, "edxml_signature_invalid"),
        (send(data, "dsx_not-a-peer"), 401, "unauthorized"),
        (send(b"<edXML><unclosed>"), 422, "edxml_malformed"),
        (send(b"<!DOCTYPE x [<!ENTITY a SYSTEM 'file:///etc/passwd'>]><x>&a;</x>"), 422, "edxml_malformed"),
    ]
    for answer, status, code in cases:  # the sender hears the refusal in the answer (its 02, see below)
        assert (answer.status_code, answer.get_json()["code"]) == (status, code), answer.get_json()
        assert answer.get_json()["message"]

    # A tampered package that arrives as a file: refused, and its sender, a peer now, is told 02 with the reason.
    stranger = tmp_path / "stranger.edxml"
    stranger.write_bytes(tampered)
    result = receiver_installation.run("edxml", "receive", str(stranger), "--json")
    assert result.returncode == 2 and "edxml_signature_invalid" in result.stderr
    (drop / "qd-sua.edxml").write_bytes(tampered)
    assert [t.reason for t in exchange.take_drop_folder(receiver_rt, settle_seconds=0)] == ["edxml_signature_invalid"]
    refusals = queued_statuses(receiver_rt)
    assert [(to, code) for to, _, code in refusals] == [(COMMUNE, "02"), (COMMUNE, "02")]
    with receiver_rt.read() as session:
        reasons = [e.payload["description"] for e in session.scalars(
            select(OutboxEntry).where(OutboxEntry.task == "exchange.send_status"))]
    assert all("XML signature does not verify" in r and "edxml_signature_invalid" in r for r in reasons), reasons

    # Nothing half-registered: no document, file, object or message; only the two answers queued.
    after = fixtures.leftovers(receiver_rt)
    assert after["rows"].pop("outbox") == before["rows"].get("outbox", 0) + 2
    assert after == {**before, "rows": {k: v for k, v in before["rows"].items() if k != "outbox"}}
    with receiver_rt.read() as session:
        assert session.scalars(select(ExchangeMessage)).all() == []
        assert session.scalars(select(DocumentFile).where(DocumentFile.role == FileRole.PACKAGE)).all() == []

    # The genuine package, once the commune is a peer: received from the drop folder, and only once.
    (drop / "qd.edxml").write_bytes(data)
    [received] = exchange.take_drop_folder(receiver_rt, settle_seconds=0)
    assert received.state == "received" and received.document_id
    (drop / "qd.edxml").write_bytes(data)
    assert [t.state for t in exchange.take_drop_folder(receiver_rt, settle_seconds=0)] == ["already_received"]
    done = sorted(p.name for p in (drop / "done").rglob("*"))
    assert done[-3:] == ["qd (2).edxml", "qd (2).edxml.txt", "qd.edxml"]
    assert send(data).get_json()["code"] == "edxml_already_received"


class RefusingPeer(BaseHTTPRequestHandler):
    """A peer's exchange endpoint that refuses every package, as docsvc does (422, the one JSON error shape)."""

    received: list[bytes] = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        self.received.append(self.rfile.read(int(self.headers["Content-Length"])))
        body = json.dumps({"code": "edxml_untrusted_signer",
                           "message": "Chứng thư số ký gói tin không thuộc tổ chức chứng thực được tin cậy."}).encode()
        self.send_response(422)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_refusal_is_the_recipients_status_and_no_redirect_is_followed(rt, backend, office, tmp_path):
    refusing, redirecting = "000.00.00.A01", "000.00.00.A02"
    with rt.write() as session:
        accounts.set_org_code(session, "UBND-XA", COMMUNE)
    server = ThreadingHTTPServer(("127.0.0.1", 0), RefusingPeer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with Listener("not_found") as elsewhere, Listener("redirect", location=elsewhere.url + "/steal") as redirect:
            for org_code, url in ((refusing, f"http://127.0.0.1:{server.server_port}"), (redirecting, redirect.url)):
                backend.run("peer", "add", org_code, url, "--send-token-env", "T", check=True,
                            extra_env={"T": "dsx_token-from-the-peer"})
            decision = records.sign_and_issue(rt, office, tmp_path, recipients=("UBND-HUYEN", refusing, redirecting))
            with rt.read() as session:
                entries = {e.payload["message_id"]: e.id for e in session.scalars(
                    select(OutboxEntry).where(OutboxEntry.task == "exchange.send_package"))}
                by_org = {m.to_org: m.id for m in session.scalars(select(ExchangeMessage))}
            assert sorted(by_org) == [refusing, redirecting]  # the district is in this installation: no package
            assert pipeline.run_entry(rt, entries[by_org[refusing]])
            with pytest.raises(PeerUnavailable):
                pipeline.run_entry(rt, entries[by_org[redirecting]])
            assert elsewhere.connections == 0 and redirect.connections == 1
    finally:
        server.shutdown()
    assert RefusingPeer.received and RefusingPeer.received[0].startswith(b"<?xml")

    shown = office.clerk.get(f"/api/v1/documents/{decision}").get_json()["workflow"]["exchange"]
    refused, pending = sorted(shown, key=lambda r: r["to"])
    assert (refused["to"], refused["status"], refused["delivered_at"]) == (refusing, "02", None)
    assert "không thuộc tổ chức chứng thực" in refused["description"] and "edxml_untrusted_signer" in refused["description"]
    assert pending["status"] is None and pending["delivery_error"].startswith("Attempt 1:")
    assert "trying again" in pending["delivery_error"]


def test_two_workers_take_each_dropped_file_exactly_once(tmp_path):
    """Two `docsvc edxml drop-folder` rounds at once over the same folder:
    each file is taken by one of them (the claim is a rename), none twice."""
    drop = tmp_path / "drop"
    drop.mkdir()
    names = [f"goi-{n:02d}.edxml" for n in range(24)]
    for name in names:
        (drop / name).write_bytes(b"<edXML><unclosed>")
        os.utime(drop / name, (1_700_000_000, 1_700_000_000))  # settled long ago
    with fresh_installation("embedded", tmp_path) as installation:
        installation.env["DOCSVC_EXCHANGE_DROP_DIR"] = str(drop)
        installation.run("db", "upgrade", check=True)
        env = {**os.environ, **installation.env}
        rounds = [subprocess.Popen([sys.executable, "-m", "docsvc.cli", "edxml", "drop-folder", "--json"], env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        outputs = [r.communicate(timeout=300) for r in rounds]
    assert [r.returncode for r in rounds] == [0, 0], outputs
    taken = [[json.loads(line)["name"] for line in out.splitlines()] for out, _ in outputs]
    assert sorted(taken[0] + taken[1]) == names  # every file once, by one round or the other
    assert sorted(p.name for p in (drop / "refused").glob("*.edxml")) == names
    assert list((drop / ".claimed").iterdir()) == []
