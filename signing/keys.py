"""Where signing keys live: PKCS#12 files and PKCS#11 tokens behind one Protocol.

A key source is opened once and reused for many documents (batch signing
asks for the PIN once, and must not re-parse a PKCS#12 file or re-login to
a token per document). Close it when done, or use it as a context manager.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Self, runtime_checkable

from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from pyhanko.sign.general import get_pyca_cryptography_hash
from pyhanko.sign.signers import Signer, SimpleSigner
from pyhanko_certvalidator.registry import SimpleCertificateStore

from .errors import KeyNotFound, WrongPassphrase

if TYPE_CHECKING:
    from pkcs11 import Session
from .pki import load_identity, to_asn1_cert, to_asn1_key


@runtime_checkable
class KeySource(Protocol):
    """A private key that can sign, plus its certificate and chain."""

    @property
    def certificate(self) -> asn1_x509.Certificate: ...

    def signer(self) -> Signer:
        """The pyHanko signer; the same object on every call."""
        ...

    def close(self) -> None: ...

    # Every key is used in a `with` block that closes it (a token session, a remote credential).
    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...


def signer_name(certificate: asn1_x509.Certificate) -> str:
    """The holder's name as people say it: CN, e.g. 'Nguyễn Văn An'."""
    subject = certificate.subject.native
    name: str = subject.get("common_name") or certificate.subject.human_friendly
    return name


class _CachedKeySigner(SimpleSigner):
    """SimpleSigner re-parses the DER key on every signature; for batches we
    keep the parsed key (PKCS#1 v1.5, the common case) and fall back otherwise."""

    def __init__(self, *args: Any, pyca_key: CertificateIssuerPrivateKeyTypes, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pyca_key = pyca_key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        if mechanism == "rsassa_pkcs1v15" and isinstance(self._pyca_key, rsa.RSAPrivateKey):
            return self._pyca_key.sign(data, padding.PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
        signature: bytes = super().sign_raw(data, digest_algorithm)
        return signature


class Pkcs12Key:
    """A key in a PKCS#12 (.p12/.pfx) file, decrypted once at construction."""

    def __init__(self, path: str | Path, passphrase: str) -> None:
        identity = load_identity(path, passphrase)
        self.path = Path(path)
        chain = SimpleCertificateStore()
        chain.register_multiple([to_asn1_cert(c) for c in identity.chain])
        self._certificate = to_asn1_cert(identity.certificate)
        self._signer = _CachedKeySigner(
            signing_cert=self._certificate,
            signing_key=to_asn1_key(identity.key),
            cert_registry=chain,
            pyca_key=identity.key,
        )

    @property
    def certificate(self) -> asn1_x509.Certificate:
        return self._certificate

    def signer(self) -> Signer:
        return self._signer

    def close(self) -> None:
        pass  # nothing held open; the key is only in memory

    def __enter__(self) -> Pkcs12Key:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Pkcs11Key:
    """A key on a PKCS#11 token (USB token, HSM; SoftHSM2 in tests).

    The session is opened and logged in on construction, so a wrong PIN or a
    missing token is reported before any document is touched.
    """

    def __init__(
        self,
        module: str | Path,
        pin: str,
        *,
        token_label: str | None = None,
        key_label: str | None = None,
        cert_label: str | None = None,
        key_id: bytes | None = None,
        ca_chain: Sequence[asn1_x509.Certificate] = (),
    ) -> None:
        # Imported here: python-pkcs11 is only needed where tokens are used.
        import pkcs11
        from pkcs11 import exceptions as p11_errors
        from pyhanko.sign.pkcs11 import PKCS11Signer

        try:
            lib = pkcs11.lib(str(module))
        except (RuntimeError, OSError) as e:
            raise KeyNotFound(f"PKCS#11 module could not be loaded: {module} ({e})") from None
        tokens = list(lib.get_tokens(token_label=token_label))
        if not tokens:
            raise KeyNotFound(f"No PKCS#11 token{' labelled ' + repr(token_label) if token_label else ''} is present.")
        try:
            self._session: Session | None = tokens[0].open(user_pin=pin)
        except (p11_errors.PinIncorrect, p11_errors.PinInvalid, p11_errors.PinLenRange):
            raise WrongPassphrase("The token PIN is wrong.") from None
        except p11_errors.PinLocked:
            raise WrongPassphrase("The token PIN is locked; unlock it with the SO PIN.") from None
        self._signer = PKCS11Signer(
            self._session, cert_label=cert_label or key_label, key_label=key_label or cert_label,
            key_id=key_id, cert_id=key_id,
            # Tokens usually hold only the holder's certificate; the chain is
            # embedded in the signature from here (or fetched via AIA).
            ca_chain=list(ca_chain),
        )
        try:
            # pyHanko loads lazily; load now so a missing key is a clear error.
            self._certificate = self._signer.signing_cert
        except Exception as e:  # PKCS11Error / SigningError from pyHanko
            self.close()
            raise KeyNotFound(f"No certificate/key {key_label or key_id!r} on the token: {e}") from None
        if self._certificate is None:
            self.close()
            raise KeyNotFound(f"No certificate {cert_label or key_label!r} on the token.")

    @property
    def certificate(self) -> asn1_x509.Certificate:
        return self._certificate

    def signer(self) -> Signer:
        return self._signer

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def __enter__(self) -> Pkcs11Key:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
