"""The incoming register (sổ đăng ký văn bản đến) and the handling of what
is registered in it: assign to a person or department with a deadline, and
follow it through received → assigned → in progress → done. A document
that came as an edXML package and that its sender recalled, with the văn
thư's agreement, is withdrawn: recalled, kept in the book with its number,
handled no further (`withdraw`).

Every change is one transaction with its audit event; the register number is
taken inside that transaction (docsvc.registers), so a registration that
fails gives its number back and numbers stay 1..N without gaps.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from docsvc import audit, exchange, registers, validation
from docsvc.documents import get_document, note_reindex, refresh_entry
from docsvc.errors import Conflict, Forbidden, InvalidInput, NotFound
from docsvc.localtime import today
from docsvc.models import (
    OPEN_HANDLING,
    Document,
    DocumentFile,
    DocumentKind,
    FileRole,
    Handling,
    RegisterBook,
    User,
    utcnow,
)
from docsvc.permissions import STAFF_ROLES, is_admin, may_move_handling, require_router, require_staff
from docsvc.runtime import Runtime
from search.folding import fold

BOOK = RegisterBook.INCOMING
# Allowed moves of the handler; a clerk or leader may also re-assign at any open step.
TRANSITIONS = {
    Handling.ASSIGNED: (Handling.IN_PROGRESS, Handling.DONE),
    Handling.IN_PROGRESS: (Handling.DONE,),
    Handling.DONE: (Handling.IN_PROGRESS,),  # reopened: the answer was not enough
    # Handling.RECALLED: none (given back to its sender; nothing follows it).
}
MAX_TEXT = {"issuing_body": validation.ISSUING_BODY, "number_symbol": validation.NUMBER_SYMBOL,
            "doc_type": validation.DOC_TYPE, "title": validation.TITLE, "handling_note": validation.NOTE}


class DuplicateDocument(Conflict):
    code = "duplicate_document"


class WrongRegister(Conflict):
    """A document of the outgoing workflow offered to another book (incoming,
    certification): it is the agency's own draft, not something received."""

    code = "wrong_register"
    default_message = "An outgoing document cannot be registered in the incoming book."


@dataclass(frozen=True)
class Registration:
    """What the clerk confirms: the fields of Decree 30's incoming register."""

    title: str  # trích yếu
    issuing_body: str | None = None
    number_symbol: str | None = None
    issued_date: date | None = None
    doc_type: str | None = None
    received_date: date | None = None  # today when not given

    @classmethod
    def from_mapping(cls, data, fallback: dict | None = None) -> Registration:
        """From a form or JSON body; blank fields take the suggestion (fallback)."""
        fallback = fallback or {}

        def text(name: str, fallback_name: str | None = None) -> str | None:
            value = data.get(name)
            if value is None or (isinstance(value, str) and not value.strip()):
                # Read from the document by docsvc, not typed: cleaned, not refused.
                value = fallback.get(fallback_name or name)
                value = validation.cleaned(value) if isinstance(value, str) else value
            return validation.optional_text(value, name, MAX_TEXT.get(name, 255))

        return cls(
            title=text("title", "summary") or "",
            issuing_body=text("issuing_body"),
            number_symbol=text("number_symbol"),
            issued_date=parse_date(data.get("issued_date") or fallback.get("issued_date"), "issued_date"),
            doc_type=text("doc_type"),
            received_date=parse_date(data.get("received_date"), "received_date"),
        )


def parse_date(value, name: str) -> date | None:
    return validation.parse_date(value, name)


def find_registered_copy(session: Session, agency_id: int, sha256: str, *, exclude_id: str | None = None) -> Document | None:
    """An incoming document of this agency already registered with the same original bytes."""
    query = (
        select(Document)
        .join(DocumentFile, DocumentFile.document_id == Document.id)
        .where(
            Document.agency_id == agency_id,
            Document.register_book == BOOK,
            DocumentFile.role == FileRole.ORIGINAL,
            DocumentFile.sha256 == sha256,
        )
        .order_by(Document.register_year, Document.register_number)
    )
    if exclude_id:
        query = query.where(Document.id != exclude_id)
    return session.scalars(query.limit(1)).first()


def duplicate_message(earlier: Document) -> str:
    return (
        f"The same file is already registered as incoming number {earlier.register_number}/"
        f"{earlier.register_year} ({_clip(earlier.title, 80)}). Register it again only if it really is a second copy."
    )


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def refuse_registered_copy(rt: Runtime, agency_id: int, sha256: str) -> None:
    """Before storing a file meant for the register: is it already in it?"""
    with rt.read() as session:
        earlier = find_registered_copy(session, agency_id, sha256)
        if earlier is not None:
            raise DuplicateDocument(duplicate_message(earlier))


