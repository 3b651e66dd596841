"""The JSON API under /api/v1. Each view parses, calls one service, answers."""
from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

import yaml
from flask import Blueprint, Response, jsonify, request, stream_with_context
from sqlalchemy import text

from docsvc import accounts, documents, ecopies, incoming, outgoing, signatures, validation
from docsvc.documents import read_text
from docsvc.errors import DocsvcError, InvalidInput, NotFound
from docsvc.localtime import today
from docsvc.models import DocumentKind
from docsvc.presenters import document_json, search_json
from docsvc.tasks import dispatch
from docsvc.web import signin
from docsvc.web.context import api_user, runtime
from docsvc.web.errors import error_response
from docsvc.web.i18n import current_language

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")
OPENAPI_FILE = Path(__file__).resolve().parent.parent / "openapi.yaml"


# What each whole number in a query string may be (docsvc.validation).
INT_ARGS = {
    "page": (1, validation.MAX_PAGE),
    "per_page": (1, validation.MAX_PER_PAGE),
    "year": (validation.MIN_YEAR, validation.MAX_YEAR),
    "version": (1, validation.MAX_ID),
}


def _int_arg(name: str, default: int | None) -> int | None:
    minimum, maximum = INT_ARGS[name]
    return validation.whole_number(request.args.get(name), name, minimum, maximum, default)


def receive_upload(rt) -> tuple[documents.Spooled, Mapping[str, str]]:
    """The PDF of a request, spooled: a multipart field `file` (with the other
    fields beside it), or the raw body, which streams straight to disk and is
    the way to send very large files (fields then come in the query string)."""
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise InvalidInput("Send the PDF in a form field named 'file'.")
        return documents.spool(upload.stream, upload.filename or "document.pdf", rt), request.form
    return documents.spool(request.stream, request.args.get("filename", "document.pdf"), rt), request.args


@blueprint.get("/health")
def health():
    rt = runtime()
    with rt.read() as db:
        db.execute(text("SELECT 1"))
    return jsonify({"status": "ok", "profile": "embedded" if rt.settings.embedded else "scaled"})


@functools.cache
def _openapi_document() -> dict:
    return yaml.safe_load(OPENAPI_FILE.read_text(encoding="utf-8"))


@blueprint.get("/openapi.json")
def openapi():
    return jsonify(_openapi_document())


@blueprint.post("/tokens")
def create_token():
    body = _json_body()
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise InvalidInput("Send a JSON body with username and password.")
    rt = runtime()
    with rt.read() as db:  # argon2 outside the write transaction, as on /login
        user = signin.sign_in(rt, db, username, password)  # a 429 carries its Retry-After
    with rt.write() as db:
        token, row = accounts.issue_token_record(db, user, str(body.get("name", "")), days=rt.settings.token_days)
        return jsonify({"token": token, **_token_json(row), "username": user.username, "role": user.role}), 201


def _token_json(row) -> dict:
    return {"id": row.id, "name": row.name, "created_at": row.created_at.isoformat(),
            "expires_at": accounts.token_expiry(row, runtime().settings.token_days).isoformat(),
            "revoked": row.revoked_at is not None}


@blueprint.get("/tokens")
def list_tokens():
    """The caller's API tokens (an administrator: anyone's, with ?username=); never the secrets."""
    user = api_user()
    with runtime().read() as db:
        rows = accounts.list_tokens(db, user, request.args.get("username") or None)
        return jsonify({"tokens": [_token_json(row) for row in rows]})


@blueprint.delete("/tokens/<token_id>")
def revoke_token(token_id: str):
    """Revoke a token: its owner or an administrator."""
    user = api_user()
    if not token_id.isdigit() or len(token_id) > 18:
        raise NotFound(f"No API token {token_id} of yours.")
    with runtime().write() as db:
        accounts.revoke_token_id(db, user, int(token_id))
    return "", 204


@blueprint.post("/documents")
def upload_document():
    user = api_user()
    rt = runtime()
    spooled, form = receive_upload(rt)
    document_id, entry_id = documents.ingest(
        rt, user, spooled, title=form.get("title"), kind=form.get("kind") or DocumentKind.UPLOAD
    )
    dispatch(rt, [entry_id])
    with rt.read() as db:
        document = documents.get_document(db, user, document_id)
        return jsonify(document_json(document)), 202


