"""What each endpoint may receive, and which public ones are rate-limited per
client: one table, applied before any view runs (and before the CSRF check
parses a page's form), so no view has to remember.

Body size: a declared Content-Length over the endpoint's limit is refused
before anything is read. A body without one (chunked; gunicorn marks it
`wsgi.input_terminated`) reads through `CappedInput`, which raises 413 as
soon as more than the limit has come in. JSON parsing, the form parser and
the upload spool all read through it, so no endpoint reads more than its
limit plus one read's chunk. (After the answer gunicorn drains at most 64 KiB
of what the client still sends, then closes the connection.)

Why not only Flask 3.1's per-request `max_content_length`: Werkzeug's
`LimitedStream` then stops a chunked body at the limit without an error
when it is read whole (`request.get_data`, so `get_json`): a chunked 100 MB
JSON body was read as its first megabyte and answered 400 (not JSON), not
413. It raises only when a read is attempted past the limit, which the
spool's loop does but a single `readall` does not.

Measured against `docsvc serve` (the peak RSS, VmHWM, of its gunicorn
worker around one request; tests/browser/test_request_limits.py does the
same): before, every endpoint accepted 3 GiB and a 100 MB JSON body on
/api/v1/tokens raised the peak by 225 MiB, all 95 MiB sent and read; now it
is refused with 413, the peak does not move (+0.0 MiB) and the client gets
2.8 MiB (declared length) or 3.8 MiB (chunked) into the socket buffers
before the connection closes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import BinaryIO

from flask import Flask, g, request
from werkzeug.exceptions import RequestEntityTooLarge

from docsvc.config import Settings
from docsvc.errors import TooManyRequests
from docsvc.ratelimit import Limiter
from docsvc.web.context import runtime
from docsvc.web.errors import body_too_large

# Endpoints that receive a file, and the setting that bounds it. Every other
# endpoint takes JSON (under /api/) or a page's form.
FILE_LIMITS = {
    "api.upload_document": "max_upload_bytes",
    "api.upload_draft": "max_upload_bytes",
    "api.verify_signatures": "verify_max_bytes",
    "pages.verify": "verify_max_bytes",
    "api.receive_package": "edxml_max_bytes",
    "api.inspect_package": "edxml_max_bytes",
}
# A multipart form carries boundaries, part headers and small fields around
# the file: the body may exceed the file's limit by this much (the spool
# still holds the file itself to max_upload_bytes).
MULTIPART_ENVELOPE = 1024 * 1024
READ_CHUNK = 64 * 1024  # what a read of "everything" takes at a time
# Anonymous verification by file: each costs a full validation, so a client
# is limited before its upload is even read (a refused request reads, parses
# and writes nothing). Verification by code is limited in its views, which
# show the refusal on their own page.
FILE_VERIFICATION = frozenset({"api.verify_signatures", "pages.verify"})


class CappedInput:
    """A WSGI input stream that raises 413 once more than `limit` bytes were read from it."""

    def __init__(self, stream: BinaryIO, limit: int) -> None:
        self._stream = stream
        self._limit = limit
        self._read = 0

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(READ_CHUNK), b""))
        return self._counted(self._stream.read(size))

    def readinto(self, target) -> int:
        """Into the caller's buffer, when the server's stream can (docsvc's
        gunicorn worker: from the socket straight into it); counted as `read`."""
        readinto = getattr(self._stream, "readinto", None)
        if readinto is None:
            view = memoryview(target).cast("B")
            data = self.read(len(view))
            view[:len(data)] = data
            return len(data)
        got = readinto(target) or 0
        self._count(got)
        return got

    def readline(self, size: int | None = -1) -> bytes:
        return self._counted(self._stream.readline(READ_CHUNK if size is None or size < 0 else min(size, READ_CHUNK)))

    def _counted(self, data: bytes) -> bytes:
        self._count(len(data))
        return data

    def _count(self, length: int) -> None:
        self._read += length
        if self._read > self._limit:
            raise RequestEntityTooLarge()


@dataclass(frozen=True)
class BodyLimit:
    limit: int  # what the user is told: the setting's value
    body_bytes: int  # what the request body may carry, envelope included


def body_limit(endpoint: str | None, path: str, settings: Settings) -> BodyLimit:
    setting = FILE_LIMITS.get(endpoint or "")
    if setting is not None:
        limit = getattr(settings, setting)
        return BodyLimit(limit, limit + MULTIPART_ENVELOPE)
    limit = settings.json_max_bytes if path.startswith("/api/") else settings.form_max_bytes
    return BodyLimit(limit, limit)


def init_app(app: Flask) -> None:
    """Register the hook; call before anything else registers a hook that reads the body."""

    @app.before_request
    def _limit_request() -> None:
        if request.method == "POST" and request.endpoint in FILE_VERIFICATION:
            check_rate(verify_file_limiter())
        limit = body_limit(request.endpoint, request.path, runtime().settings)
        g.body_limit = limit
        if request.content_length is not None and request.content_length > limit.body_bytes:
            raise body_too_large(limit.limit)
        request.environ["wsgi.input"] = CappedInput(request.environ["wsgi.input"], limit.body_bytes)
        # Werkzeug's own cap one byte further, so that CappedInput decides.
        request.max_content_length = limit.body_bytes + 1


def client_key() -> str:
    # The direct peer: docsvc does not trust X-Forwarded-For unless a proxy is configured to set it.
    return request.remote_addr or "unknown"


def verify_limiter() -> Limiter:
    """Public verification by code (the API and /v/<code>), per client."""
    settings = runtime().settings
    return runtime().limiter("verify_code", settings.verify_rate_per_minute / 60.0, settings.verify_burst)


def verify_file_limiter() -> Limiter:
    """Public verification by file (the API and /verify), per client."""
    settings = runtime().settings
    return runtime().limiter("verify_file", settings.verify_file_rate_per_minute / 60.0, settings.verify_file_burst)


def check_rate(limiter: Limiter | None = None) -> None:
    """Take a token of `limiter` (verification by code by default) for this
    client, or refuse with 429 and the seconds to wait."""
    if limiter is None:  # not `limiter or …`: a RateLimiter tracking no client has len() 0
        limiter = verify_limiter()
    key = client_key()
    if not limiter.allow(key):
        wait = max(1, math.ceil(limiter.retry_after(key)))
        raise TooManyRequests(f"Too many verifications from this address; try again in {wait} s.", retry_after=wait)
