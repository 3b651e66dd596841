"""Verify any PDF into a report a citizen (and an auditor) can read.

A CMS signature that checks out cryptographically can still sit in a
document changed after signing, or come from a revoked or unknown
certificate. The verdict therefore combines, per signature:

- integrity: the signed bytes are unchanged (`intact`), and everything
  appended after the signature is an allowed change (pyHanko's difference
  analysis: more signatures, form filling, annotations, DSS/time-stamps);
- trust: the certificate chains to a root in the TrustConfig, was within its
  validity period, and is not revoked (revocation from what the document
  embeds, or fetched online when the TrustConfig allows it, and only for a
  certificate whose chain to a root is established first from what is at
  hand: the roots and the certificates the file carries. A stranger's
  certificate never makes the verifier fetch anything; signing/fetching.py).

    valid          every signature intact, trusted, not revoked, followed
                   only by allowed changes
    invalid        any signature broken, followed by a disallowed change,
                   revoked, or made after its certificate expired
    indeterminate  integrity holds, but trust or revocation cannot be
                   established (unknown root, CA unreachable, ...)

Nothing about a *document* raises: a malformed file is a report with a reason.
"""
from __future__ import annotations

import io
import logging
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any, BinaryIO, Literal

from asn1crypto import cms
from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESIndeterminate, AdESPassed
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.general import find_unique_cms_attribute
from pyhanko.sign.validation import async_validate_pdf_signature, async_validate_pdf_timestamp
from pyhanko.sign.validation.ades import AdESWithTimeValidationResult, ades_lta_validation, ades_with_time_validation
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel, TimestampSignatureStatus
from pyhanko_certvalidator import ValidationContext

from . import _verify_memo
from ._async import run_sync
from .fetching import FetchSession
from .keys import signer_name
from .reasons import Reason, ReasonCode, reason
from .sign import VIETNAM
from .trust import TrustConfig

log = logging.getLogger(__name__)

Verdict = Literal["valid", "invalid", "indeterminate"]

MODIFICATIONS = {
    ModificationLevel.NONE: "none",
    # DSS and document time-stamps only: maintenance, not a change to content.
    ModificationLevel.LTA_UPDATES: "none",
    ModificationLevel.FORM_FILLING: "form_filling",
    ModificationLevel.ANNOTATIONS: "annotations",
    ModificationLevel.OTHER: "other",
}
# What may follow a signature without breaking it: further signatures, form
# filling, DSS and document time-stamps. PDF would also allow annotations after
# an approval signature, but an annotation can be drawn over signed text (the
# "evil annotation" attack), so an issued document must not gain any. (pyHanko
# 0.29 to 0.38 classify an added comment as "other" anyway.)
ALLOWED_AFTER_SIGNING = frozenset({"none", "form_filling"})
COVERAGE = {
    SignatureCoverageLevel.ENTIRE_FILE: "entire_file",
    SignatureCoverageLevel.ENTIRE_REVISION: "entire_revision",
    SignatureCoverageLevel.CONTIGUOUS_BLOCK_FROM_START: "partial",
    SignatureCoverageLevel.UNCLEAR: "unclear",
}


@dataclass(frozen=True)
class Revocation:
    status: Literal["good", "revoked", "unknown"]
    source: str | None  # e.g. "OCSP embedded in the document", "CRL fetched online"


@dataclass(frozen=True)
class SignatureReport:
    signer: str | None
    signing_time: str | None  # claimed by the signer (CMS signingTime), ISO 8601 +07:00
    timestamp: str | None  # proven by a valid signature time-stamp, ISO 8601 +07:00
    level: str | None  # B-B, B-T, B-LT, B-LTA as found in the document
    intact: bool
    trusted: bool
    revocation: Revocation
    modifications: str | None  # none / form_filling / annotations / other
    coverage: str | None  # entire_file / entire_revision / partial / unclear
    verdict: Verdict
    reasons: list[Reason] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "reasons": [r.to_json() for r in self.reasons]}


@dataclass(frozen=True)
class VerificationReport:
    verdict: Verdict
    signatures: list[SignatureReport]
    reasons: list[Reason] = field(default_factory=list)  # about the document as a whole

    def to_json(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "signatures": [s.to_json() for s in self.signatures],
                "reasons": [r.to_json() for r in self.reasons]}


