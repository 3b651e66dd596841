"""Remote signing over the Cloud Signature Consortium (CSC) API v2.

A qualified trust service provider keeps the official's key in its HSM; we
send it hashes and get signatures back. `CscKey` is a key source like
Pkcs12Key and Pkcs11Key, so sign_pdf signs with it at every PAdES level:

    with CscKey("https://rssp.example.vn", "cred-123", token=bearer, pin="123456",
                num_signatures=len(documents)) as key:
        for src, dst in documents:
            sign_pdf(src, dst, key, level="B-LTA", trust=trust)

What the client does (endpoints under `<service_url>/csc/v2/`):

- service authorization: a bearer token given by the caller (obtained by
  OAuth2 elsewhere), or `auth/login` with username and password (HTTP
  Basic), which yields the token;
- `credentials/list` to find the credential (the only one, or check that
  the given ID exists), `credentials/info` for the certificate chain, the key
  algorithms, the SCAL level and `multisign`;
- `credentials/authorize` with the PIN and/or OTP (explicit authorization):
  for a SCAL 1 credential once, on opening, for `num_signatures` signatures,
  so a batch of N documents needs the PIN once; for a SCAL 2 credential the
  SAD must name the hash, so it is requested per signature with the PIN
  kept in memory for the life of the key;
- `signatures/signHash` with RSA PKCS#1 v1.5 over SHA-256.

Not supported: OAuth2 authorization-code flows (`oauth2/authorize`, the
"oauth2code" credential authorization mode) and `auth/revoke`; `credentials/
extendTransaction`, `signatures/signDoc`, asynchronous operation mode,
ECDSA and RSA-PSS keys, and a hash-bound SAD for several documents at once.

pyHanko has a CSC signer (`pyhanko.sign.signers.csc_signer`), but it speaks
v1 field names (`hash`, `hashAlgo`), needs aiohttp (not installed here) and
an aiohttp session bound to one event loop, while sign_pdf runs each
document on its own loop. So this is a small synchronous client (requests)
under a pyHanko `Signer`.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import threading
import time
from dataclasses import dataclass
from typing import Any

import requests
from asn1crypto import x509 as asn1_x509
from pyhanko.sign.signers import Signer
from pyhanko_certvalidator.registry import SimpleCertificateStore

from .errors import KeyNotFound, SigningError, WrongPassphrase

RSA_ENCRYPTION = "1.2.840.113549.1.1.1"
SHA256_WITH_RSA = "1.2.840.113549.1.1.11"
SHA256 = "2.16.840.1.101.3.4.2.1"


class RemoteSigningUnavailable(SigningError):
    code = "remote_signing_unavailable"
    default_message = "The remote signing service cannot be reached; try again later."


class RemoteSigningLoginFailed(SigningError):
    code = "remote_signing_login_failed"
    default_message = "The remote signing service did not accept the login or access token."


class RemoteSigningNotAuthorized(SigningError):
    code = "remote_signing_not_authorized"
    default_message = "The remote signing authorization is used up or has expired; enter the PIN again."


class RemoteSigningRefused(SigningError):
    code = "remote_signing_refused"
    default_message = "The remote signing service refused the request."


@dataclass(frozen=True)
class CscCredential:
    """What `credentials/info` says about a credential."""

    credential_id: str
    certificate: asn1_x509.Certificate
    chain: tuple[asn1_x509.Certificate, ...]
    key_algorithms: frozenset[str]  # OIDs
    scal: int  # 1: SAD for a number of signatures; 2: SAD bound to the hashes
    multisign: int  # how many hashes one signHash call may carry
    auth_mode: str  # implicit / explicit / oauth2code


@dataclass(frozen=True)
class CscAuthorization:
    """A SAD from `credentials/authorize`."""

    sad: str
    num_signatures: int
    expires_at: float  # time.monotonic() deadline


class CscClient:
    """The HTTP side: one method per CSC v2 endpoint, user errors on failure."""

    def __init__(self, service_url: str, *, token: str | None = None, timeout: float = 30.0,
                 session: requests.Session | None = None) -> None:
        self.service_url = service_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.session = session or requests.Session()

    def url(self, endpoint: str) -> str:
        return f"{self.service_url}/csc/v2/{endpoint}"

    def call(self, endpoint: str, body: dict[str, Any], *, auth: Any = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token and auth is None else {}
        try:
            response = self.session.post(self.url(endpoint), json=body, headers=headers, auth=auth,
                                         timeout=self.timeout)
        except requests.RequestException as e:
            raise RemoteSigningUnavailable(
                f"The remote signing service at {self.service_url} cannot be reached "
                f"({type(e).__name__}); try again later.") from None
        try:
            data = response.json()
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        if response.status_code >= 500:
            raise RemoteSigningUnavailable(
                f"The remote signing service at {self.service_url} failed (HTTP {response.status_code}); "
                f"try again later.")
        if response.status_code >= 400:
            raise _csc_error(endpoint, response.status_code, str(data.get("error", "")),
                             str(data.get("error_description", "")))
        return data

    # --- endpoints -----------------------------------------------------

    def info(self) -> dict[str, Any]:
        return self.call("info", {})

    def login(self, username: str, password: str) -> str:
        data = self.call("auth/login", {"rememberMe": False}, auth=(username, password))
        token = data.get("access_token")
        if not isinstance(token, str):
            raise RemoteSigningRefused("The remote signing service's login answer has no access token.")
        self.token = token
        return token

    def list_credentials(self) -> list[str]:
        ids = self.call("credentials/list", {"credentialInfo": False}).get("credentialIDs")
        if not isinstance(ids, list):
            raise RemoteSigningRefused("The remote signing service's credential list is malformed.")
        return [str(i) for i in ids]

    def credential_info(self, credential_id: str) -> CscCredential:
        data = self.call("credentials/info", {"credentialID": credential_id, "certificates": "chain",
                                              "certInfo": False, "authInfo": True})
        try:
            certs = [asn1_x509.Certificate.load(base64.b64decode(c)) for c in data["cert"]["certificates"]]
            _ = certs[0].native  # parse now: a damaged certificate is the service's fault, not ours later
            algorithms = frozenset(str(a) for a in data["key"]["algo"])
            auth = data.get("auth") or {}
            return CscCredential(
                credential_id=credential_id, certificate=certs[0], chain=tuple(certs[1:]),
                key_algorithms=algorithms, scal=int(data.get("SCAL", 1)), multisign=int(data.get("multisign", 1)),
                auth_mode=str(auth.get("mode") or data.get("authMode") or "explicit"),
            )
        except (KeyError, IndexError, TypeError, ValueError) as e:
            raise RemoteSigningRefused(
                f"The remote signing service's description of credential {credential_id!r} is malformed ({e}).",
            ) from None

    def authorize(self, credential_id: str, num_signatures: int, *, pin: str | None = None,
                  otp: str | None = None, hashes: list[str] | None = None) -> CscAuthorization:
        body: dict[str, Any] = {"credentialID": credential_id, "numSignatures": num_signatures}
        if hashes is not None:
            body["hashes"] = hashes
            body["hashAlgorithmOID"] = SHA256
        if pin is not None:
            body["PIN"] = pin
        if otp is not None:
            body["OTP"] = otp
        data = self.call("credentials/authorize", body)
        sad = data.get("SAD")
        if not isinstance(sad, str):
            raise RemoteSigningRefused("The remote signing service's authorization has no SAD.")
        expires_in = int(data.get("expiresIn", 3600))
        return CscAuthorization(sad=sad, num_signatures=num_signatures, expires_at=time.monotonic() + expires_in)

    def sign_hashes(self, credential_id: str, sad: str, hashes: list[bytes]) -> list[bytes]:
        data = self.call("signatures/signHash", {
            "credentialID": credential_id, "SAD": sad,
            "hashes": [base64.b64encode(h).decode("ascii") for h in hashes],
            "hashAlgorithmOID": SHA256, "signAlgo": RSA_ENCRYPTION, "operationMode": "S",
        })
        try:
            signatures = [base64.b64decode(s) for s in data["signatures"]]
        except (KeyError, TypeError, ValueError):
            raise RemoteSigningRefused("The remote signing service returned no signatures.") from None
        if len(signatures) != len(hashes):
            raise RemoteSigningRefused(
                f"The remote signing service returned {len(signatures)} signatures for {len(hashes)} hashes.")
        return signatures

    def close(self) -> None:
        self.session.close()


def _csc_error(endpoint: str, status: int, error: str, description: str) -> SigningError:
    said = f": {description}" if description else ""
    text = f"{error} {description}".lower()
    if endpoint == "credentials/authorize" and (error in ("invalid_pin", "invalid_otp") or
                                                ("invalid" in text and ("pin" in text or "otp" in text))):
        return WrongPassphrase(f"The remote signing service did not accept the PIN/OTP{said}.")
    if status == 401 or error in ("invalid_token", "unauthorized_client", "access_denied"):
        return RemoteSigningLoginFailed(f"The remote signing service did not accept the login{said}.")
    if "credentialid" in text:
        return KeyNotFound(f"The remote signing service has no such credential{said}.")
    if endpoint == "signatures/signHash" and "sad" in text:
        return RemoteSigningNotAuthorized(f"The remote signing authorization was not accepted{said}.")
    return RemoteSigningRefused(f"The remote signing service refused {endpoint} ({error or status}){said}.")


class _CscSigner(Signer):
    """pyHanko's side: the CMS asks for a raw signature, we send its hash."""

    def __init__(self, key: CscKey, credential: CscCredential) -> None:
        registry = SimpleCertificateStore()
        registry.register_multiple([credential.certificate, *credential.chain])
        super().__init__(signing_cert=credential.certificate, cert_registry=registry)
        self._key = key
        self._size = credential.certificate.public_key.bit_size // 8

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        if dry_run:  # sizing the CMS: an RSA signature is as long as the modulus
            return bytes(self._size)
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)["algorithm"].native
        if digest_algorithm != "sha256" or mechanism != "sha256_rsa":
            raise SigningError(f"Remote signing supports RSA with SHA-256 only, not {mechanism}.")
        digest = hashlib.sha256(data).digest()
        return await asyncio.to_thread(self._key.sign_digest, digest)


