"""Test documents made from the real Vietnamese texts in ../shared/samples.

Born-digital PDFs are drawn with reportlab in DejaVu Sans (Debian's
fonts-dejavu-core), which covers every Vietnamese letter, so the text layer
holds the exact Unicode we search for.
"""
from __future__ import annotations

import textwrap
from functools import lru_cache
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT.parent / "shared" / "samples"
FONT_PATH = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


@lru_cache
def _font() -> str:
    pdfmetrics.registerFont(TTFont("DejaVuSans", str(FONT_PATH)))
    return "DejaVuSans"


def sample_paragraphs(name: str) -> list[str]:
    text = (SAMPLES / name).read_text(encoding="utf-8")
    return [p.strip() for p in text.splitlines() if len(p.strip()) > 40]


def draw_paragraphs(pdf: canvas.Canvas, paragraphs: list[str], y: float, bottom: float = 50) -> float:
    """Wrapped body text from `y` down, stopping at `bottom`; returns where it ended."""
    for paragraph in paragraphs:
        for line in textwrap.wrap(paragraph, 95):
            if y < bottom:
                return y
            pdf.drawString(50, y, line)
            y -= 14
        y -= 6
    return y


def make_pdf(path: Path, title: str, paragraphs: list[str], pages: int = 1) -> Path:
    """A born-digital A4 PDF: a title, then the paragraphs, wrapped, over `pages` pages."""
    font = _font()
    pdf = canvas.Canvas(str(path), pagesize=A4)
    width, height = A4
    for page in range(pages):
        y = height - 60
        pdf.setFont(font, 14)
        pdf.drawString(50, y, title if page == 0 else f"{title} (trang {page + 1})")
        y -= 30
        pdf.setFont(font, 10)
        draw_paragraphs(pdf, paragraphs, y)
        pdf.showPage()
    pdf.save()
    return path
