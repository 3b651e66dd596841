"""The OCRmyPDF side of docsvc.documents.ocr: a launcher and a plugin, in the OCR subprocess.

docsvc.documents.ocr runs `python -P <this file> <ocrmypdf arguments> --plugin <this file>`.
It imports only the standard library and OCRmyPDF (not the docsvc package,
which would load the web app), so it starts fast.

Launcher (`main`): the process asks the kernel for SIGTERM when the worker
that started it dies (PR_SET_PDEATHSIG), and on SIGTERM kills its whole
process group, Tesseract and Ghostscript included, so a killed Celery worker
leaves nothing running. Then it runs OCRmyPDF's own command line.

Plugin: OCRmyPDF calls the `get_progressbar_class` hook for each stage; the
class writes one JSON line per update to the file descriptor named by
DOCSVC_OCR_EVENTS_FD. A logging handler reports, with their page numbers,
the pages Tesseract gave up on (--tesseract-timeout) and the pages
--skip-text left alone, on the same descriptor. Lines:

    {"event": "progress", "desc": "OCR", "unit": "page", "done": 3.5, "total": 10}
    {"event": "timeout", "page": 4}
    {"event": "skipped", "page": 1}
"""
from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import signal
import sys
import threading

from ocrmypdf import hookimpl

EVENTS_FD_ENV = "DOCSVC_OCR_EVENTS_FD"
PARENT_PID_ENV = "DOCSVC_OCR_PARENT_PID"
PR_SET_PDEATHSIG = 1

# What OCRmyPDF logs, with the page number on the record (ocrmypdf/_exec/tesseract.py
# page_timedout, ocrmypdf/_pipeline.py is_ocr_required with --skip-text).
TIMEOUT_MESSAGE = "took too long to OCR"
SKIPPED_MESSAGE = "skipping all processing on this page"

_lock = threading.Lock()
_stream = None


def _emit(event: dict) -> None:
    global _stream
    fd = os.environ.get(EVENTS_FD_ENV)
    if not fd:
        return
    line = json.dumps(event, separators=(",", ":")) + "\n"
    with _lock:
        if _stream is None:
            _stream = os.fdopen(int(fd), "w", buffering=1, encoding="utf-8", closefd=False)
        with contextlib.suppress(OSError):  # the parent stopped listening; OCR goes on
            _stream.write(line)


class PipeProgressBar:
    """OCRmyPDF's ProgressBar protocol, reporting to the parent instead of a terminal.

    OCRmyPDF creates one per stage and passes disable=True when stderr is not
    a terminal (always, here): the parent wants the numbers anyway.
    """

    def __init__(self, *, total=None, desc=None, unit=None, disable=False, **kwargs):
        self.total = total
        self.desc = desc
        self.unit = unit
        self.done = 0.0

    def __enter__(self):
        self._send()
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        return False

    def update(self, n=1, *, completed=None):
        if completed is not None:
            self.done = float(completed)
        else:
            self.done += 1 if n is None else n
        self._send()

    def _send(self) -> None:
        _emit({"event": "progress", "desc": self.desc, "unit": self.unit, "done": self.done, "total": self.total})


class _PageEvents(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        page = getattr(record, "pageno", None)
        if not isinstance(page, int):
            return
        message = record.getMessage()
        if TIMEOUT_MESSAGE in message:
            _emit({"event": "timeout", "page": page})
        elif SKIPPED_MESSAGE in message:
            _emit({"event": "skipped", "page": page})


@hookimpl
def get_progressbar_class():
    return PipeProgressBar


@hookimpl
def initialize(plugin_manager):
    logger = logging.getLogger("ocrmypdf")
    if not any(isinstance(h, _PageEvents) for h in logger.handlers):
        handler = _PageEvents(level=logging.INFO)
        logger.addHandler(handler)
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    # The parent may have died before prctl: then nobody will send the signal.
    expected = os.environ.get(PARENT_PID_ENV)
    if expected and os.getppid() != int(expected):
        os._exit(1)

    def kill_group(signum, frame):
        # We lead our own process group (the parent starts us in a new session):
        # take Tesseract and Ghostscript with us.
        os.killpg(os.getpgrp(), signal.SIGKILL)

    signal.signal(signal.SIGTERM, kill_group)


def main(argv: list[str]) -> int:
    _die_with_parent()
    import multiprocessing

    from ocrmypdf.__main__ import run

    # As `python -m ocrmypdf` does.
    with contextlib.suppress(RuntimeError):
        multiprocessing.set_start_method("forkserver")
    return int(run(argv))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
