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

import ctypes
import io
import os
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


def inspect_pdf(path: Path, budget: ParseBudget | None = None,
                check_sizes: Callable[[], None] | None = None) -> PdfInfo:
    """Accept a PDF we can store and process, or raise the error a user should see.
    `check_sizes`: the verdict of a DeclaredSizes that saw the file's bytes as
    they came in (an upload), instead of reading them again."""
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
    if check_sizes is not None:
        check_sizes()
    else:
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
# Checking stops after this many tokens, declarations or not (the parse budget
# still holds): a file stuffed with them costs bounded time.
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
    allocates for them. Reads the raw bytes once, a chunk at a time
    (`DeclaredSizes`); finds nothing to refuse in a file that is not a PDF."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source) if isinstance(source, memoryview) else source
        scan = DeclaredSizes(len(data))
        scan.feed(data)
    else:
        buffer = bytearray(SCAN_CHUNK)
        with open(source, "rb", buffering=0) as handle:
            scan = DeclaredSizes(os.fstat(handle.fileno()).st_size)
            while read := handle.readinto(buffer):
                scan.feed(buffer, read)
    scan.finish()


SCAN_CHUNK = 1024 * 1024
_TOKENS = (b"trailer", b"/XRef", b"/ObjStm")
_LONGEST_TOKEN = max(len(token) for token in _TOKENS)


class DeclaredSizes:
    """`check_declared_sizes` over bytes that arrive a chunk at a time (an
    upload as it streams in): `feed` each chunk, then `finish` once the last
    has come. A declaration's dictionary may straddle chunks (a token cut in
    two, its window reaching into the next chunk): each is checked when the
    bytes around it (DICT_WINDOW either side) are in, the same whatever the
    chunking. What cannot be checked before the end (a count against the
    file's size, unless `size` gives it in advance) is checked by `finish`;
    the rest raises from `feed`, so a file can be refused before it has all
    come in.

    Memory: the last 2 x DICT_WINDOW bytes and the largest counts declared so
    far. Time: three searches over each chunk (the C library's memmem from
    64 KiB, ≈ 0.9 CPU-s/GiB with the rest of the scan against 1.6 with
    bytes.find; bytes.find where ctypes cannot reach it); after MAX_DECLARATIONS
    tokens (declarations or not) it stops looking, as the parse budget
    still holds."""

    # What is kept of the bytes before a chunk: enough for a token's window
    # back (DICT_WINDOW) from any position still to be checked (up to
    # DICT_WINDOW before the end of what came).
    KEEP = 2 * DICT_WINDOW + _LONGEST_TOKEN

    def __init__(self, size: int | None = None) -> None:
        self._size = size  # the file's size, when known before its bytes
        self._tail = b""  # the last KEEP bytes fed
        self._seen = 0  # bytes fed so far
        self._next = 0  # tokens starting before this offset have been checked
        self._tokens = 0
        # Counts to check against the file's size at the end: each larger
        # than every one before it (file order), so the first of them over
        # the size is the first declaration in the file that is.
        self._claims: list[tuple[int, str]] = []

    @property
    def size(self) -> int:
        return self._seen

    def feed(self, chunk: bytes | bytearray, length: int | None = None) -> None:
        """The next `length` bytes of the file (all of `chunk` if None); `chunk`
        may be a buffer reused for the next call."""
        length = len(chunk) if length is None else length
        start, end = self._seen, self._seen + length
        self._seen = end
        if self._tokens <= MAX_DECLARATIONS and length:
            if length <= 2 * self.KEEP:
                data = self._tail + bytes(chunk[:length])
                self._scan(data, end - len(data), len(data), self._next, end - DICT_WINDOW)
            else:
                # Tokens near the chunk's start look back into what came before:
                # their windows come from a small seam; the rest from the chunk itself.
                seam = self._tail + bytes(chunk[:2 * DICT_WINDOW + _LONGEST_TOKEN])
                self._scan(seam, start - len(self._tail), len(seam), self._next, start + DICT_WINDOW)
                self._scan(chunk, start, length, start + DICT_WINDOW, end - DICT_WINDOW)
            self._next = max(self._next, end - DICT_WINDOW)
        kept = bytes(chunk[max(0, length - self.KEEP):length])
        self._tail = (self._tail + kept)[-self.KEEP:] if len(kept) < self.KEEP else kept

    def finish(self) -> None:
        """The file has ended: check what is left, and every count against its size."""
        if self._tokens <= MAX_DECLARATIONS:
            self._scan(self._tail, self._seen - len(self._tail), len(self._tail), self._next, self._seen)
            self._next = self._seen
        for claimed, where in self._claims:
            _check_count(claimed, self._seen, where)

    def _scan(self, data, offset: int, length: int, low: int, high: int) -> None:
        """Check the tokens starting at file offsets [low, high) in `data`
        (its first `length` bytes, which start at file offset `offset`), in file order."""
        low, high = max(low, offset), min(high, offset + length)
        if low >= high:
            return
        found = _find_tokens(data, length, low - offset, high - offset, MAX_DECLARATIONS - self._tokens + 1)
        for at, token in found:
            self._tokens += 1
            if self._tokens > MAX_DECLARATIONS:
                return
            window = _window(data, length, at, token)
            if window is not None:
                self._check(token, window)

    def _check(self, kind: bytes, window: bytes) -> None:
        if kind == b"trailer":
            self._count(_first_int(_SIZE, window), "trailer")
        elif kind == b"/XRef":
            _check_xref_stream(window, self._count)
        else:
            _check_object_stream(window, self._count)

    def _count(self, claimed: int | None, where: str) -> None:
        if self._size is not None:
            _check_count(claimed, self._size, where)
        elif claimed is not None and (not self._claims or claimed > self._claims[-1][0]):
            self._claims.append((claimed, where))


