"""What the signatures of one batch share, and for how long.

Before each signature pyHanko validates the signer's certificate and the
TSA's (OCSP and CRL fetched, responses and chains checked) and asks the TSA
for a dummy time-stamp to learn its certificates; at B-LTA it validates the
TSA again for the document time-stamp. For a batch signed with one key
against one TSA all of that is the same answer every time: about two thirds
of a B-T signature's CPU and four network round trips.

A `SigningBatch` keeps it for the signatures made through it:

- one time-stamper (the TSA's dummy token, hence its certificates, once);
- per signer certificate, the validation found before signing: the
  certificate paths of the signer and of the TSA, and the OCSP responses and
  CRLs that established them (embedded in the DSS at B-LT/B-LTA).

A kept validation is reused only until the first of: `max_age` after it was
made (5 minutes by default: a certificate revoked meanwhile stops signing
by then), the nextUpdate of any OCSP response or CRL it rests on (a response
without nextUpdate is never reused), and the end of validity of any
certificate on its paths. It is keyed by the signer's certificate, so two
keys never share one, and a failed validation (revoked, untrusted) is never
kept: the next document checks again. A batch lives as long as its owner
keeps it: one approver's batch, one issuing request.

A document whose own content takes part in the pre-signing check (at B-LTA,
an earlier document time-stamp whose chain must continue) is validated in
full; the rest is still shared.
"""
from __future__ import annotations

import hashlib
import weakref
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign.signers import Signer
from pyhanko.sign.signers.pdf_signer import PdfSigningSession, PreSignValidationStatus
from pyhanko.sign.timestamps import TimeStamper
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.path import ValidationPath

from .trust import TrustConfig

DEFAULT_MAX_AGE = timedelta(minutes=5)
Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Validated:
    """One signer's pre-signing validation, and until when it may stand in
    for a new one."""

    signer_path: ValidationPath
    ts_paths: tuple[ValidationPath, ...] | None
    ocsps: tuple[asn1_ocsp.OCSPResponse, ...]
    crls: tuple[asn1_crl.CertificateList, ...]
    valid_until: datetime

    def status(self) -> PreSignValidationStatus:
        # New lists every time: pyHanko appends to them while signing.
        return PreSignValidationStatus(
            validation_paths=[self.signer_path, *(self.ts_paths or ())],
            signer_path=self.signer_path,
            ts_validation_paths=list(self.ts_paths) if self.ts_paths is not None else None,
            ocsps_to_embed=list(self.ocsps),
            crls_to_embed=list(self.crls),
        )


def valid_until(paths: Iterable[ValidationPath], ocsps: Iterable[asn1_ocsp.OCSPResponse],
                crls: Iterable[asn1_crl.CertificateList], made_at: datetime, max_age: timedelta) -> datetime | None:
    """Until when a validation made at `made_at` on these paths and this
    revocation data may be reused; None if it must not be (an OCSP response
    or CRL without nextUpdate, or one that cannot be read)."""
    limits = [made_at + max_age]
    try:
        for path in paths:
            limits.extend(cert["tbs_certificate"]["validity"]["not_after"].native
                          for cert in path.iter_certs(include_root=True))
        for response in ocsps:
            for single in response.basic_ocsp_response["tbs_response_data"]["responses"]:
                limits.append(single["next_update"].native)
        for crl in crls:
            limits.append(crl["tbs_cert_list"]["next_update"].native)
    except (KeyError, ValueError, TypeError, AttributeError):
        return None
    if any(limit is None for limit in limits):
        return None
    return min(limits)


def _cert_id(cert: x509.Certificate) -> bytes:
    return hashlib.sha256(cert.dump()).digest()


