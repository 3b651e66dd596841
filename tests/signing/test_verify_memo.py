"""signing._verify_memo does pyHanko's repeated work once per verification:
the same reports with and without it, for documents that pass and fail."""
from __future__ import annotations

import io

import pytest
from pyhanko.sign import general
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature

from signing import _verify_memo, verify_pdf
from tests.signing.helpers import append_page, flip_byte_in_signed_range


def both_ways(signed: bytes, trust) -> tuple[dict, dict]:
    with_memo = verify_pdf(io.BytesIO(signed), trust).to_json()
    _verify_memo.uninstall()
    try:
        without = verify_pdf(io.BytesIO(signed), trust).to_json()
    finally:
        _verify_memo.install()
    return with_memo, without


@pytest.mark.parametrize(("forge", "verdict"), [
    (None, "valid"),
    (append_page, "invalid"),  # a page added after signing: the difference analysis
    (flip_byte_in_signed_range, "invalid"),  # the signed bytes changed
])
def test_b_lta_reports_are_the_same_with_and_without_the_memos(sign, decision_pdf, agency, pki, forge, verdict):
    signed = sign(decision_pdf, agency, level="B-LTA")
    document = forge(signed) if forge else signed
    for trust in (pki.trust_config(allow_fetching=False), pki.trust_config()):
        with_memo, without = both_ways(document, trust)
        assert with_memo == without
        assert with_memo["verdict"] == verdict


def test_b_t_reports_are_the_same_with_and_without_the_memos(sign, decision_pdf, official, pki):
    signed = sign(decision_pdf, official, level="B-T")
    with_memo, without = both_ways(signed, pki.trust_config(allow_fetching=False))
    assert with_memo == without and with_memo["verdict"] == "indeterminate"


def test_the_memos_live_only_during_one_verification(sign, decision_pdf, agency, trust):
    signed = sign(decision_pdf, agency, level="B-LTA")
    assert verify_pdf(io.BytesIO(signed), trust).verdict == "valid"
    assert _verify_memo._memo.get() is None  # nothing kept for the next document
    assert EmbeddedPdfSignature.compute_integrity_info is _verify_memo.compute_integrity_info
    assert general.match_issuer_serial is _verify_memo.match_issuer_serial
