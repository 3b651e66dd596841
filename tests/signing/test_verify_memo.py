"""signing._verify_memo does pyHanko's repeated work once per verification
(and signing._parse_fast some of it faster): the same reports with and
without them, for documents that pass and fail."""
from __future__ import annotations

import io
import time

import pytest
from asn1crypto import ocsp, x509
from cryptography import x509 as pyca_x509
from cryptography.exceptions import InvalidSignature
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import general
from pyhanko.sign.signers import PdfTimeStamper
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko_certvalidator.sig_validate import DefaultSignatureValidator

import signing.verify
from signing import Pkcs12Key, _parse_fast, _verify_memo, verify_pdf
from signing.devservices import DevServices, in_process_timestamper
from signing.pki import init_pki
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
    assert x509.Certificate.load.__func__ is _verify_memo.load and _verify_memo.trust_once()


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


@pytest.fixture(scope="module")
def commune(tmp_path_factory):
    """A PKI of its own: a test here revokes certificates others rely on."""
    pki = init_pki(tmp_path_factory.mktemp("memo-pki"))
    with DevServices(pki) as services:
        yield pki, services


def first_passes(monkeypatch) -> list[str]:
    """The fields the first pass (present-time validation) ran for."""
    seen: list[str] = []
    original = signing.verify.async_validate_pdf_signature

    async def counted(sig, **kwargs):
        seen.append(sig.field_name)
        return await original(sig, **kwargs)
    monkeypatch.setattr(signing.verify, "async_validate_pdf_signature", counted)
    return seen


def test_a_concluding_long_term_validation_spares_the_first_pass(sign, decision_pdf, agency, pki, monkeypatch):
    signed = sign(decision_pdf, agency, level="B-LTA")
    seen = first_passes(monkeypatch)
    for trust in (pki.trust_config(allow_fetching=False), pki.trust_config()):
        with_memo, without = both_ways(signed, trust)
        assert with_memo == without and with_memo["verdict"] == "valid"
        assert with_memo["signatures"][0]["revocation"]["source"] == signing.verify.LONG_TERM_SOURCE
    assert len(seen) == 2  # the two verifications without the fast paths only


def test_an_untrusted_root_takes_the_first_pass_and_reports_the_same(sign, decision_pdf, agency, stranger_pki,
                                                                      monkeypatch):
    """Long-term validation does not conclude: nothing chains to the roots."""
    signed = sign(decision_pdf, agency, level="B-LTA")
    seen = first_passes(monkeypatch)
    with_memo, without = both_ways(signed, stranger_pki.trust_config(allow_fetching=False))
    assert with_memo == without and with_memo["verdict"] == "indeterminate"
    assert "untrusted_root" in [r["code"] for r in with_memo["signatures"][0]["reasons"]]
    assert len(seen) == 2  # with the fast paths as well


def test_an_archive_time_stamp_from_an_untrusted_tsa_reports_the_same(sign, decision_pdf, agency, pki, stranger_pki):
    """B-LT data embedded, then a document time-stamp whose TSA chains to no
    trusted root: the evidence record fails, the present time decides."""
    document = _doc_timestamped(sign(decision_pdf, agency, level="B-LT"), stranger_pki)
    for trust in (pki.trust_config(allow_fetching=False), pki.trust_config()):
        with_memo, without = both_ways(document, trust)
        assert with_memo == without
        assert with_memo["signatures"][0]["level"] == "B-LTA"


def test_a_missing_revocation_entry_reports_the_same(sign, decision_pdf, agency, pki):
    """B-LTA with the signer's OCSP response in the DSS but not the TSA's
    revocation data: long-term validation cannot conclude offline."""
    document = _signer_revinfo_only(sign(decision_pdf, agency, level="B-T"), sign(decision_pdf, agency, level="B-LT"))
    document = _doc_timestamped(document, pki)
    for trust in (pki.trust_config(allow_fetching=False), pki.trust_config()):
        with_memo, without = both_ways(document, trust)
        assert with_memo == without
        assert with_memo["signatures"][0]["level"] == "B-LTA"
    offline, _ = both_ways(document, pki.trust_config(allow_fetching=False))
    assert offline["signatures"][0]["revocation"]["source"] != signing.verify.LONG_TERM_SOURCE


def _signer_revinfo_only(b_t: bytes, b_lt: bytes) -> bytes:
    """b_t with a DSS holding only the OCSP responses about its signer (taken
    from b_lt, signed by the same certificate) and the issuing CA."""
    reader = PdfFileReader(io.BytesIO(b_lt))
    signer = reader.embedded_signatures[0].signer_cert
    dss = DocumentSecurityStore.read_dss(reader)
    responses = [ocsp.OCSPResponse.load(ref.get_object().data) for ref in dss.ocsps]
    mine = [r for r in responses if signing.verify._ocsp_serials([r]) == {signer.serial_number}]
    assert mine, "the B-LT document has an OCSP response about its signer"
    issuers = [c for c in dss.load_certs() if c.subject == signer.issuer]
    out = io.BytesIO(b_t)
    DocumentSecurityStore.add_dss(out, None, certs=issuers, ocsps=mine, embed_roots=False)
    return out.getvalue()


def _doc_timestamped(document: bytes, tsa_pki) -> bytes:
    out = io.BytesIO()
    PdfTimeStamper(in_process_timestamper(tsa_pki)).timestamp_pdf(
        IncrementalPdfFileWriter(io.BytesIO(document)), "sha256", output=out)
    return out.getvalue()


@pytest.mark.parametrize("why", [pyca_x509.ReasonFlags.superseded, pyca_x509.ReasonFlags.key_compromise])
def test_a_signer_revoked_after_the_time_stamp_reports_the_same(commune, sign, decision_pdf, why):
    pki, services = commune
    who = "official" if why == pyca_x509.ReasonFlags.superseded else "agency"
    signed = sign(decision_pdf, Pkcs12Key(pki.p12_path(who), pki.passphrase), level="B-LTA", trust=pki.trust_config())
    time.sleep(1.1)  # revocation times have whole seconds: be clearly later
    services.revoke(who, why)
    for trust in (pki.trust_config(allow_fetching=False), pki.trust_config()):
        with_memo, without = both_ways(signed, trust)
        assert with_memo == without and with_memo["signatures"][0]["level"] == "B-LTA"
    if why == pyca_x509.ReasonFlags.superseded:  # left office after signing: what was signed stays valid
        assert with_memo["verdict"] == "valid"


def test_one_parsed_value_per_der_within_a_verification_only(pki):
    der = pki.certificate("agency").dump()
    response = ocsp.OCSPResponse({"response_status": "unauthorized"}).dump()
    assert x509.Certificate.load(der) is not x509.Certificate.load(der)  # outside: the originals
    with _verify_memo.verification():
        cert = x509.Certificate.load(der)
        assert x509.Certificate.load(der) is cert and cert.untag() is cert.untag()
        assert cert.untag() is not cert and cert.untag().dump() == der
        assert ocsp.OCSPResponse.load(response) is ocsp.OCSPResponse.load(response)
        cert["tbs_certificate"] = cert["tbs_certificate"]  # changed in place: not handed out again
        assert x509.Certificate.load(der) is not cert
    with _verify_memo.verification():  # a new verification parses anew
        assert x509.Certificate.load(der) is not cert
