"""The seeds the fuzzers mutate: real files of the kinds docsvc receives.

- born-digital PDFs (tests/pdfs.py: reportlab, DejaVu Sans, Vietnamese
  text), one and three pages, and one re-saved by pikepdf with object
  streams and a cross-reference stream (the layout most PDF writers use now);
- a scan wrapped into a PDF the way docsvc wraps images (intake.image_to_pdf);
- signed PDFs made with the development PKI of an installation: an
  official's visible B-B signature, and the agency's B-LTA (time-stamp, DSS,
  document time-stamp) over the official's B-T, as an issued document carries;
- scan images: PNG (colour and grey), JPEG, a two-page TIFF.

`build(folder)` needs the PKI's TSA answering (signing.devservices) for the
time-stamped seeds; the caller keeps the services running while verifying too.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import pikepdf
from PIL import Image, ImageDraw

from docsvc.documents.formats import image_to_pdf
from signing import Box, PersonSignature, Pkcs12Key, sign_pdf
from signing.pki import DevPki
from tests.pdfs import make_pdf, sample_paragraphs
from tests.signing.helpers import handwritten_signature_png

SAMPLE = "binh-duong-cchc-2020.txt"


@dataclass(repr=False)
class Corpus:
    pdfs: dict[str, bytes] = field(default_factory=dict)  # unsigned PDFs
    signed: dict[str, bytes] = field(default_factory=dict)  # signed PDFs
    images: dict[str, bytes] = field(default_factory=dict)  # scan images

    def __repr__(self) -> str:  # Hypothesis prints the fixtures of a failing example
        return f"Corpus({sorted(self.pdfs)}, {sorted(self.signed)}, {sorted(self.images)})"

    def everything(self) -> list[bytes]:
        return [*self.pdfs.values(), *self.signed.values(), *self.images.values()]


def scan_image(size: tuple[int, int] = (160, 220), mode: str = "RGB") -> Image.Image:
    """A small page-like picture: white paper, dark lines of 'text'."""
    image = Image.new(mode, size, "white")
    draw = ImageDraw.Draw(image)
    for y in range(20, size[1] - 20, 12):
        draw.line((14, y, size[0] - 14 - (y * 7) % 40, y), fill="black", width=2)
    return image


def _encoded(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def images() -> dict[str, bytes]:
    page = scan_image()
    second = scan_image(mode="L")
    return {
        "scan.png": _encoded(page, "PNG", dpi=(300, 300)),
        "scan-grey.png": _encoded(second, "PNG"),
        "scan.jpg": _encoded(page, "JPEG", quality=80, dpi=(300, 300)),
        "scan-2-pages.tif": _encoded(page, "TIFF", save_all=True, append_images=[second.convert("RGB")],
                                     compression="tiff_lzw", dpi=(300, 300)),
    }


def unsigned_pdfs(folder: Path) -> dict[str, bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    paragraphs = sample_paragraphs(SAMPLE)
    one = make_pdf(folder / "quyet-dinh.pdf", "QUYẾT ĐỊNH Số: 15/QĐ-UBND", paragraphs[:3]).read_bytes()
    three = make_pdf(folder / "bao-cao.pdf", "BÁO CÁO kết quả CCHC", paragraphs, pages=3).read_bytes()
    with pikepdf.open(io.BytesIO(one)) as pdf:
        out = io.BytesIO()
        pdf.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate)
        xref_stream = out.getvalue()
    scan = folder / "scan.png"
    scan.write_bytes(images()["scan.png"])
    image_to_pdf(scan, folder / "scan.pdf")
    return {"born-digital.pdf": one, "born-digital-3-pages.pdf": three, "xref-stream.pdf": xref_stream,
            "scan.pdf": (folder / "scan.pdf").read_bytes()}


def _sign(pdf: bytes, key: Pkcs12Key, **options) -> bytes:
    out = io.BytesIO()
    sign_pdf(io.BytesIO(pdf), out, key, **options)
    return out.getvalue()


def signed_pdfs(pdf: bytes, pki: DevPki) -> dict[str, bytes]:
    """An official's B-B; an official's B-T then the agency's B-LTA (needs the TSA)."""
    trust = pki.trust_config()
    official = Pkcs12Key(pki.p12_path("official"), pki.passphrase)
    agency = Pkcs12Key(pki.p12_path("agency"), pki.passphrase)
    visible = PersonSignature(handwritten_signature_png(300, 120), Box(page=0, x=340, y=60, width=150, height=60))
    b_b = _sign(pdf, official, level="B-B", appearance=visible)
    b_t = _sign(pdf, official, level="B-T", trust=trust)
    issued = _sign(b_t, agency, level="B-LTA", trust=trust)
    return {"signed-b-b.pdf": b_b, "signed-b-t-then-b-lta.pdf": issued}


def build(folder: Path, pki: DevPki) -> Corpus:
    pdfs = unsigned_pdfs(folder)
    return Corpus(pdfs=pdfs, signed=signed_pdfs(pdfs["born-digital.pdf"], pki), images=images())
