"""The e-copy's stamp: certification text, QR code and verification code,
top right of the first page, drawn before anyone signs.

A certified copy (chứng thực bản sao điện tử từ bản chính) carries the
certification text DOMAIN.md and Decree 23/2015 ask for:

    Chứng thực bản sao đúng với bản chính        ┌──────┐
    Số chứng thực: 125 quyển số 01/2026-SCT/BS   │  QR  │
    Ngày 23 tháng 11 năm 2026                    │      │
    Chủ tịch UBND xã Mẫu                         └──────┘
    Nguyễn Văn An                          7KQ4-M2XD-9TRA-H5NW-7

(the lines of Circular 01/2020/TT-BTP's form: the number in the book and
the book, the date written out, the certifier's title and name), and a
procedure result (kết quả giải quyết TTHC) the same block under the heading
"Kết quả giải quyết TTHC" with its number and, when it comes from a
procedure, its dossier code (mã hồ sơ). The QR holds the verification URL,
the line under it the code a person types instead. A line wider than
MAX_LINE_WIDTH (a long title) wraps at spaces rather than shrinking the
whole block, so the QR keeps its size.

The page is unsigned, so this is a full rewrite (like fields.add_text_fields):
the block is drawn with reportlab on a one-page overlay in Liberation Serif 2
(Times metrics, Vietnamese glyphs; embedded as a subset, so the text layer
holds the exact Unicode) and put over the page with pikepdf's
Page.add_overlay. The other pages' objects are not touched.

Where: Decree 30 puts copy stamps top right of the first page, Times 10 pt.
The stamp is upright top right of the page *as shown* (its /Rotate and
CropBox honoured, whatever the size), as close to that corner as it can be
while covering as little of the page's ink as it can: the first page is
rendered small and a few positions near the corner, along the top band and
down the right edge, are tried; the one over the least ink wins, the
corner on a tie. Only the QR gets a white ground (a scanner's grain must
not break it); the text is drawn over whatever is there.
"""
from __future__ import annotations

import datetime
import io
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import pikepdf
import pypdfium2 as pdfium
from PIL import Image
from reportlab.graphics.barcode import qrencoder
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from .appearance import MM, SERIF_FONT, STAMP_FONT_SIZE, text_width_pt
from .errors import EncryptedPdf, InvalidAppearance, NotAPdf, SigningError
from .pdfium_guard import pdfium_document

Kind = Literal["certified_copy", "procedure_result"]
HEADINGS: dict[str, str] = {
    "certified_copy": "Chứng thực bản sao đúng với bản chính",
    "procedure_result": "Kết quả giải quyết TTHC",
}
NUMBER_LABELS: dict[str, str] = {
    "certified_copy": "Số chứng thực",  # number in the certification register
    "procedure_result": "Số hồ sơ",  # the case file's number
}
DOSSIER_LABEL = "Mã hồ sơ"  # the procedure's dossier code on the national portal

LEADING = 12  # 10 pt text at 1.2
CODE_FONT_SIZE = 8
MAX_LINE_WIDTH = 75 * MM  # wider text wraps
QR_SIZE = 15 * MM  # the modules, without the quiet zone: 0.45 mm each for a 33-module (version 4) code
QR_QUIET_MODULES = 4  # ISO/IEC 18004's quiet zone
RIGHT_MARGIN = 10 * MM  # nearest the block comes to the visible page's edges
TOP_MARGIN = 5 * MM
STEP = 5 * MM  # between the positions tried
PROBE_DPI = 36  # the rendering used to find the page's ink
INK_LEVEL = 160  # grey below this is ink
_FONT_NAME = "LiberationSerif-ecopy"


@dataclass(frozen=True)
class StampText:
    """What the stamp says. `number`: for a certified copy the number in the
    certification register, "125 quyển số 01/2026-SCT/BS"; for a procedure
    result the case file's number. `signer_title` may name the agency:
    "Chủ tịch UBND xã Mẫu". `dossier_code`: the procedure's mã hồ sơ, if any."""

    kind: Kind
    number: str
    date: datetime.date
    signer_name: str
    signer_title: str
    dossier_code: str = ""

    @property
    def lines(self) -> list[str]:
        if self.kind not in HEADINGS:
            raise InvalidAppearance(f"Unknown stamp kind {self.kind!r}; use one of {', '.join(HEADINGS)}.")
        lines = [
            HEADINGS[self.kind],
            f"{NUMBER_LABELS[self.kind]}: {self.number}",
            f"{DOSSIER_LABEL}: {self.dossier_code}" if self.dossier_code.strip() else "",
            f"Ngày {self.date:%d} tháng {self.date:%m} năm {self.date:%Y}",
            self.signer_title,
            self.signer_name,
        ]
        return [unicodedata.normalize("NFC", line.strip()) for line in lines if line.strip()]


