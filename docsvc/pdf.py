"""Reading PDFs: is this file a PDF we can work with, what text does it hold,
what do its pages look like.

Every file read here may come from outside, so each reading has two layers:
`check_declared_sizes` refuses, from the raw bytes and before any parser
runs, a file that declares more than it can hold; then the parser itself
runs in a parse child within the budget (docsvc/sandbox.py). The functions
ending in `_here` are what runs in the child; pdfium is used only through
signing.pdfium_guard.
"""
from __future__ import annotations

import io
import mmap
import re
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium

from docsvc import sandbox
from docsvc.errors import CorruptPdf, EmptyFile, EncryptedPdf, FileTooComplex, NotAPdf, NotFound, TruncatedPdf
from docsvc.sandbox import ParseBudget
from signing.pdfium_guard import pdfium_document

# The header may follow a little junk (some scanners prepend bytes) but must be
# near the start; the end-of-file marker must be near the end.
HEADER_WINDOW = 1024
TRAILER_WINDOW = 2048


@dataclass(frozen=True)
class PdfInfo:
    page_count: int
    pdf_version: str


def inspect_pdf(path: Path, budget: ParseBudget | None = None) -> PdfInfo:
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
    check_declared_sizes(path)
    return sandbox.call(_inspect_pdf_here, path, budget=budget)


def _inspect_pdf_here(path: Path) -> PdfInfo:
    try:
        with pikepdf.open(path) as pdf:
            if pdf.is_encrypted:
                raise EncryptedPdf()
            page_count = len(pdf.pages)
            version = pdf.pdf_version
    except pikepdf.PasswordError:
        raise EncryptedPdf() from None
    except (pikepdf.PdfError, RecursionError) as exc:  # qpdf's errors, or a /Pages tree that loops
        raise CorruptPdf(f"The PDF is damaged and cannot be read ({_short(exc)}).") from None
    if page_count == 0:
        raise CorruptPdf("The PDF has no pages.")
    return PdfInfo(page_count=page_count, pdf_version=version)


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:160]


# ---------------------------------------------------------------------------
# Text


def iter_page_texts(path: Path, on_page: Callable[[int, int], None] | None = None,
                    budget: ParseBudget | None = None) -> Iterator[str]:
    """Yield each page's text in order; memory stays flat whatever the page
    count. Each page is read in the parse child within the time budget, so
    a document of n pages may take n times parse_timeout_seconds in all."""
    check_declared_sizes(path)
    with closing(sandbox.iterate(_page_texts_here, path, budget=budget)) as pages:
        for number, total, text in pages:
            yield text
            if on_page:
                on_page(number, total)


def _page_texts_here(path: Path) -> Iterator[tuple[int, int, str]]:
    try:
        with pdfium_document(str(path)) as document:
            total = len(document)
            for index in range(total):
                page = document[index]
                textpage = page.get_textpage()
                try:
                    text = textpage.get_text_bounded()
                finally:
                    textpage.close()
                    page.close()
                yield index + 1, total, text.replace("\r\n", "\n").replace("\r", "\n").strip()
    except pdfium.PdfiumError as exc:
        raise CorruptPdf(f"The PDF's text cannot be read ({_short(exc)}).") from None


def pages_with_text(path: Path, budget: ParseBudget | None = None) -> list[int]:
    """1-based numbers of the pages that hold any text (visible or not), as
    OCRmyPDF's --skip-text sees them; [] if pdfium cannot open the file."""
    check_declared_sizes(path)
    return sandbox.call(_pages_with_text_here, path, budget=budget)


def _pages_with_text_here(path: Path) -> list[int]:
    try:
        with pdfium_document(str(path)) as document:
            found = []
            for index in range(len(document)):
                page = document[index]
                textpage = page.get_textpage()
                try:
                    if textpage.count_chars() > 0:
                        found.append(index + 1)
                finally:
                    textpage.close()
                    page.close()
            return found
    except pdfium.PdfiumError:
        return []


# ---------------------------------------------------------------------------
# Pages as images


