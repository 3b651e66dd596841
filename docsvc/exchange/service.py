"""Sending and receiving edXML packages, and the peers packages come from.

Sending: an issued outgoing document becomes a package for one receiving
organization: the header from its register fields and its agency, the
issued (sealed) PDF attached, the whole signed with the agency's seal key.

Receiving: a package is accepted only from a configured peer (its token
names it, and its header's From must be that peer's organization code),
only when its XML signature chains to this installation's trust store and
the PDF's own signatures are not invalid, and only once. Then the PDF and
the package are stored and the incoming document recorded in one go: its
register fields are the header's (the clerk registers it, and OCR guesses
nothing the header gave). A refusal leaves nothing behind.
"""
from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from docsvc import audit, documents, signatures, validation
from docsvc.errors import Conflict, InvalidInput, NotFound
from docsvc.exchange import edxml, statuses, xmlsig
from docsvc.exchange.status import StatusCode
from docsvc.localtime import VIETNAM
from docsvc.models import (
    Agency,
    CredentialOwner,
    Document,
    DocumentFile,
    DocumentKind,
    ExchangeDirection,
    ExchangeMessage,
    ExchangePeer,
    FileRole,
    User,
    Workflow,
)
from docsvc.permissions import require_issuer
from docsvc.runtime import Runtime
from docsvc.stored import store_then_record
from storage import read_object

PACKAGE_MEDIA_TYPE = "application/xml"


class UnknownPeer(edxml.PackageRefused):
    code = "edxml_unknown_peer"
    http_status = 403


class NotAddressedHere(edxml.PackageRefused):
    code = "edxml_not_addressed_here"


class AlreadyReceived(Conflict):
    code = "edxml_already_received"


class InvalidPdfSignature(edxml.PackageRefused):
    code = "edxml_pdf_signature_invalid"


# --- sending ---------------------------------------------------------------------


@dataclass(frozen=True)
class SendOptions:
    """What the register does not hold and the văn thư says when sending."""

    business: edxml.BusinessType = edxml.BusinessType.NEW
    reason: str = ""
    competence: str = ""  # default: "TM. " + the agency's name in capitals
    position: str = ""
    due_date: date | None = None
    priority: int = 0
    copies: int = 1


def organization(agency: Agency) -> edxml.Organization:
    return edxml.Organization(agency.org_code or "", agency.name, in_charge=agency.name, address=agency.address,
                              email=agency.email, telephone=agency.telephone)


def _receiver(session: Session, org_code: str) -> edxml.Organization:
    peer = session.scalar(select(ExchangePeer).where(ExchangePeer.org_code == org_code))
    local = session.scalar(select(Agency).where(Agency.org_code == org_code))
    if local is not None:
        return organization(local)
    if peer is None:
        raise NotFound(f"{org_code} is neither an agency here nor a peer (docsvc peer add).")
    return edxml.Organization(org_code, peer.name or org_code, in_charge=peer.name or org_code)


def _header(session: Session, document: Document, to: edxml.Organization, options: SendOptions) -> edxml.Header:
    agency = document.agency
    if not agency.org_code:
        raise InvalidInput(f"Agency {agency.code} has no organization code yet (docsvc agency set-org-code).")
    number, _, notation = (document.number_symbol or "").partition("/")
    approver = session.get(User, document.approver_id) if document.approver_id else None
    places = [to.name] + [_place_name(session, code) for code in document.recipients or []]
    return edxml.Header(
        sender=organization(agency), receivers=(to,), code_number=number, code_notation=notation,
        place=agency.place, promulgation_date=document.issued_date, type_code=_type_code(document),  # type: ignore[arg-type]
        type_name=document.doc_type or "", subject=document.title,
        signer=edxml.Signer(options.competence or f"TM. {agency.name.upper()}", options.position,
                            approver.full_name or approver.username if approver else ""),
        traces=(edxml.Trace(agency.org_code, datetime.now(VIETNAM).replace(tzinfo=None, microsecond=0)),),
        business_type=options.business, business_reason=options.reason, due_date=options.due_date,
        priority=options.priority, page_amount=document.page_count, promulgation_amount=options.copies,
        to_places=tuple(dict.fromkeys(places)),
    )


def _place_name(session: Session, code: str) -> str:
    """A recipient (nơi nhận) by name: an agency here by its code, or a peer by its organization code."""
    agency = session.scalar(select(Agency).where(Agency.code == code))
    if agency is not None:
        return agency.name
    peer = session.scalar(select(ExchangePeer).where(ExchangePeer.org_code == code))
    return (peer.name or code) if peer is not None else code


def _type_code(document: Document) -> str:
    """The abbreviation in its notation (QĐ in 15/QĐ-UBND; none for a công văn)."""
    notation = (document.number_symbol or "").partition("/")[2]
    return notation.split("-")[0] if notation.count("-") else ""


