"""HTML pages for clerks and officials: sign in, upload, view, search."""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from sqlalchemy import select

from docsvc import documents, ecopies, incoming, outgoing, signatures, validation
from docsvc.documents import index_complete, read_text
from docsvc.documents import search_page as search_views
from docsvc.errors import DocsvcError, InvalidInput, Unauthorized
from docsvc.localtime import today
from docsvc.models import STAFF_ROLES, FileRole, Role, User
from docsvc.outgoing import views as outgoing_views
from docsvc.web import signin
from docsvc.web.context import begin_session, end_session, runtime, session_user
from signing import SigningError

blueprint = Blueprint("pages", __name__)
TEXT_PREVIEW_CHARS = 20_000


def login_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if session_user() is None:
            return redirect(url_for("pages.login", next=request.full_path))
        return view(*args, **kwargs)

    return wrapper


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        rt = runtime()
        try:
            # The password check (argon2, 0.2 s) runs outside the write
            # transaction: on SQLite that would hold every writer back.
            with rt.read() as db:
                user = signin.sign_in(rt, db, request.form.get("username", ""), request.form.get("password", ""))
            with rt.write() as db:
                begin_session(db, user)
            # Only local paths: never bounce a fresh login to another site.
            return redirect(signin.local_path(request.args.get("next")) or url_for("pages.home"))
        except signin.SignInThrottled as exc:
            return (render_template("login.html", error=exc), exc.http_status,
                    {"Retry-After": str(exc.retry_after)})
        except Unauthorized as exc:
            error = exc
    return render_template("login.html", error=error), (401 if error else 200)


@blueprint.post("/logout")
def logout():
    end_session()
    return redirect(url_for("pages.login"))


@blueprint.get("/")
@login_required
def home():
    if session_user().role == Role.CITIZEN:  # a citizen's start page is their e-copies
        return redirect(url_for("ecopy_pages.portal"))
    with runtime().read() as db:
        total, rows = documents.list_documents(db, session_user(), page=1, per_page=50)
    return render_template("home.html", documents=rows, total=total, max_upload=runtime().settings.max_upload_bytes)


@blueprint.get("/documents/<document_id>")
@login_required
def document(document_id: str):
    return _document_page(document_id)


def _document_page(document_id: str, error: DocsvcError | SigningError | None = None, form: dict | None = None):
    """The document with what the user can do next: confirm the suggested
    register fields, assign it, or move its handling along."""
    from docsvc.ecopies import pages as ecopy_views

    rt = runtime()
    user = session_user()
    with rt.read() as db:
        doc = documents.get_document(db, user, document_id)
        text = read_text(rt, doc)
        original = doc.file(FileRole.ORIGINAL)
        duplicate = None
        if doc.register_book is None and original is not None:
            duplicate = incoming.find_registered_copy(db, doc.agency_id, original.sha256, exclude_id=doc.id)
        staff = list(db.scalars(
            select(User).where(User.agency_id == doc.agency_id, User.active.is_(True), User.role.in_(STAFF_ROLES))
            .order_by(User.full_name, User.username)
        ))
        html = render_template(
            "document.html", doc=doc, text=text[:TEXT_PREVIEW_CHARS], truncated=len(text) > TEXT_PREVIEW_CHARS,
            duplicate=duplicate, staff=staff, departments=sorted({u.department for u in staff if u.department}),
            can_route=user.role in incoming.ROUTERS, is_handler=incoming.is_handler(user, doc),
            overdue=incoming.is_overdue(doc), today=today(), error=error, form=form or {},
            next_steps=incoming.TRANSITIONS.get(doc.handling_status, ()),
            outgoing=outgoing_views.document_context(db, rt, user, doc),
            ecopy_view=ecopy_views.document_context(db, rt, user, doc),
        )
    return html, (outgoing_views.error_status(error) if error else 200)


def _act(document_id: str, action):
    """Run a form's action; back to the document page, with the error on it if it failed."""
    try:
        action()
    except (DocsvcError, SigningError) as exc:  # a wrong passphrase, an expired certificate…
        return _document_page(document_id, exc, request.form.to_dict())
    return redirect(url_for("pages.document", document_id=document_id))


@blueprint.post("/documents/<document_id>/register")
@login_required
def register_document(document_id: str):
    return _act(document_id, lambda: incoming.register_document(
        runtime(), session_user(), document_id, request.form, allow_duplicate=request.form.get("allow_duplicate") == "1"
    ))


@blueprint.post("/documents/<document_id>/assign")
@login_required
def assign_document(document_id: str):
    def assign():
        with runtime().write() as db:
            incoming.assign(
                db, session_user(), document_id,
                assignee_username=request.form.get("assignee") or None,
                department=request.form.get("department") or None,
                deadline=incoming.parse_date(request.form.get("deadline"), "deadline"),
                note=request.form.get("note", ""),
            )
    return _act(document_id, assign)


@blueprint.post("/documents/<document_id>/handling")
@login_required
def move_document(document_id: str):
    def move():
        with runtime().write() as db:
            incoming.move(db, session_user(), document_id, request.form.get("status", ""), request.form.get("note", ""))
    return _act(document_id, move)


# --- outgoing documents (văn bản đi) and signing ---------------------------------


def _staff_only():
    if session_user().role not in STAFF_ROLES:
        abort(403)


@blueprint.get("/outgoing")
@login_required
def outgoing_documents():
    """Upload a draft; my drafts, those waiting for my signature, those to issue."""
    _staff_only()
    with runtime().read() as db:
        return render_template("outgoing.html", max_upload=runtime().settings.max_upload_bytes,
                               **outgoing_views.lists(db, session_user()))