def page_sizes(path: Path, budget: ParseBudget | None = None) -> list[tuple[float, float]]:
    """Each page's size in points (as shown: /Rotate applied by pdfium)."""
    check_declared_sizes(path)
    return sandbox.call(_page_sizes_here, path, budget=budget)


def _page_sizes_here(path: Path) -> list[tuple[float, float]]:
    with _shown(path) as document:
        return [tuple(round(v, 2) for v in document.get_page_size(i)) for i in range(len(document))]


def render_page_png(path: Path, page: int, scale: float, budget: ParseBudget | None = None) -> bytes:
    """Page `page` (0-based; negative counts from the end) as a PNG, `scale` pixels per point."""
    check_declared_sizes(path)
    return sandbox.call(_render_page_png_here, path, page, scale, budget=budget)


def _render_page_png_here(path: Path, page: int, scale: float) -> bytes:
    with _shown(path) as document:
        count = len(document)
        index = page + count if page < 0 else page
        if not 0 <= index < count:
            raise NotFound(f"The document has {count} page(s).")
        pdf_page = document[index]
        bitmap = pdf_page.render(scale=scale)
        try:
            image = bitmap.to_pil().convert("RGB")  # a copy: the bitmap's buffer is freed below
        finally:
            bitmap.close()
            pdf_page.close()
    out = io.BytesIO()
    image.save(out, "PNG", optimize=False)
    return out.getvalue()


def first_page_grey(pdf: bytes, dpi: float, budget: ParseBudget | None = None):
    """The first page drawn small in grey (a PIL image), None if pdfium cannot
    draw it: signing.ecopy_stamp's thumbnail, made in a parse child."""
    check_declared_sizes(pdf)
    from signing.ecopy_stamp import first_page_grey as draw

    return sandbox.call(draw, pdf, dpi, budget=budget)


class _shown:
    """pdfium_document, with pdfium's refusal as the error a user sees."""

    def __init__(self, source) -> None:
        self._context = pdfium_document(str(source) if isinstance(source, Path) else source)

    def __enter__(self) -> pdfium.PdfDocument:
        try:
            return self._context.__enter__()
        except pdfium.PdfiumError as exc:
            raise CorruptPdf(f"The PDF cannot be shown ({_short(exc)}).") from None

    def __exit__(self, kind, value, traceback) -> bool | None:
        self._context.__exit__(kind, value, traceback)
        if isinstance(value, pdfium.PdfiumError):  # a page pdfium opened the file for but cannot load
            raise CorruptPdf(f"The PDF cannot be shown ({_short(value)}).") from None
        return None


# ---------------------------------------------------------------------------
# Declared sizes


# A parsed PDF object costs its reader hundreds of bytes (pyHanko: ~225 B per
# cross-reference entry, measured with /Index [0 4000000]), but every object
# takes at least one byte of the file: a number, in an object stream whose
# other objects compress with it. A real document holds >= 5 bytes per object
# (tagged PDFs with small structure elements in object streams). So a file
# declaring more objects than it has bytes is lying, and is refused unread.
MIN_BYTES_PER_OBJECT = 1
# Deflate's largest expansion (RFC 1951: 258-byte copies coded in ~2 bits)
# bounds what a compressed stream of n bytes can hold.
MAX_DEFLATE_RATIO = 1032
# Per pair of the header of an object stream: "n offset " (ISO 32000-1 7.5.7).
MIN_HEADER_BYTES_PER_OBJECT = 3
# How far a declaration's dictionary may reach around its /Type (objects'
# dictionaries that declare sizes are small).
DICT_WINDOW = 4096
# Checking stops after this many declarations (the parse budget still holds).
MAX_DECLARATIONS = 100_000

_INT = rb"(\d{1,20})(?!\s+\d+\s+R)"  # a direct integer, not the start of an indirect reference
_SIZE = re.compile(rb"/Size\s+" + _INT)
_LENGTH = re.compile(rb"/Length\s+" + _INT)
_N = re.compile(rb"/N\s+" + _INT)
_FIRST = re.compile(rb"/First\s+" + _INT)
_INDEX = re.compile(rb"/Index\s*\[([^\]]{0,2000})\]")
_W = re.compile(rb"/W\s*\[([^\]]{0,200})\]")
_XREF_TYPE = re.compile(rb"/Type\s*/XRef(?![A-Za-z0-9])")
_OBJSTM_TYPE = re.compile(rb"/Type\s*/ObjStm(?![A-Za-z0-9])")