class SigningBatch:
    """The shared part of many signatures against one TrustConfig (see the
    module's docstring). Not for use by several threads at once; one batch
    may serve documents in flight together on one event loop (sign_pdfs)."""

    def __init__(self, trust: TrustConfig | None, *, max_age: timedelta = DEFAULT_MAX_AGE,
                 clock: Clock = _now) -> None:
        self.trust = trust
        self.max_age = max_age
        self._clock = clock
        self._timestamper: _SharedTimestamper | None = None
        self._validated: dict[tuple[bytes, bool, bool], Validated] = {}
        # Contexts made for a document from a kept validation: pyHanko's
        # document time-stamp (B-LTA) asks them for the TSA's paths again.
        self._seeded: weakref.WeakKeyDictionary[ValidationContext, Validated] = weakref.WeakKeyDictionary()

    def timestamper(self) -> TimeStamper | None:
        if self._timestamper is None and self.trust is not None:
            inner = self.trust.get_timestamper()
            if inner is not None:
                self._timestamper = _SharedTimestamper(inner, self)
        return self._timestamper

    def _key(self, signer: Signer, check_revocation: bool, timestamped: bool) -> tuple[bytes, bool, bool] | None:
        cert = signer.signing_cert
        return None if cert is None else (_cert_id(cert), check_revocation, timestamped)

    def _fresh(self, key: tuple[bytes, bool, bool] | None) -> Validated | None:
        entry = self._validated.get(key) if key is not None else None
        if entry is not None and self._clock() >= entry.valid_until:
            del self._validated[key]  # type: ignore[arg-type]  # not None: an entry was found
            return None
        return entry

    def validation_context(self, signer: Signer, *, check_revocation: bool, timestamped: bool
                           ) -> ValidationContext | None:
        """The context a document is signed with: the kept revocation data
        for this signer already in it, so that what the DSS receives is the
        same as after a validation of its own."""
        if self.trust is None:
            return None
        entry = self._fresh(self._key(signer, check_revocation, timestamped))
        if entry is None:
            return self.trust.validation_context(check_revocation=check_revocation)
        context = self.trust.validation_context(check_revocation=check_revocation, ocsps=entry.ocsps,
                                                crls=entry.crls)
        self._seeded[context] = entry
        return context

    async def presign(self, session: PdfSigningSession, writer: IncrementalPdfFileWriter, *, check_revocation: bool
                      ) -> PreSignValidationStatus | None:
        """pyHanko's perform_presign_validation, or the kept one for this signer."""
        meta = session.pdf_signer.signature_meta
        context = meta.validation_context
        if context is None:
            return None
        timestamped = session.timestamper is not None
        shareable = meta.ac_validation_context is None and not (
            meta.use_pades_lta and writer.prev.embedded_timestamp_signatures)
        key = self._key(session.pdf_signer.signer, check_revocation, timestamped) if shareable else None
        entry = self._fresh(key)
        if entry is not None:
            return entry.status()
        made_at = self._clock()
        status = await session.perform_presign_validation(writer)
        if key is not None and status is not None and status.adobe_revinfo_attr is None:
            ts_paths = tuple(status.ts_validation_paths) if status.ts_validation_paths is not None else None
            until = valid_until([status.signer_path, *(ts_paths or ())], status.ocsps_to_embed,
                                status.crls_to_embed, made_at, self.max_age)
            if until is not None:
                entry = Validated(status.signer_path, ts_paths, tuple(status.ocsps_to_embed),
                                  tuple(status.crls_to_embed), until)
                self._validated[key] = entry
                self._seeded[context] = entry
        return status

    def _tsa_paths(self, context: ValidationContext) -> tuple[ValidationPath, ...] | None:
        entry = self._seeded.get(context)
        if entry is None or entry.ts_paths is None or self._clock() >= entry.valid_until:
            return None
        return entry.ts_paths


class _SharedTimestamper(TimeStamper):
    """The batch's TSA: requests go to `inner` (its dummy token fetched
    once); the TSA's validation paths come from the batch while a kept
    validation covers the context asking."""

    def __init__(self, inner: TimeStamper, batch: SigningBatch) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # pyHanko's, unannotated
        self.inner = inner
        self._batch = batch

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str):  # type: ignore[no-untyped-def]
        return await self.inner.async_timestamp(message_digest, md_algorithm)

    async def async_dummy_response(self, md_algorithm: str):  # type: ignore[no-untyped-def]
        return await self.inner.async_dummy_response(md_algorithm)

    async def validation_paths(self, validation_context: ValidationContext) -> AsyncIterator[ValidationPath]:
        kept = self._batch._tsa_paths(validation_context)
        if kept is not None:
            for path in kept:
                yield path
            return
        async for path in self.inner.validation_paths(validation_context):
            yield path