def register_document(rt: Runtime, actor: User, document_id: str, data: Mapping, *, allow_duplicate: bool = False) -> None:
    """Register from what the clerk sent; blank fields take the worker's
    suggestions, and the summary falls back to the document's title."""
    with rt.write() as session:
        document = get_document(session, actor, document_id)
        fallback = dict(document.suggestions or {})
        fallback["summary"] = fallback.get("summary") or document.title
        register(session, actor, document_id, Registration.from_mapping(data, fallback), allow_duplicate=allow_duplicate)
        notes = note_reindex(session, [document_id])
    refresh_entry(rt, document_id, notes)


def register(
    session: Session, actor: User, document_id: str, fields: Registration, *, allow_duplicate: bool = False
) -> Document:
    """Give the document the next incoming number of its agency's book."""
    require_router(actor)
    document = get_document(session, actor, document_id, for_update=True)
    if document.register_book is not None:
        raise Conflict(
            f"This document is already registered: {document.register_book} number "
            f"{document.register_number}/{document.register_year}."
        )
    if document.handling_status == Handling.RECALLED:
        raise Conflict(_recalled_message(document))
    if document.workflow_status is not None:
        raise WrongRegister("An outgoing draft is the agency's own document: it cannot be registered in the incoming book.")
    if not fields.title:
        raise InvalidInput("Write the summary (trích yếu) of the document.")
    received = fields.received_date or today()
    if received > today():
        raise InvalidInput("The date received cannot be in the future.")
    original = document.file(FileRole.ORIGINAL)
    if not allow_duplicate and original is not None:
        earlier = find_registered_copy(session, document.agency_id, original.sha256, exclude_id=document.id)
        if earlier is not None:
            raise DuplicateDocument(duplicate_message(earlier))
    number = registers.allocate(session, document.agency_id, BOOK, received)
    document.kind = DocumentKind.INCOMING
    document.title = fields.title
    document.issuing_body = fields.issuing_body
    document.number_symbol = fields.number_symbol
    document.issued_date = fields.issued_date
    document.doc_type = fields.doc_type
    document.received_date = received
    document.register_book = BOOK
    document.register_year = received.year
    document.register_number = number
    document.registered_at = utcnow()
    document.registered_by_id = actor.id
    document.handling_status = Handling.RECEIVED
    session.flush()
    audit.record(
        session, actor, "incoming.register", "document", document.id,
        {"number": number, "year": received.year, "duplicate_allowed": allow_duplicate},
    )
    exchange.follow_register(session, document.id, Handling.RECEIVED, actor)
    return document


def assign(
    session: Session,
    actor: User,
    document_id: str,
    *,
    assignee_username: str | None = None,
    department: str | None = None,
    deadline: date | None = None,
    note: str = "",
) -> Document:
    """Route a registered document to a person or a department of the same agency."""
    require_router(actor)
    document = get_document(session, actor, document_id, for_update=True)
    if document.handling_status == Handling.RECALLED:
        raise Conflict(_recalled_message(document))
    if document.register_book != BOOK:
        raise Conflict("Register the document in the incoming book before assigning it.")
    if document.handling_status == Handling.DONE:
        raise Conflict("This document is already handled; reopen it before assigning it again.")
    department = validation.optional_text(department, "department", validation.DEPARTMENT)
    assignee_username = validation.optional_text(assignee_username, "assignee", validation.USERNAME)
    assignee = None
    if assignee_username:
        assignee = session.scalar(select(User).where(User.username == assignee_username, User.active.is_(True)))
        if assignee is None or assignee.agency_id != document.agency_id or assignee.role not in STAFF_ROLES:
            raise InvalidInput("Choose a member of staff of this agency to handle the document.")
    if assignee is None and department is None:
        raise InvalidInput("Choose a person or a department to handle the document.")
    if deadline is not None and deadline < document.received_date:
        raise InvalidInput("The deadline cannot be before the date the document was received.")
    document.assignee_id = assignee.id if assignee else None
    document.assignee_department = department
    document.deadline = deadline
    document.handling_status = Handling.ASSIGNED
    document.handling_note = _note(note)
    session.flush()
    audit.record(
        session, actor, "incoming.assign", "document", document.id,
        {"assignee": assignee.username if assignee else None, "department": department,
         "deadline": deadline.isoformat() if deadline else None},
    )
    exchange.follow_register(session, document.id, Handling.ASSIGNED, actor)
    return document


def _note(note: str | None) -> str:
    return validation.text(note, "note", validation.NOTE, multiline=True)


