"""The document page, which every domain adds its part to (the register
fields and handling, the outgoing workflow, the e-copy), and `act`, which
runs a form's action and comes back to it."""
from __future__ import annotations

from flask import redirect, render_template, request, url_for
from sqlalchemy import select

from docsvc import documents, incoming, permissions
from docsvc.ecopies import views as ecopy_views
from docsvc.errors import DocsvcError, http_status
from docsvc.exchange import views as exchange_views
from docsvc.localtime import today
from docsvc.models import FileRole, User
from docsvc.outgoing import views as outgoing_views
from docsvc.web.context import runtime, session_user
from signing import SigningError

TEXT_PREVIEW_CHARS = 20_000


def document_page(document_id: str, error: DocsvcError | SigningError | None = None, form: dict | None = None):
    """The document with what the user can do next: confirm the suggested
    register fields, assign it, or move its handling along."""
    rt = runtime()
    user = session_user()
    with rt.read() as db:
        doc = documents.get_document(db, user, document_id)
        text = documents.read_text(rt, doc)
        original = doc.file(FileRole.ORIGINAL)
        duplicate = None
        if doc.register_book is None and original is not None:
            duplicate = incoming.find_registered_copy(db, doc.agency_id, original.sha256, exclude_id=doc.id)
        staff = list(db.scalars(
            select(User).where(User.agency_id == doc.agency_id, User.active.is_(True), User.role.in_(permissions.STAFF_ROLES))
            .order_by(User.full_name, User.username)
        ))
        html = render_template(
            "document.html", doc=doc, text=text[:TEXT_PREVIEW_CHARS], truncated=len(text) > TEXT_PREVIEW_CHARS,
            duplicate=duplicate, staff=staff, departments=sorted({u.department for u in staff if u.department}),
            can_route=permissions.may_route(user), is_handler=permissions.is_handler(user, doc),
            overdue=incoming.is_overdue(doc), today=today(), error=error, form=form or {},
            next_steps=incoming.TRANSITIONS.get(doc.handling_status, ()),
            outgoing=outgoing_views.document_context(db, rt, user, doc),
            ecopy_view=ecopy_views.document_context(db, rt, user, doc),
            received=exchange_views.document_context(db, user, doc),
        )
    return html, (http_status(error) if error else 200)


def act(document_id: str, action):
    """Run a form's action; back to the document page, with the error on it if it failed."""
    try:
        action()
    except (DocsvcError, SigningError) as exc:  # a wrong passphrase, an expired certificate…
        return document_page(document_id, exc, request.form.to_dict())
    return redirect(url_for("pages.document", document_id=document_id))