@blueprint.get("/documents/<document_id>/preview.png")
@login_required
def signature_preview(document_id: str):
    """A page (0-based, negative from the end) of the PDF the leader signs."""
    page = validation.whole_number(request.args.get("page"), "page", -validation.MAX_PAGE, validation.MAX_PAGE, -1)
    png = outgoing_views.preview_png(runtime(), session_user(), document_id, page)
    return Response(png, mimetype="image/png", headers={"Cache-Control": "private, max-age=300"})


@blueprint.post("/documents/<document_id>/submit")
@login_required
def submit_draft(document_id: str):
    return _act(document_id, lambda: outgoing.submit(
        runtime(), session_user(), document_id, approver=request.form.get("approver", ""),
        recipients=request.form.getlist("recipients"),
    ))


@blueprint.post("/documents/<document_id>/return")
@login_required
def return_draft(document_id: str):
    return _act(document_id, lambda: outgoing.return_to_drafter(
        runtime(), session_user(), document_id, request.form.get("comment", "")
    ))


@blueprint.post("/documents/<document_id>/sign")
@login_required
def sign_document(document_id: str):
    def sign():
        [outcome] = outgoing.sign_as_approver(
            runtime(), session_user(), [document_id], request.form.get("passphrase", ""),
            position=outgoing_views.position_from_form(request.form),
        )
        if not outcome.ok:
            raise outgoing_views.outcome_error(outcome)
    return _act(document_id, sign)


@blueprint.post("/documents/<document_id>/issue")
@login_required
def issue_document(document_id: str):
    return _act(document_id, lambda: outgoing.issue(
        runtime(), session_user(), document_id, type_code=request.form.get("type_code", ""),
        secret=request.form.get("passphrase", ""),
        issued=incoming.parse_date(request.form.get("issued_date"), "issued_date"),
    ))


@blueprint.get("/signing")
@login_required
def batch_signing():
    """Sign many documents at once: one passphrase, progress while it runs."""
    _staff_only()
    with runtime().read() as db:
        return render_template("signing.html", rows=outgoing.awaiting_signature(db, session_user()))


@blueprint.post("/documents/<document_id>/discard")
@login_required
def discard_document(document_id: str):
    try:
        documents.discard(runtime(), session_user(), document_id)
    except DocsvcError as exc:
        return _document_page(document_id, exc)
    return redirect(url_for("pages.home"))


@blueprint.get("/queue")
@login_required
def queue():
    with runtime().read() as db:
        rows = incoming.queue(db, session_user(), include_done=request.args.get("done") == "1")
        return render_template("queue.html", rows=rows, is_overdue=incoming.is_overdue,
                               include_done=request.args.get("done") == "1")


@blueprint.get("/registers/incoming")
@login_required
def incoming_register():
    year = validation.whole_number(request.args.get("year"), "year", validation.MIN_YEAR, validation.MAX_YEAR,
                                   today().year)
    needle = request.args.get("q", "").strip()
    with runtime().read() as db:
        rows = incoming.register_entries(db, session_user(), year, text=needle or None)
        return render_template("register.html", rows=rows, year=year, q=needle, is_overdue=incoming.is_overdue)


@blueprint.route("/verify", methods=["GET", "POST"])
def verify():
    """The public page: anyone uploads a signed PDF and reads the report
    (limited per client and in size by docsvc/web/request_limits.py)."""
    report, error, filename, ecopy = None, None, None, None
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            error = InvalidInput("Choose a PDF file.")
        else:
            filename = upload.filename
            rt = runtime()
            try:
                spooled = documents.spool(upload.stream, filename, rt)
                try:  # is it, or does it claim to be, a registered e-copy? (before the spool goes)
                    ecopy = ecopies.match_file(rt, spooled.path, spooled.sha256, client=request.remote_addr or "")
                finally:
                    report = signatures.verify_upload(rt.settings, spooled)
            except DocsvcError as exc:
                error = exc
    return (render_template("verify.html", report=report, error=error, filename=filename, ecopy=ecopy),
            (error.http_status if error else 200))


@blueprint.get("/search")
@login_required
def search():
    """Results with facets that narrow, the filters in force, an order and pages."""
    query = request.args.get("q", "").strip()
    filters, page, result, error, status = documents.SearchFilters(), 1, None, None, 200
    try:
        page = validation.whole_number(request.args.get("page"), "page", 1, validation.MAX_PAGE, 1)
        filters = documents.search_filters(request.args)
    except DocsvcError as exc:  # a hand-made address: the page's own links send neither
        error, status = exc, exc.http_status
    if query and error is None:
        try:
            result = documents.search(runtime(), session_user(), query, page=page, per_page=search_views.PER_PAGE,
                                      filters=filters, facets=True)
        except DocsvcError as exc:  # what the person typed (or a date range back to front): shown on the page
            error = exc
    address = search_views.SearchAddress(query, filters, page)
    complete = result is None or index_complete(runtime())
    with runtime().read() as db:
        view = search_views.page_view(db, session_user(), address, result, complete)
    return render_template("search.html", query=query, filters=filters, page=page, result=result, error=error,
                           view=view, hidden=address.args(), per_page=search_views.PER_PAGE), status


@blueprint.get("/documents/<document_id>/thumbnail")
@login_required
def thumbnail(document_id: str):
    """The first page, small, for the search results: drawn once, then kept
    (docsvc/documents/thumbnails.py). The ETag is the picture's hash, so a browser
    whose copy is current gets 304 after the permission check."""
    picture = documents.thumbnail(runtime(), session_user(), document_id)
    response = Response(picture.data, mimetype=picture.media_type)
    # Private: it shows a document only some may see. Ten minutes, then a
    # cheap revalidation: a newly signed version shows soon enough.
    response.headers["Cache-Control"] = "private, max-age=600"
    response.set_etag(picture.etag)
    return response.make_conditional(request)
