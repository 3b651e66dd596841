"""The pages of citizens' e-copies: the clerk's part of a document page (issue,
revoke, supersede), the citizen's portal /cong-dan (their e-copies, share
links and who opened them), a share link's landing page /s/<token>, and
public verification by code /v/<code> (what the printed QR code opens).

Downloads go to the JSON API's routes (/api/v1/my/ecopies/<code>/file,
/api/v1/shares/<token>/file), which accept the session cookie for GET."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, redirect, render_template, request, url_for
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from docsvc import signatures
from docsvc.ecopies import api as ecopy_api
from docsvc.ecopies import service
from docsvc.ecopies.codes import format_code
from docsvc.errors import DocsvcError, InvalidInput
from docsvc.models import (
    CredentialOwner,
    Document,
    DocumentStatus,
    Ecopy,
    EcopyKind,
    EcopyStatus,
    Role,
    ShareState,
    User,
    Workflow,
)
from docsvc.runtime import Runtime
from docsvc.web.context import runtime, session_user
from docsvc.web.pages import _act, login_required

blueprint = Blueprint("ecopy_pages", __name__)
ISSUER_ROLES = (Role.CLERK, Role.SIGNER, Role.OFFICIAL, Role.ADMIN)  # as service.issue


# --- the document page (staff) ---------------------------------------------------


@dataclass
class EcopyView:
    """The e-copy part of a document page: the issue form, or the e-copy it became."""

    can_issue: bool = False
    ecopy: dict | None = None  # service.status_json + what staff see
    can_change: bool = False
    # An issued outgoing document given as a procedure result: registered as
    # it is (already signed), so neither a kind nor a key passphrase is asked.
    issued_result: bool = False


def document_context(session: Session, rt: Runtime, user: User, doc: Document) -> EcopyView | None:
    if user.role not in ISSUER_ROLES:
        return None
    # The e-copy is its own document; the page of the scan it certifies shows it too.
    ecopy = session.scalar(select(Ecopy).where(or_(Ecopy.document_id == doc.id, Ecopy.source_document_id == doc.id))
                           .order_by(Ecopy.id.desc()).limit(1))
    if ecopy is not None:
        data = service.status_json(ecopy) | {
            "certification_number": ecopy.certification_number, "citizen_id": ecopy.citizen_id,
            "verify_url": service.public_url(rt, ecopy.code), "status_changed_at": ecopy.status_changed_at,
        }
        same_agency = user.role == Role.ADMIN or user.agency_id == ecopy.agency_id
        return EcopyView(ecopy=data, can_change=same_agency and ecopy.status == EcopyStatus.ACTIVE)
    if user.role != Role.ADMIN and user.agency_id != doc.agency_id:
        return None
    if doc.workflow_status == Workflow.ISSUED:
        return EcopyView(can_issue=True, issued_result=True)
    if (doc.status != DocumentStatus.READY or doc.workflow_status is not None
            or not signatures.has_credential(session, CredentialOwner.AGENCY, doc.agency_id)):
        return None
    return EcopyView(can_issue=True)


@blueprint.post("/documents/<document_id>/ecopy")
@login_required
def issue(document_id: str):
    return _act(document_id, lambda: service.issue(
        runtime(), session_user(), document_id, citizen_id=request.form.get("citizen_id", ""),
        # An issued document is registered as it is: no key is opened for it.
        secret=request.form.get("passphrase", "") or "-", kind=request.form.get("kind", EcopyKind.CERTIFIED_COPY),
    ))


@blueprint.post("/documents/<document_id>/ecopy/status")
@login_required
def change_status(document_id: str):
    """Revoke (a reason) or supersede (a reason and the replacing e-copy's code)."""
    status = request.form.get("status", "")
    return _act(document_id, lambda: service.change_status(
        runtime(), session_user(), request.form.get("code", ""), status, request.form.get("reason", ""),
        request.form.get("superseded_by", "") if status == EcopyStatus.SUPERSEDED else None,
    ))


# --- the citizen's portal ----------------------------------------------------------


@blueprint.get("/cong-dan")
@login_required
def portal():
    return _portal()


def _portal(new_share: dict | None = None, error: DocsvcError | None = None, form: dict | None = None):
    user = session_user()
    if user.role != Role.CITIZEN:
        return redirect(url_for("pages.home"))
    with runtime().read() as db:
        rows = [(e, service.status_json(e), service.shares_of(db, user, e.code))
                for e in service.citizen_ecopies(db, user)]
        html = render_template(
            "ecopy_portal.html", rows=rows, state=service.share_state, format_code=format_code,
            new_share=new_share, error=error, form=form or {},
            max_days=service.MAX_SHARE_DAYS, max_uses=service.MAX_SHARE_USES,
        )
    return html, (error.http_status if error else 200)


@blueprint.post("/cong-dan/<code>/chia-se")
@login_required
def create_share(code: str):
    """The link is shown once, on the page this answers with; only its hash is kept."""
    try:
        days, uses = _whole(request.form.get("days", "7")), _whole(request.form.get("max_uses", "1"))
        share = service.create_share(runtime(), session_user(), code, recipient=request.form.get("recipient", ""),
                                     days=days, max_uses=uses)
    except DocsvcError as exc:
        return _portal(error=exc, form=request.form.to_dict() | {"code": code})
    return _portal(new_share={"code": format_code(code), "expires_at": share.expires_at,
                              "url": service.share_url(runtime(), share.token)})


def _whole(value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise InvalidInput("days and max_uses are whole numbers.") from None


@blueprint.post("/cong-dan/chia-se/<int:share_id>/thu-hoi")
@login_required
def withdraw_share(share_id: int):
    try:
        service.withdraw_share(runtime(), session_user(), share_id)
    except DocsvcError as exc:
        return _portal(error=exc)
    return redirect(url_for("ecopy_pages.portal"))


# --- public: a share link's landing page, verification by code -------------------------


@blueprint.get("/s/<token>")
def share_landing(token: str):
    """What a receiving agency sees: issuer, date, status, a download button;
    never the citizen's data. Looking does not use the link."""
    status, state = service.peek_share(runtime(), token)
    return (render_template("ecopy_share.html", ecopy=_public(status), state=state, token=token),
            200 if state == ShareState.GRANTED else service.ShareRefused.http_status)


@blueprint.get("/v")
@blueprint.get("/v/<code>")
def verify_code(code: str | None = None):
    """Verification by code, limited per client like the API's."""
    if code is None:
        code = request.args.get("code", "").strip()
        if not code:
            return render_template("ecopy_verify.html", result=None, error=None, code="")
    result, error = None, None
    try:
        ecopy_api.check_rate()
        result = _public(service.lookup(runtime(), code, client=ecopy_api.client_key()))
    except DocsvcError as exc:  # a mistyped code (400), an unknown one (404), too many (429)
        error = exc
    return (render_template("ecopy_verify.html", result=result, error=error, code=code),
            error.http_status if error else 200)


def _public(data: dict) -> dict:
    """service.status_json with the issue time as a datetime, for the page's local_time."""
    return data | {"issued_at": datetime.fromisoformat(data["issued_at"])}