def verify_pdf(input: BinaryIO, trust: TrustConfig) -> VerificationReport:
    data = input.read()
    if b"%PDF-" not in data[:1024]:
        return VerificationReport("invalid", [], [reason(ReasonCode.NOT_A_PDF)])
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        if reader.encrypted:
            return VerificationReport("indeterminate", [], [reason(ReasonCode.ENCRYPTED)])
    except Exception as e:  # malformed input of every kind ends here
        log.info("unreadable PDF: %s", e)
        return VerificationReport("invalid", [], [reason(ReasonCode.UNREADABLE_STRUCTURE, error_type=type(e).__name__)])
    try:
        embedded = reader.embedded_signatures
    except Exception as e:
        log.info("unreadable signature: %s", e)
        return VerificationReport("invalid", [], [reason(ReasonCode.DAMAGED_SIGNATURE, error_type=type(e).__name__)])
    session = trust.fetch_session()
    if session is not None:
        session.know(_carried_certificates(embedded))
    try:
        return run_sync(_verify_once(reader, embedded, trust, session))
    except Exception as e:  # a bug or an exotic file must not take the caller down
        log.exception("verification failed")
        return VerificationReport("indeterminate", [], [reason(ReasonCode.CANNOT_CHECK, error=f"{type(e).__name__}: {e}")])


async def _verify_once(reader: PdfFileReader, embedded: list[EmbeddedPdfSignature], trust: TrustConfig,
                       session: FetchSession | None) -> VerificationReport:
    # inside the coroutine: run_sync may run it in another thread
    with _verify_memo.verification():
        return await _verify(reader, embedded, trust, session)


async def _verify(reader: PdfFileReader, embedded: list[EmbeddedPdfSignature], trust: TrustConfig,
                  session: FetchSession | None) -> VerificationReport:
    signatures = [s for s in embedded if s.sig_object_type == "/Sig"]
    doc_timestamps = [s for s in embedded if s.sig_object_type == "/DocTimeStamp"]
    if not signatures:
        return VerificationReport("invalid", [], [reason(ReasonCode.NO_SIGNATURE)])
    revinfo = _embedded_revinfo(reader)
    if session is not None:
        session.know(revinfo.certs)
    reports = [await _check_signature(sig, reader, revinfo, doc_timestamps, trust, session) for sig in signatures]
    reasons = [r for ts in doc_timestamps for r in await _check_doc_timestamp(ts, trust, revinfo)]
    verdicts = [r.verdict for r in reports]
    if "invalid" in verdicts or any(r.invalidates for r in reasons):
        verdict: Verdict = "invalid"
    elif "indeterminate" in verdicts:
        verdict = "indeterminate"
    else:
        verdict = "valid"
    return VerificationReport(verdict, reports, reasons)


@dataclass
class _Revinfo:
    ocsps: list[asn1_ocsp.OCSPResponse]
    crls: list[asn1_crl.CertificateList]
    certs: list[asn1_x509.Certificate]


def _carried_certificates(embedded: list[EmbeddedPdfSignature]) -> list[asn1_x509.Certificate]:
    """Every certificate in the signatures' and their time-stamp tokens' CMS:
    what the file offers to build chains with, without the network."""
    certs = []
    for sig in embedded:
        try:
            for signed_data in (sig.signed_data, *_signature_timestamps(sig)):
                for choice in signed_data["certificates"] or ():
                    if choice.name == "certificate":
                        certs.append(choice.chosen)
        except Exception:
            continue  # a damaged signature carries nothing usable; it is reported on its own
    return certs


def _signature_timestamps(sig: EmbeddedPdfSignature) -> list[cms.SignedData]:
    """The time-stamp tokens over the signature (unsigned attributes). pyHanko
    0.38 reads as many as a signature carries; docsvc signs with one."""
    return [value["content"] for attr in sig.signer_info["unsigned_attrs"] or ()
            if attr["type"].native == "signature_time_stamp_token" for value in attr["values"]]


