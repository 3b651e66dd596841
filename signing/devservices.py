"""The development PKI's online services: TSA, OCSP responder, CRLs, CA certs.

Served over real HTTP on 127.0.0.1 (stdlib http.server in a daemon thread)
at the port baked into the certificates, so pyHanko and pdfsig fetch
revocation data and time-stamps exactly as from a licensed CA. Answers are
computed per request (fresh thisUpdate), which keeps them valid however long
a test run or a developer's session lasts.

    with DevServices(pki):
        sign_pdf(..., level="B-LT", trust=pki.trust_config())
"""
from __future__ import annotations

import base64
import logging
import os
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from pyhanko.sign.timestamps import DummyTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from .pki import SERIALS, DevPki, to_asn1_cert, to_asn1_key

log = logging.getLogger(__name__)

# Short validity, like a real CA's: verification relies on it being fresh.
ANSWER_VALIDITY = timedelta(days=7)
# Backdate thisUpdate slightly so a validator whose clock is a little behind
# does not see revocation data "from the future".
CLOCK_SKEW = timedelta(minutes=1)


def in_process_timestamper(pki: DevPki) -> DummyTimeStamper:
    """The dev TSA without HTTP, for TrustConfig(timestamper=...): fast
    offline signing in tests and on a laptop without the services."""
    tsa, issuing, root = pki.identity("tsa"), pki.identity("issuing-ca"), pki.identity("root-ca")
    return DummyTimeStamper(
        tsa_cert=to_asn1_cert(tsa.certificate),
        tsa_key=to_asn1_key(tsa.key),
        certs_to_embed=SimpleCertificateStore.from_certs(
            [to_asn1_cert(issuing.certificate), to_asn1_cert(root.certificate)]),
    )