def stamp_first_page(pdf: bytes, text: StampText, verify_url: str, code: str, *,
                     draw_first_page: Callable[[bytes, float], Image.Image | None] | None = None) -> bytes:
    """The unsigned PDF with the stamp on its first page; `code` is shown
    as given (the printed form, docsvc.ecopies.codes.format_code).
    `draw_first_page(pdf, dpi)` makes the thumbnail the stamp's place is
    chosen on (default: first_page_grey, in this process); a service that
    must bound the memory and time of reading the page passes its own."""
    lines = [part for line in text.lines for part in _wrapped(line)]  # InvalidAppearance if the font lacks a letter
    code = code.strip()
    if not verify_url or not code:
        raise InvalidAppearance("The stamp needs the verification URL and the code.")
    with _open_unsigned(pdf) as document:
        page = document.pages[0]
        box = _visible_box(page)
        rotate = int(page.obj.get("/Rotate") or 0) % 360
        if rotate % 90:
            raise InvalidAppearance(f"The first page's rotation ({rotate}°) is not a multiple of 90°.")
        width, height = box[2] - box[0], box[3] - box[1]
        shown = (height, width) if rotate in (90, 270) else (width, height)
        block = _Block(lines, code, verify_url)
        scale = min(1.0, 0.9 * shown[0] / block.width, 0.4 * shown[1] / block.height)
        ink = (draw_first_page or first_page_grey)(pdf, PROBE_DPI)
        x, y = _best_position(ink, shown, block.width * scale, block.height * scale)
        overlay = _draw_overlay(shown, block, x, y, scale)
        out = io.BytesIO()
        with pikepdf.open(io.BytesIO(overlay)) as stamp:  # open until saved: streams are copied lazily
            # pikepdf's stub lacks add_overlay's shrink and expand (pikepdf 9 has them).
            page.add_overlay(stamp.pages[0], pikepdf.Rectangle(*box), shrink=False, expand=False)  # type: ignore[call-arg]
            document.save(out)
        return out.getvalue()


def _wrapped(line: str) -> list[str]:
    """The line as lines no wider than MAX_LINE_WIDTH, broken at spaces (a
    single word wider than that stays whole: the block then shrinks)."""
    parts: list[str] = []
    for word in line.split(" "):
        candidate = f"{parts[-1]} {word}" if parts else word
        if parts and text_width_pt(candidate, STAMP_FONT_SIZE) <= MAX_LINE_WIDTH:
            parts[-1] = candidate
        else:
            text_width_pt(word, STAMP_FONT_SIZE)
            parts.append(word)
    return parts


def _open_unsigned(pdf: bytes) -> pikepdf.Pdf:
    """The document, or signing's user errors for what cannot be stamped."""
    if not isinstance(pdf, (bytes, bytearray)) or b"%PDF-" not in bytes(pdf[:1024]):
        raise NotAPdf()
    try:
        document = pikepdf.open(io.BytesIO(pdf))
    except pikepdf.PasswordError:
        raise EncryptedPdf() from None
    except pikepdf.PdfError as e:
        raise NotAPdf(f"The PDF cannot be read: {e}") from None
    if document.is_encrypted:
        document.close()
        raise EncryptedPdf()
    if len(document.pages) == 0:
        document.close()
        raise NotAPdf("The PDF has no pages.")
    form = document.Root.get("/AcroForm")
    if form is not None and int(form.get("/SigFlags") or 0) & 1:
        document.close()
        raise SigningError("The document is already signed; the e-copy stamp goes on before signing.")
    return document


def _visible_box(page: pikepdf.Page) -> tuple[float, float, float, float]:
    """The CropBox (inherited, else the MediaBox, as pikepdf resolves it) within the MediaBox."""
    media, crop = pikepdf.Rectangle(page.mediabox), pikepdf.Rectangle(page.cropbox)
    x0, y0 = max(media.llx, crop.llx), max(media.lly, crop.lly)
    x1, y1 = min(media.urx, crop.urx), min(media.ury, crop.ury)
    if x1 - x0 < 1 or y1 - y0 < 1:
        raise InvalidAppearance("The first page has no visible area.")
    return x0, y0, x1, y1