def _embedded_revinfo(reader: PdfFileReader) -> _Revinfo:
    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except NoDSSFoundError:
        return _Revinfo([], [], [])
    ocsps = [asn1_ocsp.OCSPResponse.load(ref.get_object().data) for ref in dss.ocsps]
    crls = [asn1_crl.CertificateList.load(ref.get_object().data) for ref in dss.crls]
    return _Revinfo(ocsps, crls, list(dss.load_certs()))


async def _check_signature(sig: EmbeddedPdfSignature, reader: PdfFileReader, revinfo: _Revinfo,
                           doc_timestamps: list[EmbeddedPdfSignature], trust: TrustConfig,
                           session: FetchSession | None) -> SignatureReport:
    reasons: list[Reason] = []
    try:
        signer = signer_name(sig.signer_cert)
    except Exception:
        signer = None
    try:
        claimed = sig.self_reported_timestamp
    except Exception:
        claimed = None
    level = _level(sig, revinfo, doc_timestamps)
    long_term: _LongTerm | None = None
    status: PdfSignatureStatus | None = None
    long_term_level = level if level in ("B-LT", "B-LTA") else None
    long_term_done = False
    if long_term_level is not None and _verify_memo.trust_once() and _integrity_computed(sig):
        # Long-term validation first (after the integrity pass it expects
        # done): where it concludes, the first pass's present-time trust,
        # which it does again, is not needed.
        long_term, long_term_done = await _try_long_term(sig, revinfo, long_term_level, trust, session), True
        if long_term is not None and long_term.conclusive:
            try:
                status = _verify_memo.integrity_status(sig, long_term.status)
            except Exception as e:
                log.info("integrity of %s not taken apart, the first pass runs: %s", sig.field_name, e)
    if status is None:
        try:
            # First pass: integrity and difference analysis, trust from embedded data only.
            status = await async_validate_pdf_signature(
                sig, signer_validation_context=_context(trust, sig, revinfo, fetch=False))
        except Exception as e:
            reasons.append(reason(ReasonCode.SIGNATURE_CANNOT_CHECK, error=str(e)))
            return SignatureReport(signer, _iso(claimed), None, level, False, False, Revocation("unknown", None),
                                   None, None, "invalid", reasons)
    if long_term_level is not None and not long_term_done:
        long_term = await _try_long_term(sig, revinfo, long_term_level, trust, session)

    intact = bool(status.intact and status.valid)
    modifications = MODIFICATIONS.get(status.modification_level) if status.modification_level else None
    coverage = COVERAGE.get(status.coverage) if status.coverage is not None else None
    if not intact:
        reasons.append(reason(ReasonCode.CONTENT_ALTERED))
    if status.coverage is None or status.coverage < SignatureCoverageLevel.ENTIRE_REVISION:
        reasons.append(reason(ReasonCode.SIGNATURE_NOT_COVERING_REVISION))
    if status.docmdp_ok is False or modifications not in ALLOWED_AFTER_SIGNING:
        reasons.append(reason(ReasonCode.MODIFIED_AFTER_SIGNING, change=_change_kind(status, modifications),
                              detail=_diff_detail(status)))
    elif modifications == "form_filling":
        reasons.append(reason(ReasonCode.LATER_CHANGES_ALLOWED))

    status, revocation, source_note = await _establish_trust(sig, status, revinfo, long_term, trust, session)
    if source_note:
        reasons.append(source_note)

    ts = status.timestamp_validity
    timestamp = ts.timestamp if ts is not None and ts.intact and ts.valid else None
    if ts is not None and not (ts.intact and ts.valid):
        reasons.append(reason(ReasonCode.TIMESTAMP_BROKEN))
    elif ts is not None and not ts.trusted and _revinfo_missing(ts):
        reasons.append(reason(ReasonCode.TIMESTAMP_REVOCATION_UNKNOWN))
    elif ts is not None and not ts.trusted:
        reasons.append(reason(ReasonCode.TIMESTAMP_UNTRUSTED))

    trusted = bool(status.trusted)
    verdict = _signature_verdict(status, intact, modifications, revocation, claimed, timestamp, reasons)
    return SignatureReport(signer, _iso(claimed), _iso(timestamp), level, intact, trusted, revocation,
                           modifications, coverage, verdict, reasons)


