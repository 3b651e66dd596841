"""Certificates that must not produce a valid document: revoked, expired,
from a CA nobody trusts, or whose status nobody can confirm."""
from __future__ import annotations

import io

import pytest
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter

from signing import Pkcs12Key, ReasonCode, TrustConfig, verify_pdf
from signing.errors import CertificateExpired, CertificateRevoked
from signing.outbound import FetchPolicy
from tests.signing.helpers import codes, pdfsig, pdfsig_blocks


def signed_without_checks(pdf: bytes, p12, passphrase: str) -> bytes:
    """A signature made by a tool that checks nothing (not docsvc), e.g. to
    backdate a document with an expired key."""
    signer = signers.SimpleSigner.load_pkcs12(str(p12), passphrase=passphrase.encode())
    out = io.BytesIO()
    meta = signers.PdfSignatureMetadata(field_name="Signature1", subfilter=SigSeedSubFilter.PADES)
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), meta, signer=signer, output=out)
    return out.getvalue()


@pytest.fixture(scope="module")
def revoked_key(pki):
    return Pkcs12Key(pki.p12_path("official-revoked"), pki.passphrase)


def test_docsvc_refuses_to_sign_with_a_revoked_certificate(decision_pdf, revoked_key, sign):
    with pytest.raises(CertificateRevoked) as caught:
        sign(decision_pdf, revoked_key, level="B-T")
    assert caught.value.code == "certificate_revoked"


def test_a_document_signed_with_a_revoked_certificate_is_invalid(decision_pdf, revoked_key, sign, trust, tmp_path,
                                                                  nssdb):
    # An offline signer (no TrustConfig) cannot know; the verifier does.
    signed = sign(decision_pdf, revoked_key, level="B-B", trust=None)

    report = verify_pdf(io.BytesIO(signed), trust)

    signature = report.signatures[0]
    assert signature.signer == "Trần Thị Bình"
    assert signature.intact
    assert signature.revocation.status == "revoked"
    assert report.verdict == "invalid"
    path = tmp_path / "revoked.pdf"
    path.write_bytes(signed)
    assert "Certificate has been Revoked." in pdfsig_blocks(pdfsig(path, nssdb))["signature-1"]


def test_docsvc_refuses_to_sign_with_an_expired_certificate(decision_pdf, pki, sign):
    expired = Pkcs12Key(pki.p12_path("official-expired"), pki.passphrase)

    with pytest.raises(CertificateExpired) as caught:
        sign(decision_pdf, expired, level="B-B", trust=None)
    assert caught.value.code == "certificate_expired"


def test_a_document_signed_after_the_certificate_expired_is_invalid(decision_pdf, pki, trust):
    signed = signed_without_checks(decision_pdf, pki.p12_path("official-expired"), pki.passphrase)

    report = verify_pdf(io.BytesIO(signed), trust)

    assert report.verdict == "invalid"
    assert report.signatures[0].trusted is False
    [expired] = [r for r in report.signatures[0].reasons if r.code == ReasonCode.CERTIFICATE_EXPIRED]
    assert expired.params["date"] and "expired" in expired.message


def test_a_signature_from_an_unknown_ca_is_indeterminate(decision_pdf, stranger_pki, sign, trust):
    stranger = Pkcs12Key(stranger_pki.p12_path("official"), stranger_pki.passphrase)
    signed = sign(decision_pdf, stranger, level="B-B", trust=None)

    report = verify_pdf(io.BytesIO(signed), trust)

    assert report.signatures[0].intact
    assert report.signatures[0].trusted is False
    assert report.verdict == "indeterminate"
    assert ReasonCode.UNTRUSTED_ROOT in codes(report.signatures[0].reasons)


def test_our_document_checked_against_someone_elses_roots_is_indeterminate(decision_pdf, official, sign,
                                                                           stranger_pki):
    signed = sign(decision_pdf, official, level="B-LT")

    report = verify_pdf(io.BytesIO(signed), stranger_pki.trust_config())

    assert report.verdict == "indeterminate"


def test_when_the_ca_cannot_be_reached_the_verdict_is_indeterminate(decision_pdf, stranger_pki, sign):
    # The stranger CA's OCSP/CRL server is not running.
    stranger = Pkcs12Key(stranger_pki.p12_path("official"), stranger_pki.passphrase)
    signed = sign(decision_pdf, stranger, level="B-B", trust=None)

    report = verify_pdf(io.BytesIO(signed), stranger_pki.trust_config())

    signature = report.signatures[0]
    assert signature.intact
    assert signature.revocation.status == "unknown"
    assert report.verdict == "indeterminate"
    assert ReasonCode.REVOCATION_UNKNOWN_UNREACHABLE in codes(signature.reasons)


def test_offline_verification_of_a_b_t_document_cannot_confirm_revocation(decision_pdf, official, sign, pki):
    signed = sign(decision_pdf, official, level="B-T")

    report = verify_pdf(io.BytesIO(signed), pki.trust_config(allow_fetching=False))

    assert report.verdict == "indeterminate"
    assert report.signatures[0].revocation.status == "unknown"


def test_a_trust_config_can_be_loaded_from_pem_files(decision_pdf, official, sign, pki):
    # The development CA answers on 127.0.0.1: its origin must be allowed.
    trust = TrustConfig.from_pem_files([pki.cert_path("root-ca")], tsa_url=pki.tsa_url,
                                       fetch_policy=FetchPolicy(allowed_origins=(pki.base_url,)))

    assert verify_pdf(io.BytesIO(sign(decision_pdf, official, level="B-T", trust=trust)), trust).verdict == "valid"
