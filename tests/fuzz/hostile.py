"""Hostile PDFs built in code, small on the wire, costly to a parser without a budget.

Each is what issue 9 found hurting public verification:

- xref_index_bomb: 400 bytes whose cross-reference stream claims
  /Index [0 4000000] (17-31 s and +900 MiB in the verifier on main);
- deflate_bomb_pdf: a page whose content stream inflates to 256 MiB
  (about 260 KB sent; page-one text extraction holds it all);
- cyclic_page_tree: a page tree whose /Kids contains itself (a 500 on main);
- deep_nesting: 100 000 nested arrays in the catalog;
- truncated: an honest signed file cut in the middle.
"""
from __future__ import annotations

import zlib


def _pdf(objects: list[bytes], trailer: bytes = b"") -> bytes:
    """A classic-xref PDF of these object bodies (object i+1 is objects[i])."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % at for at in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, trailer, xref)
    return bytes(out)


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def xref_index_bomb(claimed: int = 4_000_000) -> bytes:
    """A cross-reference stream of three real entries claiming `claimed`."""
    head = b"%PDF-1.7\n"
    catalog = b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    pages = b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
    at_catalog, at_pages = len(head), len(head) + len(catalog)
    at_xref = at_pages + len(pages)
    entries = b"".join(bytes([kind]) + offset.to_bytes(4, "big") + b"\x00"
                       for kind, offset in ((0, 0), (1, at_catalog), (1, at_pages), (1, at_xref)))
    data = zlib.compress(entries)
    xref = (b"3 0 obj\n<< /Type /XRef /Size %d /Index [0 %d] /W [1 4 1] /Root 1 0 R /Filter /FlateDecode "
            b"/Length %d >>\nstream\n" % (claimed, claimed, len(data)) + data + b"\nendstream\nendobj\n")
    return head + catalog + pages + xref + b"startxref\n%d\n%%%%EOF\n" % at_xref


def deflate_bomb_pdf(inflated: int = 256 * 1024 * 1024) -> bytes:
    """One page whose content stream is `inflated` bytes of PDF whitespace (NUL), deflated."""
    compressor = zlib.compressobj(9)
    chunk = bytes(1024 * 1024)
    content = b"".join(compressor.compress(chunk) for _ in range(inflated // len(chunk))) + compressor.flush()
    return _pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        _stream(content, b"/Filter /FlateDecode "),
    ])


def cyclic_page_tree() -> bytes:
    """The root page tree lists itself among its kids, beside a real page."""
    return _pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R 2 0 R] /Count 2 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ])


def deep_nesting(depth: int = 100_000) -> bytes:
    return _pdf([
        b"<< /Type /Catalog /Pages 2 0 R /Nested " + b"[" * depth + b"]" * depth + b" >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ])


def truncated(signed: bytes) -> bytes:
    return signed[: len(signed) // 2]


def corpus(signed: bytes) -> dict[str, bytes]:
    """The hostile files of bench/verify_load.py, by name; `signed` is an honest signed file."""
    return {"xref-index-4M": xref_index_bomb(), "deflate-bomb-256M": deflate_bomb_pdf(),
            "cyclic-page-tree": cyclic_page_tree(), "nested-100k": deep_nesting(),
            "truncated-signed": truncated(signed)}
