"""The chairman leaves office and his certificate is revoked. What he signed
in office, with a time-stamp proving when, stays valid; a signature whose key
was compromised, or that no time-stamp dates, does not."""
from __future__ import annotations

import io
import time

import pytest
from cryptography import x509

from signing import Pkcs12Key, ReasonCode, verify_pdf
from signing.devservices import DevServices
from signing.pki import init_pki


@pytest.fixture(scope="module")
def commune(tmp_path_factory):
    """A PKI of its own: these tests revoke certificates others rely on."""
    pki = init_pki(tmp_path_factory.mktemp("commune-pki"))
    with DevServices(pki) as services:
        yield pki, services


def signed_then_revoked(commune, sign, decision_pdf, who: str, level: str, reason: x509.ReasonFlags) -> bytes:
    pki, services = commune
    key = Pkcs12Key(pki.p12_path(who), pki.passphrase)
    signed = sign(decision_pdf, key, level=level, trust=pki.trust_config())
    assert verify_pdf(io.BytesIO(signed), pki.trust_config()).verdict == "valid"
    time.sleep(1.1)  # revocation times have whole seconds: be clearly later
    services.revoke(who, reason)
    return signed


def test_what_an_official_signed_in_office_stays_valid_after_revocation(commune, sign, decision_pdf):
    signed = signed_then_revoked(commune, sign, decision_pdf, "official", "B-T", x509.ReasonFlags.superseded)

    report = verify_pdf(io.BytesIO(signed), commune[0].trust_config())

    signature = report.signatures[0]
    assert signature.revocation.status == "revoked"
    assert report.verdict == "valid", report.to_json()
    [note] = [r for r in signature.reasons if r.code == ReasonCode.REVOKED_AFTER_SIGNING]
    assert note.params["revocation_reason"] == "superseded" and note.params["date"] > note.params["timestamp"]
    assert "after the time-stamp proves" in note.message


def test_a_compromised_key_invalidates_even_time_stamped_signatures(commune, sign, decision_pdf):
    signed = signed_then_revoked(commune, sign, decision_pdf, "agency", "B-T", x509.ReasonFlags.key_compromise)

    report = verify_pdf(io.BytesIO(signed), commune[0].trust_config())

    assert report.signatures[0].revocation.status == "revoked"
    assert report.verdict == "invalid"
