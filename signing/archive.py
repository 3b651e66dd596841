"""Keeping B-LTA documents verifiable: renewing the archive time-stamp.

A B-LTA document ends with a document time-stamp over the signatures and
their validation data. That time-stamp is only as good as its TSA's
certificate: once it expires (or the TSA's algorithms weaken) nobody can
rely on it any more. Before that day the archive adds, in an incremental
update, the validation data of that last time-stamp (the TSA's chain, OCSP
responses, CRLs) and a new document time-stamp over everything, from a TSA
whose certificate runs longer. Repeated every few years, the chain keeps
the chairman's 2024 signature provable in 2040.

    status = archive_status(stored_pdf, trust)
    if needs_renewal(status):
        renew_archive_timestamp(stored_pdf, renewed_pdf, trust)

A scheduled job (Celery beat) calls these per stored document; storage and
scheduling are not this module's business.
"""
from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.signers import PdfTimeStamper
from pyhanko.sign.timestamps import TimestampRequestError
from pyhanko.sign.validation import async_validate_pdf_timestamp
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko_certvalidator.errors import PathError, ValidationError

from ._async import run_sync
from .errors import NotAPdf, RevocationUnavailable, SigningError, TimestampUnavailable
from .sign import VIETNAM, open_for_update
from .trust import TrustConfig

Source = bytes | str | Path | BinaryIO
Destination = str | Path | BinaryIO

# Renew well before the TSA certificate expires: a renewal that fails (TSA
# down, CA unreachable) then has months to be retried.
DEFAULT_MARGIN = timedelta(days=180)


class NotArchival(SigningError):
    code = "not_b_lta"
    default_message = "The document has no archive (document) time-stamp; it is not a B-LTA document."


class ArchiveTimestampInvalid(SigningError):
    code = "archive_timestamp_invalid"
    default_message = ("The document's latest archive time-stamp can no longer be validated, so the archive "
                       "chain cannot be extended.")


@dataclass(frozen=True)
class ArchiveStatus:
    is_lta: bool  # signed, and carries at least one document time-stamp
    signatures: int  # signatures (not time-stamps) in the document
    timestamps: int  # document time-stamps in the archive chain
    timestamp_field: str | None  # the latest document time-stamp's field
    timestamp_time: datetime | None  # its time (genTime), Vietnam time
    tsa: str | None  # its TSA's name (CN)
    tsa_expires_at: datetime | None  # its TSA certificate's notAfter, Vietnam time
    timestamp_trusted: bool  # intact and chains to our roots now (revocation not checked here)

    def to_json(self) -> dict[str, object]:
        return {
            "is_lta": self.is_lta, "signatures": self.signatures, "timestamps": self.timestamps,
            "timestamp_field": self.timestamp_field,
            "timestamp_time": self.timestamp_time.isoformat() if self.timestamp_time else None,
            "tsa": self.tsa,
            "tsa_expires_at": self.tsa_expires_at.isoformat() if self.tsa_expires_at else None,
            "timestamp_trusted": self.timestamp_trusted,
        }


def archive_status(pdf: Source, trust: TrustConfig) -> ArchiveStatus:
    """Where the document's archive time-stamp chain stands."""
    return _status(_reader(_read(pdf)), trust)


def needs_renewal(status: ArchiveStatus, now: datetime | None = None, margin: timedelta = DEFAULT_MARGIN) -> bool:
    """True if the latest archive time-stamp's TSA certificate expires within
    `margin` of `now` (or already has). False for a non-B-LTA document:
    there is nothing to renew (archive_status says so in `is_lta`)."""
    if not status.is_lta or status.tsa_expires_at is None:
        return False
    now = now or datetime.now(UTC)
    return status.tsa_expires_at - margin <= now