def _signature_verdict(status: PdfSignatureStatus, intact: bool, modifications: str | None, revocation: Revocation,
                       claimed: datetime | None, timestamp: datetime | None, reasons: list[Reason]) -> Verdict:
    ts = status.timestamp_validity
    integrity_ok = (
        intact
        and status.coverage is not None and status.coverage >= SignatureCoverageLevel.ENTIRE_REVISION
        and status.docmdp_ok is not False
        and modifications in ALLOWED_AFTER_SIGNING
        and (ts is None or (ts.intact and ts.valid))
    )
    if not integrity_ok:
        return "invalid"
    if revocation.status == "revoked" and not status.trusted:
        details = status.revocation_details
        reasons.append(reason(ReasonCode.CERTIFICATE_REVOKED, date=_iso(details.revocation_date) if details else None,
                              revocation_reason=details.revocation_reason.native if details else None))
        return "invalid"
    problem = status.trust_problem_indic
    if problem == AdESIndeterminate.OUT_OF_BOUNDS_NO_POE:
        not_after = status.signing_cert["tbs_certificate"]["validity"]["not_after"].native
        when = timestamp or claimed
        if when is not None and when > not_after:
            reasons.append(reason(ReasonCode.CERTIFICATE_EXPIRED, date=_iso(not_after)))
            return "invalid"
        reasons.append(reason(ReasonCode.CERTIFICATE_EXPIRED_NO_PROOF, date=_iso(not_after)))
        return "indeterminate"
    if not status.trusted:
        if problem == AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND:
            reasons.append(reason(ReasonCode.UNTRUSTED_ROOT))
        elif revocation.status == "unknown":
            pass  # already explained by _establish_trust
        else:
            reasons.append(reason(ReasonCode.CERTIFICATE_INVALID, problem=getattr(problem, "name", "unknown reason")))
        return "indeterminate"
    if ts is not None and not ts.trusted:
        return "indeterminate"
    if revocation.status == "unknown":
        return "indeterminate"
    return "valid"  # good, or revoked only after a time-stamp proved the signing (see _revoked)


async def _establish_trust(sig: EmbeddedPdfSignature, status: PdfSignatureStatus, revinfo: _Revinfo,
                           long_term: _LongTerm | None, trust: TrustConfig, session: FetchSession | None
                           ) -> tuple[PdfSignatureStatus, Revocation, Reason | None]:
    """Trust and revocation, trying the sources in order of strength:
    long-term validation at the time-stamp's time (B-LT/B-LTA, done by the
    caller: `long_term`), then data embedded in the document now; then,
    only if the certificate chains to a trusted root from what is at hand
    (revocation switched off, nothing fetched), fetching its revocation
    online."""
    if long_term is not None:
        if long_term.revocation.status == "revoked":
            return _with_trust_of(status, long_term.status), long_term.revocation, None
        trusted = replace(long_term.status,
                          validation_path=long_term.status.validation_path or status.validation_path)
        if trusted.trusted:
            return _with_trust_of(status, trusted), long_term.revocation, None

    if status.trusted:
        return status, _revocation(status, sig, revinfo, "embedded in the document"), None
    if status.revoked:
        return await _revoked(sig, status, revinfo, trust, "embedded in the document")
    if not _revinfo_missing(status):
        return status, Revocation("unknown", None), None
    relaxed = await async_validate_pdf_signature(
        sig, signer_validation_context=_context(trust, sig, revinfo, fetch=False, check_revocation=False),
        skip_diff=True)
    if not relaxed.trusted:
        # Untrusted whatever its revocation (unknown CA, expired): nothing is
        # fetched for it, and the reason is the one found without revocation.
        return _with_trust_of(status, relaxed), Revocation("unknown", None), None
    if session is not None:
        online = await async_validate_pdf_signature(
            sig, signer_validation_context=_context(trust, sig, revinfo, fetch=True, session=session), skip_diff=True)
        merged = _with_trust_of(status, online)
        if online.trusted:
            return merged, _revocation(online, sig, revinfo, "fetched online"), None
        if online.revoked:
            return await _revoked(sig, merged, revinfo, trust, "fetched online")
        status = merged
    return status, Revocation("unknown", None), _revocation_unobtainable(session)


