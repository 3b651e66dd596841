"""Logs as JSON lines, each with the request id that follows a document
from the request that brought it into the worker that processes it.

A request takes its id from an `X-Request-Id` header a front (nginx) sets,
when it is a plain token, or gets a new one; the answer carries it back.
An outbox entry added during the request keeps it in its payload, and the
worker runs the entry under it: `grep <id>` finds the upload, its OCR, its
indexing and its failure, whichever process or server did them.
"""
from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

REQUEST_ID: ContextVar[str] = ContextVar("docsvc_request_id", default="")
_ACCEPTED = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# Fields a log call may add with extra={...}, copied into the line.
EXTRA_FIELDS = ("method", "path", "status", "ms", "document_id", "entry_id", "task")


def _stamping(factory):
    """A log record factory that records the request id when the record is
    made: a handler may format it later, in another context (a queue, a
    test's capture), and still show whose work it was."""
    def make(*args, **kwargs):
        record = factory(*args, **kwargs)
        record.request_id = REQUEST_ID.get()
        return record

    make.docsvc_stamps = True
    return make


if not getattr(logging.getLogRecordFactory(), "docsvc_stamps", False):
    logging.setLogRecordFactory(_stamping(logging.getLogRecordFactory()))


def request_id_from(header: str | None) -> str:
    """The caller's id when it is a plain token (never a log injection), else a new one."""
    if header and _ACCEPTED.fullmatch(header):
        return header
    return uuid.uuid4().hex


def current_request_id() -> str:
    return REQUEST_ID.get()


@contextmanager
def bound(request_id: str) -> Iterator[None]:
    token = REQUEST_ID.set(request_id)
    try:
        yield
    finally:
        REQUEST_ID.reset(token)


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            # Several web processes and workers write to one collector.
            "pid": record.process,
        }
        request_id = getattr(record, "request_id", "")
        if request_id:
            line["request_id"] = request_id
        for name in EXTRA_FIELDS:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure(level: int = logging.INFO) -> None:
    """JSON lines on stderr for the service's processes (web, worker, beat)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Clients that log every request they make at INFO would drown ours.
    for chatty in ("elastic_transport", "urllib3", "fontTools", "pyhanko", "pyhanko_certvalidator"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
