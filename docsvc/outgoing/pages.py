"""The outgoing workflow's pages (văn bản đi): the list, the signing
preview, the document page's submit, return, sign and issue forms, and
batch signing."""
from __future__ import annotations

from flask import Response, abort, render_template, request

from docsvc import incoming, outgoing, permissions, validation
from docsvc.outgoing import views
from docsvc.web.blueprints import pages
from docsvc.web.context import runtime, session_user
from docsvc.web.document_page import act
from docsvc.web.requests import login_required


def _staff_only():
    if session_user().role not in permissions.STAFF_ROLES:
        abort(403)


@pages.get("/outgoing")
@login_required
def outgoing_documents():
    """Upload a draft; my drafts, those waiting for my signature, those to issue."""
    _staff_only()
    with runtime().read() as db:
        return render_template("outgoing/list.html", max_upload=runtime().settings.max_upload_bytes,
                               **views.lists(db, session_user()))


@pages.get("/documents/<document_id>/preview.png")
@login_required
def signature_preview(document_id: str):
    """A page (0-based, negative from the end) of the PDF the leader signs."""
    page = validation.whole_number(request.args.get("page"), "page", -validation.MAX_PAGE, validation.MAX_PAGE, -1)
    png = views.preview_png(runtime(), session_user(), document_id, page)
    return Response(png, mimetype="image/png", headers={"Cache-Control": "private, max-age=300"})


@pages.post("/documents/<document_id>/submit")
@login_required
def submit_draft(document_id: str):
    return act(document_id, lambda: outgoing.submit(
        runtime(), session_user(), document_id, approver=request.form.get("approver", ""),
        recipients=request.form.getlist("recipients"),
    ))


@pages.post("/documents/<document_id>/return")
@login_required
def return_draft(document_id: str):
    return act(document_id, lambda: outgoing.return_to_drafter(
        runtime(), session_user(), document_id, request.form.get("comment", "")
    ))


@pages.post("/documents/<document_id>/sign")
@login_required
def sign_document(document_id: str):
    def sign():
        [outcome] = outgoing.sign_as_approver(
            runtime(), session_user(), [document_id], request.form.get("passphrase", ""),
            position=views.position_from_form(request.form),
        )
        if not outcome.ok:
            raise views.outcome_error(outcome)
    return act(document_id, sign)


@pages.post("/documents/<document_id>/issue")
@login_required
def issue_document(document_id: str):
    return act(document_id, lambda: outgoing.issue(
        runtime(), session_user(), document_id, type_code=request.form.get("type_code", ""),
        secret=request.form.get("passphrase", ""),
        issued=incoming.parse_date(request.form.get("issued_date"), "issued_date"),
    ))


@pages.get("/signing")
@login_required
def batch_signing():
    """Sign many documents at once: one passphrase, progress while it runs."""
    _staff_only()
    with runtime().read() as db:
        return render_template("outgoing/signing.html", rows=outgoing.awaiting_signature(db, session_user()))