LONG_TERM_SOURCE = "embedded in the document (DSS), checked at the time-stamp's time"


@dataclass(frozen=True)
class _LongTerm:
    """What long-term validation concluded, before it meets the first
    pass's integrity: `status` is its trust (trusted, problem cleared where
    a past validation passed; or revoked before the proven time)."""
    status: PdfSignatureStatus
    revocation: Revocation

    @property
    def conclusive(self) -> bool:
        """Decides trust without the first pass (which is asked only for a
        validation path this status lacks)."""
        return self.revocation.status == "revoked" or self.status.trusted


def _integrity_computed(sig: EmbeddedPdfSignature) -> bool:
    """The integrity pass as the first pass begins with it; False where it
    fails (the first pass then reports why)."""
    try:
        sig.compute_integrity_info()
        return True
    except Exception:
        return False


async def _try_long_term(sig: EmbeddedPdfSignature, revinfo: _Revinfo, level: str, trust: TrustConfig,
                         session: FetchSession | None) -> _LongTerm | None:
    try:
        return await _long_term(sig, revinfo, level, trust, session)
    except Exception as e:
        log.info("long-term validation of %s failed, falling back: %s", sig.field_name, e)
        return None


async def _long_term(sig: EmbeddedPdfSignature, revinfo: _Revinfo, level: str, trust: TrustConfig,
                     session: FetchSession | None) -> _LongTerm | None:
    """pyHanko's AdES validation of the level the signature claims (ETSI EN
    319 102-1): B-LT as a signature with time and long-term validation
    material (5.5: at the present time, the signature time-stamp proving when
    it existed, e.g. before a later revocation), B-LTA with its document
    time-stamps as evidence record (5.6.3: where the present cannot conclude,
    in the past at the proven time, with the revocation data embedded then).
    None when it reaches neither trust nor revocation: the caller then tries
    the other sources."""
    adobe_ocsps, adobe_crls = _adobe_revinfo(sig)
    if level == "B-LTA":
        # pyHanko reads the DSS itself, revision by revision.
        spec = trust.long_term_validation_spec(session, other_certs=sig.other_embedded_certs,
                                               ocsps=adobe_ocsps, crls=adobe_crls)
        lta = await ades_lta_validation(sig, spec)
        ts_result = lta.signature_timestamp_status
        ts_ok = ts_result is not None and ts_result.ades_subindic == AdESPassed.OK
        result: AdESWithTimeValidationResult = lta
        ts = ts_result.api_status if ts_result is not None else None
    else:
        spec = trust.long_term_validation_spec(session, other_certs=[*revinfo.certs, *sig.other_embedded_certs],
                                               ocsps=[*revinfo.ocsps, *adobe_ocsps], crls=[*revinfo.crls, *adobe_crls])
        result = await ades_with_time_validation(
            sig.signed_data, spec.signature_validation_spec, raw_digest=sig.compute_digest(),
            extra_status_kwargs=sig.summarise_integrity_info(), status_cls=PdfSignatureStatus)
        ts = result.api_status.timestamp_validity if isinstance(result.api_status, PdfSignatureStatus) else None
        ts_ok = result.ades_subindic == AdESPassed.OK
    found = result.api_status
    if not isinstance(found, PdfSignatureStatus):
        return None
    if result.ades_subindic == AdESPassed.OK:
        if not ts_ok or not isinstance(ts, TimestampSignatureStatus):
            return None  # long-term validation stands on a trusted signature time-stamp
        # Where a past validation is what passed, the status pyHanko reports
        # is still the present-time one, with its problem (its "FIXME rewrite
        # api_status"): the indication is the verdict. (A status without a
        # validation path takes the first pass's: see _establish_trust.)
        trusted = replace(found, trust_problem_indic=None, revocation_details=None,
                          timestamp_validity=replace(ts, trust_problem_indic=None))
        return _LongTerm(trusted, Revocation("good", LONG_TERM_SOURCE))
    details = found.revocation_details
    if details is not None and details.revocation_date <= result.best_signature_time:
        # Revoked before the time the signature is proven to exist. (Revoked
        # only later is for _revoked() to judge, with its reason.)
        return _LongTerm(found, Revocation("revoked", LONG_TERM_SOURCE))
    return None


