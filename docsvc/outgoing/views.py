"""What the pages of the outgoing workflow need beside the service calls: the
lists of /outgoing, the outgoing part of a document page, the preview of the
page a leader signs on, and the signature box a click placed."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from docsvc import exchange, pdf, permissions, signatures
from docsvc.documents import get_document
from docsvc.errors import DocsvcError, InvalidInput, NotFound
from docsvc.models import Agency, CredentialOwner, Document, ExchangePeer, FileRole, User, Workflow
from docsvc.outgoing import workflow
from docsvc.runtime import Runtime
from docsvc.sandbox import ParseBudget

PREVIEW_SCALE = 1.5  # pixels per PDF point of the preview image (108 dpi)
LIST_LIMIT = 200


def lists(session: Session, user: User) -> dict:
    """/outgoing: my drafts, waiting for my signature, waiting to be issued."""
    mine = list(session.scalars(
        select(Document).options(selectinload(Document.approver))
        .where(Document.created_by_id == user.id, Document.workflow_status.is_not(None))
        .order_by(Document.created_at.desc()).limit(LIST_LIMIT)
    ))
    to_issue = workflow.awaiting_issue(session, user) if permissions.may_issue(user) else []
    return {"mine": mine, "to_sign": workflow.awaiting_signature(session, user), "to_issue": to_issue,
            "can_issue": permissions.may_issue(user)}


@dataclass
class OutgoingView:
    """The outgoing section of a document page: who the user is to this document
    and what the forms offer."""

    is_drafter: bool
    can_submit: bool
    can_sign: bool
    can_issue: bool
    agencies: dict[str, str]  # code → name, of every agency and peer
    recipients: list[Agency] = field(default_factory=list)  # choosable: the other agencies
    peers: list[ExchangePeer] = field(default_factory=list)  # choosable: other installations (sent in edXML)
    exchange: list[dict] = field(default_factory=list)  # each peer sent to and its latest status
    can_recall: bool = False  # the văn thư may ask a peer for it back
    approvers: list[User] = field(default_factory=list)
    drafter: User | None = None
    pages: list[tuple[float, float]] = field(default_factory=list)  # of the prepared PDF, in points
    box: dict | None = None  # where the signature goes unless the leader clicks elsewhere
    has_key: bool = True
    types: dict[str, str] = field(default_factory=lambda: dict(workflow.TYPES))


def document_context(session: Session, rt: Runtime, user: User, doc: Document) -> OutgoingView | None:
    if doc.workflow_status is None:
        return None
    status = doc.workflow_status
    is_drafter = doc.created_by_id == user.id
    all_agencies = list(session.scalars(select(Agency).order_by(Agency.code)))
    all_peers = list(session.scalars(select(ExchangePeer).order_by(ExchangePeer.org_code)))
    view = OutgoingView(
        is_drafter=is_drafter,
        can_submit=status in (Workflow.DRAFT, Workflow.RETURNED) and permissions.may_submit(user, doc),
        can_sign=status == Workflow.SUBMITTED and doc.approver_id == user.id,
        can_issue=status == Workflow.SIGNED and permissions.may_issue(user),
        agencies={**{p.org_code: p.name or p.org_code for p in all_peers}, **{a.code: a.name for a in all_agencies}},
        drafter=session.get(User, doc.created_by_id) if doc.created_by_id else None,
    )
    if view.can_submit:
        view.recipients = [a for a in all_agencies if a.id != doc.agency_id]
        view.peers = all_peers
        view.approvers = list(session.scalars(
            select(User).where(User.agency_id == doc.agency_id, User.active.is_(True), User.role.in_(permissions.SIGNERS))
            .order_by(User.full_name, User.username)
        ))
    if view.can_sign:
        with rt.store.local_path(_preview_source(doc).storage_key) as path:
            view.pages = pdf.page_sizes(path, ParseBudget.of(rt.settings))
        box = dict(doc.signature_position or workflow.DEFAULT_SIGNATURE)
        if box["page"] < 0:
            box["page"] += len(view.pages)
        view.box = box
        view.has_key = signatures.has_credential(session, CredentialOwner.USER, user.id)
    if status == Workflow.ISSUED:
        view.exchange = exchange.sent_statuses(session, doc.id)
        view.can_recall = permissions.may_issue(user)
    if view.can_issue:
        view.has_key = signatures.has_credential(session, CredentialOwner.AGENCY, doc.agency_id)
    return view


def _preview_source(doc: Document):
    source = doc.latest(FileRole.PREPARED) or doc.file(FileRole.ORIGINAL)
    if source is None or source.media_type != "application/pdf":
        raise NotFound("This document has no PDF to preview.")
    return source


def preview_png(rt: Runtime, user: User, document_id: str, page: int) -> bytes:
    """One page of the prepared PDF (the one the leader signs) as a PNG, drawn
    in a parse child (the draft came from a person; docsvc/sandbox.py)."""
    with rt.read() as session:
        doc = get_document(session, user, document_id)
        key = _preview_source(doc).storage_key
    with rt.store.local_path(key) as path:
        return pdf.render_page_png(path, page, PREVIEW_SCALE, ParseBudget.of(rt.settings))


def position_from_form(form) -> dict | None:
    """The box the leader placed on the preview (PDF points), or None to keep
    the submitted or default place."""
    if not form.get("pos_x"):
        return None
    try:
        return {"page": int(form.get("pos_page", -1)), **{k: float(form[f"pos_{k}"]) for k in ("x", "y", "width", "height")}}
    except (KeyError, ValueError):
        raise InvalidInput("The signature position sent by the page is not valid.") from None


def outcome_error(outcome: workflow.SignOutcome) -> DocsvcError:
    """A failed signing outcome as an error the document page shows."""
    error = DocsvcError(outcome.message)
    error.code = outcome.code or "signing_error"
    error.http_status = outcome.http_status
    return error

