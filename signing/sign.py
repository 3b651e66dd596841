"""Sign a PDF stream as a PAdES baseline signature (B-B, B-T, B-LT, B-LTA).

Every signature is an incremental update, so a personal signature followed
by the agency's seal keeps both valid. Levels, in ETSI EN 319 142 terms:

- B-B: CMS signature with the signing certificate (ETSI.CAdES.detached).
- B-T: plus an RFC 3161 signature time-stamp from the TSA: proof of *when*.
- B-LT: plus the certificates, OCSP responses and CRLs in the DSS, fetched
  at signing time, so the signature can be checked when the CA is gone.
- B-LTA: plus a document time-stamp over all of that, renewable later.
"""
from __future__ import annotations

import asyncio
import io
import logging
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO, Literal, cast, get_args
from zoneinfo import ZoneInfo

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.layout import LayoutError
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign.fields import SigFieldSpec, SigSeedSubFilter, enumerate_sig_fields
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner, Signer
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.timestamps import TimeStamper, TimestampRequestError
from pyhanko.sign.validation import collect_validation_info
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import (
    ExpiredError,
    InsufficientRevinfoError,
    NotYetValidError,
    PathBuildingError,
    PathError,
    RevokedError,
    ValidationError,
)
from pyhanko_certvalidator.path import ValidationPath

from ._async import run_sync
from .appearance import Appearance, place
from .batch import SigningBatch
from .errors import (
    CertificateExpired,
    CertificateRevoked,
    CertificateUntrusted,
    EncryptedPdf,
    FieldAlreadySigned,
    InvalidAppearance,
    NotAPdf,
    RevocationUnavailable,
    SigningError,
    TimestampUnavailable,
)
from .keys import KeySource, signer_name
from .trust import TrustConfig

Level = Literal["B-B", "B-T", "B-LT", "B-LTA"]
LEVELS: tuple[str, ...] = get_args(Level)
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
log = logging.getLogger(__name__)

# How much room to leave in the PDF for the CMS, remembered per signer and
# per (digest, TSA). pyHanko estimates it by building and signing a whole
# dummy CMS (plus a dummy time-stamp token) and adding a 50% margin; for a
# PAdES signature that length depends only on the signer's certificates
# and key, the digest and the TSA (PAdES puts no signing time and no
# revocation data in the CMS), so once per key is enough for a batch. If a
# remembered size ever turns out too small (a TSA whose tokens grew), the
# document is signed again with a fresh estimate: see sign_pdf.
# (digest algorithm, the TSA if the signature is time-stamped)
_SizeKey = tuple[str, TimeStamper | str | None]
_reserved_sizes: weakref.WeakKeyDictionary[Signer, dict[_SizeKey, int]] = weakref.WeakKeyDictionary()


class _RememberedSizeFailed(Exception):
    """Signing failed while using a remembered signature size."""


@dataclass(frozen=True)
class SignedDocument:
    field_name: str
    level: str
    signer: str
    signing_time: datetime  # Vietnam time, as shown in the appearance and in the CMS


def sign_pdf(
    input: BinaryIO,
    output: BinaryIO,
    key: KeySource,
    *,
    level: Level = "B-B",
    appearance: Appearance | None = None,
    field_name: str | None = None,
    trust: TrustConfig | None = None,
    reason: str | None = None,
    location: str | None = None,
    batch: SigningBatch | None = None,
) -> SignedDocument:
    """Read a PDF from `input`, write it signed to `output`.

    `trust` supplies the TSA (B-T and up) and the roots and revocation
    sources used to check the signer's certificate before signing (and to
    embed them, B-LT and up). Without `trust` only B-B is possible and the
    certificate's revocation status is not checked. Signing several
    documents, pass one `batch` (signing.batch) to all of them, or use
    sign_pdfs, which also overlaps their time-stamp requests.
    """
    job = SignJob(input.read(), appearance=appearance, field_name=field_name, reason=reason, location=location)
    batch = _batch_for(trust, batch)
    signed = run_sync(_sign_document(job, key, level, batch))
    output.write(signed.data)
    return signed.document


