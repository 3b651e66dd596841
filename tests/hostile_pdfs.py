"""Hostile files, built in code: what an attacker sends to a public verifier
or an upload form to exhaust or crash its readers.

Each is small on the wire and claims, or unpacks to, far more: cross-reference
and object-stream bombs, deflate bombs (in page content, in an image, in the
cross-reference stream, in the metadata), page trees and references that
loop, arrays nested 100,000 deep, a page as large as a country, truncated
files and polyglots. `corpus()` returns them all by name; `HostileFile.kind`
says what a reader may reasonably make of it.
"""
from __future__ import annotations

import functools
import io
import struct
import zlib
from dataclasses import dataclass


@dataclass(frozen=True)
class HostileFile:
    name: str
    data: bytes
    # "structure": a PDF built to exhaust or loop a reader; "damaged": an
    # honest-looking file that is broken; "polyglot": two formats in one file.
    kind: str
    # May an upload check accept it (it is a well-formed PDF or image, only
    # expensive later)? Verification never calls such a file valid.
    acceptable_upload: bool = False


def pdf_with_objects(objects: dict[int, bytes], *, root: int = 1, xref_stream: bytes | None = None,
                     trailer: bytes = b"", header: bytes = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n") -> bytes:
    """A PDF of these numbered objects (their bodies between `N 0 obj` and
    `endobj`) with a correct cross-reference table, or, given `xref_stream`
    (a stream object's dictionary and data, without its number), ending in
    that cross-reference stream instead."""
    out = io.BytesIO()
    out.write(header)
    offsets = {}
    for number in sorted(objects):
        offsets[number] = out.tell()
        out.write(b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n")
    size = max(objects) + 1
    if xref_stream is not None:
        start = out.tell()
        out.write(b"%d 0 obj\n" % size + xref_stream + b"\nendobj\n")
    else:
        start = out.tell()
        out.write(b"xref\n0 %d\n0000000000 65535 f \n" % size)
        for number in range(1, size):
            if number in offsets:
                out.write(b"%010d 00000 n \n" % offsets[number])
            else:
                out.write(b"0000000000 00000 f \n")
        out.write(b"trailer\n<< /Size %d /Root %d 0 R %s>>\n" % (size, root, trailer))
    out.write(b"startxref\n%d\n%%%%EOF\n" % start)
    return out.getvalue()


def _stream(dictionary: bytes, data: bytes) -> bytes:
    return b"<< " + dictionary + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


def _one_page(content: bytes = b"BT /F1 12 Tf 72 720 Td (Hello) Tj ET", *, mediabox: bytes = b"[0 0 595 842]",
              extra_page: bytes = b"", extra_objects: dict[int, bytes] | None = None) -> dict[int, bytes]:
    return {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox " + mediabox
           + b" /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R " + extra_page + b">>",
        4: _stream(b"", content),
        5: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        **(extra_objects or {}),
    }


@functools.lru_cache(maxsize=4)
def deflated_zeros(decoded_mib: int, fill: bytes = b" ") -> bytes:
    """`decoded_mib` MiB of one byte as a zlib stream (about 1/1000 of it on
    the wire). Made without compressing it all: after a full flush deflate
    starts afresh, so one MiB's compressed block repeated is the whole
    stream; only its Adler-32 is computed over every byte."""
    chunk = fill * (1024 * 1024)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    end = compressor.flush(zlib.Z_FINISH)
    checksum = 1
    for _ in range(decoded_mib):
        checksum = zlib.adler32(chunk, checksum)
    return b"\x78\xda" + block * decoded_mib + end + struct.pack(">I", checksum)


# ---------------------------------------------------------------------------
# Structure bombs


def xref_stream_bomb(claimed: int) -> bytes:
    """A cross-reference stream claiming `claimed` entries in a few bytes
    (the reviewer's 374-byte file: /Index [0 4000000])."""
    objects = _one_page()
    data = zlib.compress(b"\x01\x00\x0f\x00" * 3)
    xref = _stream(b"/Type /XRef /Size %d /Index [0 %d] /W [1 2 1] /Root 1 0 R /Filter /FlateDecode" % (claimed, claimed),
                   data)
    return pdf_with_objects(objects, xref_stream=xref)


def object_stream_bomb() -> bytes:
    """An object stream claiming 50 million objects, named by a cross-reference stream."""
    header = b"1 0 2 40 "
    body = b"<< /Type /Catalog /Pages 2 0 R >>      " + b"<< /Type /Pages /Kids [] /Count 0 >>"
    objstm = _stream(b"/Type /ObjStm /N 50000000 /First %d /Filter /FlateDecode" % len(header),
                     zlib.compress(header + body))
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    objstm_at = out.tell()
    out.write(b"3 0 obj\n" + objstm + b"\nendobj\n")
    xref_at = out.tell()
    rows = b"".join([
        struct.pack(">BIH", 0, 0, 65535),
        struct.pack(">BIH", 2, 3, 0),
        struct.pack(">BIH", 2, 3, 1),
        struct.pack(">BIH", 1, objstm_at, 0),
        struct.pack(">BIH", 1, xref_at, 0),
    ])
    out.write(b"4 0 obj\n" + _stream(b"/Type /XRef /Size 5 /W [1 4 2] /Root 1 0 R /Filter /FlateDecode",
                                      zlib.compress(rows)) + b"\nendobj\n")
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref_at)
    return out.getvalue()


def huge_trailer_size() -> bytes:
    """A classic cross-reference table whose trailer declares 2^31 objects."""
    return pdf_with_objects(_one_page(), trailer=b"/Size 2147483647 ").replace(b"/Size 6 ", b"", 1)


# ---------------------------------------------------------------------------
# Deflate bombs


def content_deflate_bomb(decoded_mib: int = 1024) -> bytes:
    """Page one's content stream: ~1 MB on the wire, `decoded_mib` MiB of spaces decoded."""
    objects = _one_page()
    objects[4] = _stream(b"/Filter /FlateDecode", deflated_zeros(decoded_mib))
    return pdf_with_objects(objects)


def image_deflate_bomb(decoded_mib: int = 1024) -> bytes:
    """An image on page one whose pixels inflate to `decoded_mib` MiB."""
    side = int((decoded_mib * 1024 * 1024) ** 0.5)
    image = _stream(b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
                    b"/BitsPerComponent 8 /Filter /FlateDecode" % (side, side), deflated_zeros(decoded_mib, b"\x00"))
    objects = _one_page(b"q 500 0 0 700 50 50 cm /Im1 Do Q", extra_objects={6: image})
    objects[3] = objects[3].replace(b"/Resources << ", b"/Resources << /XObject << /Im1 6 0 R >> ")
    return pdf_with_objects(objects)


def xref_stream_deflate_bomb(decoded_mib: int = 1024) -> bytes:
    """A cross-reference stream of honest /Size whose data inflates to `decoded_mib` MiB."""
    objects = _one_page()
    xref = _stream(b"/Type /XRef /Size 7 /W [1 2 1] /Root 1 0 R /Filter /FlateDecode",
                   deflated_zeros(decoded_mib, b"\x00"))
    return pdf_with_objects(objects, xref_stream=xref)


def metadata_deflate_bomb(decoded_mib: int = 1024) -> bytes:
    """The catalog's /Metadata stream inflates to `decoded_mib` MiB."""
    objects = _one_page(extra_objects={6: _stream(b"/Type /Metadata /Subtype /XML /Filter /FlateDecode",
                                                  deflated_zeros(decoded_mib))})
    objects[1] = b"<< /Type /Catalog /Pages 2 0 R /Metadata 6 0 R >>"
    return pdf_with_objects(objects)


# ---------------------------------------------------------------------------
# Loops and depth


def pages_kids_loop() -> bytes:
    """The page tree's /Kids lead back to itself (2 → 6 → 2)."""
    objects = _one_page()
    objects[2] = b"<< /Type /Pages /Kids [6 0 R 3 0 R] /Count 2 >>"
    objects[6] = b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 1 >>"
    return pdf_with_objects(objects)


def pages_self_kid() -> bytes:
    """A /Pages node that is its own kid."""
    objects = _one_page()
    objects[2] = b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>"
    return pdf_with_objects(objects)


def parent_loop() -> bytes:
    """Page one's /Parent chain loops (page → 6 → 7 → 6), inheriting nothing."""
    objects = _one_page()
    objects[3] = objects[3].replace(b"/Parent 2 0 R /MediaBox [0 0 595 842]", b"/Parent 6 0 R")
    objects[6] = b"<< /Type /Pages /Parent 7 0 R /Kids [3 0 R] /Count 1 >>"
    objects[7] = b"<< /Type /Pages /Parent 6 0 R /Kids [6 0 R] /Count 1 >>"
    return pdf_with_objects(objects)


def reference_loop() -> bytes:
    """Indirect objects that are only references to each other, used as the
    page's /Contents, /Resources and /MediaBox and the document's /Info."""
    objects = _one_page()
    objects[3] = (b"<< /Type /Page /Parent 2 0 R /MediaBox 6 0 R /Resources 7 0 R /Contents 8 0 R >>")
    objects[6] = b"7 0 R"
    objects[7] = b"8 0 R"
    objects[8] = b"6 0 R"
    return pdf_with_objects(objects, trailer=b"/Info 6 0 R ")


def length_loop() -> bytes:
    """A stream whose /Length is a reference to itself."""
    objects = _one_page()
    objects[4] = b"<< /Length 4 0 R >>\nstream\nBT ET\nendstream"
    return pdf_with_objects(objects)


def deep_nesting(depth: int = 100_000) -> bytes:
    """An array nested `depth` deep in the page dictionary and the catalog."""
    nested = b"[" * depth + b"]" * depth
    objects = _one_page(extra_page=b"/Deep " + nested + b" ")
    objects[1] = b"<< /Type /Catalog /Pages 2 0 R /Deep " + nested + b" >>"
    return pdf_with_objects(objects)


def deep_dictionaries(depth: int = 100_000) -> bytes:
    """Dictionaries nested `depth` deep as the document information."""
    nested = b"<< /A " * depth + b"1" + b" >>" * depth
    objects = _one_page(extra_objects={6: nested})
    return pdf_with_objects(objects, trailer=b"/Info 6 0 R ")


def huge_mediabox() -> bytes:
    """Page one is 14 million points square (about 5 km): drawing it at any
    preview scale is terabytes of pixels."""
    return pdf_with_objects(_one_page(mediabox=b"[0 0 14400000 14400000]"))


# ---------------------------------------------------------------------------
# Damage and polyglots


def truncated(pdf: bytes) -> bytes:
    return pdf[: len(pdf) // 2]


def zip_pdf_polyglot(pdf: bytes) -> bytes:
    """A ZIP archive whose first entry holds a PDF (a PDF header in the first KiB)."""
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("a.pdf", pdf)
        archive.writestr("readme.txt", "not a PDF")
    return out.getvalue()


def html_with_pdf_header(pdf: bytes) -> bytes:
    """An HTML page (with a script) that carries a PDF after its first lines."""
    page = b"<!DOCTYPE html><html><body><script>alert(document.domain)</script>\n"
    return page + pdf + b"\n</body></html>\n"


def jpeg_carrying_pdf(pdf: bytes) -> bytes:
    """A real JPEG whose comment segment holds a whole PDF."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("L", (64, 64), 200).save(out, "JPEG")
    jpeg = out.getvalue()
    comment = pdf[:65000]
    segment = b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment
    return jpeg[:2] + segment + jpeg[2:]


def corpus(genuine_pdf: bytes) -> list[HostileFile]:
    """Every hostile file; `genuine_pdf` (a real, preferably signed, PDF) is
    what the truncated file and the polyglots are made of."""
    return [
        HostileFile("xref stream claiming 4,000,000 entries", xref_stream_bomb(4_000_000), "structure"),
        HostileFile("xref stream claiming 2^31 entries", xref_stream_bomb(2**31), "structure"),
        HostileFile("object stream claiming 50 million objects", object_stream_bomb(), "structure"),
        HostileFile("trailer declaring 2^31 objects", huge_trailer_size(), "structure"),
        HostileFile("deflate bomb in page content", content_deflate_bomb(), "structure", acceptable_upload=True),
        HostileFile("deflate bomb in an image", image_deflate_bomb(), "structure", acceptable_upload=True),
        HostileFile("deflate bomb in the xref stream", xref_stream_deflate_bomb(), "structure", acceptable_upload=True),
        HostileFile("deflate bomb in the metadata", metadata_deflate_bomb(), "structure", acceptable_upload=True),
        HostileFile("page tree whose kids loop", pages_kids_loop(), "structure"),
        HostileFile("page tree node that is its own kid", pages_self_kid(), "structure"),
        HostileFile("parent chain that loops", parent_loop(), "structure", acceptable_upload=True),
        HostileFile("indirect references that loop", reference_loop(), "structure", acceptable_upload=True),
        HostileFile("stream length referring to itself", length_loop(), "structure", acceptable_upload=True),
        HostileFile("arrays nested 100,000 deep", deep_nesting(), "structure"),
        HostileFile("dictionaries nested 100,000 deep", deep_dictionaries(), "structure", acceptable_upload=True),
        HostileFile("page 14 million points square", huge_mediabox(), "structure", acceptable_upload=True),
        HostileFile("signed PDF cut in half", truncated(genuine_pdf), "damaged"),
        HostileFile("ZIP holding a PDF", zip_pdf_polyglot(genuine_pdf), "polyglot"),
        HostileFile("HTML with a PDF inside", html_with_pdf_header(genuine_pdf), "polyglot"),
        HostileFile("JPEG carrying a PDF", jpeg_carrying_pdf(genuine_pdf), "polyglot", acceptable_upload=True),
    ]
