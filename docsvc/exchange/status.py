"""edXML status messages: what a receiving organization answers about a
package as its register moves, written and read back. No database.

A status is its own message type (QCVN 102; the layout below is the one
public samples of the national exchange axis show, see docs/ARCHITECTURE.md):

    <edXML xmlns="…QCVN_102_2016">
      <edXML:edXMLEnvelope>
        <edXML:edXMLHeader>
          <edXML:Status>
            ResponseFor (OrganId, Code, PromulgationDate, DocumentId): the package answered
            From: the organization reporting
            StatusCode, Description, Timestamp, StaffInfo (Department, Staff)
          </edXML:Status>
        </edXML:edXMLHeader>
        <edXML:edXMLBody/>
      </edXML:edXMLEnvelope>
      <ds:Signature> (docsvc.exchange.xmlsig) </ds:Signature>
    </edXML>
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from lxml import etree

from docsvc.exchange.edxml import (
    DATE_FORMAT,
    NS,
    TIME_FORMAT,
    E,
    MalformedPackage,
    Organization,
    ResponseFor,
    _add,
    _one,
    _organization,
    _read_organization,
    _response_for,
    _response_for_of,
    _text,
)


class StatusCode(StrEnum):
    """QCVN 102's status codes (labels: docsvc/texts.py, "exchange.status.<code>")."""

    ARRIVED = "01"
    REFUSED = "02"
    REGISTERED = "03"
    ASSIGNED = "04"
    IN_PROGRESS = "05"
    DONE = "06"
    RECALL_REQUESTED = "13"
    RECALL_AGREED = "15"
    RECALL_REFUSED = "16"


# The sender of a package asks for a recall; the receiver answers every other code.
FROM_SENDER = frozenset({StatusCode.RECALL_REQUESTED})


@dataclass(frozen=True)
class Status:
    response_for: ResponseFor  # the package this answers, by its sender's DocumentId
    sender: Organization  # who reports the status
    code: StatusCode
    description: str
    timestamp: datetime  # Vietnam time, naive, as TraceHeader timestamps are written
    staff: str = ""
    department: str = ""


def answering(document_id: str) -> ResponseFor:
    """What a status about the package named `document_id` (<OrganId>,<yyyy/mm/dd>,<code>)
    says it answers; ValueError if the name is not of that form."""
    org_id, stamped, code = document_id.split(",", 2)
    return ResponseFor(org_id, code, datetime.strptime(stamped, DATE_FORMAT).date(), document_id)


def message_tree(status: Status) -> etree._Element:
    """The unsigned status message (docsvc.exchange.xmlsig signs it)."""
    root = etree.Element(E + "edXML", nsmap={None: NS})
    envelope = etree.SubElement(root, E + "edXMLEnvelope", nsmap={"edXML": NS})
    element = _add(_add(envelope, "edXMLHeader"), "Status")
    _response_for(element, status.response_for)
    _organization(element, "From", status.sender)
    _add(element, "StatusCode", status.code.value)
    _add(element, "Description", status.description)
    _add(element, "Timestamp", status.timestamp.strftime(TIME_FORMAT))
    staff = _add(element, "StaffInfo")
    _add(staff, "Department", status.department)
    _add(staff, "Staff", status.staff)
    _add(envelope, "edXMLBody")
    return root


def is_status(root: etree._Element) -> bool:
    return root.find("e:edXMLEnvelope/e:edXMLHeader/e:Status", {"e": NS}) is not None


def read(root: etree._Element) -> Status:
    """The status a parsed (and verified) message states, each field checked."""
    element = _one(root, "e:edXMLEnvelope/e:edXMLHeader/e:Status", "Status")
    answered = _one(element, "e:ResponseFor", "ResponseFor")
    raw_code = _text(element, "e:StatusCode", "StatusCode")
    try:
        code = StatusCode(raw_code)
    except ValueError:
        raise MalformedPackage(f"StatusCode {raw_code[:10]!r} is not a QCVN 102 status code.") from None
    raw_time = _text(element, "e:Timestamp", "Timestamp")
    try:
        timestamp = datetime.strptime(raw_time, TIME_FORMAT)
    except ValueError:
        raise MalformedPackage(f"The Timestamp must be yyyy/mm/dd hh:mm:ss (found {raw_time[:40]!r}).") from None
    return Status(
        response_for=_response_for_of(answered),
        sender=_read_organization(_one(element, "e:From", "From"), "sender"),
        code=code,
        description=_text(element, "e:Description", "Description", required=False),
        timestamp=timestamp,
        staff=_text(element, "e:StaffInfo/e:Staff", "StaffInfo Staff", required=False),
        department=_text(element, "e:StaffInfo/e:Department", "StaffInfo Department", required=False),
    )