def build(rt: Runtime, actor: User, document_id: str, to_org: str, secret: str,
          options: SendOptions = SendOptions()) -> bytes:
    """The signed package of an issued document for one receiving organization."""
    require_issuer(actor)
    to_org = validation.org_code(to_org)
    with rt.read() as session:
        document = documents.get_document(session, actor, document_id)
        if document.workflow_status != Workflow.ISSUED:
            raise InvalidInput("Only an issued document is sent to other agencies.")
        header = package_header(session, document, to_org, options)
        issued = document.latest(FileRole.SIGNED)
        if issued is None:
            raise Conflict("The issued document has no sealed file; nothing was sent.")
        credential = signatures.credential_for(session, CredentialOwner.AGENCY, document.agency_id)
        key_of, expected = issued.storage_key, issued.sha256
    pdf = read_object(rt.store, key_of)
    if hashlib.sha256(pdf).hexdigest() != expected:  # read_object checks too; the package must carry exactly the record
        raise Conflict("The issued file read back is not the one recorded; nothing was sent.")
    with signatures.open_key(credential, secret) as key:
        data = signed_package(header, pdf, key)
    with rt.write() as session:
        record_message(session, ExchangeDirection.SENT, document_id, header, to_org)
        audit.record(session, actor, "exchange.build", "document", document_id,
                     {"to": to_org, "document_id": header.document_id, "business": int(header.business_type),
                      "sha256": hashlib.sha256(data).hexdigest()})
    return data


def package_header(session: Session, document: Document, to_org: str, options: SendOptions = SendOptions()
                   ) -> edxml.Header:
    return _header(session, document, _receiver(session, to_org), options)


def signed_package(header: edxml.Header, pdf: bytes, key) -> bytes:
    """The package of `header` carrying `pdf`, signed with the agency's (open) key."""
    attachment = edxml.Attachment(f"{header.number_symbol.replace('/', '-')}.pdf", "application/pdf", pdf)
    return edxml.to_bytes(xmlsig.sign(edxml.message_tree(edxml.Package(header, (attachment,))), key))


def record_message(session: Session, direction: ExchangeDirection, document_id: str, header: edxml.Header,
                    to_org: str) -> ExchangeMessage:
    row = session.scalar(select(ExchangeMessage).where(
        ExchangeMessage.direction == direction, ExchangeMessage.edxml_document_id == header.document_id,
        ExchangeMessage.from_org == header.sender.org_id, ExchangeMessage.to_org == to_org))
    if row is None:
        row = ExchangeMessage(direction=direction, document_id=document_id, edxml_document_id=header.document_id,
                              from_org=header.sender.org_id, to_org=to_org, status_description="")
        session.add(row)
    row.business_type = int(header.business_type)
    session.flush()
    return row


# --- reading and receiving -------------------------------------------------------


def _limits(rt: Runtime) -> tuple[int, int]:
    return rt.settings.edxml_max_bytes, min(rt.settings.edxml_max_bytes, rt.settings.max_upload_bytes)


def inspect(rt: Runtime, data: bytes) -> dict:
    """What `docsvc edxml show` prints: the header, the attachments and the
    signature's verdict (a package is shown even when its signature fails)."""
    max_bytes, max_attachment = _limits(rt)
    root = edxml.parse_bytes(data, max_bytes)
    try:
        verified = xmlsig.verify(root, rt.settings.trust_store_dir)
        signature = {"valid": True, "signer": verified.signer, "code": "", "reason": ""}
    except edxml.PackageRefused as exc:
        signature = {"valid": False, "signer": "", "code": exc.code, "reason": exc.message}
    package = edxml.read(root, max_attachment)
    return {"header": edxml.header_json(package.header), "signature": signature,
            "attachments": [{"name": a.name, "content_type": a.content_type, "size": len(a.data), "sha256": a.sha256}
                            for a in package.attachments]}


@dataclass(frozen=True)
class Received:
    document_id: str
    agency_code: str
    edxml_document_id: str
    status: str
    pdf_verdict: str
    signer: str

    def as_dict(self) -> dict:
        return {"document_id": self.document_id, "agency": self.agency_code, "edxml_document_id": self.edxml_document_id,
                "status": self.status, "pdf_verdict": self.pdf_verdict, "signer": self.signer}


def receive(rt: Runtime, data: bytes, *, peer_org: str | None = None) -> Received:
    """Check a package and record the incoming document it carries.

    `peer_org` is the organization the sending peer authenticated as (the
    API); packages from the drop folder or the command line name their
    sender in the header, which must be a configured peer all the same."""
    max_bytes, max_attachment = _limits(rt)
    verified = xmlsig.verify(edxml.parse_bytes(data, max_bytes), rt.settings.trust_store_dir)
    package = edxml.read(verified.signed, max_attachment)  # only what the signature covers
    header, pdf = package.header, package.pdf()
    with rt.read() as session:
        agency_id, agency_code, to_org = _check_sender_and_receiver(session, header, peer_org)
    verdict = _check_pdf(rt, pdf.data)
    with store_then_record(rt) as store:
        stored_pdf = store.put(io.BytesIO(pdf.data), "application/pdf", sha256=pdf.sha256, size=len(pdf.data))
        stored_package = store.put(io.BytesIO(data), PACKAGE_MEDIA_TYPE)
        with rt.write() as session:
            document_id = _record_incoming(session, agency_id, package, stored_pdf, stored_package)
            message = record_message(session, ExchangeDirection.RECEIVED, document_id, header, to_org)
            statuses.answer_arrival(session, message)
            audit.record(session, None, "exchange.receive", "document", document_id,
                         {"from": header.sender.org_id, "document_id": header.document_id, "pdf_verdict": verdict,
                          "signer": verified.signer}, actor_label=f"peer:{header.sender.org_id}")
    return Received(document_id, agency_code, header.document_id, StatusCode.ARRIVED.value, verdict, verified.signer)