def _revocation_unobtainable(session: FetchSession | None) -> Reason:
    if session is None:
        return reason(ReasonCode.REVOCATION_UNKNOWN_OFFLINE)
    if session.refusals:
        refused = "; ".join(dict.fromkeys(str(r) for r in session.refusals[:3]))
        return reason(ReasonCode.REVOCATION_UNKNOWN_REFUSED, refused=refused)
    return reason(ReasonCode.REVOCATION_UNKNOWN_UNREACHABLE)


async def _revoked(sig: EmbeddedPdfSignature, status: PdfSignatureStatus, revinfo: _Revinfo, trust: TrustConfig,
                   where: str) -> tuple[PdfSignatureStatus, Revocation, Reason | None]:
    """A revoked certificate still made a valid signature if a trusted
    time-stamp proves the signature is older than the revocation, and the
    revocation is not for key compromise (after which anyone may have held
    the key). Officials' certificates are revoked when they leave office;
    what they signed in office stays valid."""
    revocation = _revocation(status, sig, revinfo, where)
    details, ts = status.revocation_details, status.timestamp_validity
    if (details is None or details.ca_revoked or details.revocation_reason.native == "key_compromise"
            or ts is None or not (ts.intact and ts.valid and ts.trusted) or ts.timestamp >= details.revocation_date):
        return status, revocation, None
    relaxed = await async_validate_pdf_signature(
        sig, signer_validation_context=_context(trust, sig, revinfo, fetch=False, check_revocation=False),
        skip_diff=True)
    if not relaxed.trusted:
        return status, revocation, None
    note = reason(ReasonCode.REVOKED_AFTER_SIGNING, date=_iso(details.revocation_date),
                  revocation_reason=details.revocation_reason.native, timestamp=_iso(ts.timestamp))
    return _with_trust_of(status, relaxed), revocation, note


def _with_trust_of(integrity: PdfSignatureStatus, other: PdfSignatureStatus) -> PdfSignatureStatus:
    """Integrity (diff analysis) from the first pass, trust from a later one."""
    return replace(other, coverage=integrity.coverage, diff_result=integrity.diff_result,
                   docmdp_ok=integrity.docmdp_ok, intact=integrity.intact and other.intact,
                   valid=integrity.valid and other.valid)


def _revinfo_missing(status: PdfSignatureStatus | TimestampSignatureStatus) -> bool:
    # certvalidator reports "no usable OCSP/CRL" as a general chain failure
    # or as TRY_LATER (stale data); other indications are real verdicts.
    return status.trust_problem_indic in (
        AdESIndeterminate.CERTIFICATE_CHAIN_GENERAL_FAILURE, AdESIndeterminate.TRY_LATER)


def _revocation(status: PdfSignatureStatus, sig: EmbeddedPdfSignature, revinfo: _Revinfo, where: str) -> Revocation:
    kind = _revinfo_kind(sig, revinfo) if where.startswith("embedded") else "OCSP/CRL"
    if status.revoked:
        details = status.revocation_details
        when = f" on {_iso(details.revocation_date)}" if details else ""
        return Revocation("revoked", f"{kind} {where}; revoked{when}")
    return Revocation("good", f"{kind} {where}")


def _revinfo_kind(sig: EmbeddedPdfSignature, revinfo: _Revinfo) -> str:
    serials = _ocsp_serials([*revinfo.ocsps, *_adobe_revinfo(sig)[0]])
    return "OCSP" if sig.signer_cert.serial_number in serials else "CRL"


def _adobe_revinfo(sig: EmbeddedPdfSignature) -> tuple[list[asn1_ocsp.OCSPResponse], list[asn1_crl.CertificateList]]:
    """Revocation data in the signature itself (Adobe's revocation-info
    archival attribute), as some other signing tools embed it."""
    try:
        archival = find_unique_cms_attribute(sig.signer_info["signed_attrs"], "adobe_revocation_info_archival")
        return list(archival["ocsp"] or ()), list(archival["crl"] or ())
    except Exception:  # absent, repeated or damaged: no revocation data here
        return [], []


