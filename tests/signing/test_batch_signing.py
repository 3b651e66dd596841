"""A văn thư signs a batch with one key: every document comes out valid.

sign_pdf remembers the room to reserve for the signature per key (pyHanko
would otherwise build a whole dummy signature per document to measure it);
these tests are about what a user sees of that: valid signatures, also
when the remembered room has become too small.
"""
from __future__ import annotations

import io

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from signing import verify_pdf
from signing.keys import Pkcs12Key
from signing.sign import _reserved_sizes


def contents_length(signed: bytes) -> int:
    [signature] = PdfFileReader(io.BytesIO(signed)).embedded_signatures
    return len(signature.pkcs7_content)


@pytest.mark.parametrize("level", ["B-B", "B-T", "B-LT"])
def test_a_batch_signed_with_one_key_is_valid_throughout(level, decision_pdf, long_report_pdf, official, sign,
                                                         trust):
    batch = [sign(pdf, official, level=level) for pdf in (decision_pdf, long_report_pdf, decision_pdf)]

    for signed in batch:
        report = verify_pdf(io.BytesIO(signed), trust)
        assert report.verdict == "valid", report.to_json()
        assert report.signatures[0].level == level
    # the same room reserved each time: estimated once for the key
    assert len({contents_length(signed) for signed in batch}) == 1


def test_a_remembered_signature_size_that_became_too_small_still_signs(decision_pdf, pki, sign, trust):
    """E.g. the TSA now sends longer tokens: the document is signed again
    with a fresh estimate instead of failing."""
    # A key of its own: the session's `agency` key remembers the sizes of
    # whichever tests signed with it before in this process (other levels,
    # TSAs), which depends on the order files run in, e.g. under xdist.
    agency = Pkcs12Key(pki.p12_path("agency"), pki.passphrase)
    sign(decision_pdf, agency, level="B-T")
    sizes = _reserved_sizes[agency.signer()]
    assert sizes, "nothing was remembered for the key"
    for size_key in sizes:
        sizes[size_key] = 200  # hex digits: far too small for any CMS

    signed = sign(decision_pdf, agency, level="B-T")

    report = verify_pdf(io.BytesIO(signed), trust)
    assert report.verdict == "valid", report.to_json()
    assert contents_length(signed) > 1000
    [fresh] = _reserved_sizes[agency.signer()].values()  # estimated afresh, remembered again
    assert fresh == 2 * contents_length(signed)  # hex digits in /Contents