def check_declared_sizes(source: Path | bytes) -> None:
    """Refuse (FileTooComplex) a PDF whose cross-reference sections or object
    streams declare more entries than the file could hold, before any parser
    allocates for them. Reads the raw bytes once (memory-mapped); finds
    nothing to refuse in a file that is not a PDF."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        _check_declarations(bytes(source))
        return
    with open(source, "rb") as handle:
        if handle.seek(0, 2) == 0:
            return
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            _check_declarations(data)


def _check_declarations(data) -> None:
    size = len(data)
    for checked, (kind, _start, window) in enumerate(_declarations(data), start=1):
        if checked > MAX_DECLARATIONS:
            return
        if kind == b"trailer":
            _check_count(_first_int(_SIZE, window), size, "trailer")
        elif kind == b"/XRef":
            _check_xref_stream(window, size)
        else:
            _check_object_stream(window, size)


def _declarations(data) -> Iterator[tuple[bytes, int, bytes]]:
    """(kind, where, the bytes of its dictionary) for every trailer, xref stream and object stream."""
    for token in (b"trailer", b"/XRef", b"/ObjStm"):
        position = data.find(token)
        while position != -1:
            if token == b"trailer":
                end = data.find(b"startxref", position, position + DICT_WINDOW)
                yield token, position, bytes(data[position:end if end != -1 else position + DICT_WINDOW])
            else:
                begin = max(0, data.rfind(b"obj", max(0, position - DICT_WINDOW), position))
                end = data.find(b"stream", position, position + DICT_WINDOW)
                window = bytes(data[begin:end if end != -1 else position + DICT_WINDOW])
                pattern = _XREF_TYPE if token == b"/XRef" else _OBJSTM_TYPE
                if pattern.search(window):
                    yield token, position, window
            position = data.find(token, position + len(token))


def _check_xref_stream(window: bytes, size: int) -> None:
    index = _ints(_INDEX, window)
    claimed = sum(index[1::2]) if index else _first_int(_SIZE, window)
    _check_count(claimed, size, "cross-reference stream")
    widths = _ints(_W, window)
    length = _first_int(_LENGTH, window)
    if claimed and widths and length is not None and claimed * sum(widths) > length * MAX_DEFLATE_RATIO:
        raise FileTooComplex(
            f"The PDF's cross-reference stream claims {claimed:,} entries, more than its {length:,} bytes can hold; "
            "the file is damaged or built to exhaust a reader, and was not read."
        )


def _check_object_stream(window: bytes, size: int) -> None:
    count, first, length = _first_int(_N, window), _first_int(_FIRST, window), _first_int(_LENGTH, window)
    _check_count(count, size, "object stream")
    too_many_for_header = count is not None and first is not None and count * MIN_HEADER_BYTES_PER_OBJECT > first + 1
    header_past_data = first is not None and length is not None and first > length * MAX_DEFLATE_RATIO
    if too_many_for_header or header_past_data:
        raise FileTooComplex(
            f"An object stream of the PDF claims {count:,} objects that it cannot hold; the file is damaged or "
            "built to exhaust a reader, and was not read."
        )


def _check_count(claimed: int | None, size: int, where: str) -> None:
    if claimed is not None and claimed > size // MIN_BYTES_PER_OBJECT:
        raise FileTooComplex(
            f"The PDF's {where} claims {claimed:,} objects, more than a file of {size:,} bytes "
            "can hold; the file is damaged or built to exhaust a reader, and was not read."
        )


def _first_int(pattern: re.Pattern, window: bytes) -> int | None:
    match = pattern.search(window)
    return int(match.group(1)) if match else None


def _ints(pattern: re.Pattern, window: bytes) -> list[int]:
    match = pattern.search(window)
    if not match:
        return []
    try:
        return [int(part) for part in match.group(1).split()]
    except ValueError:  # not plain integers (references, junk): nothing to check
        return []
