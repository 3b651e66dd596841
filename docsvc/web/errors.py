"""One error shape for the API: HTTP status + {"code", "message"}."""
from __future__ import annotations

import logging

from flask import Flask, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from docsvc import outages
from docsvc.documents import human_size
from docsvc.errors import DocsvcError, UploadTooLarge, http_status
from signing import SigningError

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "upload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(code: str, message: str, status: int):
    if _wants_json():
        return jsonify({"code": code, "message": message}), status
    return render_template("error.html", code=code, message=message, status=status), status


def body_too_large(limit: int) -> UploadTooLarge:
    """The one refusal of a body over its endpoint's limit (docsvc/web/request_limits.py)."""
    return UploadTooLarge(f"The request is larger than this address accepts: {human_size(limit)} at most.")


def init_app(app: Flask) -> None:
    @app.errorhandler(DocsvcError)
    def _docsvc_error(exc: DocsvcError):
        response, status = error_response(exc.code, exc.message, exc.http_status)
        # Throttled (429) or busy (503): when a request is likely to succeed.
        retry_after = getattr(exc, "retry_after", None)
        if retry_after:
            return response, status, {"Retry-After": str(retry_after)}
        return response, status

    @app.errorhandler(RequestEntityTooLarge)
    def _body_too_large(exc: RequestEntityTooLarge):
        # Werkzeug's LimitedStream found a body without Content-Length over the limit.
        limit = g.body_limit.limit if "body_limit" in g else request.max_content_length or 0
        return _docsvc_error(body_too_large(limit))

    @app.errorhandler(SigningError)
    def _signing_error(exc: SigningError):
        # A key, certificate or document problem the user can act on.
        return error_response(exc.code, exc.message, http_status(exc))

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        status = exc.code or 500
        message = exc.description or exc.name
        return error_response(_HTTP_CODES.get(status, "http_error"), message, status)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        dependency = outages.dependency_of(exc)
        if dependency is not None:  # an outage, not a fault of ours: one line in the log, 503 to the client
            log.warning("%s %s: the %s is down (%s: %s)", request.method, request.path, dependency,
                        type(exc).__name__, str(exc)[:300])
            return _docsvc_error(outages.DependencyDown(dependency))
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response("internal_error", "Something went wrong on our side; nothing was changed.", 500)
