"""What the document page shows of the exchange: for a document received
as a package, who sent it, what this installation answered, and the recall
its sender asked for (with the văn thư's answer form). The sent side is in
the outgoing part of the page (docsvc/outgoing/views.py)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from docsvc import permissions
from docsvc.exchange.status import StatusCode
from docsvc.exchange.statuses import RECALL_ANSWERS, statuses_json
from docsvc.models import Document, ExchangeDirection, ExchangeMessage, ExchangePeer, User


@dataclass(frozen=True)
class ReceivedView:
    sender_org: str
    sender_name: str
    answered: dict  # statuses_json of the message: our answers and the sender's recall request
    recall_pending: bool  # asked for back (13) and not answered yet
    can_answer: bool


def document_context(session: Session, user: User, doc: Document) -> ReceivedView | None:
    message = session.scalar(select(ExchangeMessage).where(
        ExchangeMessage.direction == ExchangeDirection.RECEIVED, ExchangeMessage.document_id == doc.id))
    if message is None:
        return None
    peer = session.scalar(select(ExchangePeer).where(ExchangePeer.org_code == message.from_org))
    codes = [s.code for s in message.statuses]
    # The latest request (asked again after a refusal) is pending until answered.
    asked = [i for i, c in enumerate(codes) if c == StatusCode.RECALL_REQUESTED]
    pending = bool(asked) and not any(c in RECALL_ANSWERS for c in codes[asked[-1]:])
    return ReceivedView(message.from_org, (peer.name if peer else "") or message.from_org, statuses_json(message),
                        pending, pending and permissions.may_route(user))
