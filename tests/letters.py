"""Incoming official letters as a clerk receives them: a Decree 30 page
(issuing body and national motto side by side, "Số: …", place and date, the
type name, the summary, then real sample paragraphs), scanned with the
scanner model of tests/scans.py."""
from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from tests.pdfs import _font, draw_paragraphs, sample_paragraphs
from tests.scans import Scan, _render, _scanner, save_scan


@dataclass(frozen=True)
class Letter:
    parent_body: str = "ỦY BAN NHÂN DÂN"
    issuing_body: str = "HUYỆN QUẢNG TRẠCH"
    number_symbol: str = "15/QĐ-UBND"
    place: str = "Quảng Trạch"
    day: int = 19
    month: int = 7
    year: int = 2023
    type_name: str = "QUYẾT ĐỊNH"
    summary: str = "Về việc phê duyệt Kế hoạch cải cách hành chính năm 2023"
    sample: str = "quang-trach-cchc-7-thang-2021.txt"
    paragraphs: int = 3


def letter_pdf(path: Path, letter: Letter) -> Path:
    font = _font()
    pdf = canvas.Canvas(str(path), pagesize=A4)
    width, height = A4
    y = height - 60
    pdf.setFont(font, 11)
    pdf.drawCentredString(150, y, letter.parent_body)
    pdf.drawCentredString(400, y, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
    y -= 15
    pdf.drawCentredString(150, y, letter.issuing_body)
    pdf.drawCentredString(400, y, "Độc lập - Tự do - Hạnh phúc")
    y -= 25
    pdf.drawCentredString(150, y, f"Số: {letter.number_symbol}")
    pdf.drawCentredString(400, y, f"{letter.place}, ngày {letter.day} tháng {letter.month} năm {letter.year}")
    y -= 40
    pdf.setFont(font, 14)
    pdf.drawCentredString(width / 2, y, letter.type_name)
    y -= 18
    pdf.setFont(font, 11)
    pdf.drawCentredString(width / 2, y, letter.summary)
    y -= 30
    pdf.setFont(font, 10)
    opening = "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015;"
    draw_paragraphs(pdf, [opening, *sample_paragraphs(letter.sample)[: letter.paragraphs]], y, bottom=60)
    pdf.showPage()
    pdf.save()
    return path


def scanned_letter(path: Path, letter: Letter = Letter(), kind: str = "jpeg", *, seed: int = 3) -> Scan:
    """A one-page scan of the letter (300 dpi, slightly askew, grain and dust)."""
    with tempfile.TemporaryDirectory() as tmp:
        image, text = _render(letter_pdf(Path(tmp) / "letter.pdf", letter))
    rng = random.Random(seed)
    scanned = _scanner(image, angle=1.0, rotate=0, noise=10.0, specks=200, rng=rng)
    return save_scan([scanned], [text], path, kind)
