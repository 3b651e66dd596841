"""An official signs a decision; a citizen's verifier — docsvc's own and
poppler's pdfsig — sees it valid, at every PAdES baseline level."""
from __future__ import annotations

import dataclasses
import io
import re

import pytest

from signing import verify_pdf
from signing.devservices import in_process_timestamper
from tests.signing.helpers import pdfsig, pdfsig_blocks


@pytest.mark.parametrize("level", ["B-B", "B-T", "B-LT", "B-LTA"])
def test_official_signs_a_decision_and_the_citizen_sees_it_valid(level, decision_pdf, official, sign, trust, tmp_path,
                                                                 nssdb):
    signed = sign(decision_pdf, official, level=level, reason="Ký ban hành", location="xã Mẫu")

    report = verify_pdf(io.BytesIO(signed), trust)

    assert report.verdict == "valid", report.to_json()
    [signature] = report.signatures
    assert signature.signer == "Nguyễn Văn An"
    assert signature.level == level
    assert signature.intact and signature.trusted
    assert signature.revocation.status == "good"
    assert signature.modifications == "none"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00", signature.signing_time)
    if level == "B-B":
        assert signature.timestamp is None
        assert signature.coverage == "entire_file"
    else:
        assert signature.timestamp is not None  # proven time from the TSA
    if level in ("B-LT", "B-LTA"):
        # Validation data travels with the document: no CA needed later.
        assert "embedded" in signature.revocation.source

    path = tmp_path / f"signed-{level}.pdf"
    path.write_bytes(signed)
    block = pdfsig_blocks(pdfsig(path, nssdb))["signature-1"]
    assert "Signature Validation: Signature is Valid." in block
    assert "Certificate Validation: Certificate is Trusted." in block
    assert "Signer Certificate Common Name: Nguyễn Văn An" in block
    assert "ETSI.CAdES.detached" in block


def test_b_lta_document_timestamp_is_visible_to_pdfsig(decision_pdf, official, sign, tmp_path, nssdb):
    path = tmp_path / "lta.pdf"
    path.write_bytes(sign(decision_pdf, official, level="B-LTA"))

    blocks = pdfsig_blocks(pdfsig(path, nssdb))

    assert set(blocks) == {"signature-1", "timestamp-1"}
    assert "docsvc Dev TSA" in blocks["timestamp-1"]


def test_report_serialises_with_exactly_the_documented_keys(decision_pdf, official, sign, trust):
    report = verify_pdf(io.BytesIO(sign(decision_pdf, official, level="B-T")), trust).to_json()

    assert set(report) == {"verdict", "signatures", "reasons"}
    assert set(report["signatures"][0]) == {
        "signer", "signing_time", "timestamp", "level", "intact", "trusted", "revocation",
        "modifications", "coverage", "verdict", "reasons",
    }
    assert set(report["signatures"][0]["revocation"]) == {"status", "source"}


def test_verifying_a_b_b_document_fetches_revocation_online(decision_pdf, official, sign, trust):
    report = verify_pdf(io.BytesIO(sign(decision_pdf, official, level="B-B")), trust)

    assert report.signatures[0].revocation.status == "good"
    assert "online" in report.signatures[0].revocation.source


def test_b_lt_document_verifies_offline_from_what_it_embeds(decision_pdf, official, sign, pki):
    signed = sign(decision_pdf, official, level="B-LT")

    report = verify_pdf(io.BytesIO(signed), pki.trust_config(allow_fetching=False))

    assert report.verdict == "valid", report.to_json()


def test_a_batch_of_decisions_is_signed_with_the_key_opened_once(long_report_pdf, official, sign, trust):
    signed = [sign(long_report_pdf, official, level="B-T") for _ in range(5)]

    assert all(verify_pdf(io.BytesIO(doc), trust).verdict == "valid" for doc in signed)


def test_the_time_stamping_authority_can_run_in_process(decision_pdf, official, sign, pki, trust):
    offline = dataclasses.replace(trust, tsa_url=None, timestamper=in_process_timestamper(pki))
    signed = sign(decision_pdf, official, level="B-T", trust=offline)

    report = verify_pdf(io.BytesIO(signed), trust)
    assert report.verdict == "valid" and report.signatures[0].timestamp is not None
