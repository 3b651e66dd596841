"""edXML messages (QCVN 102:2016/BTTTT, amended by Circular 01/2022/TT-BTTTT):
the header of a document sent between agencies, its PDF as a base64
attachment, written and read back. No database, no Flask: `build` turns a
`Package` into bytes, `read` turns bytes from anywhere into a `Package`.

Layout (as the national SDK's sample edoc_new.edxml has it):

    <edXML xmlns="…QCVN_102_2016">
      <edXML:edXMLEnvelope>
        <edXML:edXMLHeader> MessageHeader, TraceHeaderList </edXML:edXMLHeader>
        <edXML:edXMLBody> edXMLManifest with one Reference per attachment </edXML:edXMLBody>
      </edXML:edXMLEnvelope>
      <AttachmentEncoded> Attachment: ContentId, name, type, base64 </AttachmentEncoded>
      <ds:Signature> (docsvc.exchange.xmlsig, over the whole message) </ds:Signature>
    </edXML>

Input is hostile until proven otherwise: a size cap before parsing, no DTD,
no entities, no network, no huge-tree mode, and each field checked with a
reason that names it.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import IntEnum

from lxml import etree

from docsvc import validation
from docsvc.errors import DocsvcError, InvalidOrgCode

NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
XLINK = "http://www.w3.org/1999/xlink"
E = f"{{{NS}}}"
DATE_FORMAT = "%Y/%m/%d"  # PromulgationDate, DueDate and DocumentId's date part
TIME_FORMAT = "%Y/%m/%d %H:%M:%S"  # TraceHeader Timestamp
MAX_ATTACHMENTS = 20
MAX_FIELD = 2000  # any one text field: a Subject is a line, not a book
MAX_RECEIVERS = 200


class BusinessType(IntEnum):
    """TraceHeaderList/Bussiness/BussinessDocType (spelled so in the standard)."""

    NEW = 0
    REVOCATION = 1
    UPDATE = 2
    REPLACEMENT = 3


class PackageRefused(DocsvcError):
    """A package that is not accepted; the sender is told status 02 with this reason."""

    code = "edxml_refused"
    http_status = 422


class MalformedPackage(PackageRefused):
    code = "edxml_malformed"


class PackageTooLarge(PackageRefused):
    code = "edxml_too_large"
    http_status = 413


@dataclass(frozen=True)
class Organization:
    org_id: str
    name: str
    in_charge: str = ""
    address: str = ""
    email: str = ""
    telephone: str = ""
    fax: str = ""
    website: str = ""


@dataclass(frozen=True)
class Signer:
    competence: str  # "TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "TL. BỘ TRƯỞNG"
    position: str
    full_name: str


@dataclass(frozen=True)
class ResponseFor:
    """The document this one answers."""

    org_id: str
    code: str
    promulgation_date: date
    document_id: str


@dataclass(frozen=True)
class Trace:
    org_id: str
    timestamp: datetime


@dataclass(frozen=True)
class Attachment:
    name: str
    content_type: str
    data: bytes
    content_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class Header:
    sender: Organization
    receivers: tuple[Organization, ...]
    code_number: str  # "15"
    code_notation: str  # "QĐ-UBND"
    place: str
    promulgation_date: date
    type_code: str  # the abbreviation, "QĐ" ("" for a công văn)
    type_name: str  # "Quyết định"
    subject: str  # trích yếu
    signer: Signer
    traces: tuple[Trace, ...]
    business_type: BusinessType = BusinessType.NEW
    business_reason: str = ""
    content: str = ""
    due_date: date | None = None
    priority: int = 0  # 0 thường, 1 khẩn, 2 thượng khẩn, 3 hỏa tốc
    page_amount: int | None = None
    promulgation_amount: int | None = None  # number of copies
    to_places: tuple[str, ...] = ()
    response_for: ResponseFor | None = None

    @property
    def number_symbol(self) -> str:
        return f"{self.code_number}/{self.code_notation}"

    @property
    def document_id(self) -> str:
        """<OrganId>,<yyyy/mm/dd>,<number>/<notation>: how the exchange names the document."""
        return f"{self.sender.org_id},{self.promulgation_date.strftime(DATE_FORMAT)},{self.number_symbol}"


@dataclass(frozen=True)
class Package:
    header: Header
    attachments: tuple[Attachment, ...]

    def pdf(self) -> Attachment:
        """The document itself: its first PDF attachment."""
        for attachment in self.attachments:
            if attachment.content_type == "application/pdf":
                return attachment
        raise PackageRefused("The package carries no PDF of the document.")


# --- writing ---------------------------------------------------------------------


def _add(parent: etree._Element, name: str, text: str | int | None = None) -> etree._Element:
    element = etree.SubElement(parent, E + name)
    if text is not None:
        element.text = str(text)
    return element


def _response_for(parent: etree._Element, response_for: ResponseFor) -> None:
    """The document answered, as a package's or a status message's ResponseFor."""
    answered = _add(parent, "ResponseFor")
    _add(answered, "OrganId", response_for.org_id)
    _add(answered, "Code", response_for.code)
    _add(answered, "PromulgationDate", response_for.promulgation_date.strftime(DATE_FORMAT))
    _add(answered, "DocumentId", response_for.document_id)


def _organization(parent: etree._Element, name: str, org: Organization) -> None:
    element = _add(parent, name)
    for tag, value in (("OrganId", org.org_id), ("OrganizationInCharge", org.in_charge),
                       ("OrganName", org.name), ("OrganAdd", org.address), ("Email", org.email),
                       ("Telephone", org.telephone), ("Fax", org.fax), ("Website", org.website)):
        _add(element, tag, value)


def _message_header(parent: etree._Element, header: Header) -> None:
    message = _add(parent, "MessageHeader")
    _organization(message, "From", header.sender)
    for receiver in header.receivers:
        _organization(message, "To", receiver)
    code = _add(message, "Code")
    _add(code, "CodeNumber", header.code_number)
    _add(code, "CodeNotation", header.code_notation)
    promulgation = _add(message, "PromulgationInfo")
    _add(promulgation, "Place", header.place)
    _add(promulgation, "PromulgationDate", header.promulgation_date.strftime(DATE_FORMAT))
    document_type = _add(message, "DocumentType")
    _add(document_type, "Type", header.type_code)
    _add(document_type, "TypeName", header.type_name)
    _add(message, "Subject", header.subject)
    _add(message, "Content", header.content)
    signer = _add(message, "SignerInfo")
    _add(signer, "Competence", header.signer.competence)
    _add(signer, "Position", header.signer.position)
    _add(signer, "FullName", header.signer.full_name)
    _add(message, "DueDate", header.due_date.strftime(DATE_FORMAT) if header.due_date else "")
    places = _add(message, "ToPlaces")
    for place in header.to_places:
        _add(places, "Place", place)
    other = _add(message, "OtherInfo")
    _add(other, "Priority", header.priority)
    _add(other, "PromulgationAmount", header.promulgation_amount if header.promulgation_amount is not None else "")
    _add(other, "PageAmount", header.page_amount if header.page_amount is not None else "")
    if header.response_for is not None:
        _response_for(message, header.response_for)
    _add(message, "DocumentId", header.document_id)


def _trace_list(parent: etree._Element, header: Header) -> None:
    traces = _add(parent, "TraceHeaderList")
    for trace in header.traces:
        element = _add(traces, "TraceHeader")
        _add(element, "OrganId", trace.org_id)
        _add(element, "Timestamp", trace.timestamp.strftime(TIME_FORMAT))
    business = _add(traces, "Bussiness")
    _add(business, "BussinessDocType", int(header.business_type))
    _add(business, "BussinessDocReason", header.business_reason)
    _add(business, "DocumentId", header.document_id)


def message_tree(package: Package) -> etree._Element:
    """The unsigned message (docsvc.exchange.xmlsig signs it)."""
    # As the SDK's sample writes it: the root in the default namespace, the
    # envelope's elements prefixed edXML:, the attachments unprefixed.
    root = etree.Element(E + "edXML", nsmap={None: NS, "xlink": XLINK})
    envelope = etree.SubElement(root, E + "edXMLEnvelope", nsmap={"edXML": NS})
    header = _add(envelope, "edXMLHeader")
    _message_header(header, package.header)
    _trace_list(header, package.header)
    manifest = _add(_add(envelope, "edXMLBody"), "edXMLManifest")
    manifest.set("version", "1.0")
    encoded = _add(root, "AttachmentEncoded")
    for attachment in package.attachments:
        reference = _add(manifest, "Reference")
        reference.set(f"{{{XLINK}}}href", f"cid:{attachment.content_id}")
        reference.set(f"{{{XLINK}}}type", "simple")
        _add(reference, "AttachmentName", attachment.name)
        _add(reference, "ContentType", attachment.content_type)
        _add(reference, "ContentId", attachment.content_id)
        part = _add(encoded, "Attachment")
        _add(part, "ContentId", attachment.content_id)
        _add(part, "AttachmentName", attachment.name)
        _add(part, "ContentType", attachment.content_type)
        _add(part, "ContentTransferEncoded", base64.b64encode(attachment.data).decode("ascii"))
    return root


# --- reading ---------------------------------------------------------------------


def too_large(max_bytes: int) -> PackageTooLarge:
    return PackageTooLarge(f"The package is larger than {max_bytes} bytes.")


def parse_bytes(data: bytes, max_bytes: int) -> etree._Element:
    """The message's root element, or a refusal: too large, a DTD, not XML, not edXML."""
    if len(data) > max_bytes:
        raise too_large(max_bytes)
    # A DTD is where entity expansion and external fetches live; edXML has none.
    if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
        raise MalformedPackage("The package declares a DTD or entities; edXML has neither.")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                             remove_comments=False, remove_pis=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise MalformedPackage(f"The package is not well-formed XML ({exc.msg}).") from None
    if root.getroottree().docinfo.doctype:
        raise MalformedPackage("The package declares a DTD; edXML has none.")
    if root.tag != E + "edXML":
        raise MalformedPackage("The package is not an edXML message (its root is not edXML in the QCVN 102 namespace).")
    return root


