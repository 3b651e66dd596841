"""Anyone may upload a signed PDF for verification, and its certificates may
name any address (AIA caIssuers, OCSP, CRL). The verifier fetches nothing
for a certificate that does not chain to its roots, and for one that does,
only from public addresses (or those the administrator allows), without
following redirects, within one time budget. A listener on 127.0.0.1,
where the certificates point, is the witness."""
from __future__ import annotations

import dataclasses
import io
import ipaddress
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import pytest

from signing import ReasonCode, TrustConfig, VerificationReport, verify_pdf
from signing.devservices import DevServices
from signing.outbound import FetchPolicy, FetchRefused, Outbound, non_public
from signing.pki import DevPki, free_port, init_pki
from tests.listeners import Listener
from tests.signing.helpers import codes, signed_while_online

# Generous: a verifier that waits on a silent server fails the test, but no
# performance is asserted.
CLIENT_TIMEOUT = 60


def trusting(pki: DevPki, **policy) -> TrustConfig:
    """Trust `pki`'s root as an administrator would, with the given fetch policy."""
    return TrustConfig(trust_roots=(pki.certificate("root-ca"),), extra_certs=(pki.certificate("issuing-ca"),),
                       fetch_policy=FetchPolicy(**policy))


def verify_within_timeout(pdf: bytes, trust: TrustConfig) -> VerificationReport:
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(verify_pdf, io.BytesIO(pdf), trust)
        try:
            return future.result(timeout=CLIENT_TIMEOUT)
        except FutureTimeout:
            pytest.fail(f"verification did not return within {CLIENT_TIMEOUT} s")


@pytest.fixture(scope="module")
def stranger(tmp_path_factory, decision_pdf) -> tuple[DevPki, dict[str, bytes]]:
    """A CA nobody here configured, whose certificates (signer, TSA, issuing
    CA) name 127.0.0.1:<its port>, and what it signed: B-T, and B-LTA with a
    DSS and a document time-stamp from its own TSA. Its CAs bear the trusted
    development CAs' very names: only signatures tell them apart."""
    pki = init_pki(tmp_path_factory.mktemp("stranger-ca"), port=free_port())
    return pki, {level: signed_while_online(pki, decision_pdf, level) for level in ("B-T", "B-LTA")}


@pytest.fixture(scope="module")
def inhouse(tmp_path_factory, decision_pdf) -> tuple[DevPki, bytes]:
    """An in-house CA on a private address (127.0.0.1, not the development
    PKI's port) that the administrator trusts, and a B-T document it signed."""
    pki = init_pki(tmp_path_factory.mktemp("inhouse-ca"), port=free_port(), ca_name="CA nội bộ Sở TT&TT")
    return pki, signed_while_online(pki, decision_pdf, "B-T")


# --- a stranger's certificates -----------------------------------------------------------


@pytest.mark.parametrize("level", ["B-T", "B-LTA"])
@pytest.mark.parametrize("policy", ["ours", "private addresses allowed"])
def test_a_strangers_document_makes_the_verifier_fetch_nothing(stranger, trust, level, policy):
    pki, documents = stranger
    if policy != "ours":  # even when the address rule would let it through
        trust = dataclasses.replace(trust, fetch_policy=FetchPolicy(allow_private=True))
    with Listener(port=pki.port) as listener:
        report = verify_within_timeout(documents[level], trust)

    assert listener.connections == 0, listener.requests
    assert report.verdict == "indeterminate"
    [signature] = report.signatures
    assert signature.intact and not signature.trusted
    assert ReasonCode.UNTRUSTED_ROOT in codes(signature.reasons), signature.reasons


def test_a_stranger_url_that_never_answers_does_not_hold_verification(stranger, trust):
    pki, documents = stranger
    permissive = dataclasses.replace(trust, fetch_policy=FetchPolicy(allow_private=True))
    with Listener("silent", port=pki.port) as listener:
        report = verify_within_timeout(documents["B-LTA"], permissive)

    assert listener.connections == 0
    assert report.verdict == "indeterminate"


def test_sealing_a_document_that_carries_a_strangers_signature_fetches_nothing_for_it(stranger, agency, sign):
    # An agency seals (B-LTA) a document that arrived signed by someone else:
    # the validation data of signatures already present is gathered for the
    # DSS, but not from addresses a stranger's certificate names.
    pki, documents = stranger
    with Listener(port=pki.port) as listener:
        sealed = sign(documents["B-T"], agency, level="B-LTA")

    assert listener.connections == 0, listener.requests
    assert sealed.startswith(documents["B-T"])


