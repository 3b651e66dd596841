"""A clerk's upload of a file built to exhaust a reader is refused with one
clear error, on both profiles, and leaves nothing behind: no stored object,
no row, no index entry, no spooled file. So is one sent as a raw body with
its Repr-Digest, which the store receives while it streams in (before the
checks), and one whose bytes are not the ones its digest names."""
from __future__ import annotations

import hashlib
import io

import pytest
from sqlalchemy import select

from docsvc.models import DocumentFile
from storage import read_object
from tests import hostile_pdfs
from tests.integration.conftest import NOTHING, leftovers, repr_digest

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


def post_raw(clerk, data: bytes, digest: str):
    response = clerk.client.post("/api/v1/documents?filename=cong-van.pdf", data=data,
                                 headers={**clerk.headers, "Content-Type": "application/pdf", "Repr-Digest": digest})
    return response, response.get_json()


@pytest.mark.parametrize("name", list(REFUSED))
def test_a_hostile_upload_streamed_with_its_digest_is_refused_and_keeps_nothing(rt, clerk, files, name):
    response, body = post_raw(clerk, files[name], repr_digest(files[name]))
    assert 400 <= response.status_code < 500, (name, response.status_code, body)
    assert body["code"] == REFUSED[name] and set(body) == {"code", "message"}, (name, body)
    assert leftovers(rt) == NOTHING


def test_an_upload_whose_bytes_are_not_its_digest_is_refused_and_keeps_nothing(rt, clerk, files):
    genuine = files["signed PDF cut in half"][:20] + b"x" + files["signed PDF cut in half"][21:]
    response, body = post_raw(clerk, genuine, repr_digest(b"the file the client meant to send"))
    assert response.status_code == 400 and body["code"] == "digest_mismatch", body
    assert leftovers(rt) == NOTHING
    response, body = post_raw(clerk, genuine, "sha-256=:bm90IGEgZGlnZXN0:")
    assert response.status_code == 400 and body["code"] == "invalid_input", body
    assert leftovers(rt) == NOTHING


def test_an_upload_streamed_with_its_digest_is_stored_under_its_hash(rt, clerk, tmp_path):
    from tests.pdfs import make_pdf, sample_paragraphs

    pdf = make_pdf(tmp_path / "to-trinh.pdf", "Tờ trình", sample_paragraphs("binh-duong-cchc-2020.txt")[:3]).read_bytes()
    first, body = post_raw(clerk, pdf, repr_digest(pdf))
    assert first.status_code == 202, body
    again, _ = post_raw(clerk, pdf, repr_digest(pdf))  # the same bytes, already stored
    assert again.status_code == 202
    with rt.read() as session:
        files = session.execute(select(DocumentFile.storage_key, DocumentFile.sha256, DocumentFile.size)).all()
    assert {(f.sha256, f.size) for f in files} == {(hashlib.sha256(pdf).hexdigest(), len(pdf))} and len(files) == 2
    assert read_object(rt.store, files[0].storage_key) == pdf