def _one(parent: etree._Element, path: str, what: str) -> etree._Element:
    found = parent.findall(path, {"e": NS})
    if len(found) != 1:
        raise MalformedPackage(f"The package needs exactly one {what} ({len(found)} found).")
    return found[0]


def _text(parent: etree._Element, path: str, what: str, *, required: bool = True) -> str:
    found = parent.findall(path, {"e": NS})
    if len(found) > 1:
        raise MalformedPackage(f"The package has {len(found)} {what} fields; it needs one.")
    value = (found[0].text or "").strip() if found else ""
    if required and not value:
        raise MalformedPackage(f"The package has no {what}.")
    if len(value) > MAX_FIELD or not validation.is_storable(value):
        raise MalformedPackage(f"The {what} of the package is too long or holds characters text cannot.")
    return " ".join(value.split())


def _date(parent: etree._Element, path: str, what: str, *, required: bool = True) -> date | None:
    raw = _text(parent, path, what, required=required)
    if not raw:
        return None
    try:
        value = datetime.strptime(raw, DATE_FORMAT).date()
    except ValueError:
        raise MalformedPackage(f"The {what} must be a date written yyyy/mm/dd (found {raw[:40]!r}).") from None
    if not validation.MIN_DATE <= value <= validation.MAX_DATE:
        raise MalformedPackage(f"The {what} {raw!r} is outside the dates a register holds.")
    return value