class _Block:
    """The stamp's geometry at scale 1, origin at its lower-left corner."""

    def __init__(self, lines: list[str], code: str, url: str) -> None:
        self.lines, self.code = lines, code
        qr = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
        qr.addData(url)
        qr.make()
        self.modules: list[list[bool]] = [[bool(m) for m in row] for row in qr.modules]
        self.module = QR_SIZE / len(self.modules)
        quiet = QR_QUIET_MODULES * self.module
        self.qr_box = QR_SIZE + 2 * quiet  # with its quiet zone
        self.text_width = max(text_width_pt(line, STAMP_FONT_SIZE) for line in lines)
        self.code_width = text_width_pt(code, CODE_FONT_SIZE)
        self.width = max(self.text_width + self.qr_box, self.code_width)
        self.text_height = LEADING * len(lines) + 3
        self.height = max(self.text_height, self.qr_box + CODE_FONT_SIZE + 2)

    def draw(self, pdf: canvas.Canvas) -> None:
        quiet = QR_QUIET_MODULES * self.module
        top = self.height
        # the text, left-aligned, from the top
        pdf.setFillColorRGB(0, 0, 0)
        pdf.setFont(_FONT_NAME, STAMP_FONT_SIZE)
        for n, line in enumerate(self.lines):
            pdf.drawString(0, top - STAMP_FONT_SIZE - n * LEADING, line)
        # the QR on white, at the right
        qr_x = self.width - self.qr_box
        qr_y = top - self.qr_box
        pdf.setFillColorRGB(1, 1, 1)
        pdf.rect(qr_x, qr_y, self.qr_box, self.qr_box, stroke=0, fill=1)
        pdf.setFillColorRGB(0, 0, 0)
        path = pdf.beginPath()
        for r, row in enumerate(self.modules):
            c = 0
            while c < len(row):
                if not row[c]:
                    c += 1
                    continue
                run = c
                while run < len(row) and row[run]:
                    run += 1
                y = qr_y + quiet + QR_SIZE - (r + 1) * self.module
                path.rect(qr_x + quiet + c * self.module, y, (run - c) * self.module, self.module)
                c = run
        pdf.drawPath(path, stroke=0, fill=1)
        # the code under it, right-aligned with the QR's modules
        pdf.setFont(_FONT_NAME, CODE_FONT_SIZE)
        pdf.drawRightString(self.width - quiet, qr_y - CODE_FONT_SIZE + 1, self.code)


def _best_position(ink: Image.Image | None, shown: tuple[float, float], width: float, height: float) -> tuple[float, float]:
    """The block's lower-left corner on the page as shown: near the top right,
    over the least ink of `ink` (the page drawn small in grey, or None)."""
    page_w, page_h = shown
    right, top = page_w - min(RIGHT_MARGIN, page_w * 0.05), page_h - min(TOP_MARGIN, page_h * 0.03)
    corner = (max(0.0, right - width), max(0.0, top - height))
    if ink is None:
        return corner
    sx, sy = ink.width / page_w, ink.height / page_h
    best, best_score = corner, None
    # along the top band as far as the page's middle, down the right edge a fifth of the page
    for dx in _steps(max(0.0, right - width - page_w / 2)):
        for dy in _steps(page_h / 5):
            x, y = right - width - dx, top - height - dy
            if x < 0 or y < 0:
                continue
            crop = ink.crop((int(x * sx), int((page_h - y - height) * sy),
                             int((x + width) * sx) + 1, int((page_h - y) * sy) + 1))
            dark = sum(crop.histogram()[:INK_LEVEL])
            score = dark + (dx + dy) / STEP * 0.5  # half a dark pixel per step away from the corner
            if best_score is None or score < best_score:
                best, best_score = (x, y), score
    return best


def _steps(limit: float) -> list[float]:
    return [n * STEP for n in range(int(limit // STEP) + 1)]


def first_page_grey(pdf: bytes, dpi: float) -> Image.Image | None:
    """The first page as shown, `dpi` dots per inch, in grey; None if pdfium
    cannot draw it. Through the process's pdfium guard, every object closed inside it."""
    try:
        with pdfium_document(pdf) as document:
            page = document[0]
            bitmap = page.render(scale=dpi / 72, grayscale=True)
            try:
                grey: Image.Image = bitmap.to_pil().convert("L")  # a copy: the bitmap's buffer is freed below
                return grey
            finally:
                bitmap.close()
                page.close()
    except pdfium.PdfiumError:
        return None


def _draw_overlay(shown: tuple[float, float], block: _Block, x: float, y: float, scale: float) -> bytes:
    """A page the size of the page as shown with the block upright at (x, y).
    Page.add_overlay turns it by the page's /Rotate (QPDF inverts the
    target page's rotation when it places a form), so it reads upright."""
    _register_font()
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=shown, pageCompression=1,
                        # no unused Helvetica; types-reportlab has initialFontName as a float
                        initialFontName=_FONT_NAME, initialFontSize=STAMP_FONT_SIZE)  # type: ignore[arg-type]
    pdf.translate(x, y)
    pdf.scale(scale, scale)
    block.draw(pdf)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _register_font() -> None:
    if _FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(_FONT_NAME, str(SERIF_FONT)))
