"""A small but real remote signing service speaking the CSC API v2, for tests.

stdlib http.server in a thread on 127.0.0.1 (a free port), holding the dev
PKI's official key as two credentials: "an-scal1" (SAD for a number of
signatures) and "an-scal2" (SAD bound to the hashes). It checks what a
trust service provider checks: the bearer token, the PIN, that the SAD is
for this credential, not expired, not used up and (SCAL 2) names exactly
the hashes being signed; then it signs with the private key.

    with CscServer(pki) as server:
        key = CscKey(server.url, "an-scal1", token=server.token, pin=server.pin)
        ...
        server.calls["credentials/authorize"]
"""
from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, utils

from signing.pki import DevPki

RSA_ENCRYPTION = "1.2.840.113549.1.1.1"
SHA256_WITH_RSA = "1.2.840.113549.1.1.11"
SHA256 = "2.16.840.1.101.3.4.2.1"
PREFIX = "/csc/v2/"


class CscProtocolError(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


@dataclass
class _Sad:
    credential_id: str
    remaining: int
    hashes: set[str] | None  # bound hashes (base64), SCAL 2
    expires_at: float


class CscServer:
    def __init__(self, pki: DevPki, *, pin: str = "246810", username: str = "nguyenvanan",
                 password: str = "mat-khau", sad_lifetime: int = 300) -> None:
        self.pin, self.username, self.password = pin, username, password
        self.token = secrets.token_urlsafe(16)  # a token issued out of band (OAuth2 elsewhere)
        self.sad_lifetime = sad_lifetime
        identity = pki.identity("official")
        self._key = identity.key
        self._certs = [base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode()
                       for c in (identity.certificate, *identity.chain)]
        self.credentials = {"an-scal1": 1, "an-scal2": 2}
        self.calls: Counter[str] = Counter()
        self.signed_hashes: list[str] = []
        self._tokens = {self.token}
        self._sads: dict[str, _Sad] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start the server first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # --- endpoints -----------------------------------------------------

    def handle(self, endpoint: str, body: dict, authorization: str | None) -> dict:
        with self._lock:
            self.calls[endpoint] += 1
        if endpoint == "info":
            return {"specs": "2.0.0.2", "name": "docsvc test RSSP", "logo": "", "region": "VN", "lang": "vi-VN",
                    "description": "test", "authType": ["basic", "external"],
                    "methods": ["auth/login", "credentials/list", "credentials/info", "credentials/authorize",
                                "signatures/signHash"]}
        if endpoint == "auth/login":
            return self._login(authorization)
        if not authorization or not authorization.startswith("Bearer ") or \
                authorization[len("Bearer "):] not in self._tokens:
            raise CscProtocolError(401, "invalid_token", "The access token is not valid")
        if endpoint == "credentials/list":
            return {"credentialIDs": list(self.credentials)}
        if endpoint == "credentials/info":
            scal = self.credentials[self._credential(body)]
            return {"description": "Chữ ký số của Nguyễn Văn An",
                    "key": {"status": "enabled", "algo": [RSA_ENCRYPTION, SHA256_WITH_RSA], "len": 2048},
                    "cert": {"status": "valid", "certificates": self._certs},
                    "auth": {"mode": "explicit", "objects": [{"type": "Password", "id": "PIN", "format": "N"}]},
                    "SCAL": str(scal), "multisign": 10, "lang": "vi-VN"}
        if endpoint == "credentials/authorize":
            return self._authorize(body)
        if endpoint == "signatures/signHash":
            return self._sign_hash(body)
        raise CscProtocolError(404, "invalid_request", f"Unknown method {endpoint}")

    def _login(self, authorization: str | None) -> dict:
        try:
            scheme, encoded = (authorization or "").split(" ", 1)
            user, password = base64.b64decode(encoded).decode().split(":", 1)
        except ValueError:
            raise CscProtocolError(401, "unauthorized_client", "Basic authentication required") from None
        if scheme != "Basic" or (user, password) != (self.username, self.password):
            raise CscProtocolError(401, "unauthorized_client", "The user name or password is wrong")
        token = secrets.token_urlsafe(16)
        with self._lock:
            self._tokens.add(token)
        return {"access_token": token, "expires_in": 3600}

    def _credential(self, body: dict) -> str:
        credential_id = body.get("credentialID")
        if credential_id not in self.credentials:
            raise CscProtocolError(400, "invalid_request", "Invalid parameter credentialID")
        return credential_id

    def _authorize(self, body: dict) -> dict:
        credential_id = self._credential(body)
        if body.get("PIN") != self.pin:
            raise CscProtocolError(400, "invalid_pin", "The PIN is invalid")
        count = body.get("numSignatures")
        if not isinstance(count, int) or count < 1:
            raise CscProtocolError(400, "invalid_request", "Invalid parameter numSignatures")
        bound = body.get("hashes")
        if self.credentials[credential_id] == 2 and (
            not isinstance(bound, list) or len(bound) != count or body.get("hashAlgorithmOID") != SHA256
        ):
            raise CscProtocolError(400, "invalid_request", "Missing or invalid parameter hashes")
        sad = secrets.token_urlsafe(24)
        with self._lock:
            self._sads[sad] = _Sad(credential_id, count, set(bound) if bound else None,
                                   time.monotonic() + self.sad_lifetime)
        return {"SAD": sad, "expiresIn": self.sad_lifetime}

    def _sign_hash(self, body: dict) -> dict:
        credential_id = self._credential(body)
        requested = body.get("hashes")
        if not isinstance(requested, list) or not requested:
            raise CscProtocolError(400, "invalid_request", "Missing parameter hashes")
        if body.get("hashAlgorithmOID") != SHA256 or body.get("signAlgo") not in (RSA_ENCRYPTION, SHA256_WITH_RSA):
            raise CscProtocolError(400, "invalid_request", "Invalid parameter signAlgo or hashAlgorithmOID")
        with self._lock:
            sad = self._sads.get(str(body.get("SAD")))
            if sad is None or sad.credential_id != credential_id or time.monotonic() >= sad.expires_at:
                raise CscProtocolError(400, "invalid_request", "Invalid parameter SAD")
            if len(requested) > sad.remaining:
                raise CscProtocolError(400, "invalid_request", "Invalid parameter SAD: no signatures left")
            if sad.hashes is not None and not set(requested) <= sad.hashes:
                raise CscProtocolError(400, "invalid_request", "Invalid parameter SAD: hashes not authorized")
            sad.remaining -= len(requested)
            if sad.remaining == 0:
                del self._sads[str(body["SAD"])]
            self.signed_hashes.extend(requested)
        try:
            digests = [base64.b64decode(h, validate=True) for h in requested]
        except ValueError:
            raise CscProtocolError(400, "invalid_request", "Invalid parameter hashes") from None
        if any(len(d) != 32 for d in digests):
            raise CscProtocolError(400, "invalid_request", "Invalid parameter hashes")
        signatures = [self._key.sign(d, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256())) for d in digests]
        return {"signatures": [base64.b64encode(s).decode() for s in signatures]}

    # --- HTTP ------------------------------------------------------------

    def start(self) -> CscServer:
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    if not self.path.startswith(PREFIX):
                        raise CscProtocolError(404, "invalid_request", "Not a CSC v2 URL")
                    try:
                        body = json.loads(raw or b"{}")
                    except ValueError:
                        raise CscProtocolError(400, "invalid_request", "The body is not JSON") from None
                    if not isinstance(body, dict):
                        raise CscProtocolError(400, "invalid_request", "The body is not a JSON object")
                    answer, status = service.handle(self.path[len(PREFIX):], body,
                                                    self.headers.get("Authorization")), 200
                except CscProtocolError as e:
                    answer, status = {"error": e.error, "error_description": e.description}, e.status
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib's name
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="csc-test-server", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> CscServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