def _number(parent: etree._Element, path: str, what: str, maximum: int) -> int | None:
    raw = _text(parent, path, what, required=False)
    if not raw:
        return None
    if not raw.isdigit() or int(raw) > maximum:
        raise MalformedPackage(f"The {what} must be a whole number from 0 to {maximum} (found {raw[:20]!r}).")
    return int(raw)


def _org_code(raw: str, what: str) -> str:
    try:
        return validation.org_code(raw)
    except InvalidOrgCode:
        raise MalformedPackage(f"The {what} organization code {raw[:40]!r} is not an organization code.") from None


def _read_organization(element: etree._Element, what: str) -> Organization:
    return Organization(
        org_id=_org_code(_text(element, "e:OrganId", f"{what} OrganId"), what),
        name=_text(element, "e:OrganName", f"{what} OrganName"),
        in_charge=_text(element, "e:OrganizationInCharge", f"{what} OrganizationInCharge", required=False),
        address=_text(element, "e:OrganAdd", f"{what} OrganAdd", required=False),
        email=_text(element, "e:Email", f"{what} Email", required=False),
        telephone=_text(element, "e:Telephone", f"{what} Telephone", required=False),
        fax=_text(element, "e:Fax", f"{what} Fax", required=False),
        website=_text(element, "e:Website", f"{what} Website", required=False),
    )


