"""The documents' JSON API: upload, list, show, download, discard, search."""
from __future__ import annotations

from flask import jsonify, request

from docsvc import documents
from docsvc.errors import NotFound
from docsvc.models import DocumentKind
from docsvc.presenters import document_json, search_json
from docsvc.web.blueprints import api
from docsvc.web.context import api_user, runtime
from docsvc.web.requests import flag, int_arg, receive_upload, stream_file


@api.post("/documents")
def upload_document():
    user = api_user()
    rt = runtime()
    spooled, form = receive_upload(rt, to_store=True)
    document_id, _entry_id = documents.ingest(
        rt, user, spooled, title=form.get("title"), kind=form.get("kind") or DocumentKind.UPLOAD
    )
    with rt.read() as db:
        document = documents.get_document(db, user, document_id)
        return jsonify(document_json(document)), 202


@api.get("/documents")
def list_documents():
    user = api_user()
    with runtime().read() as db:
        total, rows = documents.list_documents(
            db, user, page=int_arg("page", 1), per_page=int_arg("per_page", 20)
        )
        return jsonify({"total": total, "documents": [document_json(d) for d in rows]})


@api.get("/documents/<document_id>")
def show_document(document_id: str):
    user = api_user()
    rt = runtime()
    with rt.read() as db:
        document = documents.get_document(db, user, document_id)
        text = documents.read_text(rt, document) if request.args.get("text") in ("1", "true") else None
        return jsonify(document_json(document, text))


@api.get("/documents/<document_id>/files/<role>")
def download_file(document_id: str, role: str):
    user = api_user()
    rt = runtime()
    with rt.read() as db:
        document = documents.get_document(db, user, document_id)
        # Of several versions (signed, then sealed, then renewed) the current
        # one, unless ?version= names a file of this role by its id.
        version = int_arg("version", None)
        stored = (next((f for f in document.files if f.role == role and f.id == version), None)
                  if version is not None else document.latest(role))
        if stored is None:
            raise NotFound(f"This document has no {role} file.")
        key, media_type, filename, size = stored.storage_key, stored.media_type, stored.filename, stored.size
    return stream_file(key, filename or "document", size, media_type)


@api.delete("/documents/<document_id>")
def discard_document(document_id: str):
    documents.discard(runtime(), api_user(), document_id)
    return "", 204


@api.get("/search")
def search():
    """The search page's search: the same filters, sort and facets."""
    user = api_user()
    result = documents.search(
        runtime(),
        user,
        request.args.get("q", ""),
        page=int_arg("page", 1),
        per_page=int_arg("per_page", 20),
        filters=documents.search_filters(request.args),
        facets=flag("facets"),
    )
    with runtime().read() as db:
        recalled = documents.recalled_among(db, result)
    return jsonify(search_json(result, recalled))
