"""The enveloped XML signature of an edXML message: made with the agency's
seal key (the same key that seals its PDFs), checked against this
installation's trust store.

What a valid signature means here: the RSA-SHA256 signature over the whole
message (one reference, URI "", enveloped transform) verifies with the
certificate in its KeyInfo, and that certificate chains, through the
intermediates the message carries, to a root in `trust_store_dir` (the
roots PDF verification trusts; never the operating system's store), valid
today. Revocation is not checked for the message signature (the PDF's own
signatures carry theirs); the peer's token says which installation sent it,
the signature which key.

The key may be a PKCS#12 file or a PKCS#11 token: signxml asks only for an
object with `sign(data, padding, algorithm)`, which `_KeySourceSigner`
answers through the key source's pyHanko signer, so the private key never
leaves the token.
"""
from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.verification import ExtensionPolicy, Store
from lxml import etree
from signxml import DigestAlgorithm, SignatureMethod, XMLSigner, XMLVerifier
from signxml.exceptions import InvalidCertificate, InvalidDigest, InvalidSignature, SignXMLException
from signxml.util import X509CertChainVerifier

from docsvc.exchange.edxml import PackageRefused
from signing.keys import KeySource, signer_name

CERTIFICATE_SUFFIXES = (".pem", ".crt", ".cer", ".der")


class SignatureRefused(PackageRefused):
    code = "edxml_signature_invalid"


class UntrustedSigner(PackageRefused):
    code = "edxml_untrusted_signer"


@dataclass(frozen=True)
class Verified:
    """What the signature covers (the only part of the message to read) and who signed it."""

    signed: etree._Element
    signer: str  # the certificate holder's CN


class _KeySourceSigner:
    """The private-key face signxml signs with, backed by a KeySource."""

    def __init__(self, key: KeySource) -> None:
        self._signer = key.signer()

    def sign(self, data: bytes, padding=None, algorithm=None) -> bytes:
        return asyncio.run(self._signer.async_sign_raw(data, "sha256"))


def _chain(key: KeySource) -> list[x509.Certificate]:
    """The signer's certificate, then the CA certificates the key source holds."""
    certificates = [x509.load_der_x509_certificate(key.certificate.dump())]
    registry = getattr(key.signer(), "cert_registry", None)
    for certificate in registry or ():
        parsed = x509.load_der_x509_certificate(certificate.dump())
        if parsed not in certificates:
            certificates.append(parsed)
    return certificates


def sign(root: etree._Element, key: KeySource) -> etree._Element:
    signer = XMLSigner(signature_algorithm=SignatureMethod.RSA_SHA256, digest_algorithm=DigestAlgorithm.SHA256)
    return signer.sign(root, key=_KeySourceSigner(key), cert=_chain(key))  # type: ignore[arg-type]


def trusted_roots(trust_store_dir: str) -> list[x509.Certificate]:
    folder = Path(trust_store_dir)
    roots = []
    for path in sorted(folder.glob("*")) if folder.is_dir() else []:
        if path.suffix.lower() not in CERTIFICATE_SUFFIXES:
            continue
        data = path.read_bytes()
        roots.extend(x509.load_pem_x509_certificates(data) if b"-----BEGIN" in data
                     else [x509.load_der_x509_certificate(data)])
    return roots


class _TrustStoreVerifier(X509CertChainVerifier):
    """signxml's chain check, against our roots instead of a CA file. Signing
    certificates are not TLS clients: the end entity's extensions are not held
    to the Web PKI's rules (which want a SAN and clientAuth), the CAs' are."""

    def __init__(self, roots: list[x509.Certificate]) -> None:
        super().__init__(ca_pem_file="unused", ee_policy=ExtensionPolicy.permit_all(),
                         ca_policy=ExtensionPolicy.webpki_defaults_ca())
        self._roots = roots

    @property
    def store(self) -> Store:
        return Store(self._roots)


class _Verifier(XMLVerifier):
    def __init__(self, roots: list[x509.Certificate]) -> None:
        super().__init__()
        self._roots = roots

    def get_cert_chain_verifier(self, ca_pem_file, ee_policy, ca_policy):
        return _TrustStoreVerifier(self._roots)


def verify(root: etree._Element, trust_store_dir: str) -> Verified:
    """The signed content of the message, or SignatureRefused / UntrustedSigner with the reason."""
    roots = trusted_roots(trust_store_dir)
    if not roots:
        raise UntrustedSigner("This installation trusts no root certificate yet (its trust store is empty).")
    try:
        result = _Verifier(roots).verify(root)  # one reference expected: one result
    except InvalidCertificate as exc:
        raise UntrustedSigner(f"The package's signing certificate does not chain to a trusted root ({exc}).") from None
    except (InvalidDigest, InvalidSignature):
        raise SignatureRefused("The package was changed after it was signed (its XML signature does not verify).") from None
    except SignXMLException as exc:
        raise SignatureRefused(f"The package's XML signature is missing or not usable ({exc}).") from None
    if isinstance(result, list) or result.signed_xml is None:
        raise SignatureRefused("The package's XML signature covers nothing readable.")
    return Verified(result.signed_xml, _signer_of(result))


def _signer_of(result) -> str:
    """The CN of the KeyInfo certificate whose key verified the signature."""
    used = result.signature_key
    for element in result.signature_xml.iter("{http://www.w3.org/2000/09/xmldsig#}X509Certificate"):
        certificate = x509.load_der_x509_certificate(base64.b64decode("".join((element.text or "").split())))
        public = certificate.public_key().public_bytes(serialization.Encoding.PEM,
                                                       serialization.PublicFormat.SubjectPublicKeyInfo)
        if public == used:
            return signer_name(asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER)))
    return ""

