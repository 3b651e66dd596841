"""A development PKI: the certificates an agency would get from a licensed CA.

`init_pki(folder)` writes, once, a root CA, an issuing CA, an official's and
an agency's signing certificates, a TSA and an OCSP responder, plus a revoked
and an expired official for tests. Every key is RSA-2048 in a PKCS#12 file
under one passphrase; `pki.json` records what the services need (which
serials are revoked, the URL baked into the certificates).

The certificates point their AIA (OCSP, CA issuers) and CRL distribution
points at http://127.0.0.1:<port>, where `signing.devservices` answers, so
B-LT signing fetches revocation data over real HTTP exactly as it would from
a licensed CA. The port is chosen at creation and stays fixed: it is part of
the certificates.
"""
from __future__ import annotations

import json
import os
import random
import socket
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypedDict, get_args

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
    CertificatePublicKeyTypes,
    PrivateKeyTypes,
)
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from .errors import KeyNotFound, WrongPassphrase
from .outbound import FetchPolicy
from .trust import TrustConfig

DEFAULT_PASSPHRASE = "docsvc-dev"
MANIFEST = "pki.json"

# Fixed serials keep files, logs and test failures comparable between runs.
SERIALS = {
    "root-ca": 0x01,
    "issuing-ca": 0x02,
    "official": 0x1001,
    "agency": 0x1002,
    "tsa": 0x1003,
    "ocsp": 0x1004,
    "official-revoked": 0x1005,
    "official-expired": 0x1006,
}
# The identities a caller may sign with (CA and service keys are internal).
SIGNERS = ("official", "agency", "official-revoked", "official-expired")


def _name(common_name: str, *, organization: str = "UBND xã Mẫu", person: bool = False) -> x509.Name:
    # Vietnamese CAs put the person's full name in CN and the agency in O;
    # cryptography encodes these as UTF8String, so diacritics survive.
    attrs = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "Quảng Bình"),
        x509.NameAttribute(NameOID.LOCALITY_NAME, "Quảng Trạch"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
    ]
    if person:
        attrs.append(x509.NameAttribute(NameOID.TITLE, "Chủ tịch"))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def _subjects(ca: str) -> dict[str, x509.Name]:
    return {
        "root-ca": _name(f"{ca} Root CA", organization="docsvc (phát triển)"),
        "issuing-ca": _name(f"{ca} Issuing CA", organization="docsvc (phát triển)"),
        "official": _name("Nguyễn Văn An", person=True),
        "agency": _name("UBND xã Mẫu"),
        "tsa": _name(f"{ca} TSA", organization="docsvc (phát triển)"),
        "ocsp": _name(f"{ca} OCSP Responder", organization="docsvc (phát triển)"),
        "official-revoked": _name("Trần Thị Bình", person=True),
        "official-expired": _name("Lê Văn Cường", person=True),
    }


@dataclass(frozen=True)
class Identity:
    """A loaded key and its certificate chain (cryptography objects)."""

    key: CertificateIssuerPrivateKeyTypes  # RSA here; a CA-issued .p12 may hold EC
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]


@dataclass(frozen=True)
class DevPki:
    """A development PKI on disk; cheap to construct, loads files on demand."""

    folder: Path
    base_url: str
    passphrase: str
    revoked: dict[int, datetime]  # serial -> revocation time

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])

    @property
    def tsa_url(self) -> str:
        return f"{self.base_url}/tsa"

    def p12_path(self, name: str) -> Path:
        return self.folder / f"{name}.p12"

    def cert_path(self, name: str) -> Path:
        return self.folder / f"{name}.pem"

    def certificate(self, name: str) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(_load_cert(self.cert_path(name)).public_bytes(serialization.Encoding.DER))

    def identity(self, name: str) -> Identity:
        return load_identity(self.p12_path(name), self.passphrase)

    def trust_config(self, *, allow_fetching: bool = True) -> TrustConfig:
        """Trust this PKI's root only, time-stamp at its TSA over HTTP, and
        fetch revocation data from its own services on 127.0.0.1 (the one
        private origin allowed: whoever made this PKI chose it)."""
        return TrustConfig(
            trust_roots=(self.certificate("root-ca"),),
            extra_certs=(self.certificate("issuing-ca"),),
            tsa_url=self.tsa_url,
            allow_fetching=allow_fetching,
            fetch_policy=FetchPolicy(allowed_origins=(self.base_url,)),
        )


# Ports handed to servers that bind them later (a port only looked up is
# free for anybody until then). bind(0) draws from the kernel's ephemeral
# range, the same numbers every outgoing connection's own end is given, so
# a busy process's client could take the port before its server binds it
# (seen: gunicorn "Address already in use" under two pytest processes).
# Below that range only servers bind, and a random pick makes two callers'
# meeting on one number unlikely.
_SERVER_PORTS = range(20000, 32768)


