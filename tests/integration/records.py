"""A commune office with keys, and the records it keeps: what the `office`
fixture sets up and what the tests of records add to it, for one test or,
through the module-scoped `populated` fixture, for a whole module."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from docsvc import accounts
from docsvc.runtime import Runtime
from docsvc.signatures.verification import create_dev_pki
from tests.conftest import Installation
from tests.integration.test_api_and_permissions import process_all
from tests.pdfs import make_pdf, sample_paragraphs
from tests.signing.helpers import handwritten_signature_png, seal_png

PASSPHRASE = "docsvc-dev"  # the development PKI's
CITIZEN = "001203004567"


class Office(NamedTuple):
    """The people of a commune office, and the district it sends to (unpacked as a tuple by most tests)."""

    drafter: Any  # each an ApiUser (tests/integration/conftest.py): an official who drafts,
    leader: Any  # the vice-chairman, who signs with his key,
    clerk: Any  # the văn thư, who registers, numbers and seals,
    district: Any  # and the district's văn thư, who receives


def build_office(rt: Runtime, installation: Installation, make_user, folder: Path) -> Office:
    """The development PKI, the district, the four people, and the leader's and the agency's keys."""
    create_dev_pki(rt.settings)
    with rt.write() as session:
        accounts.add_agency(session, "UBND-HUYEN", "UBND huyện Quảng Trạch", level="district")
    office = Office(
        drafter=make_user("official", username="chuyen-vien"),
        leader=make_user("official", username="pho-chu-tich"),
        clerk=make_user("clerk", username="van-thu"),
        district=make_user("clerk", agency="UBND-HUYEN", username="van-thu-huyen"),
    )
    (folder / "chu-ky.png").write_bytes(handwritten_signature_png())
    (folder / "con-dau.png").write_bytes(seal_png())
    pki = rt.settings.pki_dir
    installation.run("key", "add", "--user", "pho-chu-tich", "--pkcs12", f"{pki}/official.p12",
                     "--image", str(folder / "chu-ky.png"), check=True)
    installation.run("key", "add", "--agency", "UBND-XA", "--pkcs12", f"{pki}/agency.p12",
                     "--image", str(folder / "con-dau.png"), check=True)
    return office


def draft(user, folder: Path, title: str = "Quyết định phê duyệt kế hoạch cải cách hành chính năm 2026") -> dict:
    pdf = make_pdf(folder / "du-thao.pdf", title, sample_paragraphs("quang-trach-cchc-7-thang-2021.txt")[:3])
    response = user.post("/api/v1/outgoing?filename=du-thao.pdf&title=" + title, data=pdf.read_bytes(),
                         content_type="application/pdf")
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def register_letter(rt: Runtime, clerk, folder: Path, name: str) -> dict:
    pdf = make_pdf(folder / f"{name}.pdf", "Công văn về cải cách hành chính",
                   sample_paragraphs("quang-trach-cchc-7-thang-2021.txt")[:2])
    uploaded = clerk.post("/api/v1/documents", data={"file": (pdf.open("rb"), f"{name}.pdf"), "title": name})
    assert uploaded.status_code == 202, uploaded.get_json()
    process_all(rt)
    document_id = uploaded.get_json()["id"]
    registered = clerk.post(f"/api/v1/documents/{document_id}/register",
                            json={"title": f"V/v {name}", "issuing_body": "UBND tỉnh Quảng Bình", "doc_type": "Công văn"})
    assert registered.status_code == 200, registered.get_json()
    return registered.get_json()


def issue_ecopy(clerk, document_id: str, kind: str = "certified_copy") -> dict:
    issued = clerk.post("/api/v1/ecopies", json={"document_id": document_id, "citizen_id": CITIZEN,
                                                 "passphrase": PASSPHRASE, "kind": kind})
    assert issued.status_code == 201, issued.get_json()
    return issued.get_json()


def sign_and_issue(rt: Runtime, office: Office, folder: Path, recipients: tuple[str, ...] = ("UBND-HUYEN",)) -> str:
    """A decision drafted, signed by the leader, numbered, sealed and sent to
    the district (or `recipients`: agency codes, peers' organization codes): its id."""
    doc = draft(office.drafter, folder)
    process_all(rt)
    url = f"/api/v1/documents/{doc['id']}"
    submitted = office.drafter.post(f"{url}/submit", json={"approver": "pho-chu-tich", "recipients": list(recipients)})
    assert submitted.status_code == 200, submitted.get_json()
    signed = office.leader.post(f"{url}/sign", json={"passphrase": PASSPHRASE})
    assert signed.status_code == 200, signed.get_json()
    issued = office.clerk.post(f"{url}/issue", json={"type_code": "QĐ", "passphrase": PASSPHRASE})
    assert issued.status_code == 200, issued.get_json()
    return doc["id"]


@dataclass
class Populated:
    """An installation holding one record of each kind; see the `populated` fixture."""

    installation: Installation
    rt: Runtime
    office: Office
    letter: dict  # an incoming letter from the province, registered (incoming number 1)
    ecopy: dict  # the certified e-copy of it (a document of its own): as the API issued it
    decision: str  # an outgoing decision, signed, sealed and issued to the district


def populate(installation: Installation, rt: Runtime, make_user, folder: Path) -> Populated:
    office = build_office(rt, installation, make_user, folder)
    letter = register_letter(rt, office.clerk, folder, "thu-tinh")
    ecopy = issue_ecopy(office.clerk, letter["id"])
    decision = sign_and_issue(rt, office, folder)
    return Populated(installation, rt, office, letter, ecopy, decision)
