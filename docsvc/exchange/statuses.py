"""Statuses of exchanged packages, on both sides.

The receiver answers by itself as its register moves (`follow_register`,
called in the register's own transaction): 01 when the package is received,
03 registered, 04 assigned, 05 being handled, 06 done; 02 when a package
is refused and its sender can be identified. The sender of a package asks
for a recall (13); the receiver's văn thư agrees (15) or refuses (16).
Each is queued for docsvc.exchange.delivery, which signs and sends it.

The other side records what it is told (`record`): a signed status from
the peer it is about, for a package exchanged with that peer, kept once.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from docsvc import audit, outbox, validation
from docsvc.errors import Conflict, InvalidInput, NotFound
from docsvc.exchange import edxml, xmlsig
from docsvc.exchange.status import FROM_SENDER, StatusCode, answering, is_status, read
from docsvc.localtime import VIETNAM
from docsvc.models import (
    Agency,
    ExchangeDirection,
    ExchangeMessage,
    ExchangePeer,
    ExchangeStatus,
    Handling,
    User,
    utcnow,
)
from docsvc.permissions import require_issuer, require_router
from docsvc.runtime import Runtime

SEND_STATUS = "exchange.send_status"
STATUS_MAX_BYTES = 256 * 1024  # a status is a few kilobytes with its certificates
# The register's steps and the status each answers (QCVN 102).
REGISTER_STEPS = {
    Handling.RECEIVED: StatusCode.REGISTERED,
    Handling.ASSIGNED: StatusCode.ASSIGNED,
    Handling.IN_PROGRESS: StatusCode.IN_PROGRESS,
    Handling.DONE: StatusCode.DONE,
}


RECALL_ANSWERS = frozenset({StatusCode.RECALL_AGREED, StatusCode.RECALL_REFUSED})


class UnknownPackage(NotFound):
    code = "edxml_unknown_package"


def add_status(message: ExchangeMessage, code: StatusCode, description: str, stated: datetime, staff: str = "") -> bool:
    """Record a status of `message` once (the same code and time again is a
    redelivery); the latest stated becomes the message's. Whether it is new."""
    stated = stated if stated.tzinfo else stated.replace(tzinfo=VIETNAM)
    if any(known.code == code and known.stated_at == stated for known in message.statuses):
        return False
    message.statuses.append(ExchangeStatus(code=code.value, description=description[:2000], staff=staff[:255],
                                           stated_at=stated, recorded_at=utcnow()))
    # Latest by stated time; within one second, the later step (03 after 01) however they arrived.
    if message.status_at is None or (stated, int(code)) >= (message.status_at, int(message.status_code or 0)):
        message.status_code, message.status_at, message.status_description = code.value, stated, description[:2000]
    return True


def queue_status(session: Session, *, peer: str, from_org: str, document_id: str, code: StatusCode,
                 description: str = "", staff: str = "", message: ExchangeMessage | None = None) -> None:
    """Queue a status about package `document_id` for `peer` (sent once this transaction commits)."""
    at = datetime.now(VIETNAM).replace(microsecond=0)
    if message is not None:
        add_status(message, code, description, at, staff)
    outbox.enqueue(session, SEND_STATUS, {
        "peer": peer, "from": from_org, "document_id": document_id, "code": code.value,
        "description": description[:2000], "staff": staff[:255],
        "at": at.replace(tzinfo=None).strftime(edxml.TIME_FORMAT), "message_id": message.id if message else None})


def _staff(actor: User | None) -> str:
    return (actor.full_name or actor.username) if actor is not None else ""


def _received(session: Session, document_id: str) -> ExchangeMessage | None:
    return session.scalar(select(ExchangeMessage).where(
        ExchangeMessage.direction == ExchangeDirection.RECEIVED, ExchangeMessage.document_id == document_id))


def answer_arrival(session: Session, message: ExchangeMessage) -> None:
    queue_status(session, peer=message.from_org, from_org=message.to_org, document_id=message.edxml_document_id,
                 code=StatusCode.ARRIVED, message=message)


def follow_register(session: Session, document_id: str, step: Handling, actor: User | None) -> None:
    """The incoming register moved a document to `step`: if it came as a
    package, tell its sender (nothing for a document that did not)."""
    message = _received(session, document_id)
    if message is None or step not in REGISTER_STEPS:
        return
    queue_status(session, peer=message.from_org, from_org=message.to_org, document_id=message.edxml_document_id,
                 code=REGISTER_STEPS[step], staff=_staff(actor), message=message)


def refuse(rt: Runtime, data: bytes, reason: str) -> bool:
    """Status 02 with `reason` for a package refused, if its header names a
    configured peer as sender and an agency here as receiver (the signature
    may be what failed: the status goes to that peer's configured URL, so a
    forged header can at most tell a real peer of a refusal). Whether one was queued."""
    try:
        sender, receivers, document_id = edxml.read_addresses(edxml.parse_bytes(data, rt.settings.edxml_max_bytes))
        answering(document_id)
    except (edxml.PackageRefused, ValueError):
        return False  # not even its addresses and name: nobody to answer, nothing to answer about
    with rt.write() as session:
        if session.scalar(select(ExchangePeer.id).where(ExchangePeer.org_code == sender)) is None:
            return False
        ours = [org for org in receivers if session.scalar(select(Agency.id).where(Agency.org_code == org)) is not None]
        if not ours:
            return False
        queue_status(session, peer=sender, from_org=ours[0], document_id=document_id[:255],
                     code=StatusCode.REFUSED, description=reason)
        audit.record(session, None, "exchange.refuse", "peer", sender,
                     {"document_id": document_id[:255], "reason": reason[:500]}, actor_label="docsvc")
    return True


