"""Two docsvc installations on this machine exchange a decision in edXML:
the commune issues it, its văn thư builds the package for the Government
Office's installation, which receives it from its configured peer into
its incoming register, fields from the header. Tampered, unknown and
malformed packages are refused with their reason and leave nothing."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from docsvc import accounts
from docsvc.models import Document, DocumentFile, ExchangeMessage, FileRole
from docsvc.signatures.verification import dev_pki
from storage import read_object
from tests.conftest import fresh_installation, prepared_runtime
from tests.integration import conftest as fixtures
from tests.integration import records
from tests.integration.test_api_and_permissions import process_all

COMMUNE, GOVERNMENT_OFFICE = "000.00.00.H41", "000.00.00.G22"


@pytest.fixture
def receiver(backend, tmp_path):
    """The second installation (same profile): the Government Office, trusting the commune's CA."""
    folder = tmp_path / "receiver"
    folder.mkdir()
    with fresh_installation(backend.profile, folder) as installation, prepared_runtime(installation) as rt:
        with rt.write() as session:
            accounts.set_org_code(session, "UBND-XA", GOVERNMENT_OFFICE)
        yield installation, rt


def trust_each_other(sender_rt, receiver_rt) -> None:
    trust = Path(receiver_rt.settings.trust_store_dir)
    trust.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(dev_pki(sender_rt.settings).cert_path("root-ca"), trust / "commune-root-ca.pem")


def test_a_decision_goes_from_one_installation_to_another(rt, backend, office, receiver, tmp_path):
    receiver_installation, receiver_rt = receiver
    with rt.write() as session:
        accounts.set_org_code(session, "UBND-XA", COMMUNE)
    decision = records.sign_and_issue(rt, office, tmp_path)
    trust_each_other(rt, receiver_rt)
    token = receiver_installation.run("peer", "add", COMMUNE, "http://127.0.0.1:8080", check=True).stdout.strip()
    backend.run("peer", "add", GOVERNMENT_OFFICE, "http://127.0.0.1:8081", "--name", "Văn phòng Chính phủ", check=True)

    package = tmp_path / "qd.edxml"
    backend.run("edxml", "build", decision, str(package), "--to", GOVERNMENT_OFFICE, "--position", "Phó Chủ tịch",
                check=True, extra_env={"DOCSVC_SIGNING_PASSPHRASE": records.PASSPHRASE})
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
    process_all(receiver_rt)
    clerk = fixtures.user_maker(receiver_rt, app)("clerk", username="van-thu-vpcp")
    registered = clerk.post(f"/api/v1/documents/{arrived['document_id']}/register", json={})
    assert registered.status_code == 200, registered.get_json()
    entry = registered.get_json()
    assert (entry["number_symbol"], entry["issuing_body"], entry["doc_type"]) == (number_symbol, commune, "Quyết định")
    assert entry["title"] == sent_title(rt, decision)
    assert (entry["register"]["number"], entry["register"]["agency_org_code"]) == (1, GOVERNMENT_OFFICE)

    again = client.post("/api/v1/exchange/packages", data=package.read_bytes(), content_type="application/xml",
                        headers={"Authorization": f"Bearer {token}"})
    assert (again.status_code, again.get_json()["code"]) == (409, "edxml_already_received")

    shown = backend.run("edxml", "show", str(package), "--json", check=True)
    assert '"document_id"' in shown.stdout and number_symbol in shown.stdout


def sent_title(rt, document_id: str) -> str:
    with rt.read() as session:
        return session.get(Document, document_id).title


def test_refused_packages_leave_nothing_behind(rt, backend, office, receiver, tmp_path):
    receiver_installation, receiver_rt = receiver
    with rt.write() as session:
        accounts.set_org_code(session, "UBND-XA", COMMUNE)
    decision = records.sign_and_issue(rt, office, tmp_path)
    trust_each_other(rt, receiver_rt)
    token = receiver_installation.run("peer", "add", COMMUNE, "http://127.0.0.1:8080", check=True).stdout.strip()
    backend.run("peer", "add", GOVERNMENT_OFFICE, "http://127.0.0.1:8081", check=True)
    package = tmp_path / "qd.edxml"
    backend.run("edxml", "build", decision, str(package), "--to", GOVERNMENT_OFFICE, check=True,
                extra_env={"DOCSVC_SIGNING_PASSPHRASE": records.PASSPHRASE})
    data = package.read_bytes()
    before = fixtures.leftovers(receiver_rt)
    client = fixtures.testing_app(receiver_rt).test_client()

    def send(body: bytes, bearer: str = token):
        return client.post("/api/v1/exchange/packages", data=body, content_type="application/xml",
                           headers={"Authorization": f"Bearer {bearer}"})

    tampered = data.replace(b"<edXML:CodeNumber>", b"<edXML:CodeNumber>9", 1)
    cases = [
        (send(tampered), 422, "edxml_signature_invalid"),
        (send(data, "dsx_not-a-peer"), 401, "unauthorized"),
        (send(b"<edXML><unclosed>"), 422, "edxml_malformed"),
        (send(b"<!DOCTYPE x [<!ENTITY a SYSTEM 'file:///etc/passwd'>]><x>&a;</x>"), 422, "edxml_malformed"),
    ]
    for answer, status, code in cases:
        assert (answer.status_code, answer.get_json()["code"]) == (status, code), answer.get_json()
        assert answer.get_json()["message"]
    # The same package through the drop folder's command: the sender must be a peer there too.
    receiver_installation.run("peer", "list", check=True)
    stranger = tmp_path / "stranger.edxml"
    stranger.write_bytes(tampered)
    result = receiver_installation.run("edxml", "receive", str(stranger), "--json")
    assert result.returncode == 2 and "edxml_signature_invalid" in result.stderr
    assert fixtures.leftovers(receiver_rt) == before
    with receiver_rt.read() as session:
        assert session.scalars(select(ExchangeMessage)).all() == []
        assert session.scalars(select(DocumentFile).where(DocumentFile.role == FileRole.PACKAGE)).all() == []
    assert hashlib.sha256(data).hexdigest()  # the genuine package is still receivable
    assert send(data).status_code == 201