def renew_archive_timestamp(src: Source, dst: Destination, trust: TrustConfig) -> ArchiveStatus:
    """Append, as an incremental update of `src`, the validation data of its
    latest document time-stamp and a new document time-stamp from
    `trust`'s TSA; write the result to `dst` (a path is written only once
    the whole document is ready). Returns the renewed document's status.

    Refuses a document without a document time-stamp (NotArchival) and one
    whose latest time-stamp no longer validates (ArchiveTimestampInvalid):
    extending a broken chain would only hide that it is broken.
    """
    data = _read(src)
    reader = _reader(data)
    status = _status(reader, trust)
    if not status.is_lta:
        raise NotArchival()
    if not status.timestamp_trusted:
        raise ArchiveTimestampInvalid(
            f"The archive time-stamp {status.timestamp_field!r} of {status.timestamp_time:%Y-%m-%d} no longer "
            f"validates (TSA certificate valid until {status.tsa_expires_at:%Y-%m-%d}); the chain cannot be renewed.")
    timestamper = trust.get_timestamper()
    if timestamper is None:
        raise TimestampUnavailable("Renewing needs a time-stamping authority: give a TrustConfig with tsa_url.")

    taken = {name for name, _, _ in enumerate_sig_fields(reader)}
    n = status.timestamps + 1
    while f"timestamp-{n}" in taken:
        n += 1
    # Revocation data for the last time-stamp is fetched now and embedded:
    # that is the point of the renewal. It was checked to chain to our roots
    # above; the context fetches under the trust's policy (signing/fetching.py).
    context = trust.validation_context(allow_fetching=True, check_revocation=True)
    output = io.BytesIO()
    try:
        run_sync(PdfTimeStamper(timestamper, field_name=f"timestamp-{n}").async_update_archival_timestamp_chain(
            reader, context, in_place=False, output=output))
    except TimestampRequestError as e:
        raise TimestampUnavailable(f"The time-stamping authority did not answer: {e}") from e
    except SignatureValidationError as e:
        raise ArchiveTimestampInvalid(f"The latest archive time-stamp does not validate: {e}") from e
    except (ValidationError, PathError) as e:
        raise RevocationUnavailable(f"Validation data for the latest archive time-stamp is unavailable: {e}") from e
    except PyHankoSigningError as e:
        raise SigningError(f"Renewing the archive time-stamp failed: {e}") from e
    renewed = output.getvalue()
    _write(dst, renewed)
    return _status(_reader(renewed), trust)


def _status(reader: PdfFileReader, trust: TrustConfig) -> ArchiveStatus:
    embedded = reader.embedded_signatures
    signatures = sum(1 for s in embedded if s.sig_object_type == "/Sig")
    chain = [s for s in embedded if s.sig_object_type == "/DocTimeStamp"]
    if not chain:
        return ArchiveStatus(is_lta=False, signatures=signatures, timestamps=0, timestamp_field=None,
                             timestamp_time=None, tsa=None, tsa_expires_at=None, timestamp_trusted=False)
    latest = chain[-1]  # embedded_signatures is in file order, oldest first
    tsa_cert = latest.signer_cert
    subject = tsa_cert.subject.native
    return ArchiveStatus(
        is_lta=signatures > 0,
        signatures=signatures,
        timestamps=len(chain),
        timestamp_field=latest.field_name,
        timestamp_time=_gen_time(latest).astimezone(VIETNAM),
        tsa=subject.get("common_name") or tsa_cert.subject.human_friendly,
        tsa_expires_at=tsa_cert["tbs_certificate"]["validity"]["not_after"].native.astimezone(VIETNAM),
        timestamp_trusted=_trusted(latest, trust),
    )


def _gen_time(timestamp: EmbeddedPdfSignature) -> datetime:
    gen_time: datetime = timestamp.signed_data["encap_content_info"]["content"].parsed["gen_time"].native
    return gen_time


def _trusted(timestamp: EmbeddedPdfSignature, trust: TrustConfig) -> bool:
    # Whether the chain holds, from what is at hand: nothing is fetched.
    context = trust.validation_context(allow_fetching=False, check_revocation=False)
    try:
        result = run_sync(async_validate_pdf_timestamp(timestamp, context, skip_diff=True))
    except (SignatureValidationError, ValidationError, PathError, ValueError):
        return False
    return bool(result.intact and result.valid and result.trusted)


def _read(pdf: Source) -> bytes:
    if isinstance(pdf, (bytes, bytearray, memoryview)):
        return bytes(pdf)
    if isinstance(pdf, (str, Path)):
        try:
            return Path(pdf).read_bytes()
        except FileNotFoundError:
            raise NotAPdf(f"No such file: {pdf}") from None
    return pdf.read()


def _reader(data: bytes) -> PdfFileReader:
    # open_for_update turns non-PDFs and encrypted PDFs into user errors.
    return open_for_update(data).prev


def _write(dst: Destination, data: bytes) -> None:
    if not isinstance(dst, (str, Path)):
        dst.write(data)
        return
    path = Path(dst)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
