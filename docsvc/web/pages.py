"""HTML pages for clerks and officials: sign in, upload, view, search."""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, redirect, render_template, request, session, url_for

from docsvc import accounts, documents, signatures
from docsvc.errors import DocsvcError, InvalidInput, Unauthorized
from docsvc.indexing import read_text
from docsvc.web.context import runtime, session_user

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
        try:
            with runtime().write() as db:
                user = accounts.authenticate(db, request.form.get("username", ""), request.form.get("password", ""))
                # A fresh session for the signed-in user, keeping the language
                # chosen on the sign-in page.
                language = session.get("lang")
                session.clear()
                if language:
                    session["lang"] = language
                session["user_id"] = user.id
            target = request.args.get("next", "")
            # Only local paths: never bounce a fresh login to another site.
            return redirect(target if target.startswith("/") and not target.startswith("//") else url_for("pages.home"))
        except Unauthorized as exc:
            error = exc
    return render_template("login.html", error=error), (401 if error else 200)


@blueprint.post("/logout")
def logout():
    session.pop("user_id", None)
    return redirect(url_for("pages.login"))


@blueprint.get("/")
@login_required
def home():
    with runtime().read() as db:
        total, rows = documents.list_documents(db, session_user(), page=1, per_page=50)
    return render_template("home.html", documents=rows, total=total, max_upload=runtime().settings.max_upload_bytes)


@blueprint.get("/documents/<document_id>")
@login_required
def document(document_id: str):
    rt = runtime()
    with rt.read() as db:
        doc = documents.get_document(db, session_user(), document_id)
        text = read_text(rt, doc)
    return render_template(
        "document.html", doc=doc, text=text[:TEXT_PREVIEW_CHARS], truncated=len(text) > TEXT_PREVIEW_CHARS
    )


@blueprint.route("/verify", methods=["GET", "POST"])
def verify():
    """The public page: anyone uploads a signed PDF and reads the report."""
    report, error, filename = None, None, None
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            error = InvalidInput("Choose a PDF file.")
        else:
            filename = upload.filename
            rt = runtime()
            try:
                report = signatures.verify_upload(rt.settings, documents.spool(upload.stream, filename, rt))
            except DocsvcError as exc:
                error = exc
    return render_template("verify.html", report=report, error=error, filename=filename), (400 if error else 200)


@blueprint.get("/search")
@login_required
def search():
    query = request.args.get("q", "").strip()
    kind = request.args.get("kind") or None
    year_raw = request.args.get("year", "").strip()
    page = request.args.get("page", "1")
    result, error = None, None
    if query:
        try:
            year = int(year_raw) if year_raw else None
            result = documents.search(runtime(), session_user(), query, kind=kind, year=year, page=max(1, int(page)))
        except ValueError:
            abort(400)
        except DocsvcError as exc:
            error = exc
    return render_template(
        "search.html", query=query, kind=kind, year=year_raw, page=int(page), result=result, error=error,
        kinds=documents.KINDS,
    )