def _read_traces(header: etree._Element) -> tuple[Trace, ...]:
    traces = []
    for element in header.findall("e:TraceHeaderList/e:TraceHeader", {"e": NS})[:MAX_RECEIVERS]:
        raw = _text(element, "e:Timestamp", "TraceHeader Timestamp")
        try:
            at = datetime.strptime(raw, TIME_FORMAT)
        except ValueError:
            raise MalformedPackage(f"A TraceHeader Timestamp must be yyyy/mm/dd hh:mm:ss (found {raw[:40]!r}).") from None
        traces.append(Trace(_org_code(_text(element, "e:OrganId", "TraceHeader OrganId"), "trace"), at))
    return tuple(traces)


def _read_response_for(message: etree._Element) -> ResponseFor | None:
    found = message.findall("e:ResponseFor", {"e": NS})
    if not found:
        return None
    return _response_for_of(found[0])


def _response_for_of(element: etree._Element) -> ResponseFor:
    """A ResponseFor element's fields (a package's or a status message's), each checked."""
    return ResponseFor(
        org_id=_org_code(_text(element, "e:OrganId", "ResponseFor OrganId"), "answered"),
        code=_text(element, "e:Code", "ResponseFor Code"),
        promulgation_date=_date(element, "e:PromulgationDate", "ResponseFor PromulgationDate"),  # type: ignore[arg-type]
        document_id=_text(element, "e:DocumentId", "ResponseFor DocumentId"),
    )


def _read_business(header: etree._Element) -> tuple[BusinessType, str]:
    value = _number(header, "e:TraceHeaderList/e:Bussiness/e:BussinessDocType", "BussinessDocType", 9)
    try:
        business = BusinessType(value or 0)
    except ValueError:
        raise MalformedPackage(f"BussinessDocType {value} is none of 0 new, 1 revocation, 2 update, 3 replacement.") from None
    return business, _text(header, "e:TraceHeaderList/e:Bussiness/e:BussinessDocReason", "BussinessDocReason",
                           required=False)


def read_header(root: etree._Element) -> Header:
    header = _one(root, "e:edXMLEnvelope/e:edXMLHeader", "edXMLHeader")
    message = _one(header, "e:MessageHeader", "MessageHeader")
    receivers = message.findall("e:To", {"e": NS})
    if not receivers or len(receivers) > MAX_RECEIVERS:
        raise MalformedPackage(f"The package needs from 1 to {MAX_RECEIVERS} receivers (To).")
    business, reason = _read_business(header)
    parsed = Header(
        sender=_read_organization(_one(message, "e:From", "From"), "sender"),
        receivers=tuple(_read_organization(r, "receiver") for r in receivers),
        code_number=_text(message, "e:Code/e:CodeNumber", "CodeNumber"),
        code_notation=_text(message, "e:Code/e:CodeNotation", "CodeNotation"),
        place=_text(message, "e:PromulgationInfo/e:Place", "Place", required=False),
        promulgation_date=_date(message, "e:PromulgationInfo/e:PromulgationDate", "PromulgationDate"),  # type: ignore[arg-type]
        type_code=_text(message, "e:DocumentType/e:Type", "DocumentType Type", required=False),
        type_name=_text(message, "e:DocumentType/e:TypeName", "DocumentType TypeName", required=False),
        subject=_text(message, "e:Subject", "Subject"),
        content=_text(message, "e:Content", "Content", required=False),
        signer=Signer(
            competence=_text(message, "e:SignerInfo/e:Competence", "SignerInfo Competence", required=False),
            position=_text(message, "e:SignerInfo/e:Position", "SignerInfo Position", required=False),
            full_name=_text(message, "e:SignerInfo/e:FullName", "SignerInfo FullName"),
        ),
        due_date=_date(message, "e:DueDate", "DueDate", required=False),
        priority=_number(message, "e:OtherInfo/e:Priority", "Priority", 3) or 0,
        page_amount=_number(message, "e:OtherInfo/e:PageAmount", "PageAmount", validation.MAX_PAGE),
        promulgation_amount=_number(message, "e:OtherInfo/e:PromulgationAmount", "PromulgationAmount", 100_000),
        to_places=tuple(_text(p, ".", "ToPlaces Place") for p in message.findall("e:ToPlaces/e:Place", {"e": NS})
                        [:MAX_RECEIVERS]),
        response_for=_read_response_for(message),
        traces=_read_traces(header),
        business_type=business,
        business_reason=reason,
    )
    stated = _text(message, "e:DocumentId", "DocumentId")
    if stated != parsed.document_id:
        raise MalformedPackage(f"The DocumentId {stated[:80]!r} does not match the sender, date and code "
                               f"({parsed.document_id!r}).")
    return parsed