class CscKey:
    """A key held by a remote signing service, reached over the CSC API v2.

    Opening it logs in (or uses `token`), finds the credential, fetches its
    certificates and, for a SCAL 1 credential, authorizes `num_signatures`
    signatures with `pin`/`otp`: a wrong PIN, an unknown credential or an
    unreachable service is reported before any document is touched.
    """

    def __init__(
        self,
        service_url: str,
        credential_id: str | None = None,
        *,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        pin: str | None = None,
        otp: str | None = None,
        num_signatures: int = 1,
        timeout: float = 30.0,
    ) -> None:
        if num_signatures < 1:
            raise SigningError("num_signatures must be at least 1.")
        self._client = CscClient(service_url, token=token, timeout=timeout)
        self._lock = threading.Lock()
        self._authorization: CscAuthorization | None = None
        self._remaining = 0
        try:
            if token is None:
                if username is None or password is None:
                    raise RemoteSigningLoginFailed("Give the remote signing service a token or a username and password.")
                self._client.login(username, password)
            available = self._client.list_credentials()
            if credential_id is None:
                if len(available) != 1:
                    raise KeyNotFound(f"The remote signing service holds {len(available)} credentials; "
                                      f"say which one to use.")
                credential_id = available[0]
            elif credential_id not in available:
                raise KeyNotFound(f"The remote signing service has no credential {credential_id!r}.")
            self.credential = self._client.credential_info(credential_id)
            if RSA_ENCRYPTION not in self.credential.key_algorithms and \
                    SHA256_WITH_RSA not in self.credential.key_algorithms:
                raise SigningError("The remote key is not an RSA key; only RSA with SHA-256 is supported.")
            if self.credential.auth_mode == "oauth2code":
                raise SigningError("The credential needs OAuth2 authorization, which is not supported.")
            self._pin, self._otp = pin, otp
            if self.credential.scal == 2:
                if otp is not None:
                    raise SigningError("A SCAL 2 credential needs a fresh authorization per signature; "
                                       "a one-time password cannot be reused for that.")
            else:
                self.authorize(num_signatures, pin=pin, otp=otp)
                self._pin = self._otp = None  # the SAD is all we keep
        except BaseException:
            self._client.close()
            raise
        self._signer = _CscSigner(self, self.credential)

    @property
    def certificate(self) -> asn1_x509.Certificate:
        return self.credential.certificate

    @property
    def remaining_signatures(self) -> int:
        """How many signatures the current authorization still covers (SCAL 1)."""
        return self._remaining

    def signer(self) -> Signer:
        return self._signer

    def authorize(self, num_signatures: int, *, pin: str | None = None, otp: str | None = None) -> None:
        """Authorize `num_signatures` more signatures (SCAL 1), e.g. for the
        next batch; replaces what is left of the previous authorization."""
        authorization = self._client.authorize(self.credential.credential_id, num_signatures, pin=pin, otp=otp)
        with self._lock:
            self._authorization, self._remaining = authorization, num_signatures

    def sign_digest(self, digest: bytes) -> bytes:
        """A raw RSA PKCS#1 v1.5 signature of a SHA-256 digest."""
        credential_id = self.credential.credential_id
        if self.credential.scal == 2:
            hashes = [base64.b64encode(digest).decode("ascii")]
            one_time = self._client.authorize(credential_id, 1, pin=self._pin, hashes=hashes)
            return self._client.sign_hashes(credential_id, one_time.sad, [digest])[0]
        with self._lock:
            authorization = self._authorization
            if authorization is None or self._remaining < 1 or time.monotonic() >= authorization.expires_at:
                raise RemoteSigningNotAuthorized(
                    f"The remote signing authorization ({authorization.num_signatures if authorization else 0} "
                    f"signatures) is used up or has expired; authorize again with the PIN.")
            self._remaining -= 1
        return self._client.sign_hashes(credential_id, authorization.sad, [digest])[0]

    def close(self) -> None:
        self._pin = self._otp = None
        self._authorization = None
        self._client.close()

    def __enter__(self) -> CscKey:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = [
    "CscAuthorization", "CscClient", "CscCredential", "CscKey",
    "RemoteSigningLoginFailed", "RemoteSigningNotAuthorized", "RemoteSigningRefused", "RemoteSigningUnavailable",
]