def _find_tokens(data, length: int, low: int, high: int, most: int) -> list[tuple[int, bytes]]:
    """The tokens starting in data[low:high] (within data[:length]), in order;
    each token's search stops after `most` hits (the cap)."""
    find = _Haystack.of(data, length)
    found = []
    for token in _TOKENS:
        stop = min(length, high + len(token) - 1)
        at = find(token, low, stop)
        while at != -1:
            found.append((at, token))
            if len(found) >= most:
                break
            at = find(token, at + len(token), stop)
    found.sort()
    return found


def _c_memmem() -> Callable[..., int | None] | None:
    """The C library's memmem, if ctypes can reach it (glibc's is 2 to 3 times
    bytes.find for these tokens, and runs without the GIL)."""
    try:
        memmem = ctypes.CDLL(None).memmem
    except (OSError, AttributeError, TypeError):
        return None
    memmem.restype = ctypes.c_void_p
    memmem.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t)
    return memmem


_MEMMEM = _c_memmem()
# Below this, bytes.find is as fast as the call through ctypes.
_MEMMEM_FROM = 64 * 1024


class _Haystack:
    """bytes.find(token, start, end) over data[:length], by memmem. Lives only
    while the tokens are searched (`_find_tokens`): a bytearray cannot be
    resized while the pointer to its bytes is held."""

    __slots__ = ("_address", "_kept", "_memmem")

    def __init__(self, memmem: Callable[..., int | None], address: int, kept: object) -> None:
        self._memmem, self._address, self._kept = memmem, address, kept

    @staticmethod
    def of(data, length: int) -> Callable[[bytes, int, int], int]:
        memmem = _MEMMEM
        if memmem is None or length < _MEMMEM_FROM:
            return data.find
        kept: object
        try:
            if isinstance(data, bytes):
                kept = ctypes.c_char_p(data)  # the bytes' own buffer, not a copy
                address = ctypes.cast(kept, ctypes.c_void_p).value
            else:
                kept = (ctypes.c_char * length).from_buffer(data)  # a writable buffer: bytearray
                address = ctypes.addressof(kept)
        except (TypeError, ValueError):
            return data.find
        if not address:
            return data.find
        return _Haystack(memmem, address, kept).find

    def find(self, token: bytes, start: int, end: int) -> int:
        if end - start < len(token):
            return -1
        hit = self._memmem(self._address + start, end - start, token, len(token))
        return -1 if hit is None else hit - self._address


def _window(data, length: int, at: int, token: bytes) -> bytes | None:
    """The bytes of the dictionary around a token at `at` in data[:length]
    (None if it is not a declaration): a trailer to its `startxref`, an
    object's dictionary from its `obj` to its `stream`, each within
    DICT_WINDOW of the token."""
    if token == b"trailer":
        end = data.find(b"startxref", at, min(length, at + DICT_WINDOW))
        return bytes(data[at:end if end != -1 else min(length, at + DICT_WINDOW)])
    begin = data.rfind(b"obj", max(0, at - DICT_WINDOW), at)
    end = data.find(b"stream", at, min(length, at + DICT_WINDOW))
    window = bytes(data[begin if begin != -1 else max(0, at - DICT_WINDOW):
                        end if end != -1 else min(length, at + DICT_WINDOW)])
    pattern = _XREF_TYPE if token == b"/XRef" else _OBJSTM_TYPE
    return window if pattern.search(window) else None


def _check_xref_stream(window: bytes, count: Callable[[int | None, str], None]) -> None:
    index = _ints(_INDEX, window)
    claimed = sum(index[1::2]) if index else _first_int(_SIZE, window)
    count(claimed, "cross-reference stream")
    widths = _ints(_W, window)
    length = _first_int(_LENGTH, window)
    if claimed and widths and length is not None and claimed * sum(widths) > length * MAX_DEFLATE_RATIO:
        raise FileTooComplex(
            f"The PDF's cross-reference stream claims {claimed:,} entries, more than its {length:,} bytes can hold; "
            "the file is damaged or built to exhaust a reader, and was not read."
        )


def _check_object_stream(window: bytes, counted: Callable[[int | None, str], None]) -> None:
    count, first, length = _first_int(_N, window), _first_int(_FIRST, window), _first_int(_LENGTH, window)
    counted(count, "object stream")
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
