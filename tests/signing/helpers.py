"""Test material for the signing story: documents, signature and seal images,
and the forger's toolbox (edits a signed PDF the way an attacker would)."""
from __future__ import annotations

import io
import math
import subprocess
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from signing import Pkcs12Key, sign_pdf
from signing.devservices import DevServices
from signing.pki import DevPki
from signing.reasons import Reason, ReasonCode

DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
DEJAVU_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
BLUE = (20, 40, 170, 255)
RED = (210, 20, 30, 255)


def handwritten_signature_png(width: int = 600, height: int = 240) -> bytes:
    """A blue, loopy, transparent-background 'handwritten' signature."""
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    points = []
    for i in range(400):
        t = i / 399
        x = 30 + t * (width - 60)
        # a few loops and a flourish, like a hand moving quickly
        y = height / 2 + 55 * math.sin(t * 9 * math.pi) * (1 - t * 0.6) + 25 * math.cos(t * 23)
        points.append((x, y))
    draw.line(points, fill=BLUE, width=6, joint="curve")
    draw.line([(60, height - 40), (width - 40, height - 60)], fill=BLUE, width=5)
    return _png(image)


def seal_png(size: int = 600, name: str = "UBND XÃ MẪU") -> bytes:
    """A round red seal: two rings, a star, the agency name."""
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((8, 8, size - 8, size - 8), outline=RED, width=14)
    draw.ellipse((70, 70, size - 70, size - 70), outline=RED, width=6)
    c, r = size / 2, size / 7
    star = [(c + (r if k % 2 == 0 else r / 2.5) * math.sin(k * math.pi / 5),
             c - (r if k % 2 == 0 else r / 2.5) * math.cos(k * math.pi / 5)) for k in range(10)]
    draw.polygon(star, fill=RED)
    font = ImageFont.truetype(DEJAVU_BOLD, size // 14)
    draw.text((c, c + r + 40), name, font=font, fill=RED, anchor="mm")
    return _png(image)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def codes(reasons: list[Reason]) -> list[ReasonCode]:
    return [r.code for r in reasons]


def signed_while_online(pki: DevPki, pdf: bytes, level: str) -> bytes:
    """`pdf` signed by the PKI's official at `level` while its services run;
    they are gone afterwards, so a listener can take their port."""
    with DevServices(pki):
        out = io.BytesIO()
        sign_pdf(io.BytesIO(pdf), out, Pkcs12Key(pki.p12_path("official"), pki.passphrase), level=level,
                 trust=pki.trust_config())
        return out.getvalue()


def make_nssdb(folder: Path, root_pem: Path) -> Path:
    """An NSS database in which pdfsig trusts `root_pem`."""
    subprocess.run(["certutil", "-N", "-d", f"sql:{folder}", "--empty-password"], check=True, capture_output=True)
    subprocess.run(["certutil", "-A", "-d", f"sql:{folder}", "-n", "docsvc-dev-root", "-t", "CT,C,C",
                    "-i", str(root_pem)], check=True, capture_output=True)
    return folder


def pdfsig(path: Path, nssdir: Path | None = None) -> str:
    args = ["pdfsig"] + (["-nssdir", f"sql:{nssdir}"] if nssdir else []) + [str(path)]
    result = subprocess.run(args, capture_output=True, text=True, timeout=60)
    return result.stdout + result.stderr


def pdfsig_blocks(output: str) -> dict[str, str]:
    """pdfsig's report split per signature, keyed by field name."""
    blocks = {}
    for block in output.split("Signature #")[1:]:
        name = next((line.split(":", 1)[1].strip() for line in block.splitlines()
                     if "Signature Field Name:" in line), None)
        blocks[name] = block
    return blocks


# --- the forger's toolbox -------------------------------------------------

def flip_byte_in_signed_range(signed: bytes) -> bytes:
    """Change one digit of the first page's MediaBox: inside /ByteRange."""
    at = signed.index(b"/MediaBox")
    digit = next(i for i in range(at, at + 40) if signed[i:i + 1].isdigit() and signed[i:i + 1] != b"0")
    return signed[:digit] + (b"1" if signed[digit:digit + 1] != b"1" else b"2") + signed[digit + 1:]


def _update(signed: bytes, edit) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    edit(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _text_stream(writer: IncrementalPdfFileWriter, text: str, y: int = 700):
    ops = f"BT /Helv 14 Tf 60 {y} Td ({text}) Tj ET".encode("latin-1")
    return writer.add_object(generic.StreamObject(stream_data=ops))


def _helvetica() -> generic.DictionaryObject:
    return generic.DictionaryObject({
        pdf_name("/Font"): generic.DictionaryObject({
            pdf_name("/Helv"): generic.DictionaryObject({
                pdf_name("/Type"): pdf_name("/Font"), pdf_name("/Subtype"): pdf_name("/Type1"),
                pdf_name("/BaseFont"): pdf_name("/Helvetica")})})})


def append_page(signed: bytes) -> bytes:
    """Incremental update: a new last page 'Phu luc: so tien 900.000.000 dong'."""
    def edit(writer):
        page = generic.DictionaryObject({
            pdf_name("/Type"): pdf_name("/Page"),
            pdf_name("/MediaBox"): generic.ArrayObject([generic.NumberObject(v) for v in (0, 0, 595, 842)]),
            pdf_name("/Contents"): _text_stream(writer, "Phu luc: so tien 900.000.000 dong"),
            pdf_name("/Resources"): _helvetica(),
        })
        writer.insert_page(page)
    return _update(signed, edit)


def replace_first_page(signed: bytes) -> bytes:
    """Incremental update: the page tree now points at a different page object."""
    def edit(writer):
        pages = writer.root["/Pages"]
        old = pages["/Kids"][0].get_object()
        page = generic.DictionaryObject({
            pdf_name("/Type"): pdf_name("/Page"),
            pdf_name("/Parent"): writer.root.raw_get("/Pages"),
            pdf_name("/MediaBox"): old["/MediaBox"],
            pdf_name("/Contents"): _text_stream(writer, "QUYET DINH (ban da sua)"),
            pdf_name("/Resources"): _helvetica(),
        })
        pages["/Kids"][0] = writer.add_object(page)
        writer.update_container(pages)
    return _update(signed, edit)


def overlay_content(signed: bytes) -> bytes:
    """Incremental update: white-out and new text drawn into the page's own
    content (no annotation), e.g. to change an amount."""
    def edit(writer):
        ops = b"q 1 1 1 rg 50 690 400 40 re f Q BT /Helv 14 Tf 60 700 Td (So tien: 900.000.000 dong) Tj ET"
        writer.add_stream_to_page(0, writer.add_object(generic.StreamObject(stream_data=ops)), _helvetica())
    return _update(signed, edit)


def add_sticky_note(signed: bytes) -> bytes:
    """Incremental update: a reviewer's comment annotation (allowed by PDF rules)."""
    def edit(writer):
        page_ref = writer.find_page_for_modification(0)[0]
        annot = generic.DictionaryObject({
            pdf_name("/Type"): pdf_name("/Annot"), pdf_name("/Subtype"): pdf_name("/Text"),
            pdf_name("/Rect"): generic.ArrayObject([generic.NumberObject(v) for v in (500, 780, 520, 800)]),
            pdf_name("/Contents"): generic.TextStringObject("Đã xem"),
        })
        writer.register_annotation(page_ref, writer.add_object(annot))
    return _update(signed, edit)