def read_addresses(root: etree._Element) -> tuple[str, tuple[str, ...], str]:
    """Only who a package says it is from and for, and its DocumentId: enough
    to answer a refused package (one whose other fields may be what is wrong)."""
    message = _one(root, "e:edXMLEnvelope/e:edXMLHeader/e:MessageHeader", "MessageHeader")
    sender = _org_code(_text(message, "e:From/e:OrganId", "sender OrganId"), "sender")
    receivers = tuple(_org_code(_text(r, "e:OrganId", "receiver OrganId"), "receiver")
                      for r in message.findall("e:To", {"e": NS})[:MAX_RECEIVERS])
    return sender, receivers, _text(message, "e:DocumentId", "DocumentId")


def read_attachments(root: etree._Element, max_bytes: int) -> tuple[Attachment, ...]:
    parts = root.findall("e:AttachmentEncoded/e:Attachment", {"e": NS})
    if len(parts) > MAX_ATTACHMENTS:
        raise MalformedPackage(f"The package carries more than {MAX_ATTACHMENTS} attachments.")
    attachments = []
    for part in parts:
        name = _text(part, "e:AttachmentName", "AttachmentName")
        encoded = "".join((part.findtext("e:ContentTransferEncoded", namespaces={"e": NS}) or "").split())
        if len(encoded) > max_bytes * 4 // 3 + 4:
            raise PackageTooLarge(f"The attachment {name[:80]!r} is larger than {max_bytes} bytes.")
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedPackage(f"The attachment {name[:80]!r} is not valid base64.") from None
        attachments.append(Attachment(name=name, content_type=_text(part, "e:ContentType", "ContentType"),
                                      data=data, content_id=_text(part, "e:ContentId", "ContentId")))
    return tuple(attachments)


def read(root: etree._Element, max_attachment_bytes: int) -> Package:
    """The header and attachments of a parsed message (its signature is xmlsig's business)."""
    return Package(read_header(root), read_attachments(root, max_attachment_bytes))


def to_bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def header_json(header: Header) -> dict:
    """The header as `docsvc edxml show --json` and the API print it."""

    def organization(org: Organization) -> dict:
        return {"org_id": org.org_id, "name": org.name, "in_charge": org.in_charge, "address": org.address,
                "email": org.email, "telephone": org.telephone, "fax": org.fax, "website": org.website}

    return {
        "document_id": header.document_id,
        "from": organization(header.sender),
        "to": [organization(r) for r in header.receivers],
        "code": {"number": header.code_number, "notation": header.code_notation},
        "promulgation": {"place": header.place, "date": header.promulgation_date.isoformat()},
        "document_type": {"type": header.type_code, "name": header.type_name},
        "subject": header.subject,
        "content": header.content,
        "signer": {"competence": header.signer.competence, "position": header.signer.position,
                   "full_name": header.signer.full_name},
        "due_date": header.due_date.isoformat() if header.due_date else None,
        "other": {"priority": header.priority, "page_amount": header.page_amount,
                  "promulgation_amount": header.promulgation_amount},
        "to_places": list(header.to_places),
        "response_for": None if header.response_for is None else {
            "org_id": header.response_for.org_id, "code": header.response_for.code,
            "promulgation_date": header.response_for.promulgation_date.isoformat(),
            "document_id": header.response_for.document_id},
        "traces": [{"org_id": t.org_id, "timestamp": t.timestamp.isoformat()} for t in header.traces],
        "business": {"type": int(header.business_type), "name": header.business_type.name.lower(),
                     "reason": header.business_reason},
    }
