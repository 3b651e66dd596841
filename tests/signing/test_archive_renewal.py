"""The archive keeps the chairman's B-LTA decision provable for decades: before
the TSA certificate behind its document time-stamp expires, a new one is
added on top (with the old one's validation data)."""
from __future__ import annotations

import dataclasses
import io
from datetime import UTC, datetime, timedelta

import pytest

from signing import ReasonCode, sign_pdf, verify_pdf
from signing.archive import (
    ArchiveStatus,
    ArchiveTimestampInvalid,
    NotArchival,
    archive_status,
    needs_renewal,
    renew_archive_timestamp,
)
from signing.errors import NotAPdf
from tests.signing.helpers import pdfsig, pdfsig_blocks


@pytest.fixture(scope="module")
def lta_decision(decision_pdf, official, trust) -> bytes:
    out = io.BytesIO()
    sign_pdf(io.BytesIO(decision_pdf), out, official, level="B-LTA", trust=trust)
    return out.getvalue()


def test_a_b_lta_document_reports_its_archive_timestamp(lta_decision, trust, pki):
    status = archive_status(lta_decision, trust)

    assert status.is_lta and status.timestamp_trusted
    assert (status.signatures, status.timestamps, status.timestamp_field) == (1, 1, "timestamp-1")
    assert status.tsa == "docsvc Dev TSA"
    tsa_not_after = pki.certificate("tsa")["tbs_certificate"]["validity"]["not_after"].native
    assert status.tsa_expires_at == tsa_not_after
    assert status.timestamp_time.utcoffset() == timedelta(hours=7)
    assert status.to_json()["tsa_expires_at"].endswith("+07:00")


def test_renewal_adds_a_later_timestamp_and_keeps_the_signature_valid(lta_decision, trust, pki, tmp_path, nssdb):
    src, dst = tmp_path / "stored.pdf", tmp_path / "renewed.pdf"
    src.write_bytes(lta_decision)
    before = archive_status(src, trust)

    after = renew_archive_timestamp(src, dst, trust)

    renewed = dst.read_bytes()
    assert renewed.startswith(lta_decision) and len(renewed) > len(lta_decision)  # incremental update
    assert src.read_bytes() == lta_decision
    assert after == archive_status(renewed, trust)
    assert after.timestamps == before.timestamps + 1
    assert after.timestamp_field == "timestamp-2"
    assert after.timestamp_time > before.timestamp_time
    assert after.timestamp_trusted

    report = verify_pdf(io.BytesIO(renewed), trust)
    assert report.verdict == "valid", report.to_json()
    [signature] = report.signatures
    assert signature.signer == "Nguyễn Văn An" and signature.level == "B-LTA"
    assert signature.modifications == "none"
    assert report.reasons == []  # both document time-stamps check out
    offline = verify_pdf(io.BytesIO(renewed), pki.trust_config(allow_fetching=False))
    assert offline.verdict == "valid", offline.to_json()

    blocks = pdfsig_blocks(pdfsig(dst, nssdb))
    assert set(blocks) == {"signature-1", "timestamp-1", "timestamp-2"}
    assert "Signature Validation: Signature is Valid." in blocks["signature-1"]
    assert "Certificate Validation: Certificate is Trusted." in blocks["signature-1"]
    # pdfsig lists document time-stamps but does not verify them ("not yet
    # been verified"); docsvc's verify_pdf above does.
    for name in ("timestamp-1", "timestamp-2"):
        assert "docsvc Dev TSA" in blocks[name]


def test_renewal_can_be_repeated(lta_decision, trust):
    once, twice = io.BytesIO(), io.BytesIO()
    renew_archive_timestamp(lta_decision, once, trust)
    status = renew_archive_timestamp(once.getvalue(), twice, trust)

    assert twice.getvalue().startswith(once.getvalue())
    assert (status.timestamps, status.timestamp_field) == (3, "timestamp-3")
    assert verify_pdf(io.BytesIO(twice.getvalue()), trust).verdict == "valid"


def test_renewal_is_due_when_the_tsa_certificate_expires_within_the_margin(lta_decision, trust):
    status = archive_status(lta_decision, trust)
    expires = status.tsa_expires_at

    assert not needs_renewal(status)  # the dev TSA certificate runs for years
    assert not needs_renewal(status, now=expires - timedelta(days=31), margin=timedelta(days=30))
    assert needs_renewal(status, now=expires - timedelta(days=29), margin=timedelta(days=30))
    assert needs_renewal(status, now=expires + timedelta(days=1))
    soon = dataclasses.replace(status, tsa_expires_at=datetime.now(UTC) + timedelta(days=10))
    assert needs_renewal(soon, margin=timedelta(days=90))


def test_a_document_without_archive_timestamp_is_not_renewed(decision_pdf, official, sign, trust, tmp_path):
    b_lt = sign(decision_pdf, official, level="B-LT")
    status = archive_status(b_lt, trust)

    assert status == ArchiveStatus(is_lta=False, signatures=1, timestamps=0, timestamp_field=None,
                                   timestamp_time=None, tsa=None, tsa_expires_at=None, timestamp_trusted=False)
    assert not needs_renewal(status)
    dst = tmp_path / "renewed.pdf"
    with pytest.raises(NotArchival) as caught:
        renew_archive_timestamp(b_lt, dst, trust)
    assert caught.value.code == "not_b_lta"
    assert not dst.exists()

    assert not archive_status(decision_pdf, trust).is_lta  # unsigned


def test_a_file_that_is_not_a_pdf_is_a_user_error(trust):
    with pytest.raises(NotAPdf):
        archive_status(b"not a pdf at all", trust)


def test_a_timestamp_that_does_not_validate_is_not_extended(lta_decision, stranger_pki, tmp_path):
    # Checked against another CA's roots, the dev TSA's time-stamp is untrusted.
    stranger_trust = stranger_pki.trust_config()
    assert not archive_status(lta_decision, stranger_trust).timestamp_trusted

    dst = tmp_path / "renewed.pdf"
    with pytest.raises(ArchiveTimestampInvalid) as caught:
        renew_archive_timestamp(lta_decision, dst, stranger_trust)
    assert caught.value.code == "archive_timestamp_invalid"
    assert not dst.exists()


def test_a_damaged_archive_timestamp_makes_the_document_invalid_though_its_signature_holds(lta_decision, trust):
    # The last /Contents is the document time-stamp's token; the signature's
    # bytes (before it) are untouched.
    start = lta_decision.rindex(b"/Contents <") + len(b"/Contents <")
    damaged = bytearray(lta_decision)
    middle = start + 400
    damaged[middle] = ord("0") if damaged[middle] != ord("0") else ord("1")

    report = verify_pdf(io.BytesIO(bytes(damaged)), trust)

    [signature] = report.signatures
    assert signature.intact
    assert report.verdict == "invalid", report.to_json()
    [why] = report.reasons
    assert why.code in (ReasonCode.DOC_TIMESTAMP_CANNOT_CHECK, ReasonCode.DOC_TIMESTAMP_NOT_MATCHING)
    assert why.invalidates and why.params["field"] == "timestamp-1"
    assert set(why.to_json()) == {"code", "params", "message"}
