"""The e-copy part of a document page (staff): the issue form, or the e-copy
the document became, and whether it may still be revoked or superseded."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from docsvc import permissions, signatures
from docsvc.ecopies import service
from docsvc.models import CredentialOwner, Document, DocumentStatus, Ecopy, EcopyStatus, User, Workflow
from docsvc.runtime import Runtime


@dataclass
class EcopyView:
    """The e-copy part of a document page: the issue form, or the e-copy it became."""

    can_issue: bool = False
    ecopy: dict | None = None  # service.record_json + what staff see
    can_change: bool = False
    # An issued outgoing document given as a procedure result: registered as
    # it is (already signed), so neither a kind nor a key passphrase is asked.
    issued_result: bool = False


def document_context(session: Session, rt: Runtime, user: User, doc: Document) -> EcopyView | None:
    if not permissions.may_issue_ecopy(user):
        return None
    # The e-copy is its own document; the page of the scan it certifies shows it too.
    ecopy = session.scalar(select(Ecopy).where(or_(Ecopy.document_id == doc.id, Ecopy.source_document_id == doc.id))
                           .order_by(Ecopy.id.desc()).limit(1))
    if ecopy is not None:
        data = service.record_json(ecopy) | {
            "verify_url": service.public_url(rt, ecopy.code), "status_changed_at": ecopy.status_changed_at,
        }
        same_agency = permissions.is_admin(user) or user.agency_id == ecopy.agency_id
        return EcopyView(ecopy=data, can_change=same_agency and ecopy.status == EcopyStatus.ACTIVE)
    if not permissions.is_admin(user) and user.agency_id != doc.agency_id:
        return None
    if doc.workflow_status == Workflow.ISSUED:
        return EcopyView(can_issue=True, issued_result=True)
    if (doc.status != DocumentStatus.READY or doc.workflow_status is not None
            or not signatures.has_credential(session, CredentialOwner.AGENCY, doc.agency_id)):
        return None
    return EcopyView(can_issue=True)