class _Responder:
    """Everything the handler needs, loaded once per service start."""

    def __init__(self, pki: DevPki) -> None:
        self.pki = pki
        root, issuing = pki.identity("root-ca"), pki.identity("issuing-ca")
        self.root, self.issuing = root, issuing
        self.ocsp_signer = pki.identity("ocsp")
        self.timestamper = in_process_timestamper(pki)
        # Certificates this CA issued, by serial, so OCSP can say good/unknown.
        self.issued = {}
        for name in SERIALS:
            if name not in ("root-ca", "issuing-ca"):
                cert = x509.load_pem_x509_certificate(pki.cert_path(name).read_bytes())
                self.issued[cert.serial_number] = cert
        # serial -> (when, why); the PKI's own revocations are key compromises.
        self.revoked: dict[int, tuple[datetime, x509.ReasonFlags]] = {
            serial: (when, x509.ReasonFlags.key_compromise) for serial, when in pki.revoked.items()
        }
        self.ca_certs = {
            "root-ca.cer": root.certificate.public_bytes(serialization.Encoding.DER),
            "issuing-ca.cer": issuing.certificate.public_bytes(serialization.Encoding.DER),
        }

    def crl(self, name: str) -> bytes | None:
        if name == "root-ca.crl":
            ca, revoked = self.root, {}
        elif name == "issuing-ca.crl":
            ca, revoked = self.issuing, self.revoked
        else:
            return None
        now = datetime.now(UTC)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(ca.certificate.subject)
            .last_update(now - CLOCK_SKEW)
            .next_update(now + ANSWER_VALIDITY)
            .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False)
        )
        for serial, (when, why) in revoked.items():
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when)
                .add_extension(x509.CRLReason(why), critical=False).build()
            )
        return builder.sign(ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def ocsp(self, request_der: bytes) -> bytes:
        try:
            request = ocsp.load_der_ocsp_request(request_der)
        except ValueError:
            return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST).public_bytes(
                serialization.Encoding.DER)
        issuer = self.issuing.certificate
        cert = self.issued.get(request.serial_number)
        if cert is None or request.issuer_key_hash != _key_hash(issuer, request.hash_algorithm):
            return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED).public_bytes(
                serialization.Encoding.DER)
        now = datetime.now(UTC)
        revoked_at, why = self.revoked.get(request.serial_number, (None, None))
        builder = ocsp.OCSPResponseBuilder().add_response(
            cert=cert, issuer=issuer, algorithm=request.hash_algorithm,
            cert_status=ocsp.OCSPCertStatus.REVOKED if revoked_at else ocsp.OCSPCertStatus.GOOD,
            this_update=now - CLOCK_SKEW, next_update=now + ANSWER_VALIDITY,
            revocation_time=revoked_at, revocation_reason=why,
        )
        builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, self.ocsp_signer.certificate)
        builder = builder.certificates([self.ocsp_signer.certificate])
        for ext in request.extensions:
            if isinstance(ext.value, x509.OCSPNonce):
                builder = builder.add_extension(ext.value, critical=False)
        return builder.sign(self.ocsp_signer.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def timestamp(self, request_der: bytes) -> bytes:
        request = tsp.TimeStampReq.load(request_der)
        response: bytes = self.timestamper.request_tsa_response(request).dump()
        return response


def _key_hash(cert: x509.Certificate, algorithm: hashes.HashAlgorithm) -> bytes:
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    # issuerKeyHash is over the BIT STRING of the key, not the whole SPKI.
    key_bits = asn1_keys.PublicKeyInfo.load(spki)["public_key"].contents[1:]
    digest = hashes.Hash(type(algorithm)())
    digest.update(key_bits)
    return digest.finalize()


def _handler(responder: _Responder) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path == "/ocsp":
                self._send(200, "application/ocsp-response", responder.ocsp(body))
            elif self.path == "/tsa":
                try:
                    self._send(200, "application/timestamp-reply", responder.timestamp(body))
                except ValueError:
                    self._send(400, "text/plain", b"malformed time-stamp request")
            else:
                self._send(404, "text/plain", b"not found")

        def do_GET(self) -> None:
            if self.path.startswith("/ocsp/"):
                # RFC 6960 A.1: GET {url}/{url-encoding of base64 of DER}
                der = base64.b64decode(unquote(self.path[len("/ocsp/"):]))
                self._send(200, "application/ocsp-response", responder.ocsp(der))
            elif self.path.startswith("/crl/") and (data := responder.crl(self.path[len("/crl/"):])):
                self._send(200, "application/pkix-crl", data)
            elif self.path.startswith("/certs/") and (data := responder.ca_certs.get(self.path[len("/certs/"):])):
                self._send(200, "application/pkix-cert", data)
            else:
                self._send(404, "text/plain", b"not found")

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib's name
            log.debug("devservices: " + format, *args)

    return Handler


class DevServices:
    """TSA + OCSP + CRL + CA certificates of a DevPki, on its port."""

    def __init__(self, pki: DevPki) -> None:
        self.pki = pki
        self._server: ThreadingHTTPServer | None = None
        self._responder: _Responder | None = None
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    def start(self) -> DevServices:
        if self._server is None:
            self._pid = os.getpid()
            self._responder = _Responder(self.pki)
            server = ThreadingHTTPServer(("127.0.0.1", self.pki.port), _handler(self._responder))
            server.daemon_threads = True
            self._server = server
            self._thread = threading.Thread(target=server.serve_forever, name="docsvc-devservices", daemon=True)
            self._thread.start()
        return self

    def revoke(self, name: str, reason: x509.ReasonFlags = x509.ReasonFlags.superseded) -> datetime:
        """Revoke a certificate from now on, until these services stop
        (e.g. an official leaves office: 'superseded'). Returns the time."""
        if self._responder is None:
            raise RuntimeError("start the services first")
        when = datetime.now(UTC).replace(microsecond=0)
        self._responder.revoked[SERIALS[name]] = (when, reason)
        return when

    def stop(self) -> None:
        # A process forked while the services ran (a gunicorn worker) has the
        # server object but not its thread: shutdown() would wait forever.
        if self._server is not None and self._pid == os.getpid():
            self._server.shutdown()
            self._server.server_close()
            self._server = self._responder = None

    def __enter__(self) -> DevServices:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