@dataclass(frozen=True)
class SignJob:
    """One document of a batch: its bytes and how its signature looks."""

    data: bytes
    appearance: Appearance | None = None
    field_name: str | None = None
    reason: str | None = None
    location: str | None = None


@dataclass(frozen=True)
class SignedPdf:
    data: bytes
    document: SignedDocument


# Documents of one sign_pdfs call in flight together: enough to keep a core
# busy while each waits ~50-100 ms for its TSA, few enough that a TSA is not
# flooded by one caller.
DEFAULT_CONCURRENCY = 8


def sign_pdfs(
    jobs: Sequence[SignJob],
    key: KeySource,
    *,
    level: Level = "B-B",
    trust: TrustConfig | None = None,
    batch: SigningBatch | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> list[SignedPdf | SigningError]:
    """Sign each job with `key`, in the jobs' order, as sign_pdf would, with
    up to `concurrency` documents waiting on the network together (their
    CPU work still takes turns on one core). A document that cannot be
    signed gets its SigningError in its place; the others go on."""
    batch = _batch_for(trust, batch)
    return run_sync(_sign_all(list(jobs), key, level, batch, max(1, concurrency)))


async def _sign_all(jobs: list[SignJob], key: KeySource, level: Level, batch: SigningBatch, concurrency: int
                    ) -> list[SignedPdf | SigningError]:
    limit = asyncio.Semaphore(concurrency)

    async def one(job: SignJob) -> SignedPdf | SigningError:
        async with limit:
            try:
                return await _sign_document(job, key, level, batch)
            except SigningError as e:
                return e

    if not jobs:
        return []
    # The first alone: it fills the batch (validation, the TSA's dummy
    # token, the signature size) that the others then share.
    first = await one(jobs[0])
    rest = await asyncio.gather(*(one(job) for job in jobs[1:]))
    return [first, *rest]


def _batch_for(trust: TrustConfig | None, batch: SigningBatch | None) -> SigningBatch:
    if batch is None:
        return SigningBatch(trust)
    if trust is not None and batch.trust is not trust:
        raise ValueError("the batch was made for another TrustConfig")
    return batch


async def _sign_document(job: SignJob, key: KeySource, level: Level, batch: SigningBatch) -> SignedPdf:
    trust = batch.trust
    if level not in LEVELS:
        raise SigningError(f"Unknown PAdES level {level!r}; use one of {', '.join(LEVELS)}.")
    if level != "B-B" and batch.timestamper() is None:
        raise TimestampUnavailable(f"{level} needs a time-stamping authority: give a TrustConfig with tsa_url.")

    data = job.data
    signing_time = datetime.now(VIETNAM).replace(microsecond=0)
    _check_validity_period(key, signing_time)
    timestamper = batch.timestamper() if level != "B-B" else None
    # The TSA is part of the remembered size: its tokens are in the CMS.
    size_key: _SizeKey = ("sha256", None if timestamper is None or trust is None else (trust.timestamper or trust.tsa_url))
    long_term = level in ("B-LT", "B-LTA")
    # Checking before signing means nobody signs with a revoked key by
    # accident; offline (no fetching) we can only check the chain.
    check_revocation = trust is not None and (trust.allow_fetching or long_term)

    def prepare() -> tuple[IncrementalPdfFileWriter, PdfSigner, str]:
        writer = open_for_update(data)
        placed = place(job.appearance, writer, signing_time) if job.appearance is not None else None
        name = job.field_name or _next_field_name(writer, placed.field_prefix if placed else "signature")
        _refuse_signed_field(writer, name)

        meta = PdfSignatureMetadata(
            field_name=name,
            md_algorithm="sha256",
            subfilter=SigSeedSubFilter.PADES,
            reason=job.reason,
            location=job.location,
            embed_validation_info=long_term,
            use_pades_lta=level == "B-LTA",
            timestamp_field_name=_next_field_name(writer, "timestamp") if level == "B-LTA" else None,
            validation_context=batch.validation_context(key.signer(), check_revocation=check_revocation,
                                                        timestamped=timestamper is not None),
        )
        field_spec = SigFieldSpec(
            sig_field_name=name,
            on_page=placed.page if placed else 0,
            # pyHanko annotates the box as ints but writes any number; keep
            # fractions so a seal lands exactly one third into the signature.
            box=cast(Any, tuple(round(v, 2) for v in placed.rect)) if placed else None,
        )
        pdf_signer = PdfSigner(
            meta, key.signer(),
            timestamper=timestamper,
            stamp_style=placed.style if placed else None,
            new_field_spec=field_spec,
        )
        return writer, pdf_signer, name

    try:
        writer, pdf_signer, name = prepare()
        buffer = io.BytesIO()
        try:
            await _sign(pdf_signer, writer, buffer, signing_time, size_key, batch, check_revocation)
        except _RememberedSizeFailed:
            # Once more from the start, with the size estimated afresh.
            _reserved_sizes.get(key.signer(), {}).pop(size_key, None)
            writer, pdf_signer, name = prepare()
            buffer = io.BytesIO()
            await _sign(pdf_signer, writer, buffer, signing_time, size_key, batch, check_revocation)
    except PyHankoSigningError as e:
        raise _user_error(e.__cause__, e) from e
    except (ValidationError, PathError) as e:
        # pyHanko's pre-signing check of the signer's certificate raises
        # certvalidator's verdict unwrapped (a self-signed certificate:
        # InvalidCertificateError), so it is the same user error.
        raise _user_error(e, e) from e
    except TimestampRequestError as e:
        raise TimestampUnavailable(f"The time-stamping authority did not answer: {e}") from e
    except LayoutError as e:
        raise InvalidAppearance(f"The signature appearance does not fit: {e}") from e
    document = SignedDocument(field_name=name, level=level, signer=signer_name(key.certificate),
                              signing_time=signing_time)
    return SignedPdf(buffer.getvalue(), document)


def open_for_update(data: bytes) -> IncrementalPdfFileWriter:
    """An incremental writer on the document; user errors for non-PDFs."""
    if b"%PDF-" not in data[:1024]:
        raise NotAPdf()
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    except (PdfError, ValueError, KeyError, IndexError, TypeError, AttributeError) as e:
        raise NotAPdf(f"The PDF cannot be read: {e}") from None
    if writer.prev.encrypted:
        raise EncryptedPdf()
    return writer


async def _sign(pdf_signer: PdfSigner, writer: IncrementalPdfFileWriter, output: io.BytesIO,
                signing_time: datetime, size_key: _SizeKey, batch: SigningBatch, check_revocation: bool) -> None:
    """PdfSigner.async_sign_pdf, step by step, for three reasons:

    - the time in the visible appearance and the CMS signingTime must be the
      same instant, and pyHanko would otherwise read the clock on its own;
    - the size reserved for the CMS is remembered per signer and
      `size_key`, estimated only if unknown (_RememberedSizeFailed if
      signing then fails with a remembered size);
    - at B-LT/B-LTA the validation data of the signatures already in the
      document goes into the DSS too, not only our own;
    - the pre-signing validation is the batch's while it holds (signing.batch).
    """
    session = pdf_signer.init_signing_session(writer)
    session.system_time = signing_time
    validation_info = await batch.presign(session, writer, check_revocation=check_revocation)
    if validation_info is not None and pdf_signer.signature_meta.embed_validation_info:
        validation_info.validation_paths.extend(
            await _earlier_signatures_paths(writer, pdf_signer.signature_meta.validation_context))

    sizes = _reserved_sizes.setdefault(pdf_signer.signer, {})
    # pyHanko puts Adobe-style revocation data into the CMS only without
    # PAdES (never here), and such a size would not be the key's alone.
    cacheable = validation_info is None or validation_info.adobe_revinfo_attr is None
    reserved = sizes.get(size_key) if cacheable else None
    from_memory = reserved is not None
    if reserved is None:
        reserved = await session.estimate_signature_container_size(validation_info, tight=False)
        if cacheable:
            sizes[size_key] = reserved

    tbs = session.prepare_tbs_document(validation_info=validation_info, bytes_reserved=reserved)
    prepared, result = tbs.digest_tbs_document(output=output)
    try:
        post = await tbs.perform_signature(
            document_digest=prepared.document_digest,
            pdf_cms_signed_attrs=PdfCMSSignedAttributes(
                signing_time=signing_time,
                adobe_revinfo_attr=validation_info.adobe_revinfo_attr if validation_info else None,
            ),
        )
    except PyHankoSigningError as e:
        # pyHanko says "Final ByteRange payload larger than expected"; any
        # failure here with a remembered size gets one fresh attempt.
        if from_memory:
            raise _RememberedSizeFailed() from e
        raise
    await post.post_signature_processing(result)


async def _earlier_signatures_paths(
    writer: IncrementalPdfFileWriter, context: ValidationContext | None
) -> list[ValidationPath]:
    """Certificate paths of the signatures and time-stamps already in the
    document, validated now with `context`, which thereby fetches (and keeps,
    for the DSS) their OCSP responses and CRLs.

    A chairman's B-T signature followed by the agency's B-LTA seal: without
    this the document time-stamp covers the chairman's signature but not the
    data to validate his certificate, and once the CA is unreachable nobody
    can. A certificate that cannot be validated now (expired, revoked,
    another CA's) does not stop the seal: its signature is judged on its own
    at verification; whatever revocation data was found is embedded anyway.
    """
    if context is None:
        return []
    paths: list[ValidationPath] = []
    for signature in writer.prev.embedded_signatures:
        try:
            paths.extend(await collect_validation_info(signature, context))
        except (ValidationError, PathError) as e:
            log.warning("validation data for the earlier signature %r is incomplete: %s", signature.field_name, e)
    return paths


def _check_validity_period(key: KeySource, when: datetime) -> None:
    validity = key.certificate["tbs_certificate"]["validity"]
    not_before, not_after = validity["not_before"].native, validity["not_after"].native
    if not (not_before <= when <= not_after):
        raise CertificateExpired(
            f"The certificate of {signer_name(key.certificate)} is valid from {not_before:%Y-%m-%d} "
            f"to {not_after:%Y-%m-%d}; it cannot sign now.")


def _next_field_name(writer: IncrementalPdfFileWriter, prefix: str) -> str:
    taken = {name for name, _, _ in enumerate_sig_fields(writer.prev)}
    n = 1
    while f"{prefix}-{n}" in taken:
        n += 1
    return f"{prefix}-{n}"


def _refuse_signed_field(writer: IncrementalPdfFileWriter, name: str) -> None:
    for existing, value, _ in enumerate_sig_fields(writer.prev, with_name=name):
        if value is not None:
            raise FieldAlreadySigned(f"The field {existing!r} is already signed; choose another name.")


def _user_error(cause: BaseException | None, error: Exception) -> SigningError:
    """certvalidator's verdict on the signer (`cause`; pyHanko wraps it in `error`) as a user error."""
    if isinstance(cause, RevokedError):
        return CertificateRevoked(f"The signing certificate was revoked on {cause.revocation_dt:%Y-%m-%d %H:%M}.")
    if isinstance(cause, (ExpiredError, NotYetValidError)):
        return CertificateExpired()
    if isinstance(cause, InsufficientRevinfoError):
        return RevocationUnavailable(f"Revocation status could not be obtained: {cause}")
    if isinstance(cause, PathBuildingError):
        return CertificateUntrusted()
    if isinstance(cause, TimestampRequestError):
        return TimestampUnavailable(f"The time-stamping authority did not answer: {cause}")
    if isinstance(cause, (ValidationError, PathError)):
        return CertificateUntrusted(f"The signing certificate cannot be used: {cause}")
    return SigningError(f"Signing failed: {error}")
