"""A clerk's upload of a file built to exhaust a reader is refused with one
clear error, on both profiles, and leaves nothing behind: no stored object,
no row, no index entry, no spooled file."""
from __future__ import annotations

import io

import pytest

from tests import hostile_pdfs
from tests.integration.conftest import NOTHING, leftovers

REFUSED = {
    "xref stream claiming 4,000,000 entries": "file_too_complex",
    "xref stream claiming 2^31 entries": "file_too_complex",
    "object stream claiming 50 million objects": "file_too_complex",
    "trailer declaring 2^31 objects": "file_too_complex",
    "page tree whose kids loop": "corrupt_pdf",
    "page tree node that is its own kid": "corrupt_pdf",
    "arrays nested 100,000 deep": "corrupt_pdf",
    "signed PDF cut in half": "truncated_pdf",
    "ZIP holding a PDF": "unsupported_format",
    "HTML with a PDF inside": "unsupported_format",
}


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    genuine = hostile_pdfs.pdf_with_objects({
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    })
    builders = {
        "xref stream claiming 4,000,000 entries": lambda: hostile_pdfs.xref_stream_bomb(4_000_000),
        "xref stream claiming 2^31 entries": lambda: hostile_pdfs.xref_stream_bomb(2**31),
        "object stream claiming 50 million objects": hostile_pdfs.object_stream_bomb,
        "trailer declaring 2^31 objects": hostile_pdfs.huge_trailer_size,
        "page tree whose kids loop": hostile_pdfs.pages_kids_loop,
        "page tree node that is its own kid": hostile_pdfs.pages_self_kid,
        "arrays nested 100,000 deep": hostile_pdfs.deep_nesting,
        "signed PDF cut in half": lambda: hostile_pdfs.truncated(genuine),
        "ZIP holding a PDF": lambda: hostile_pdfs.zip_pdf_polyglot(genuine),
        "HTML with a PDF inside": lambda: hostile_pdfs.html_with_pdf_header(genuine),
    }
    return {name: build() for name, build in builders.items()}


@pytest.mark.parametrize("name", list(REFUSED))
def test_a_hostile_upload_is_refused_clearly_and_keeps_nothing(rt, clerk, files, name):
    response = clerk.post("/api/v1/documents", data={"file": (io.BytesIO(files[name]), "cong-van.pdf")},
                          content_type="multipart/form-data")
    body = response.get_json()
    assert 400 <= response.status_code < 500, (name, response.status_code, body)
    assert body["code"] == REFUSED[name] and set(body) == {"code", "message"} and body["message"], (name, body)
    assert leftovers(rt) == NOTHING