@blueprint.get("/documents")
def list_documents():
    user = api_user()
    with runtime().read() as db:
        total, rows = documents.list_documents(
            db, user, page=_int_arg("page", 1), per_page=_int_arg("per_page", 20)
        )
        return jsonify({"total": total, "documents": [document_json(d) for d in rows]})


@blueprint.get("/documents/<document_id>")
def show_document(document_id: str):
    user = api_user()
    rt = runtime()
    with rt.read() as db:
        document = documents.get_document(db, user, document_id)
        text = read_text(rt, document) if request.args.get("text") in ("1", "true") else None
        return jsonify(document_json(document, text))


@blueprint.get("/documents/<document_id>/files/<role>")
def download_file(document_id: str, role: str):
    user = api_user()
    rt = runtime()
    with rt.read() as db:
        document = documents.get_document(db, user, document_id)
        # Of several versions (signed, then sealed, then renewed) the current
        # one, unless ?version= names a file of this role by its id.
        version = _int_arg("version", None)
        stored = (next((f for f in document.files if f.role == role and f.id == version), None)
                  if version is not None else document.latest(role))
        if stored is None:
            raise NotFound(f"This document has no {role} file.")
        key, media_type, filename, size = stored.storage_key, stored.media_type, stored.filename, stored.size
    return stream_file(key, filename or "document", size, media_type)


def stream_file(key: str, filename: str, size: int, media_type: str = "application/pdf") -> Response:
    """A stored object as a download, streamed (never whole in memory)."""
    reader = runtime().store.open(key)

    def body():
        with reader:
            yield from reader.iter_chunks()

    response = Response(stream_with_context(body()), mimetype=media_type.split(";")[0])
    response.headers["Content-Length"] = str(size)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename, safe='')}"
    return response


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("Send a JSON object.")
    return body


@blueprint.delete("/documents/<document_id>")
def discard_document(document_id: str):
    documents.discard(runtime(), api_user(), document_id)
    return "", 204


@blueprint.post("/documents/<document_id>/register")
def register_document(document_id: str):
    user = api_user()
    body = _json_body()
    incoming.register_document(runtime(), user, document_id, body, allow_duplicate=body.get("allow_duplicate") is True)
    return _document_response(user, document_id)


@blueprint.post("/documents/<document_id>/assign")
def assign_document(document_id: str):
    user = api_user()
    body = _json_body()
    with runtime().write() as db:
        incoming.assign(
            db, user, document_id,
            assignee_username=body.get("assignee") or None,
            department=body.get("department") or None,
            deadline=incoming.parse_date(body.get("deadline"), "deadline"),
            note=str(body.get("note") or ""),
        )
    return _document_response(user, document_id)


@blueprint.post("/documents/<document_id>/handling")
def move_document(document_id: str):
    user = api_user()
    body = _json_body()
    with runtime().write() as db:
        incoming.move(db, user, document_id, str(body.get("status", "")), str(body.get("note") or ""))
    return _document_response(user, document_id)


def _document_response(user, document_id: str, status: int = 200):
    with runtime().read() as db:
        return jsonify(document_json(documents.get_document(db, user, document_id))), status


@blueprint.get("/queue")
def my_queue():
    user = api_user()
    with runtime().read() as db:
        rows = incoming.queue(db, user, include_done=request.args.get("done") in ("1", "true"))
        return jsonify({"documents": [document_json(d) for d in rows]})


@blueprint.get("/registers/incoming")
def incoming_register():
    user = api_user()
    with runtime().read() as db:
        rows = incoming.register_entries(db, user, _int_arg("year", today().year))
        return jsonify({"entries": [document_json(d) for d in rows]})


@blueprint.post("/outgoing")
def upload_draft():
    """A drafter's PDF becomes an outgoing draft (raw body or multipart, like /documents)."""
    user = api_user()
    rt = runtime()
    spooled, form = receive_upload(rt)
    document_id, entry_id = documents.ingest(rt, user, spooled, title=form.get("title"), kind=DocumentKind.OUTGOING)
    try:
        with rt.write() as db:
            outgoing.start_draft(db, user, document_id)
    except DocsvcError:
        documents.discard(rt, user, document_id)
        raise
    dispatch(rt, [entry_id])
    return _document_response(user, document_id, 202)


