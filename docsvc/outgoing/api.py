"""The outgoing workflow's JSON API: a draft, submit, return, sign, issue,
and batch signing jobs."""
from __future__ import annotations

from flask import jsonify

from docsvc import documents, incoming, outgoing
from docsvc.errors import DocsvcError, InvalidInput
from docsvc.models import DocumentKind
from docsvc.web.blueprints import api
from docsvc.web.context import api_user, runtime
from docsvc.web.errors import error_response
from docsvc.web.requests import document_response, json_body, receive_upload, secret


@api.post("/outgoing")
def upload_draft():
    """A drafter's PDF becomes an outgoing draft (raw body or multipart, like /documents)."""
    user = api_user()
    rt = runtime()
    spooled, form = receive_upload(rt, to_store=True)
    document_id, _entry_id = documents.ingest(rt, user, spooled, title=form.get("title"), kind=DocumentKind.OUTGOING)
    try:
        with rt.write() as db:
            outgoing.start_draft(db, user, document_id)
    except DocsvcError:
        documents.discard(rt, user, document_id)
        raise
    return document_response(user, document_id, 202)


@api.post("/documents/<document_id>/submit")
def submit_draft(document_id: str):
    user = api_user()
    body = json_body()
    recipients = body.get("recipients") or []
    if not isinstance(recipients, list):
        raise InvalidInput("recipients must be a list of agency codes.")
    outgoing.submit(runtime(), user, document_id, approver=str(body.get("approver") or ""), recipients=recipients,
                    position=body.get("position"))
    return document_response(user, document_id)


@api.post("/documents/<document_id>/return")
def return_draft(document_id: str):
    user = api_user()
    outgoing.return_to_drafter(runtime(), user, document_id, str(json_body().get("comment") or ""))
    return document_response(user, document_id)


@api.post("/documents/<document_id>/sign")
def sign_document(document_id: str):
    user = api_user()
    body = json_body()
    [outcome] = outgoing.sign_as_approver(runtime(), user, [document_id], secret(body), position=body.get("position"))
    if not outcome.ok:
        return error_response(outcome.code, outcome.message, outcome.http_status)
    return document_response(user, document_id)


@api.post("/documents/<document_id>/issue")
def issue_document(document_id: str):
    user = api_user()
    body = json_body()
    outgoing.issue(runtime(), user, document_id, type_code=str(body.get("type_code", "")), secret=secret(body),
                   issued=incoming.parse_date(body.get("issued_date"), "issued_date"))
    return document_response(user, document_id)


@api.post("/signing-jobs")
def start_signing_job():
    user = api_user()
    body = json_body()
    ids = body.get("document_ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise InvalidInput("document_ids must be a list of document ids.")
    job_id = outgoing.start_batch(runtime(), user, ids, secret(body))
    with runtime().read() as db:
        return jsonify(outgoing.job_json(db, user, job_id)), 202


@api.get("/signing-jobs/<job_id>")
def signing_job(job_id: str):
    user = api_user()
    with runtime().read() as db:
        return jsonify(outgoing.job_json(db, user, job_id))
