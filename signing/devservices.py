"""The development PKI's online services: TSA, OCSP responder, CRLs, CA certs.

Served over real HTTP on 127.0.0.1 (stdlib http.server in a daemon thread)
at the port baked into the certificates, so pyHanko and pdfsig fetch
revocation data and time-stamps exactly as from a licensed CA. Answers are
computed per request (fresh thisUpdate), which keeps them valid however long
a test run or a developer's session lasts.

    with DevServices(pki):
        sign_pdf(..., level="B-LT", trust=pki.trust_config())

`latency` delays every answer, as a TSA or CA across a network would; and
`python -m signing.devservices PKI_DIR [--latency-ms 50]` serves a PKI from
a process of its own (the signing bench, so that the services' CPU is not
counted as the signer's).
"""
from __future__ import annotations

import argparse
import base64
import logging
import os
import signal
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from asn1crypto import cms, core, tsp
from asn1crypto import keys as asn1_keys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.x509 import ocsp
from pyhanko.sign.general import as_signing_certificate, simple_cms_attribute
from pyhanko.sign.timestamps import DummyTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from .pki import SERIALS, DevPki, load_pki, to_asn1_cert, to_asn1_key

log = logging.getLogger(__name__)

# Short validity, like a real CA's: verification relies on it being fresh.
ANSWER_VALIDITY = timedelta(days=7)
# Backdate thisUpdate slightly so a validator whose clock is a little behind
# does not see revocation data "from the future".
CLOCK_SKEW = timedelta(minutes=1)


class _DevTimestamper(DummyTimeStamper):
    """pyHanko's DummyTimeStamper re-parses its DER key for every token,
    and cryptography validates an RSA key on load (~45 ms); this one signs
    with the key loaded once. The signed attributes are DummyTimeStamper's
    (pyHanko 0.38), so the tokens are the same."""

    def __init__(self, *, tsa_key: RSAPrivateKey, **kwargs: Any) -> None:
        super().__init__(tsa_key=to_asn1_key(tsa_key), **kwargs)
        self._pyca_key = tsa_key

    def _sign_tst_info(self, tst_info_data: bytes, md_algorithm: str, dt: datetime) -> tuple[bytes, cms.CMSAttributes]:
        digest = hashes.Hash(get_pyca_cryptography_hash(md_algorithm))
        digest.update(tst_info_data)
        signed_attrs = cms.CMSAttributes([
            simple_cms_attribute("content_type", "tst_info"),
            simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(dt)})),
            simple_cms_attribute("signing_certificate", as_signing_certificate(self.tsa_cert)),
            simple_cms_attribute("message_digest", digest.finalize()),
        ])
        signature = self._pyca_key.sign(signed_attrs.dump(), PKCS1v15(), get_pyca_cryptography_hash(md_algorithm))
        return signature, signed_attrs


def in_process_timestamper(pki: DevPki) -> DummyTimeStamper:
    """The dev TSA without HTTP, for TrustConfig(timestamper=...): fast
    offline signing in tests and on a laptop without the services."""
    tsa, issuing, root = pki.identity("tsa"), pki.identity("issuing-ca"), pki.identity("root-ca")
    if not isinstance(tsa.key, RSAPrivateKey):
        raise TypeError("the development TSA's key is RSA")
    return _DevTimestamper(
        tsa_cert=to_asn1_cert(tsa.certificate),
        tsa_key=tsa.key,
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


def _handler(responder: _Responder, latency: float) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            time.sleep(latency)
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
            time.sleep(latency)
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
    """TSA + OCSP + CRL + CA certificates of a DevPki, on its port; every
    answer `latency` seconds late (each request in its own thread, so
    requests in flight together wait together)."""

    def __init__(self, pki: DevPki, *, latency: float = 0.0) -> None:
        self.pki = pki
        self.latency = latency
        self._server: ThreadingHTTPServer | None = None
        self._responder: _Responder | None = None
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    def start(self) -> DevServices:
        if self._server is None:
            self._pid = os.getpid()
            self._responder = _Responder(self.pki)
            server = ThreadingHTTPServer(("127.0.0.1", self.pki.port), _handler(self._responder, self.latency))
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a development PKI's TSA, OCSP, CRL and CA certificates.")
    parser.add_argument("pki_dir", help="a folder made by signing.pki.init_pki")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay every answer (default 0)")
    args = parser.parse_args(argv)
    services = DevServices(load_pki(args.pki_dir), latency=args.latency_ms / 1000).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"serving {services.pki.base_url}", flush=True)
    while not stop.wait(0.5):
        pass
    services.stop()


if __name__ == "__main__":
    main()