def move(session: Session, actor: User, document_id: str, status: Handling | str, note: str = "") -> Document:
    """The handler moves the document along its handling."""
    require_staff(actor)
    document = get_document(session, actor, document_id, for_update=True)
    status = validation.one_of(status, Handling, "status")
    if not may_move_handling(actor, document):
        raise Forbidden("Only the person or department handling this document can change its progress.")
    current = document.handling_status
    if current is None:
        raise Conflict("This document is not in the incoming register.")
    if current == Handling.RECALLED:
        raise Conflict(_recalled_message(document))
    if status not in TRANSITIONS.get(current, ()):
        raise Conflict(f"A document that is {current} cannot become {status}.")
    document.handling_status = status
    document.handled_at = utcnow() if status == Handling.DONE else None
    note = _note(note)
    if note:
        document.handling_note = note
    session.flush()
    audit.record(session, actor, "incoming.move", "document", document.id, {"from": current, "to": status, "note": note})
    exchange.follow_register(session, document.id, status, actor)
    return document


def withdraw(session: Session, actor: User, document_id: str, reason: str) -> Document:
    """The văn thư agreed to give a received document back to its sender
    (docsvc.exchange.answer_recall, in its transaction): it stays in the book
    with its number (nothing is deleted, no number freed), marked recalled
    with who, when and the sender's `reason`; its handling stops (out of
    every queue, never overdue, no step after it, no more statuses)."""
    require_router(actor)
    document = get_document(session, actor, document_id, for_update=True)
    if document.handling_status == Handling.RECALLED:
        raise Conflict(_recalled_message(document))
    before = document.handling_status
    document.handling_status = Handling.RECALLED
    document.recalled_at = utcnow()
    document.recalled_by_id = actor.id
    document.recall_reason = reason
    session.flush()
    audit.record(session, actor, "incoming.recall", "document", document.id,
                 {"from": before, "number": document.register_number, "year": document.register_year,
                  "reason": reason[:500]})
    return document


def _recalled_message(document: Document) -> str:
    return ("Its sender recalled this document and it was given back"
            f"{' on ' + document.recalled_at.strftime('%d/%m/%Y') if document.recalled_at else ''}: "
            "it is kept in the register, not handled.")


def is_overdue(document: Document, on: date | None = None) -> bool:
    return (
        document.deadline is not None
        and document.handling_status in OPEN_HANDLING
        and document.deadline < (on or today())
    )


def queue(session: Session, user: User, *, include_done: bool = False) -> list[Document]:
    """What the user must handle: assigned to them or to their department; overdue first."""
    require_staff(user)
    mine = [Document.assignee_id == user.id]
    if user.department:
        mine.append(func.lower(Document.assignee_department) == user.department.casefold())
    query = select(Document).options(selectinload(Document.files)).where(
        Document.agency_id == user.agency_id, Document.register_book == BOOK, or_(*mine)
    )
    query = query.where(Document.handling_status != Handling.RECALLED)  # nobody handles it any more
    if not include_done:
        query = query.where(Document.handling_status != Handling.DONE)
    rows = list(session.scalars(query))
    # Overdue first, then by deadline (none last), then by number.
    rows.sort(key=lambda d: (not is_overdue(d), d.deadline or date.max, d.register_year, d.register_number))
    return rows


def register_entries(
    session: Session, user: User, year: int, agency_id: int | None = None, *, text: str | None = None
) -> list[Document]:
    """The incoming book of a year, in number order (what a văn thư prints);
    `text` narrows it by register fields: the incoming number, the number and
    symbol, the issuing body or the summary."""
    require_staff(user)
    agency_id = _agency_for(user, agency_id)
    query = (
        select(Document)
        .options(selectinload(Document.assignee))
        .where(Document.agency_id == agency_id, Document.register_book == BOOK, Document.register_year == year)
        .order_by(Document.register_number)
    )
    validation.in_range(year, "year", validation.MIN_YEAR, validation.MAX_YEAR)
    text = validation.text(text, "filter", validation.FILTER)
    rows = list(session.scalars(query))
    if not text:
        return rows
    if text.isdigit():
        return [d for d in rows if d.register_number == int(text)]
    # Filtered here rather than in SQL so that "uy ban" finds "ỦY BAN" on
    # SQLite as on PostgreSQL (one folding, the search index's).
    needle = fold(text)
    return [d for d in rows if needle in fold(" ".join(filter(None, (d.number_symbol, d.issuing_body, d.title))))]


def _agency_for(user: User, agency_id: int | None) -> int:
    if agency_id is None:
        if user.agency_id is None:
            raise InvalidInput("Choose an agency.")
        return user.agency_id
    if not is_admin(user) and agency_id != user.agency_id:
        raise NotFound("No such agency.")
    return agency_id
