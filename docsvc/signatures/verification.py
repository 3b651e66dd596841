"""The service's side of signing: which roots it trusts, which time-stamping
authority it uses, and the development PKI that lets the embedded profile
sign at B-LTA out of the box. The cryptography is all in `signing/`."""
from __future__ import annotations

import errno
import io
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from docsvc import sandbox
from docsvc.config import Settings
from docsvc.documents import Spooled
from docsvc.errors import FileTooComplex
from docsvc.pdf import check_declared_sizes
from docsvc.sandbox import ParseBudget
from signing import ReasonCode, TrustConfig, VerificationReport, verify_pdf
from signing.devservices import DevServices
from signing.outbound import FetchPolicy
from signing.pki import MANIFEST, DevPki, init_pki, load_pki
from signing.reasons import reason

CERTIFICATE_SUFFIXES = (".pem", ".crt", ".cer", ".der")


def dev_pki(settings: Settings) -> DevPki | None:
    folder = Path(settings.pki_dir)
    return load_pki(folder) if (folder / MANIFEST).exists() else None


def create_dev_pki(settings: Settings) -> DevPki:
    """Make the development PKI (once) and trust its root in this installation."""
    pki = init_pki(settings.pki_dir)
    trust_dir = Path(settings.trust_store_dir)
    trust_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(pki.cert_path("root-ca"), trust_dir / "docsvc-dev-root-ca.pem")
    return pki


def trust_config(settings: Settings) -> TrustConfig:
    """Roots from the trust store folder; the development PKI's issuing CA and
    TSA when there is one. The operating system's store is never used.

    What verification may fetch (signing/fetching.py): revocation data of
    certificates that chain to these roots, within fetch_budget_seconds, from
    public addresses, or private ones if fetch_allow_private or listed in
    fetch_allowed_origins. The development PKI's own origin (127.0.0.1) is
    allowed too: the administrator chose it by creating the PKI."""
    trust_dir = Path(settings.trust_store_dir)
    roots = sorted(p for p in trust_dir.glob("*") if p.suffix.lower() in CERTIFICATE_SUFFIXES) if trust_dir.is_dir() else []
    pki = dev_pki(settings)
    extra = [pki.cert_path("issuing-ca")] if pki else []
    tsa_url = settings.tsa_url or (pki.tsa_url if pki else None)
    origins = [o for o in settings.fetch_allowed_origins.split(",") if o.strip()] + ([pki.base_url] if pki else [])
    policy = FetchPolicy(budget_seconds=settings.fetch_budget_seconds, allow_private=settings.fetch_allow_private,
                         allowed_origins=tuple(origins))
    return TrustConfig.from_pem_files(roots, extra_certs=extra, tsa_url=tsa_url, fetch_policy=policy)


def _answering(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def dev_services(settings: Settings) -> Iterator[DevServices | None]:
    """Run the development PKI's TSA, OCSP and CRL while the block runs, unless
    a `docsvc serve` of this installation already serves them."""
    pki = dev_pki(settings)
    if pki is None or _answering(pki.port):
        yield None
        return
    try:
        services = DevServices(pki).start()
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        # The probe can time out while a starved `docsvc serve` holds the port:
        # then its services are there, which is all this block needs.
        yield None
        return
    try:
        yield services
    finally:
        services.stop()


def verify(settings: Settings, stream: BinaryIO) -> VerificationReport:
    """Verify any PDF against this installation's trust store."""
    return _verify_bounded(settings, stream.read())


def verify_upload(settings: Settings, upload: Spooled) -> VerificationReport:
    """Verify an uploaded file; it is not kept, whatever the outcome."""
    try:
        return _verify_bounded(settings, upload.path)
    finally:
        upload.discard()


def _verify_bounded(settings: Settings, source: Path | bytes) -> VerificationReport:
    """Verification of a file from anywhere, within the parse budget: a file
    that declares more than it holds is "invalid" unread, one that needs more
    memory or time than the budget is "indeterminate", each with the reason."""
    try:
        check_declared_sizes(source)
    except FileTooComplex as exc:
        return VerificationReport("invalid", [], [reason(ReasonCode.FILE_DECLARES_TOO_MUCH, detail=exc.message)])
    with dev_services(settings):
        try:
            return sandbox.call(_verify_here, settings, source, budget=ParseBudget.of(settings))
        except FileTooComplex as exc:
            return VerificationReport("indeterminate", [], [reason(ReasonCode.FILE_TOO_COMPLEX, detail=exc.message)])


def _verify_here(settings: Settings, source: Path | bytes) -> VerificationReport:
    """In the parse child (pyHanko's reader allocates for whatever the file claims)."""
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    return verify_pdf(io.BytesIO(data), trust_config(settings))
