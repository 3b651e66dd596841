"""Where the official's key lives: a PKCS#12 file on the embedded profile, a
PKCS#11 token (USB token, HSM) on the scaled one — here a real SoftHSM2
token, loaded the way an administrator would (softhsm2-util, pkcs11-tool)."""
from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from signing import KeySource, Pkcs11Key, Pkcs12Key, verify_pdf
from signing.errors import KeyNotFound, WrongPassphrase

SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
TOKEN, PIN, SO_PIN = "docsvc-test", "123456", "65432100"


def test_a_wrong_passphrase_is_reported_as_such(pki):
    with pytest.raises(WrongPassphrase) as caught:
        Pkcs12Key(pki.p12_path("official"), "not-the-passphrase")
    assert caught.value.code == "wrong_passphrase"


def test_a_missing_key_file_is_reported_as_such(pki):
    with pytest.raises(KeyNotFound) as caught:
        Pkcs12Key(pki.folder / "nobody.p12", pki.passphrase)
    assert caught.value.code == "key_not_found"


def test_a_pkcs12_key_is_a_key_source(official):
    assert isinstance(official, KeySource)
    assert official.signer() is official.signer()  # opened once, reused


@pytest.fixture(scope="module")
def softhsm_token(tmp_path_factory, pki):
    """A SoftHSM2 token holding the chairman's key and certificate."""
    folder = tmp_path_factory.mktemp("softhsm")
    (folder / "tokens").mkdir()
    conf = folder / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {folder / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    previous = os.environ.get("SOFTHSM2_CONF")
    # Read by SoftHSM when the module is first initialised in this process.
    os.environ["SOFTHSM2_CONF"] = str(conf)
    identity = pki.identity("official")
    key_pem, cert_der = folder / "key.pem", folder / "cert.der"
    key_pem.write_bytes(identity.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                   serialization.NoEncryption()))
    cert_der.write_bytes(identity.certificate.public_bytes(serialization.Encoding.DER))
    run = lambda *args: subprocess.run(args, check=True, capture_output=True, text=True)  # noqa: E731
    run("softhsm2-util", "--init-token", "--free", "--label", TOKEN, "--pin", PIN, "--so-pin", SO_PIN)
    run("softhsm2-util", "--import", str(key_pem), "--token", TOKEN, "--label", "official", "--id", "01",
        "--pin", PIN)
    run("pkcs11-tool", "--module", SOFTHSM_MODULE, "--token-label", TOKEN, "--login", "--pin", PIN,
        "--write-object", str(cert_der), "--type", "cert", "--id", "01", "--label", "official")
    key_pem.unlink()  # the key now lives only in the token
    yield Path(SOFTHSM_MODULE)
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = previous


def test_the_chairman_signs_with_a_key_on_a_pkcs11_token(softhsm_token, decision_pdf, sign, trust):
    with Pkcs11Key(softhsm_token, PIN, token_label=TOKEN, key_label="official") as token_key:
        assert isinstance(token_key, KeySource)
        signed = [sign(decision_pdf, token_key, level=level) for level in ("B-T", "B-LT")]

    for document in signed:
        report = verify_pdf(io.BytesIO(document), trust)
        assert report.verdict == "valid", report.to_json()
        assert report.signatures[0].signer == "Nguyễn Văn An"


def test_a_wrong_token_pin_is_reported_as_such(softhsm_token):
    with pytest.raises(WrongPassphrase):
        Pkcs11Key(softhsm_token, "000000", token_label=TOKEN, key_label="official")


def test_a_missing_token_or_key_is_reported_as_such(softhsm_token):
    with pytest.raises(KeyNotFound):
        Pkcs11Key(softhsm_token, PIN, token_label="no-such-token", key_label="official")
    with pytest.raises(KeyNotFound):
        Pkcs11Key(softhsm_token, PIN, token_label=TOKEN, key_label="nobody")