def receive_file(rt: Runtime, data: bytes) -> Received:
    """A package that arrived as a file (the drop folder, `docsvc edxml
    receive`): no connection to answer on, so a refusal goes to the sender
    as status 02 when its header names a configured peer."""
    try:
        return receive(rt, data)
    except edxml.PackageRefused as exc:
        statuses.refuse(rt, data, f"{exc.message} ({exc.code})")
        raise


def _check_sender_and_receiver(session: Session, header: edxml.Header, peer_org: str | None) -> tuple[int, str, str]:
    sender = header.sender.org_id
    if peer_org is not None and sender != peer_org:
        raise UnknownPeer(f"The package says it is from {sender}, but the peer that sent it is {peer_org}.")
    if session.scalar(select(ExchangePeer.id).where(ExchangePeer.org_code == sender)) is None:
        raise UnknownPeer(f"{sender} is not a configured peer: packages are accepted only from peers (docsvc peer add).")
    for receiver in header.receivers:
        agency = session.scalar(select(Agency).where(Agency.org_code == receiver.org_id))
        if agency is not None:
            break
    else:
        raise NotAddressedHere("The package is addressed to no agency of this installation "
                               f"({', '.join(r.org_id for r in header.receivers)}).")
    already = session.scalar(select(ExchangeMessage.document_id).where(
        ExchangeMessage.direction == ExchangeDirection.RECEIVED, ExchangeMessage.edxml_document_id == header.document_id,
        ExchangeMessage.from_org == sender, ExchangeMessage.to_org == receiver.org_id))
    if already is not None and header.business_type == edxml.BusinessType.NEW:
        raise AlreadyReceived(f"This package ({header.document_id}) was already received, as document {already}.")
    return agency.id, agency.code, receiver.org_id


def _check_pdf(rt: Runtime, pdf: bytes) -> str:
    """The PDF's own signatures: an invalid one refuses the package; "indeterminate"
    (a root or revocation answer this installation lacks) is recorded, not refused."""
    if not pdf.startswith(b"%PDF-"):
        raise edxml.MalformedPackage("The package's PDF attachment is not a PDF.")
    report = signatures.verify(rt.settings, io.BytesIO(pdf))
    if report.verdict == "invalid":
        reasons = "; ".join([r.message for r in report.reasons]
                            + [r.message for s in report.signatures for r in s.reasons])[:500]
        raise InvalidPdfSignature(f"A signature of the attached PDF is invalid{': ' + reasons if reasons else ''}.")
    return str(report.verdict)


def _record_incoming(session: Session, agency_id: int, package: edxml.Package, stored_pdf, stored_package) -> str:
    header = package.header
    fields = {"summary": header.subject, "issuing_body": header.sender.name, "number_symbol": header.number_symbol,
              "issued_date": header.promulgation_date.isoformat(), "doc_type": header.type_name or None}
    document = Document(
        agency_id=agency_id, kind=DocumentKind.INCOMING, title=header.subject[: validation.TITLE],
        number_symbol=header.number_symbol[: validation.NUMBER_SYMBOL],
        issuing_body=header.sender.name[: validation.ISSUING_BODY], issued_date=header.promulgation_date,
        doc_type=(header.type_name or None) and header.type_name[: validation.DOC_TYPE], page_count=header.page_amount,
        deadline=header.due_date, suggestions=fields,
    )
    name = header.number_symbol.replace("/", "-")
    document.files.append(DocumentFile.of(FileRole.ORIGINAL, stored_pdf, f"{name}.pdf"))
    document.files.append(DocumentFile.of(FileRole.PACKAGE, stored_package, f"{name}.edxml",
                                          media_type=PACKAGE_MEDIA_TYPE))
    session.add(document)
    session.flush()
    documents.enqueue_processing(session, document.id)
    return document.id


def sent_statuses(session: Session, document_id: str) -> list[dict]:
    """Each organization a document was sent to in edXML, with what it reported."""
    rows = session.scalars(select(ExchangeMessage).where(
        ExchangeMessage.direction == ExchangeDirection.SENT, ExchangeMessage.document_id == document_id)
        .order_by(ExchangeMessage.to_org))
    return [statuses.statuses_json(r) for r in rows]
