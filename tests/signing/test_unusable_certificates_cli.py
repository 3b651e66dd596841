"""`docsvc sign` with a key whose certificate cannot sign (self-signed, or
without the non-repudiation key usage) prints one line and exits 2, at every
level, and writes no output file; before, certvalidator's exception escaped
as a traceback (and as a 500 from the web's signing)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.hazmat.primitives.serialization.pkcs12 import load_key_and_certificates
from cryptography.x509.oid import NameOID

from tests.conftest import Installation
from tests.pdfs import make_pdf, sample_paragraphs

PASSPHRASE = "mat-khau-khoa"


def _certificate(subject: str, key, issuer_name: x509.Name, issuer_key, *, signing_usage: bool) -> x509.Certificate:
    now = datetime.now(UTC)
    builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(issuer_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30)))
    if not signing_usage:  # key encipherment only
        builder = builder.add_extension(x509.KeyUsage(False, False, True, False, False, False, False, False, False),
                                        critical=True)
    return builder.sign(issuer_key, hashes.SHA256())


def _p12(path: Path, key, cert, chain=()) -> Path:
    path.write_bytes(pkcs12.serialize_key_and_certificates(
        b"key", key, cert, list(chain), serialization.BestAvailableEncryption(PASSPHRASE.encode())))
    return path


@pytest.fixture(scope="module")
def installation(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sign-cli")
    installation = Installation("embedded", {"DOCSVC_DATA_DIR": str(folder / "var")})
    installation.run("pki", "init", check=True)  # a trust store and a TSA, so every level is tried
    return installation


def _self_signed(folder: Path) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tự ký")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
            .sign(key, hashes.SHA256()))
    return _p12(folder / "tu-ky.p12", key, cert)


def _not_for_signing(folder: Path, pki_dir: Path) -> Path:
    ca_key, ca_cert, _ = load_key_and_certificates((pki_dir / "issuing-ca.p12").read_bytes(), b"docsvc-dev")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = _certificate("Chỉ mã hóa", key, ca_cert.subject, ca_key, signing_usage=False)
    return _p12(folder / "ma-hoa.p12", key, cert, [ca_cert])


@pytest.mark.parametrize("level", ["B-B", "B-T", "B-LTA"])
@pytest.mark.parametrize("which", ["self-signed", "not for signing"])
def test_an_unusable_certificate_is_one_line_and_exit_2(installation, tmp_path, level, which):
    pki_dir = Path(installation.settings().pki_dir)
    p12 = _self_signed(tmp_path) if which == "self-signed" else _not_for_signing(tmp_path, pki_dir)
    draft = make_pdf(tmp_path / "du-thao.pdf", "Công văn", sample_paragraphs("binh-duong-cchc-2020.txt")[:1])
    out = tmp_path / "da-ky.pdf"
    result = installation.run("sign", str(draft), str(out), "--pkcs12", str(p12), "--passphrase-env", "PW",
                              "--level", level, extra_env={"PW": PASSPHRASE})
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("docsvc: error: ") and line.endswith("(certificate_untrusted)"), line
    assert "Traceback" not in result.stderr and not out.exists()
