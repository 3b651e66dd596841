"""Reading PDFs: is this file a PDF we can work with, and what text does it hold."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import pikepdf
import pypdfium2 as pdfium

from docsvc.errors import CorruptPdf, EmptyFile, EncryptedPdf, NotAPdf, TruncatedPdf

# The header may follow a little junk (some scanners prepend bytes) but must be
# near the start; the end-of-file marker must be near the end.
HEADER_WINDOW = 1024
TRAILER_WINDOW = 2048


@dataclass(frozen=True)
class PdfInfo:
    page_count: int
    pdf_version: str


def inspect_pdf(path: Path) -> PdfInfo:
    """Accept a PDF we can store and process, or raise the error a user should see."""
    size = path.stat().st_size
    if size == 0:
        raise EmptyFile()
    with open(path, "rb") as handle:
        head = handle.read(HEADER_WINDOW)
        handle.seek(max(0, size - TRAILER_WINDOW))
        tail = handle.read()
    if b"%PDF-" not in head:
        raise NotAPdf("The file is not a PDF (whatever its name says): it does not start with a PDF header.")
    if b"%%EOF" not in tail:
        raise TruncatedPdf()
    try:
        with pikepdf.open(path) as pdf:
            if pdf.is_encrypted:
                raise EncryptedPdf()
            page_count = len(pdf.pages)
            version = pdf.pdf_version
    except pikepdf.PasswordError:
        raise EncryptedPdf() from None
    except pikepdf.PdfError as exc:
        raise CorruptPdf(f"The PDF is damaged and cannot be read ({_short(exc)}).") from None
    if page_count == 0:
        raise CorruptPdf("The PDF has no pages.")
    return PdfInfo(page_count=page_count, pdf_version=version)


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:160]


def iter_page_texts(path: Path, on_page: Callable[[int, int], None] | None = None) -> Iterator[str]:
    """Yield each page's text in order; memory stays flat whatever the page count."""
    try:
        document = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        raise CorruptPdf(f"The PDF's text cannot be read ({_short(exc)}).") from None
    try:
        total = len(document)
        for number in range(total):
            page = document[number]
            textpage = page.get_textpage()
            try:
                text = textpage.get_text_bounded()
            finally:
                textpage.close()
                page.close()
            yield text.replace("\r\n", "\n").replace("\r", "\n").strip()
            if on_page:
                on_page(number + 1, total)
    finally:
        document.close()
