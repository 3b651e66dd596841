"""The chairman's key lives at a remote signing service (a trust service
provider's HSM); docsvc signs through the Cloud Signature Consortium API v2.
The service here is a real CSC v2 HTTP server (tests/signing/csc_server.py)
holding the dev PKI's key for Nguyễn Văn An."""
from __future__ import annotations

import io

import pytest

from signing import KeySource, sign_pdf, verify_pdf
from signing.csc import CscKey, RemoteSigningLoginFailed, RemoteSigningNotAuthorized, RemoteSigningUnavailable
from signing.errors import KeyNotFound, WrongPassphrase
from signing.pki import free_port
from tests.signing.csc_server import CscServer
from tests.signing.helpers import pdfsig, pdfsig_blocks


@pytest.fixture(scope="module")
def rssp(pki):
    with CscServer(pki) as server:
        yield server


def _assert_valid_everywhere(signed: bytes, trust, tmp_path, nssdb, name: str) -> None:
    report = verify_pdf(io.BytesIO(signed), trust)
    assert report.verdict == "valid", report.to_json()
    assert report.signatures[0].signer == "Nguyễn Văn An"
    path = tmp_path / name
    path.write_bytes(signed)
    block = pdfsig_blocks(pdfsig(path, nssdb))["signature-1"]
    assert "Signature Validation: Signature is Valid." in block
    assert "Certificate Validation: Certificate is Trusted." in block
    assert "Signer Certificate Common Name: Nguyễn Văn An" in block


@pytest.mark.parametrize("level", ["B-B", "B-T", "B-LTA"])
def test_the_chairman_signs_through_the_remote_signing_service(level, rssp, decision_pdf, sign, trust, tmp_path,
                                                               nssdb):
    with CscKey(rssp.url, "an-scal1", token=rssp.token, pin=rssp.pin) as key:
        assert isinstance(key, KeySource)
        signed = sign(decision_pdf, key, level=level)

    _assert_valid_everywhere(signed, trust, tmp_path, nssdb, f"remote-{level}.pdf")
    assert verify_pdf(io.BytesIO(signed), trust).signatures[0].level == level


def test_login_with_user_name_and_password_instead_of_a_token(rssp, decision_pdf, sign, trust):
    with CscKey(rssp.url, "an-scal1", username=rssp.username, password=rssp.password, pin=rssp.pin) as key:
        signed = sign(decision_pdf, key, level="B-T")
    assert verify_pdf(io.BytesIO(signed), trust).verdict == "valid"


def test_a_hash_bound_credential_is_authorized_for_each_signature(rssp, decision_pdf, sign, trust, tmp_path, nssdb):
    before = rssp.calls["credentials/authorize"]
    with CscKey(rssp.url, "an-scal2", token=rssp.token, pin=rssp.pin) as key:
        signed = [sign(decision_pdf, key, level="B-T") for _ in range(2)]

    assert rssp.calls["credentials/authorize"] - before == 2
    for n, document in enumerate(signed):
        _assert_valid_everywhere(document, trust, tmp_path, nssdb, f"scal2-{n}.pdf")


def test_a_batch_of_five_documents_needs_the_pin_once(rssp, decision_pdf, long_report_pdf, trust, tmp_path):
    documents = [decision_pdf, long_report_pdf] * 2 + [decision_pdf]
    authorizations, signatures = rssp.calls["credentials/authorize"], rssp.calls["signatures/signHash"]

    with CscKey(rssp.url, "an-scal1", token=rssp.token, pin=rssp.pin, num_signatures=5) as key:
        outputs = []
        for n, document in enumerate(documents):
            out = tmp_path / f"batch-{n}.pdf"
            with out.open("wb") as f:
                sign_pdf(io.BytesIO(document), f, key, level="B-T", trust=trust)
            outputs.append(out)
        assert key.remaining_signatures == 0
        # A sixth document is not covered by the chairman's authorization.
        with pytest.raises(RemoteSigningNotAuthorized) as caught:
            sign_pdf(io.BytesIO(decision_pdf), io.BytesIO(), key, level="B-T", trust=trust)
        assert caught.value.code == "remote_signing_not_authorized"

    assert rssp.calls["credentials/authorize"] - authorizations == 1
    assert rssp.calls["signatures/signHash"] - signatures == 5
    for out in outputs:
        report = verify_pdf(io.BytesIO(out.read_bytes()), trust)
        assert report.verdict == "valid", report.to_json()


def test_a_wrong_pin_is_reported_and_nothing_is_written(rssp, decision_pdf, trust, tmp_path):
    out = tmp_path / "signed.pdf"
    with (
        pytest.raises(WrongPassphrase) as caught,
        CscKey(rssp.url, "an-scal1", token=rssp.token, pin="000000") as key,
        out.open("wb") as f,
    ):
        sign_pdf(io.BytesIO(decision_pdf), f, key, level="B-T", trust=trust)
    assert caught.value.code == "wrong_passphrase"
    assert "PIN" in caught.value.message
    assert not out.exists()


def test_a_wrong_pin_for_a_hash_bound_credential_fails_the_signature_and_writes_nothing(rssp, decision_pdf, trust):
    output = io.BytesIO()
    with CscKey(rssp.url, "an-scal2", token=rssp.token, pin="000000") as key, pytest.raises(WrongPassphrase):
        sign_pdf(io.BytesIO(decision_pdf), output, key, level="B-T", trust=trust)
    assert output.getvalue() == b""


def test_an_unknown_credential_is_reported_as_a_missing_key(rssp):
    with pytest.raises(KeyNotFound) as caught:
        CscKey(rssp.url, "nobody", token=rssp.token, pin=rssp.pin)
    assert caught.value.code == "key_not_found"
    assert "nobody" in caught.value.message


def test_a_bad_token_or_password_is_a_login_failure(rssp):
    with pytest.raises(RemoteSigningLoginFailed):
        CscKey(rssp.url, "an-scal1", token="expired-token", pin=rssp.pin)
    with pytest.raises(RemoteSigningLoginFailed):
        CscKey(rssp.url, "an-scal1", username=rssp.username, password="wrong", pin=rssp.pin)


def test_an_unreachable_service_is_reported_clearly():
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(RemoteSigningUnavailable) as caught:
        CscKey(url, "an-scal1", token="t", pin="1", timeout=5)
    assert caught.value.code == "remote_signing_unavailable"
    assert url in caught.value.message
    assert "Traceback" not in caught.value.message