def _context(trust: TrustConfig, sig: EmbeddedPdfSignature, revinfo: _Revinfo, *, fetch: bool,
             check_revocation: bool = True, session: FetchSession | None = None) -> ValidationContext:
    adobe_ocsps, adobe_crls = _adobe_revinfo(sig)
    return trust.validation_context(
        allow_fetching=fetch, check_revocation=check_revocation, session=session,
        other_certs=[*revinfo.certs, *sig.other_embedded_certs],
        ocsps=[*revinfo.ocsps, *adobe_ocsps], crls=[*revinfo.crls, *adobe_crls],
    )


def _level(sig: EmbeddedPdfSignature, revinfo: _Revinfo, doc_timestamps: list[EmbeddedPdfSignature]) -> str | None:
    try:
        if not _signature_timestamps(sig):
            return "B-B"
        if not _covers_signer(sig, revinfo):
            # A later signer's B-LT data in the DSS does not make *this*
            # signature long-term: its own certificate must be covered.
            return "B-T"
        if any(ts.signed_revision > sig.signed_revision for ts in doc_timestamps):
            return "B-LTA"
        return "B-LT"
    except Exception:
        return None


def _covers_signer(sig: EmbeddedPdfSignature, revinfo: _Revinfo) -> bool:
    """Is there an OCSP response or CRL for the signer's certificate?"""
    cert = sig.signer_cert
    ocsps, crls = _adobe_revinfo(sig)
    if _ocsp_serials([*revinfo.ocsps, *ocsps]) & {cert.serial_number}:
        return True
    return any(c["tbs_cert_list"]["issuer"] == cert.issuer for c in [*revinfo.crls, *crls])


def _ocsp_serials(responses: list[asn1_ocsp.OCSPResponse]) -> set[int]:
    serials = set()
    for response in responses:
        try:
            for single in response["response_bytes"]["response"].parsed["tbs_response_data"]["responses"]:
                serials.add(single["cert_id"]["serial_number"].native)
        except Exception:
            continue  # an unsuccessful or malformed response covers nothing
    return serials


async def _check_doc_timestamp(ts: EmbeddedPdfSignature, trust: TrustConfig, revinfo: _Revinfo) -> list[Reason]:
    """Document time-stamps (B-LTA): a broken one invalidates the document.
    Only integrity is judged here (their trust is long-term validation's),
    so nothing is fetched: before, each one's TSA URLs were, 10 s apiece."""
    try:
        status = await async_validate_pdf_timestamp(ts, validation_context=trust.validation_context(
            allow_fetching=False, check_revocation=False, other_certs=revinfo.certs))
    except Exception as e:
        return [reason(ReasonCode.DOC_TIMESTAMP_CANNOT_CHECK, invalidates=True, field=ts.field_name, error=str(e))]
    if not (status.intact and status.valid):
        return [reason(ReasonCode.DOC_TIMESTAMP_NOT_MATCHING, invalidates=True, field=ts.field_name)]
    if status.modification_level == ModificationLevel.OTHER or status.docmdp_ok is False:
        return [reason(ReasonCode.MODIFIED_AFTER_DOC_TIMESTAMP, invalidates=True, field=ts.field_name)]
    return []


def _change_kind(status: PdfSignatureStatus, modifications: str | None) -> str:
    """What kind of change broke the signature: annotations, other content,
    or a change the certifying signature's DocMDP permissions forbid."""
    if modifications in ("annotations", "other"):
        return modifications
    return "not_permitted" if status.docmdp_ok is False else "other"


def _diff_detail(status: PdfSignatureStatus) -> str:
    result = status.diff_result
    text = str(result) if result is not None and not hasattr(result, "modification_level") else ""
    return text.strip().splitlines()[0][:200] if text.strip() else "content, pages or objects were replaced"


def _iso(when: datetime | None) -> str | None:
    return when.astimezone(VIETNAM).isoformat(timespec="seconds") if when is not None else None
