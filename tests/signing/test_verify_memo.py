"""signing._verify_memo does pyHanko's repeated work once per verification:
the same reports with and without it, for documents that pass and fail."""
from __future__ import annotations

import io

import pytest
from asn1crypto import x509
from cryptography.exceptions import InvalidSignature
from pyhanko.sign import general
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko_certvalidator.sig_validate import DefaultSignatureValidator

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
    assert x509.RDNSequence.__eq__ is _verify_memo.name_eq
    assert DefaultSignatureValidator.validate_signature is _verify_memo.validate_signature


def parsed_name(common_name: str) -> x509.Name:
    return x509.Name.load(x509.Name.build({"common_name": common_name, "organization_name": "UBND xã Mẫu"}).dump())


def test_names_compare_as_asn1crypto_compares_them_inside_a_verification():
    an, an_again, binh = parsed_name("Nguyễn Văn An"), parsed_name("NGUYỄN  VĂN AN"), parsed_name("Trần Thị Bình")
    outside = (an == an_again, an == binh, an.hashable, binh.hashable)
    with _verify_memo.verification():
        for _ in range(2):  # the second time from the memo
            assert (an == an_again, an == binh, an.hashable, binh.hashable) == outside
    assert outside[:2] == (True, False)


def test_a_failed_signature_check_is_not_kept(pki):
    cert = pki.certificate("agency")
    tbs, signature = cert["tbs_certificate"].dump(), cert["signature_value"].native
    issuer_key = pki.certificate("issuing-ca")["tbs_certificate"]["subject_public_key_info"]
    validator = DefaultSignatureValidator()
    with _verify_memo.verification():
        for _ in range(2):
            validator.validate_signature(signature, tbs, issuer_key, cert["signature_algorithm"])
            with pytest.raises(InvalidSignature):  # every time, not only the first
                validator.validate_signature(signature, tbs + b"\x00", issuer_key, cert["signature_algorithm"])