# --- recall ----------------------------------------------------------------------------


def request_recall(session: Session, actor: User, document_id: str, to_org: str, reason: str) -> None:
    """The sender's văn thư asks a recipient to give a sent document back (13)."""
    require_issuer(actor)
    reason = _reason(reason)
    message = session.scalar(select(ExchangeMessage).where(
        ExchangeMessage.direction == ExchangeDirection.SENT, ExchangeMessage.document_id == document_id,
        ExchangeMessage.to_org == validation.org_code(to_org)))
    if message is None:
        raise NotFound(f"This document was not sent to {to_org}.")
    queue_status(session, peer=message.to_org, from_org=message.from_org, document_id=message.edxml_document_id,
                 code=StatusCode.RECALL_REQUESTED, description=reason, staff=_staff(actor), message=message)
    audit.record(session, actor, "exchange.recall_request", "document", document_id, {"to": message.to_org})


def answer_recall(session: Session, actor: User, document_id: str, agree: bool, reason: str = "") -> None:
    """The receiver's văn thư agrees to give the document back (15) or refuses (16).
    Agreeing withdraws it from the incoming register (docsvc.incoming.withdraw:
    kept, marked recalled with the sender's reason, no longer handled); refusing
    changes nothing here."""
    from docsvc.incoming import withdraw  # docsvc.incoming imports this package

    require_router(actor)
    reason = _reason(reason)
    message = _received(session, document_id)
    request = _recall_request(message)
    if message is None or request is None:
        raise Conflict("Its sender has not asked for this document back.")
    if message.document.handling_status == Handling.RECALLED:
        raise Conflict("This document was already given back to its sender.")
    if any(s.code in RECALL_ANSWERS for s in message.statuses[message.statuses.index(request):]):
        raise Conflict("Its sender's request was already answered; it may ask again.")
    code = StatusCode.RECALL_AGREED if agree else StatusCode.RECALL_REFUSED
    if agree:
        withdraw(session, actor, document_id, request.description)
    queue_status(session, peer=message.from_org, from_org=message.to_org, document_id=message.edxml_document_id,
                 code=code, description=reason, staff=_staff(actor), message=message)
    audit.record(session, actor, "exchange.recall_answer", "document", document_id, {"agree": agree})


def _recall_request(message: ExchangeMessage | None) -> ExchangeStatus | None:
    """The sender's latest request (13) to have the package back, if any (statuses in the order recorded)."""
    asked = [s for s in message.statuses if s.code == StatusCode.RECALL_REQUESTED] if message else []
    return asked[-1] if asked else None


def _reason(reason: str) -> str:
    return validation.text(reason, "reason", validation.REASON)


# --- what a peer tells us -----------------------------------------------------------------


def record(rt: Runtime, data: bytes, *, peer_org: str) -> dict:
    """Check a status message from `peer_org` and record it on the package it is about."""
    root = edxml.parse_bytes(data, STATUS_MAX_BYTES)
    verified = xmlsig.verify(root, rt.settings.trust_store_dir)
    if not is_status(verified.signed):
        raise edxml.MalformedPackage("This is not an edXML status message (no Status in its header).")
    status = read(verified.signed)
    if status.sender.org_id != peer_org:
        raise InvalidInput(f"The status says it is from {status.sender.org_id}, but the peer that sent it is {peer_org}.")
    direction, ours = ((ExchangeDirection.RECEIVED, ExchangeMessage.from_org) if status.code in FROM_SENDER
                       else (ExchangeDirection.SENT, ExchangeMessage.to_org))
    with rt.write() as session:
        message = session.scalar(select(ExchangeMessage).where(
            ExchangeMessage.direction == direction, ours == peer_org,
            ExchangeMessage.edxml_document_id == status.response_for.document_id))
        if message is None:
            raise UnknownPackage(f"No package {status.response_for.document_id[:120]} was exchanged with {peer_org}.")
        new = add_status(message, status.code, status.description, status.timestamp, status.staff)
        if new:
            audit.record(session, None, "exchange.status", "document", message.document_id,
                         {"from": peer_org, "code": status.code.value, "document_id": message.edxml_document_id},
                         actor_label=f"peer:{peer_org}")
        return {"document_id": status.response_for.document_id, "status": status.code.value, "recorded": new}


def statuses_json(message: ExchangeMessage) -> dict:
    """A package's recipient (or sender) and what it reported, for the API and the pages."""
    return {
        "to": message.to_org, "from": message.from_org, "document_id": message.edxml_document_id,
        "status": message.status_code, "description": message.status_description,
        "at": message.status_at.isoformat() if message.status_at else None,
        "delivered_at": message.delivered_at.isoformat() if message.delivered_at else None,
        "delivery_error": message.delivery_error,
        # Built with `docsvc edxml build` (carried by other means): docsvc does not send it.
        "built_only": message.direction == ExchangeDirection.SENT and not message.package_key,
        "statuses": [{"code": s.code, "description": s.description, "staff": s.staff,
                      "at": s.stated_at.isoformat()} for s in message.statuses],
    }
