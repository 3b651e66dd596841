"""Whatever a citizen uploads, the verifier answers with a verdict and a
reason, never a crash; signing refuses what it cannot sign, with a code."""
from __future__ import annotations

import dataclasses
import io

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import copy_into_new_writer

from signing import ReasonCode, verify_pdf
from signing.errors import EncryptedPdf, FieldAlreadySigned, NotAPdf, TimestampUnavailable


def encrypted(pdf: bytes) -> bytes:
    writer = copy_into_new_writer(PdfFileReader(io.BytesIO(pdf)))
    writer.security_handler = None
    writer.encrypt("owner-secret", "user-secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def signed(decision_pdf, official, trust) -> bytes:
    from signing import sign_pdf

    out = io.BytesIO()
    sign_pdf(io.BytesIO(decision_pdf), out, official, level="B-T", trust=trust)
    return out.getvalue()


def damaged_inputs(signed: bytes) -> dict[str, bytes]:
    return {
        "empty file": b"",
        "a photo, not a PDF": b"\x89PNG\r\n\x1a\n" + bytes(200),
        "header only": b"%PDF-1.7\n",
        "header and garbage": b"%PDF-1.4\n" + bytes(range(256)) * 20,
        "truncated in the middle": signed[: len(signed) // 2],
        "trailer cut off": signed[:-200],
        "signature contents zeroed": _zero_contents(signed),
        "xref offsets scrambled": signed.replace(b"startxref", b"startxref\n999999999\n%", 1),
    }


def _zero_contents(signed: bytes) -> bytes:
    start = signed.index(b"/Contents <") + len(b"/Contents <")
    end = signed.index(b">", start)
    return signed[:start] + b"0" * (end - start) + signed[end:]


CASES = ["empty file", "a photo, not a PDF", "header only", "header and garbage", "truncated in the middle",
         "trailer cut off", "signature contents zeroed", "xref offsets scrambled"]


@pytest.mark.parametrize("case", CASES)
def test_a_damaged_upload_gets_a_verdict_and_a_reason(case, signed, trust):
    inputs = damaged_inputs(signed)
    assert set(inputs) == set(CASES)
    data = inputs[case]

    report = verify_pdf(io.BytesIO(data), trust)

    assert report.verdict in ("invalid", "indeterminate")
    reasons = report.reasons + [r for s in report.signatures for r in s.reasons]
    assert reasons and all(r.code in set(ReasonCode) and r.message for r in reasons), report.to_json()


def test_an_unsigned_document_is_not_valid(decision_pdf, trust):
    report = verify_pdf(io.BytesIO(decision_pdf), trust)

    assert report.verdict == "invalid"
    assert [(r.code, r.message) for r in report.reasons] == [
        (ReasonCode.NO_SIGNATURE, "The document carries no digital signature.")]


def test_signing_something_that_is_not_a_pdf_is_refused(official, sign):
    with pytest.raises(NotAPdf) as caught:
        sign(b"Just some text, not a PDF", official)
    assert caught.value.code == "not_a_pdf"
    with pytest.raises(NotAPdf):
        sign(b"%PDF-1.4\n" + bytes(300), official)


def test_signing_a_password_protected_pdf_is_refused(decision_pdf, official, sign, trust):
    protected = encrypted(decision_pdf)

    with pytest.raises(EncryptedPdf) as caught:
        sign(protected, official)
    assert caught.value.code == "encrypted_pdf"
    assert verify_pdf(io.BytesIO(protected), trust).verdict == "indeterminate"


def test_a_signed_field_cannot_be_signed_again(signed, official, sign):
    with pytest.raises(FieldAlreadySigned):
        sign(signed, official, field_name="signature-1")


def test_b_t_without_a_time_stamping_authority_is_refused(decision_pdf, official, sign):
    with pytest.raises(TimestampUnavailable) as caught:
        sign(decision_pdf, official, level="B-T", trust=None)
    assert caught.value.code == "timestamp_unavailable"


def test_an_unreachable_time_stamping_authority_is_a_clear_error(decision_pdf, official, sign, trust, stranger_pki):
    # The stranger PKI's TSA is not running: nothing answers on its port.
    with pytest.raises(TimestampUnavailable):
        sign(decision_pdf, official, level="B-T", trust=dataclasses.replace(trust, tsa_url=stranger_pki.tsa_url))


def test_signing_and_verifying_work_inside_a_running_event_loop(official, trust, decision_pdf):
    """Callers with their own event loop (an async server, Playwright's sync
    API in the same process) can still use the synchronous API."""
    import asyncio
    import io

    from signing import sign_pdf, verify_pdf

    async def inside_a_loop():
        signed = io.BytesIO()
        sign_pdf(io.BytesIO(decision_pdf), signed, official, level="B-T", trust=trust)
        return verify_pdf(io.BytesIO(signed.getvalue()), trust).verdict

    # A thread of its own, so that the loop below is the only one running there.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(asyncio.run, inside_a_loop()).result() == "valid"
