"""Scanned pages made from the real Vietnamese texts in ../shared/samples.

A page is drawn born-digital (tests/pdfs.py), rendered at 300 dpi with
pypdfium2, made grey, turned a little (a sheet fed askew) and optionally by
90/180 degrees (a sheet put in sideways or upside down), and given scanner
noise: grain (gaussian) and specks of dust. The ground truth is the text
pdfium extracts from the born-digital page, exactly what was drawn.
Everything is seeded: the same arguments give the same bytes.
"""
from __future__ import annotations

import io
import random
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import img2pdf
import pypdfium2 as pdfium
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from tests.pdfs import make_pdf, sample_paragraphs

SAMPLE_NAMES = (
    "binh-duong-cchc-2020.txt",
    "ca-mau-hien-dai-hoa-hanh-chinh.txt",
    "quang-trach-cchc-7-thang-2021.txt",
)
DPI = 300


@dataclass
class Scan:
    path: Path
    pages: list[str] = field(default_factory=list)  # ground truth, one text per page

    @property
    def text(self) -> str:
        return "\n".join(self.pages)


def scan_pages(
    count: int = 1,
    *,
    sample: str = SAMPLE_NAMES[0],
    paragraphs: int | None = None,
    skew: float = 1.5,
    rotate: int = 0,
    noise: float = 12.0,
    specks: int = 400,
    seed: int = 1,
    first_paragraph: int = 0,
) -> tuple[list[Image.Image], list[str]]:
    """`count` scanned A4 pages (grey PIL images at 300 dpi) and their texts.

    Each page holds different paragraphs of `sample`, starting at
    `first_paragraph`; `paragraphs` limits how many go on a page (None: as many
    as fit), which keeps OCR tests short.
    """
    all_paragraphs = sample_paragraphs(sample)
    images, texts = [], []
    rng = random.Random(seed)
    start = first_paragraph
    with tempfile.TemporaryDirectory() as tmp:
        for number in range(count):
            chosen = all_paragraphs[start % len(all_paragraphs):]
            if paragraphs is not None:
                chosen = chosen[:paragraphs]
            start += paragraphs or 6
            title = "CẢI CÁCH HÀNH CHÍNH" if number == 0 else f"Cải cách hành chính, trang {number + 1}"
            pdf_path = make_pdf(Path(tmp) / f"page-{number}.pdf", title, chosen, pages=1)
            image, text = _render(pdf_path)
            angle = skew * (1 if rng.random() < 0.5 else -1) * (0.75 + rng.random() / 2)
            images.append(_scanner(image, angle=angle, rotate=rotate, noise=noise, specks=specks, rng=rng))
            texts.append(text)
    return images, texts


def _render(pdf_path: Path) -> tuple[Image.Image, str]:
    document = pdfium.PdfDocument(str(pdf_path))
    try:
        page = document[0]
        image = page.render(scale=DPI / 72, grayscale=True).to_pil().convert("L")
        textpage = page.get_textpage()
        text = textpage.get_text_bounded().replace("\r\n", "\n").strip()
        textpage.close()
        page.close()
    finally:
        document.close()
    return image, text


def _scanner(image: Image.Image, *, angle: float, rotate: int, noise: float, specks: int, rng: random.Random) -> Image.Image:
    # Slight blur: a scanner's optics are not a renderer's anti-aliasing.
    image = image.filter(ImageFilter.GaussianBlur(0.6))
    image = image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=255)
    if rotate:
        image = image.rotate(rotate, expand=True)
    if noise:
        image = _grain(image, noise, rng)
    draw = ImageDraw.Draw(image)
    width, height = image.size
    for _ in range(specks):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.choice((1, 1, 1, 2, 2, 3))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=rng.randrange(0, 90))
    return image


def _grain(image: Image.Image, sigma: float, rng: random.Random) -> Image.Image:
    """Gaussian grain, seeded. A 256 x 256 tile of noise is tiled over the page
    (pure Python per pixel would take seconds a page), shifted per row of tiles
    so no repeat lines up."""
    tile_size = 256
    values = bytes(max(0, min(255, int(128 + rng.gauss(0, sigma)))) for _ in range(tile_size * tile_size))
    tile = Image.frombytes("L", (tile_size, tile_size), values)
    width, height = image.size
    field_ = Image.new("L", (width + tile_size, height))
    for row, y in enumerate(range(0, height, tile_size)):
        shift = (row * 97) % tile_size
        for x in range(-shift, width, tile_size):
            field_.paste(tile, (x, y))
    field_ = field_.crop((0, 0, width, height))
    # image + (noise - 128), clipped: grain on paper and ink alike.
    return ImageChops.add(image, field_, scale=1.0, offset=-128)


def save_scan(images: list[Image.Image], texts: list[str], path: Path, kind: str, *, quality: int = 85) -> Scan:
    """Write the pages as a scanner would: "jpeg" / "png" (one page), "tiff" (one
    frame a page), or "pdf" (an image-only PDF of JPEGs, made by img2pdf)."""
    path = Path(path)
    if kind == "jpeg":
        _one(images).save(path, "JPEG", quality=quality, dpi=(DPI, DPI))
    elif kind == "png":
        _one(images).save(path, "PNG", dpi=(DPI, DPI))
    elif kind == "tiff":
        images[0].save(path, "TIFF", save_all=True, append_images=images[1:], compression="tiff_deflate", dpi=(DPI, DPI))
    elif kind == "pdf":
        jpegs = []
        for image in images:
            out = io.BytesIO()
            image.save(out, "JPEG", quality=quality, dpi=(DPI, DPI))
            jpegs.append(out.getvalue())
        path.write_bytes(img2pdf.convert(jpegs))
    else:
        raise ValueError(f"unknown scan kind {kind!r}")
    return Scan(path, list(texts))


def _one(images: list[Image.Image]) -> Image.Image:
    if len(images) != 1:
        raise ValueError("JPEG and PNG hold one page; use tiff or pdf for more")
    return images[0]


def make_scan(path: Path, kind: str = "pdf", pages: int = 1, **options) -> Scan:
    """scan_pages + save_scan in one call."""
    quality = options.pop("quality", 85)
    images, texts = scan_pages(pages, **options)
    return save_scan(images, texts, path, kind, quality=quality)


# ---------------------------------------------------------------------------
# Measuring OCR


def normalize(text: str) -> str:
    """Unicode NFC, whitespace collapsed to single spaces: what CER is computed on."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def levenshtein(a: str, b: str) -> int:
    """Edit distance in characters, O(len(a) * len(b)) time with two rows of memory."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def cer(truth: str, recognized: str) -> float:
    """Character error rate: edits to turn the recognized text into the truth, per truth character."""
    truth, recognized = normalize(truth), normalize(recognized)
    return levenshtein(truth, recognized) / max(1, len(truth))