def _ephemeral_ports() -> range:
    try:
        low, high = (int(n) for n in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    except (OSError, ValueError):
        return range(32768, 61000)
    return range(low, high + 1)


def free_port() -> int:
    """A port on 127.0.0.1 free now, outside the ephemeral range, for a server
    that binds it later (use `reserved_port` where the server can bind a held one)."""
    ephemeral = _ephemeral_ports()
    candidates = [p for p in _SERVER_PORTS if p not in ephemeral]
    for port in random.sample(candidates, min(200, len(candidates))):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with reserved_port() as port:  # every candidate taken: the kernel's pick
        return port


@contextmanager
def reserved_port() -> Iterator[int]:
    """A free port on 127.0.0.1, kept bound until the block ends.

    A port only looked up (bind 0, close) is free for anybody until its
    server binds it: another process (a second pytest worker, a client's
    outgoing connection) can be handed the same number meanwhile. Held
    here, bound with SO_REUSEADDR and never listening, the kernel gives it
    to nobody else, while a server that sets SO_REUSEADDR too (http.server,
    DevServices) can bind and listen on it inside the block."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        yield port


def init_pki(
    folder: str | Path,
    *,
    passphrase: str = DEFAULT_PASSPHRASE,
    port: int | None = None,
    now: datetime | None = None,
    ca_name: str = "docsvc Dev",
) -> DevPki:
    """Create the PKI in `folder` (idempotent: an existing one is loaded).

    `ca_name` begins its CAs', TSA's and OCSP responder's names: a second
    PKI trusted beside the first needs its own (certificate paths are built
    by issuer name, and two CAs of one name confuse them)."""
    folder = Path(folder)
    if (folder / MANIFEST).exists():
        return load_pki(folder, passphrase=passphrase)
    # The private keys are for this account alone, whatever the process umask.
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder.chmod(0o700)
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    subjects = _subjects(ca_name)
    base_url = f"http://127.0.0.1:{port or free_port()}"
    day = timedelta(days=1)

    root_key = _new_key()
    root = _issue(subjects["root-ca"], root_key.public_key(), subjects["root-ca"], root_key,
                  SERIALS["root-ca"], now - day, now + 20 * 365 * day, ca=True)
    issuing_key = _new_key()
    issuing = _issue(subjects["issuing-ca"], issuing_key.public_key(), root.subject, root_key,
                     SERIALS["issuing-ca"], now - day, now + 10 * 365 * day, ca=True, issuer_cert=root,
                     crl_url=f"{base_url}/crl/root-ca.crl", ca_issuers_url=f"{base_url}/certs/root-ca.cer")
    _write(folder, "root-ca", root_key, root, (), passphrase)
    _write(folder, "issuing-ca", issuing_key, issuing, (root,), passphrase)

    leaf_urls = _Pointers(crl_url=f"{base_url}/crl/issuing-ca.crl", ocsp_url=f"{base_url}/ocsp",
                          ca_issuers_url=f"{base_url}/certs/issuing-ca.cer")
    # name: (not before, not after, usage)
    leaves: dict[str, tuple[datetime, datetime, str]] = {
        "official": (now - day, now + 2 * 365 * day, "sign"),
        "agency": (now - day, now + 2 * 365 * day, "sign"),
        "official-revoked": (now - 10 * day, now + 2 * 365 * day, "sign"),
        "official-expired": (now - 2 * 365 * day, now - 30 * day, "sign"),
        "tsa": (now - day, now + 5 * 365 * day, "tsa"),
        "ocsp": (now - day, now + 5 * 365 * day, "ocsp"),
    }
    for name, (not_before, not_after, usage) in leaves.items():
        key = _new_key()
        # The OCSP responder's own certificate carries id-pkix-ocsp-nocheck
        # and no revocation pointers, or checking it would recurse.
        urls = _Pointers() if usage == "ocsp" else leaf_urls
        cert = _issue(subjects[name], key.public_key(), issuing.subject, issuing_key, SERIALS[name],
                      not_before, not_after, usage=usage, issuer_cert=issuing, **urls)
        _write(folder, name, key, cert, (issuing, root), passphrase)

    manifest = {
        "base_url": base_url,
        # Revoked an hour before the PKI was made: any signature made with
        # it afterwards is made with an already-revoked certificate.
        "revoked": {str(SERIALS["official-revoked"]): (now - timedelta(hours=1)).isoformat()},
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return load_pki(folder, passphrase=passphrase)


def load_pki(folder: str | Path, *, passphrase: str = DEFAULT_PASSPHRASE) -> DevPki:
    folder = Path(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except FileNotFoundError:
        raise KeyNotFound(f"No development PKI in {folder}: run init_pki first.") from None
    revoked = {int(s): datetime.fromisoformat(t) for s, t in manifest["revoked"].items()}
    return DevPki(folder=folder, base_url=manifest["base_url"], passphrase=passphrase, revoked=revoked)


def load_identity(path: str | Path, passphrase: str) -> Identity:
    """Open a PKCS#12 file, turning the library's errors into user errors."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise KeyNotFound(f"Key file not found: {path}") from None
    try:
        key, cert, chain = pkcs12.load_key_and_certificates(data, passphrase.encode())
    except ValueError:
        # cryptography reports a bad MAC / wrong password as ValueError;
        # so does a corrupt file, which we cannot tell apart reliably.
        raise WrongPassphrase(f"The passphrase does not open {Path(path).name} (or the file is damaged).") from None
    if cert is None or not isinstance(key, get_args(CertificateIssuerPrivateKeyTypes)):
        raise KeyNotFound(f"{Path(path).name} holds no signing key with a certificate.")
    return Identity(key=key, certificate=cert, chain=tuple(chain))


def to_asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def to_asn1_key(key: PrivateKeyTypes) -> asn1_keys.PrivateKeyInfo:
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    return asn1_keys.PrivateKeyInfo.load(der)


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class _Pointers(TypedDict, total=False):
    """Where a certificate says its revocation data and issuer are."""

    crl_url: str
    ocsp_url: str
    ca_issuers_url: str


def _issue(subject: x509.Name, public_key: CertificatePublicKeyTypes, issuer_name: x509.Name,
           issuer_key: CertificateIssuerPrivateKeyTypes, serial: int, not_before: datetime, not_after: datetime, *,
           ca: bool = False, usage: str = "sign", issuer_cert: x509.Certificate | None = None,
           crl_url: str | None = None, ocsp_url: str | None = None,
           ca_issuers_url: str | None = None) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(issuer_name).public_key(public_key)
        .serial_number(serial).not_valid_before(not_before).not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    if issuer_cert is not None:
        builder = builder.add_extension(
            # issuer_key is issuer_cert's: its public half is the issuer's key, typed as one that can issue.
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    if ca:
        builder = builder.add_extension(_key_usage(cert_sign=True), critical=True)
    elif usage == "sign":
        # nonRepudiation is what PAdES validators (pyHanko by default) demand.
        builder = builder.add_extension(_key_usage(digital_signature=True, content_commitment=True), critical=True)
    else:
        eku = ExtendedKeyUsageOID.TIME_STAMPING if usage == "tsa" else ExtendedKeyUsageOID.OCSP_SIGNING
        builder = builder.add_extension(_key_usage(digital_signature=True), critical=True)
        builder = builder.add_extension(x509.ExtendedKeyUsage([eku]), critical=usage == "tsa")
        if usage == "ocsp":
            builder = builder.add_extension(x509.OCSPNoCheck(), critical=False)
    if crl_url:
        point = x509.DistributionPoint([x509.UniformResourceIdentifier(crl_url)], None, None, None)
        builder = builder.add_extension(x509.CRLDistributionPoints([point]), critical=False)
    access: list[x509.AccessDescription] = []
    if ocsp_url:
        access.append(x509.AccessDescription(AuthorityInformationAccessOID.OCSP,
                                             x509.UniformResourceIdentifier(ocsp_url)))
    if ca_issuers_url:
        access.append(x509.AccessDescription(AuthorityInformationAccessOID.CA_ISSUERS,
                                             x509.UniformResourceIdentifier(ca_issuers_url)))
    if access:
        builder = builder.add_extension(x509.AuthorityInformationAccess(access), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _key_usage(*, digital_signature: bool = False, content_commitment: bool = False, cert_sign: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature, content_commitment=content_commitment,
        key_encipherment=False, data_encipherment=False, key_agreement=False,
        key_cert_sign=cert_sign, crl_sign=cert_sign, encipher_only=False, decipher_only=False,
    )


def _write(folder: Path, name: str, key: rsa.RSAPrivateKey, cert: x509.Certificate, chain: Iterable[x509.Certificate],
           passphrase: str) -> None:
    encryption = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(2048)  # enough for a dev PKI, fast enough for tests
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(passphrase.encode())
    )
    p12 = pkcs12.serialize_key_and_certificates(name.encode(), key, cert, list(chain), encryption)
    _write_private(folder / f"{name}.p12", p12)
    (folder / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _write_private(path: Path, data: bytes) -> None:
    """A file only its owner can read (0600), created so from the start."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _load_cert(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except FileNotFoundError:
        raise KeyNotFound(f"Certificate not found: {path}") from None
