"""Every way a clerk can hand over the wrong file gets one clear error, in one
JSON shape from the API and one line from the command line, and leaves
nothing behind: no stored object, no row, no index entry, no spooled file."""
from __future__ import annotations

import dataclasses
import io
import struct
import zlib

import pikepdf
import pytest
from PIL import Image

from docsvc import accounts
from docsvc.app import create_app
from docsvc.cli import prepare
from docsvc.runtime import Runtime
from tests.integration.conftest import NOTHING, leftovers, repr_digest
from tests.pdfs import make_pdf, sample_paragraphs


def _valid_pdf(tmp_path):
    return make_pdf(tmp_path / "valid.pdf", "Quyết định", sample_paragraphs("binh-duong-cchc-2020.txt")[:2]).read_bytes()


def _bad_files(tmp_path) -> dict[str, tuple[bytes, str]]:
    valid = _valid_pdf(tmp_path)
    encrypted = tmp_path / "encrypted.pdf"
    with pikepdf.open(io.BytesIO(valid)) as pdf:
        pdf.save(encrypted, encryption=pikepdf.Encryption(user="bi-mat", owner="bi-mat"))
    scan = io.BytesIO()
    Image.new("L", (600, 800), 255).save(scan, "JPEG", quality=80)
    return {
        "empty": (b"", "empty_file"),
        "plain text": ("Đây là văn bản thuần, không phải PDF.\n".encode() * 50, "unsupported_format"),
        "a Word file": (b"PK\x03\x04\x14\x00\x06\x00" + b"[Content_Types].xml" + b"\x00" * 2000, "unsupported_format"),
        "a photo cut to its header": (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 4000, "corrupt_image"),
        "a truncated scan": (scan.getvalue()[: len(scan.getvalue()) // 2], "corrupt_image"),
        "a decompression bomb": (_png_bomb(), "decompression_bomb"),
        "encrypted": (encrypted.read_bytes(), "encrypted_pdf"),
        "truncated": (valid[: len(valid) // 2], "truncated_pdf"),
        "garbage after a header": (b"%PDF-1.7\n" + b"\x00garbage" * 500 + b"\n%%EOF\n", "corrupt_pdf"),
    }


CASES = [
    "empty", "plain text", "a Word file", "a photo cut to its header", "a truncated scan", "a decompression bomb",
    "encrypted", "truncated", "garbage after a header",
]


def _png_bomb() -> bytes:
    """A PNG of a few hundred bytes declaring 100,000 × 100,000 pixels (10 GB
    decoded): refused from its header, never decoded."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("case", CASES)
def test_api_rejects_bad_files_and_keeps_nothing(rt, clerk, tmp_path, case):
    content, code = _bad_files(tmp_path)[case]
    response = clerk.post(
        "/api/v1/documents",
        data={"file": (io.BytesIO(content), "van-ban.pdf")},
        content_type="multipart/form-data",
    )
    assert 400 <= response.status_code < 500
    body = response.get_json()
    assert body["code"] == code
    assert set(body) == {"code", "message"} and body["message"]
    assert leftovers(rt) == NOTHING


@pytest.mark.parametrize("case", CASES)
def test_cli_rejects_bad_files_with_one_line(backend, tmp_path, case):
    backend.run("db", "upgrade", check=True)
    content, code = _bad_files(tmp_path)[case]
    path = tmp_path / "van-ban.pdf"
    path.write_bytes(content)
    result = backend.run("ingest", str(path), "--wait", "--json")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("docsvc: error: ") and f"({code})" in lines[0]
    assert result.stdout == ""
    assert path.read_bytes() == content  # the clerk's own file is left as it was
    runtime = Runtime(backend.settings())
    try:
        # Bootstrap's audit events are the only rows; no document, file or outbox row.
        assert leftovers(runtime) == NOTHING
    finally:
        runtime.close()


def test_upload_over_the_limit_is_refused_while_streaming(backend, tmp_path):
    settings = backend.settings()
    runtime = Runtime(dataclasses.replace(settings, max_upload_bytes=64 * 1024))
    prepare(runtime)
    with runtime.write() as session:
        user = accounts.add_user(session, "clerk", "mat-khau-an-toan", "clerk", agency_code="UBND-XA")
        token = accounts.issue_token(session, user)
    client = create_app(runtime=runtime).test_client()
    big = make_pdf(tmp_path / "big.pdf", "Báo cáo", sample_paragraphs("ca-mau-hien-dai-hoa-hanh-chinh.txt"), pages=40)
    assert big.stat().st_size > 64 * 1024

    # A chunked raw body (no Content-Length) is cut off by the spool at the limit...
    with open(big, "rb") as handle:
        response = client.post(
            "/api/v1/documents?filename=big.pdf",
            input_stream=handle,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/pdf"},
            # What gunicorn says of a chunked request body.
            environ_overrides={"wsgi.input_terminated": True},
        )
    assert response.status_code == 413
    assert response.get_json()["code"] == "upload_too_large"
    # ...so is one with a Repr-Digest, which streams to the store as it comes...
    with open(big, "rb") as handle:
        response = client.post(
            "/api/v1/documents?filename=big.pdf",
            input_stream=handle,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/pdf",
                     "Repr-Digest": repr_digest(big.read_bytes())},
            environ_overrides={"wsgi.input_terminated": True},
        )
    assert response.status_code == 413
    assert response.get_json()["code"] == "upload_too_large"
    # ...and a declared length over the limit is refused before reading.
    with open(big, "rb") as big_file:
        response = client.post(
            "/api/v1/documents",
            data={"file": (big_file, "big.pdf")},
            content_type="multipart/form-data",
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 413
    assert response.get_json()["code"] == "upload_too_large"
    assert leftovers(runtime) == NOTHING

    result = backend.run("ingest", str(big), extra_env={"DOCSVC_MAX_UPLOAD_BYTES": str(64 * 1024)})
    assert result.returncode == 2 and "(upload_too_large)" in result.stderr
    assert leftovers(runtime) == NOTHING
    runtime.close()


def test_a_failed_database_write_removes_the_stored_original(rt, clerk, tmp_path, monkeypatch):
    """If recording the document fails after its bytes were stored, the bytes go too."""
    from sqlalchemy import select

    from docsvc import outbox
    from docsvc.documents import records as documents
    from docsvc.models import User

    def broken_enqueue(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(outbox, "enqueue", broken_enqueue)
    spooled = documents.spool(io.BytesIO(_valid_pdf(tmp_path)), "a.pdf", rt)

    with rt.read() as session:
        user = session.scalar(select(User).where(User.username == clerk.username))
    with pytest.raises(RuntimeError):
        documents.ingest(rt, user, spooled)
    assert leftovers(rt) == NOTHING


def test_cli_names_a_file_it_cannot_read(backend, tmp_path):
    backend.run("db", "upgrade", check=True)
    result = backend.run("ingest", str(tmp_path / "khong-co.pdf"))
    assert result.returncode == 2
    missing = tmp_path / "khong-co.pdf"
    assert result.stderr.strip() == f"docsvc: error: {missing}: Cannot read the file (No such file or directory). (invalid_input)"


def test_a_scan_over_the_page_limit_is_refused_with_the_count(backend, tmp_path):
    backend.run("db", "upgrade", check=True)
    long_pdf = make_pdf(tmp_path / "ho-so.pdf", "Hồ sơ", sample_paragraphs("binh-duong-cchc-2020.txt")[:1], pages=6)
    result = backend.run("ingest", str(long_pdf), extra_env={"DOCSVC_MAX_PAGES": "5"})
    assert result.returncode == 2
    line = result.stderr.strip()
    assert "(too_many_pages)" in line and "6" in line and "5" in line
    runtime = Runtime(backend.settings())
    try:
        assert leftovers(runtime) == NOTHING
    finally:
        runtime.close()
