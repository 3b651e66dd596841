"""The pages of citizens' e-copies: the clerk's part of a document page (issue,
revoke, supersede), the certification book /registers/certification and its
CSV and XLSX, the citizen's portal /cong-dan (their e-copies, share
links and who opened them), a share link's landing page /s/<token>, and
public verification by code /v/<code> (what the printed QR code opens).

Downloads go to the JSON API's routes (/api/v1/my/ecopies/<code>/file,
/api/v1/shares/<token>/file), which accept the session cookie for GET."""
from __future__ import annotations

from datetime import datetime

from flask import redirect, render_template, request, url_for

from docsvc.ecopies import service
from docsvc.ecopies.api import book_file, book_for
from docsvc.ecopies.codes import format_code
from docsvc.errors import DocsvcError, InvalidInput
from docsvc.models import (
    EcopyKind,
    EcopyStatus,
    Role,
    ShareState,
)
from docsvc.web.blueprints import pages
from docsvc.web.context import runtime, session_user
from docsvc.web.document_page import act
from docsvc.web.request_limits import check_rate, client_key
from docsvc.web.requests import login_required


@pages.post("/documents/<document_id>/ecopy")
@login_required
def issue_ecopy(document_id: str):
    return act(document_id, lambda: service.issue(
        runtime(), session_user(), document_id, citizen_id=request.form.get("citizen_id", ""),
        # An issued document is registered as it is: no key is opened for it.
        secret=request.form.get("passphrase", "") or "-", kind=request.form.get("kind", EcopyKind.CERTIFIED_COPY),
        details=request.form,
    ))


@pages.post("/documents/<document_id>/ecopy/status")
@login_required
def change_ecopy_status(document_id: str):
    """Revoke (a reason) or supersede (a reason and the replacing e-copy's code)."""
    status = request.form.get("status", "")
    return act(document_id, lambda: service.change_status(
        runtime(), session_user(), request.form.get("code", ""), status, request.form.get("reason", ""),
        request.form.get("superseded_by", "") if status == EcopyStatus.SUPERSEDED else None,
    ))


@pages.get("/registers/certification")
@login_required
def certification_book():
    entries, error = None, None
    try:
        entries = book_for(session_user())
    except DocsvcError as exc:  # a year or book out of range, another agency's book
        error = exc
    return (render_template("ecopies/book.html", book=entries, error=error, year=request.args.get("year", ""),
                            book_number=request.args.get("book", "")),
            error.http_status if error else 200)


@pages.get("/registers/certification.<extension>")
@login_required
def download_certification_book(extension: str):
    return book_file(book_for(session_user()), extension)


# --- the citizen's portal ----------------------------------------------------------


@pages.get("/cong-dan")
@login_required
def portal():
    return _portal()


def _portal(new_share: dict | None = None, error: DocsvcError | None = None, form: dict | None = None):
    user = session_user()
    if user.role != Role.CITIZEN:
        return redirect(url_for("pages.home"))
    with runtime().read() as db:
        rows = [(e, service.record_json(e), service.shares_of(db, user, e.code))
                for e in service.citizen_ecopies(db, user)]
        html = render_template(
            "ecopies/portal.html", rows=rows, state=service.share_state, format_code=format_code,
            new_share=new_share, error=error, form=form or {},
            max_days=service.MAX_SHARE_DAYS, max_uses=service.MAX_SHARE_USES,
        )
    return html, (error.http_status if error else 200)


@pages.post("/cong-dan/<code>/chia-se")
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


@pages.post("/cong-dan/chia-se/<int:share_id>/thu-hoi")
@login_required
def withdraw_share(share_id: int):
    try:
        service.withdraw_share(runtime(), session_user(), share_id)
    except DocsvcError as exc:
        return _portal(error=exc)
    return redirect(url_for("pages.portal"))


# --- public: a share link's landing page, verification by code -------------------------


@pages.get("/s/<token>")
def share_landing(token: str):
    """What a receiving agency sees: issuer, date, status, a download button;
    never the citizen's data. Looking does not use the link."""
    status, state = service.peek_share(runtime(), token)
    return (render_template("ecopies/share.html", ecopy=_public(status), state=state, token=token),
            200 if state == ShareState.GRANTED else service.ShareRefused.http_status)


@pages.get("/v")
@pages.get("/v/<code>")
def verify_code(code: str | None = None):
    """Verification by code, limited per client like the API's."""
    if code is None:
        code = request.args.get("code", "").strip()
        if not code:
            return render_template("ecopies/verify.html", result=None, error=None, code="")
    result, error = None, None
    try:
        check_rate()
        result = _public(service.lookup(runtime(), code, client=client_key()))
    except DocsvcError as exc:  # a mistyped code (400), an unknown one (404), too many (429)
        error = exc
    return (render_template("ecopies/verify.html", result=result, error=error, code=code),
            error.http_status if error else 200)


def _public(data: dict) -> dict:
    """service.status_json with the issue time as a datetime, for the page's local_time."""
    return data | {"issued_at": datetime.fromisoformat(data["issued_at"])}