# --- a trusted CA on a private address -----------------------------------------------------


def test_a_trusted_ca_on_a_private_address_is_not_asked_unless_allowed(inhouse):
    pki, signed = inhouse
    with Listener(port=pki.port) as listener:
        report = verify_within_timeout(signed, trusting(pki))

    assert listener.connections == 0
    [signature] = report.signatures
    assert signature.trusted is False and signature.revocation.status == "unknown"
    assert report.verdict == "indeterminate"
    [reason] = [r for r in signature.reasons if r.code == ReasonCode.REVOCATION_UNKNOWN_REFUSED]
    assert "loopback" in reason.params["refused"]
    assert "not allowed by the verification policy" in reason.message and "loopback" in reason.message
    # Its TSA is trusted too, but equally unconfirmed; the report says so rather than "untrusted".
    assert ReasonCode.TIMESTAMP_REVOCATION_UNKNOWN in codes(signature.reasons), signature.reasons


def test_with_private_addresses_allowed_the_ca_is_asked_but_a_redirect_is_not_followed(inhouse):
    pki, signed = inhouse
    with Listener() as elsewhere, Listener("redirect", port=pki.port, location=f"{elsewhere.url}/admin") as ca:
        report = verify_within_timeout(signed, trusting(pki, allow_private=True))

    assert ca.requests, "the trusted CA's OCSP responder or CRL should have been asked"
    assert elsewhere.connections == 0
    [signature] = report.signatures
    assert signature.revocation.status == "unknown" and report.verdict == "indeterminate"
    assert any(r.code == ReasonCode.REVOCATION_UNKNOWN_REFUSED and "not followed" in r.params["refused"]
               for r in signature.reasons), signature.reasons


def test_a_trusted_ca_that_never_answers_holds_verification_no_longer_than_the_budget(inhouse):
    pki, signed = inhouse
    with Listener("silent", port=pki.port) as ca:
        report = verify_within_timeout(signed, trusting(pki, allow_private=True, budget_seconds=2))

    assert ca.connections >= 1
    [signature] = report.signatures
    assert signature.revocation.status == "unknown" and report.verdict == "indeterminate"
    assert any(r.code == ReasonCode.REVOCATION_UNKNOWN_REFUSED
               and "time allowed for fetching (2 s) was used up" in r.params["refused"]
               for r in signature.reasons), signature.reasons


def test_an_allowed_origin_is_fetched_and_the_document_verifies_valid(inhouse):
    pki, signed = inhouse
    with DevServices(pki):
        report = verify_within_timeout(signed, trusting(pki, allowed_origins=(pki.base_url,)))

    assert report.verdict == "valid", report.to_json()
    assert report.signatures[0].revocation.source == "OCSP/CRL fetched online"


# --- the address rules themselves ----------------------------------------------------------


@pytest.mark.parametrize("address, kind", [
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("::ffff:127.0.0.1", "loopback"),
    ("10.1.2.3", "private"), ("192.168.1.1", "private"), ("fd00::1", "private"),
    ("169.254.169.254", "link-local"), ("224.0.0.251", "multicast"), ("0.0.0.0", "unspecified"),
    ("100.64.0.1", "not a public address"),
])
def test_non_public_addresses_are_named(address, kind):
    assert kind in non_public(ipaddress.ip_address(address))


def test_public_addresses_pass():
    assert non_public(ipaddress.ip_address("203.162.4.190")) is None  # a VNNIC address
    assert non_public(ipaddress.ip_address("2001:4860:4860::8888")) is None


@pytest.mark.parametrize("url", [
    "file:///etc/passwd", "ftp://127.0.0.1/ca.crl", "gopher://127.0.0.1:6379/_INFO", "http://user:pw@ca.example/",
    "http://ca.example/ocsp\r\nX-Injected: 1", "ldap://ldap.example/cn=CA?certificateRevocationList",
])
def test_only_plain_http_and_https_urls_are_fetched(url):
    outbound = Outbound(FetchPolicy(allow_private=True))
    with pytest.raises(FetchRefused):
        outbound.get(url, {})
    assert len(outbound.refusals) == 1


def test_a_name_that_resolves_to_loopback_is_refused_after_resolution():
    with Listener() as listener:
        outbound = Outbound(FetchPolicy())
        with pytest.raises(FetchRefused) as refused:
            outbound.get(f"http://localhost:{listener.port}/ca.crl", {})
    assert "loopback" in refused.value.why
    assert listener.connections == 0
