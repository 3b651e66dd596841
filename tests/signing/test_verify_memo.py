"""signing._verify_memo does pyHanko's repeated work once per verification
(and signing._parse_fast some of it faster): the same reports with and
without them, for documents that pass and fail."""
from __future__ import annotations

import io

import pytest
from asn1crypto import x509
from cryptography.exceptions import InvalidSignature
from pyhanko.sign import general
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko_certvalidator.sig_validate import DefaultSignatureValidator

from signing import Pkcs12Key, _parse_fast, _verify_memo, verify_pdf
from tests.signing.helpers import (
    add_sticky_note,
    append_page,
    flip_byte_in_signed_range,
    overlay_content,
    replace_first_page,
)
from tests.signing.test_certificate_problems import signed_without_checks


def both_ways(signed: bytes, trust) -> tuple[dict, dict]:
    with_memo = verify_pdf(io.BytesIO(signed), trust).to_json()
    _verify_memo.uninstall()
    _parse_fast.uninstall()
    try:
        without = verify_pdf(io.BytesIO(signed), trust).to_json()
    finally:
        _parse_fast.install()
        _verify_memo.install()
    return with_memo, without


@pytest.mark.parametrize(("forge", "verdict"), [
    (None, "valid"),
    # changes after signing, for the difference analysis to catch
    (append_page, "invalid"),  # a page added
    (replace_first_page, "invalid"),  # the page tree points at another first page
    (overlay_content, "invalid"),  # new text drawn into the page's own content
    (add_sticky_note, "invalid"),  # a comment: not allowed after an issued document's signature
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


def test_revoked_and_expired_signers_fail_the_same_with_and_without_the_memos(sign, decision_pdf, pki):
    revoked = sign(decision_pdf, Pkcs12Key(pki.p12_path("official-revoked"), pki.passphrase), level="B-B", trust=None)
    expired = signed_without_checks(decision_pdf, pki.p12_path("official-expired"), pki.passphrase)
    for document, problem in ((revoked, "certificate_revoked"), (expired, "certificate_expired")):
        with_memo, without = both_ways(document, pki.trust_config())
        assert with_memo == without and with_memo["verdict"] == "invalid"
        assert problem in [r["code"] for r in with_memo["signatures"][0]["reasons"]]


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
