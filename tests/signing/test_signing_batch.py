"""A batch signs many documents with one key and shares what they have in
common (signing.batch): the signatures are as valid as one by one, and what
is shared is never trusted longer than it may be: not past max_age, not
past an OCSP response's nextUpdate, never for another signer."""
from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import ocsp as asn1_ocsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from signing import (
    Box,
    PersonSignature,
    Pkcs12Key,
    SignedPdf,
    SigningBatch,
    SignJob,
    sign_pdf,
    sign_pdfs,
    verify_pdf,
)
from signing.batch import valid_until
from signing.devservices import DevServices
from signing.errors import CertificateRevoked
from signing.pki import init_pki


@pytest.mark.parametrize("level", ["B-T", "B-LTA"])
def test_a_batch_of_documents_signed_together_all_verify(level, decision_pdf, long_report_pdf, official, trust,
                                                         signature_image):
    jobs = [SignJob(decision_pdf), SignJob(long_report_pdf, field_name="nguoi_ky"),
            SignJob(decision_pdf, appearance=PersonSignature(signature_image, Box(page=0, x=340, y=110,
                                                                                  width=170, height=68))),
            SignJob(long_report_pdf, reason="Phê duyệt")]

    results = sign_pdfs(jobs, official, level=level, trust=trust, concurrency=3)

    assert all(isinstance(r, SignedPdf) for r in results), results
    assert results[1].document.field_name == "nguoi_ky"
    for result in results:
        report = verify_pdf(io.BytesIO(result.data), trust)
        assert report.verdict == "valid", report.to_json()
        [signature] = report.signatures
        assert signature.level == level and signature.signer == "Nguyễn Văn An"
        assert signature.revocation.status == "good"


def test_one_bad_document_does_not_stop_the_batch(decision_pdf, official, trust):
    results = sign_pdfs([SignJob(decision_pdf), SignJob(b"not a pdf"), SignJob(decision_pdf)], official,
                        level="B-T", trust=trust)

    assert [type(r).__name__ for r in results] == ["SignedPdf", "NotAPdf", "SignedPdf"]


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def commune(tmp_path):
    """A PKI of its own for each test: these tests revoke its certificates."""
    pki = init_pki(tmp_path / "pki")
    with DevServices(pki) as services:
        yield pki, services


def sign_with(batch: SigningBatch, key, pdf: bytes, level: str = "B-T") -> bytes:
    out = io.BytesIO()
    sign_pdf(io.BytesIO(pdf), out, key, level=level, trust=batch.trust, batch=batch)
    return out.getvalue()


def test_a_certificate_revoked_during_a_batch_stops_signing_once_the_kept_check_is_too_old(commune, decision_pdf):
    pki, services = commune
    clock = Clock()
    batch = SigningBatch(pki.trust_config(), max_age=timedelta(minutes=5), clock=clock)
    key = Pkcs12Key(pki.p12_path("official"), pki.passphrase)
    sign_with(batch, key, decision_pdf)

    services.revoke("official")
    clock.now += timedelta(minutes=5, seconds=1)

    with pytest.raises(CertificateRevoked):
        sign_with(batch, key, decision_pdf)


def test_a_kept_check_is_not_used_past_the_nextupdate_of_its_ocsp_response(commune, decision_pdf):
    pki, services = commune
    clock = Clock()
    # max_age far away: only the revocation data's own validity (7 days at the dev CA) ends the kept check.
    batch = SigningBatch(pki.trust_config(), max_age=timedelta(days=365), clock=clock)
    key = Pkcs12Key(pki.p12_path("official"), pki.passphrase)
    sign_with(batch, key, decision_pdf, level="B-LTA")

    services.revoke("official")
    clock.now += timedelta(days=8)

    with pytest.raises(CertificateRevoked):
        sign_with(batch, key, decision_pdf, level="B-LTA")


def test_what_was_kept_for_one_signer_is_never_used_for_another(commune, decision_pdf):
    pki, _ = commune
    batch = SigningBatch(pki.trust_config())
    sign_with(batch, Pkcs12Key(pki.p12_path("official"), pki.passphrase), decision_pdf)

    revoked = Pkcs12Key(pki.p12_path("official-revoked"), pki.passphrase)
    for _ in range(2):  # and a failed check is not kept either
        with pytest.raises(CertificateRevoked):
            sign_with(batch, revoked, decision_pdf)


def ocsp_response(pki, *, next_update: datetime | None) -> asn1_ocsp.OCSPResponse:
    responder, issuing = pki.identity("ocsp"), pki.identity("issuing-ca")
    subject = x509.load_pem_x509_certificate(pki.cert_path("official").read_bytes())
    now = datetime.now(UTC)
    builder = ocsp.OCSPResponseBuilder().add_response(
        cert=subject, issuer=issuing.certificate, algorithm=hashes.SHA1(), cert_status=ocsp.OCSPCertStatus.GOOD,
        this_update=now, next_update=next_update, revocation_time=None, revocation_reason=None,
    ).responder_id(ocsp.OCSPResponderEncoding.HASH, responder.certificate)
    der = builder.sign(responder.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    return asn1_ocsp.OCSPResponse.load(der)


def test_an_ocsp_response_without_nextupdate_is_never_reused(pki):
    now = datetime.now(UTC)
    assert valid_until([], [ocsp_response(pki, next_update=None)], [], now, timedelta(minutes=5)) is None

    soon = (now + timedelta(minutes=2)).replace(microsecond=0)
    assert valid_until([], [ocsp_response(pki, next_update=soon)], [], now, timedelta(minutes=5)) == soon
    later = now + timedelta(days=1)
    assert valid_until([], [ocsp_response(pki, next_update=later)], [], now, timedelta(minutes=5)) == \
        now + timedelta(minutes=5)
