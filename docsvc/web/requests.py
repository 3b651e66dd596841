"""What every route module reads a request with: sign-in for pages, JSON
bodies, whole numbers and flags from the query string, an uploaded PDF,
a stored file streamed back, an export downloaded."""
from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from functools import wraps
from urllib.parse import quote

from flask import Response, jsonify, redirect, request, stream_with_context, url_for

from docsvc import documents, validation
from docsvc.errors import InvalidInput
from docsvc.presenters import document_json
from docsvc.web.context import runtime, session_user

# What each whole number in a query string may be (docsvc.validation).
INT_ARGS = {
    "page": (1, validation.MAX_PAGE),
    "per_page": (1, validation.MAX_PER_PAGE),
    "year": (validation.MIN_YEAR, validation.MAX_YEAR),
    "version": (1, validation.MAX_ID),
}


def login_required(view):
    """A page for signed-in users: anyone else is sent to sign in, and back after."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        if session_user() is None:
            return redirect(url_for("pages.login", next=request.full_path))
        return view(*args, **kwargs)

    return wrapper


def json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("Send a JSON object.")
    return body


def secret(body: dict) -> str:
    """The passphrase or PIN of a signing key, as an API body carries it."""
    value = body.get("passphrase")
    if not isinstance(value, str) or not value:
        raise InvalidInput("Type the passphrase or PIN of your signing key.")
    return value


def int_arg(name: str, default: int | None) -> int | None:
    minimum, maximum = INT_ARGS[name]
    return validation.whole_number(request.args.get(name), name, minimum, maximum, default)


def flag(name: str) -> bool:
    raw = request.args.get(name, "").strip().lower()
    if raw not in ("", "0", "1", "false", "true"):
        raise InvalidInput(f"{name} must be true or false.")
    return raw in ("1", "true")


def receive_upload(rt, *, to_store: bool = False) -> tuple[documents.Spooled | documents.Incoming, Mapping[str, str]]:
    """The PDF of a request, spooled: a multipart field `file` (with the other
    fields beside it), or the raw body, which streams straight to disk and is
    the way to send very large files (fields then come in the query string).
    A raw body whose SHA-256 the client declares (`Repr-Digest: sha-256=:…:`,
    RFC 9530) is, for an endpoint that stores it (`to_store`), left unread:
    `documents.ingest` streams it to the store and the spool at once."""
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise InvalidInput("Send the PDF in a form field named 'file'.")
        return documents.spool(upload.stream, upload.filename or "document.pdf", rt), request.form
    filename = request.args.get("filename", "document.pdf")
    declared = declared_sha256(request.headers.get("Repr-Digest")) if to_store else None
    if declared is not None:
        return documents.Incoming(request.stream, filename, declared, request.content_length), request.args
    return documents.spool(request.stream, filename, rt), request.args


def declared_sha256(header: str | None) -> str | None:
    """The SHA-256 (hex) a Repr-Digest header gives, if it gives one."""
    for member in (header or "").split(","):
        name, _, value = member.strip().partition("=")
        if name.strip().lower() != "sha-256":
            continue
        value = value.strip()
        try:
            digest = base64.b64decode(value[1:-1], validate=True) if value[:1] == value[-1:] == ":" else b""
        except binascii.Error:
            digest = b""
        if len(digest) != 32:
            raise InvalidInput("Repr-Digest: sha-256 must be the file's SHA-256 in base64 between colons "
                               "(sha-256=:…:).")
        return digest.hex()
    return None


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


def download(data: bytes, filename: str, media_type: str) -> Response:
    """Bytes made for this request (a report, a register) as a file to save."""
    return Response(data, mimetype=media_type, headers={
        "Content-Disposition": f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(filename)}"})


def document_response(user, document_id: str, status: int = 200):
    """What every API action on a document answers: the document as it now is."""
    with runtime().read() as db:
        return jsonify(document_json(documents.get_document(db, user, document_id))), status
