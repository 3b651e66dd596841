"""The cast of the signing story, shared by the whole folder.

One development PKI per test session (a commune, UBND xã Mẫu, with its
chairman Nguyễn Văn An), its TSA/OCSP/CRL served over real HTTP on
127.0.0.1, an NSS database trusting its root for pdfsig, and the documents
they sign. A second, unrelated PKI plays the stranger's CA.
"""
from __future__ import annotations

import io
from pathlib import Path

import pytest

from signing.devservices import DevServices
from signing.keys import Pkcs12Key
from signing.pki import DevPki, init_pki, reserved_port
from signing.sign import sign_pdf
from signing.trust import TrustConfig
from tests.pdfs import make_pdf, sample_paragraphs
from tests.signing.helpers import handwritten_signature_png, make_nssdb, seal_png


@pytest.fixture(scope="session", autouse=True)
def ca_services(tmp_path_factory):
    """The CA is online for every test; tests about an unreachable CA use
    the stranger PKI, whose services never run. Its port stays reserved
    from the moment the certificates name it until the services listen
    on it, so a second pytest worker is never handed the same one."""
    with reserved_port() as port:
        services = DevServices(init_pki(tmp_path_factory.mktemp("pki"), port=port)).start()
    with services:
        yield services


@pytest.fixture(scope="session")
def pki(ca_services) -> DevPki:
    return ca_services.pki


@pytest.fixture(scope="session")
def trust(pki) -> TrustConfig:
    return pki.trust_config()


@pytest.fixture(scope="session")
def stranger_pki(tmp_path_factory) -> DevPki:
    return init_pki(tmp_path_factory.mktemp("stranger-pki"))


@pytest.fixture(scope="session")
def official(pki) -> Pkcs12Key:
    return Pkcs12Key(pki.p12_path("official"), pki.passphrase)


@pytest.fixture(scope="session")
def agency(pki) -> Pkcs12Key:
    return Pkcs12Key(pki.p12_path("agency"), pki.passphrase)


@pytest.fixture(scope="session")
def decision_pdf(tmp_path_factory) -> bytes:
    """A one-page decision with room at the bottom for the signature block."""
    path = tmp_path_factory.mktemp("docs") / "quyet-dinh.pdf"
    make_pdf(path, "QUYẾT ĐỊNH Số: 15/QĐ-UBND", sample_paragraphs("binh-duong-cchc-2020.txt")[:3])
    return path.read_bytes()


@pytest.fixture(scope="session")
def long_report_pdf(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("docs") / "bao-cao.pdf"
    make_pdf(path, "BÁO CÁO kết quả CCHC 7 tháng", sample_paragraphs("quang-trach-cchc-7-thang-2021.txt"), pages=3)
    return path.read_bytes()


@pytest.fixture(scope="session")
def signature_image() -> bytes:
    return handwritten_signature_png()


@pytest.fixture(scope="session")
def seal_image() -> bytes:
    return seal_png()


@pytest.fixture(scope="session")
def nssdb(tmp_path_factory, pki) -> Path:
    """An NSS database in which pdfsig trusts the development root."""
    return make_nssdb(tmp_path_factory.mktemp("nssdb"), pki.cert_path("root-ca"))


@pytest.fixture
def sign(trust):
    """sign(pdf_bytes, key, **options) -> signed bytes; defaults to our trust."""
    def _sign(pdf: bytes, key, **options) -> bytes:
        options.setdefault("trust", trust)
        out = io.BytesIO()
        sign_pdf(io.BytesIO(pdf), out, key, **options)
        return out.getvalue()
    return _sign