@blueprint.post("/documents/<document_id>/submit")
def submit_draft(document_id: str):
    user = api_user()
    body = _json_body()
    recipients = body.get("recipients") or []
    if not isinstance(recipients, list):
        raise InvalidInput("recipients must be a list of agency codes.")
    outgoing.submit(runtime(), user, document_id, approver=str(body.get("approver") or ""), recipients=recipients,
                    position=body.get("position"))
    return _document_response(user, document_id)


@blueprint.post("/documents/<document_id>/return")
def return_draft(document_id: str):
    user = api_user()
    outgoing.return_to_drafter(runtime(), user, document_id, str(_json_body().get("comment") or ""))
    return _document_response(user, document_id)


@blueprint.post("/documents/<document_id>/sign")
def sign_document(document_id: str):
    user = api_user()
    body = _json_body()
    [outcome] = outgoing.sign_as_approver(runtime(), user, [document_id], _secret(body), position=body.get("position"))
    if not outcome.ok:
        return error_response(outcome.code, outcome.message, outcome.http_status)
    return _document_response(user, document_id)


@blueprint.post("/documents/<document_id>/issue")
def issue_document(document_id: str):
    user = api_user()
    body = _json_body()
    outgoing.issue(runtime(), user, document_id, type_code=str(body.get("type_code", "")), secret=_secret(body),
                   issued=incoming.parse_date(body.get("issued_date"), "issued_date"))
    return _document_response(user, document_id)


@blueprint.post("/signing-jobs")
def start_signing_job():
    user = api_user()
    body = _json_body()
    ids = body.get("document_ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise InvalidInput("document_ids must be a list of document ids.")
    job_id = outgoing.start_batch(runtime(), user, ids, _secret(body))
    with runtime().read() as db:
        return jsonify(outgoing.job_json(db, user, job_id)), 202


@blueprint.get("/signing-jobs/<job_id>")
def signing_job(job_id: str):
    user = api_user()
    with runtime().read() as db:
        return jsonify(outgoing.job_json(db, user, job_id))


def _secret(body: dict) -> str:
    secret = body.get("passphrase")
    if not isinstance(secret, str) or not secret:
        raise InvalidInput("Type the passphrase or PIN of your signing key.")
    return secret


@blueprint.post("/verify")
def verify_signatures():
    """Anyone may ask whether a signed PDF is genuine: no sign-in needed."""
    rt = runtime()
    spooled, _ = receive_upload(rt)
    filename, sha256 = spooled.filename, spooled.sha256
    ecopy = ecopies.match_file(rt, spooled.path, sha256, client=request.remote_addr or "")
    if request.args.get("format") != "pdf":
        # The very bytes of a registered e-copy: its report is already known.
        data = ecopies.registered_report(rt, sha256) if ecopy and ecopy["matches_registered_file"] else None
        if data is not None:
            spooled.discard()
        else:
            data = signatures.verify_upload(rt.settings, spooled).to_json()
        if ecopy is not None:
            data = {**data, "ecopy": ecopy}
        return jsonify(data)
    report = signatures.verify_upload(rt.settings, spooled)
    # The printable report, for a person to file, in the request's language
    # (?lang=vi|en, else the browser session's, else the installation's).
    pdf = signatures.render_report(report, filename=filename, sha256=sha256, lang=current_language())
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = "attachment; filename=bao-cao-kiem-tra-chu-ky.pdf"
    return response


@blueprint.get("/search")
def search():
    """The search page's search: the same filters, sort and facets."""
    user = api_user()
    result = documents.search(
        runtime(),
        user,
        request.args.get("q", ""),
        page=_int_arg("page", 1),
        per_page=_int_arg("per_page", 20),
        filters=documents.search_filters(request.args),
        facets=_flag("facets"),
    )
    return jsonify(search_json(result))


def _flag(name: str) -> bool:
    raw = request.args.get(name, "").strip().lower()
    if raw not in ("", "0", "1", "false", "true"):
        raise InvalidInput(f"{name} must be true or false.")
    return raw in ("1", "true")
