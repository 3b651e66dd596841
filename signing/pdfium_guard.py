"""The one guard every pdfium call in a process goes through.

PDFium is not thread-safe: no two pdfium calls may run at the same time in
one process, "not even with different documents" (pypdfium2's documentation,
"Incompatibility with Threading"; doing so "would crash or corrupt the
process"). The web server runs threads, and 25 concurrent public
verifications, each reading page one without a lock, once broke pdfium in
the process for good. So every use of pypdfium2, in docsvc and in signing/,
opens its document through `pdfium_document` and does all its work inside
the block, and every object it made is closed before the lock is released:
pypdfium2 closes a document's pages and text pages with it (a rendered
bitmap is not the document's: its renderer closes it), and a finalizer left
for the garbage collector would otherwise run unguarded in whichever thread
collects it.

The lock is re-entrant, so a guarded helper may call another.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import pypdfium2 as pdfium

PDFIUM_LOCK = threading.RLock()


@contextmanager
def pdfium_document(source: str | Path | bytes | BinaryIO) -> Iterator[pdfium.PdfDocument]:
    """The document open (from a path, bytes or a file), with the process's
    pdfium lock held until it and everything made from it is closed.
    pdfium.PdfiumError on a file it cannot open, as pypdfium2 raises it."""
    with PDFIUM_LOCK:
        document = pdfium.PdfDocument(source)
        try:
            yield document
        finally:
            document.close()  # and its pages and text pages
