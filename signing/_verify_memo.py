"""Work pyHanko repeats within one verification, done once.

Profiled on B-LTA e-copies (bench/sign_throughput.py, offline
verification), one `verify_pdf` runs pyHanko over the same parsed objects
several times: the first pass, AdES long-term validation (the document
time-stamps as evidence, the signature with time, in the past) and the
document time-stamps' own check. The repetitions that cost most:

- `EmbeddedPdfSignature.compute_integrity_info`: the digest, the coverage
  and the difference analysis of every later revision (for a 50-page
  document, mostly pyHanko walking every object of the signed revision)
  were computed again by each pass, for the signature and for every
  document time-stamp. The second and later calls with the same diff
  policy (the same object) are skipped: the attributes the first call set
  are still on the signature, and nothing else writes them.
- `match_issuer_serial` (is this the certificate a CMS or an ESS cert id
  names?): asked about the same pairs some 50 times a document, each time
  re-encoding both names to DER and, failing that, comparing them per RFC
  5280. Its answer is kept per pair of DER contents (and classes):
  asn1crypto's `.contents` is the value's encoding as it is now (a
  changed value is encoded again), and a value flagged as changed in
  place is not looked up at all.
- X.509 name comparisons and `hashable` (the key certificate registries
  index names by): each runs LDAP string preparation over every attribute
  of a name, for every freshly parsed copy of the same name, hundreds of
  times a document. Kept per name's DER contents, the same way.
- The raw signature checks (certificates, OCSP responses, CMS signer
  infos; some 40 a document, most of them the same ones again): a check
  that passed is kept per signature, signed bytes, public key, algorithm
  and context; one that failed raises again every time.
- Parsing the same certificates, OCSP responses and CRLs again: pyHanko
  loads them from the DSS once per revision and per validation context,
  and copies every certificate of a CMS (`untag()`) per CMS validation,
  each copy parsed anew, lazily, as it is read. Within one verification
  `load` of a certificate, an OCSP response or a CRL returns one value
  per DER (and class), and `untag()` of a certificate one copy per DER:
  parsed once, then read by everyone. Validation reads these values and
  never changes them; a value flagged as changed in place is not handed
  out again.
- The present-time trust half of the first pass (the signature time-stamp
  and its TSA path, the signer's path and revocation now), at B-LT and
  B-LTA: AdES long-term validation does it again, and its conclusion is
  the one the report takes. signing.verify runs long-term validation
  first, and where it concludes (`trust_once()`), `integrity_status` gives
  what the first pass would have, from pyHanko's integrity pass (coverage,
  difference analysis, DocMDP) and long-term validation's own CMS check
  (the same `validate_sig_integrity` over the same signed data), with the
  seed-value checks run on long-term validation's path. Where it does not
  conclude, or anything here raises, the first pass runs in full.

The memos belong to one verification (`verification()`, entered by
verify_pdf around its checks) and are dropped at its end; the integrity
memo is keyed by the signature object and holds it, so its identity cannot
be reused. A failing call is not kept, and raises again. Outside a
verification (signing, the tests of other modules) the originals run.

Installed when `signing` is imported, for pyHanko 0.38 and asn1crypto
1.5.1 (the versions the calls were read against);
tests/signing/test_verify_memo.py compares reports with and without.
"""
from __future__ import annotations

import contextlib
import contextvars
import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

from asn1crypto import __version__ as asn1crypto_version
from asn1crypto import core, crl, ocsp, x509
from pyhanko.sign import general
from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.validation import pdf_embedded
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko.version import __version__ as pyhanko_version
from pyhanko_certvalidator.sig_validate import (
    DEFAULT_VALIDATION_CONTEXT,
    DefaultSignatureValidator,
    SignatureValidationContext,
)

ORIGINAL_COMPUTE_INTEGRITY: Callable[..., None] = EmbeddedPdfSignature.compute_integrity_info
ORIGINAL_MATCH_ISSUER_SERIAL = general.match_issuer_serial
ORIGINAL_NAME_EQ = x509.RDNSequence.__eq__
ORIGINAL_NAME_HASHABLE = x509.RDNSequence.hashable
ORIGINAL_VALIDATE_SIGNATURE = DefaultSignatureValidator.validate_signature
# parsed once per DER within a verification (load is asn1crypto's classmethod, inherited)
PARSED_ONCE = (x509.Certificate, ocsp.OCSPResponse, crl.CertificateList)
ORIGINAL_LOADS = {cls: cls.__dict__.get("load") for cls in PARSED_ONCE}  # None: inherited
ORIGINAL_LOAD = x509.Certificate.load.__func__
ORIGINAL_CERT_UNTAG = x509.Certificate.__dict__.get("untag")  # None: inherited
CHECKED_PYHANKO = ("0.38.0",)
CHECKED_ASN1CRYPTO = ("1.5.1",)

# pyHanko 0.38's async_validate_pdf_signature accepts these SubFilters
_SIGNATURE_SUBFILTERS = (SigSeedSubFilter.ADOBE_PKCS7_DETACHED, SigSeedSubFilter.PADES, SigSeedSubFilter.PBAD_PADES)
_trust_once = False  # set by install(), for the versions checked

# one dict per verification; None outside one
_memo: contextvars.ContextVar[dict[Any, Any] | None] = contextvars.ContextVar("signing_verify_memo", default=None)


@contextlib.contextmanager
def verification() -> Iterator[None]:
    """The scope of the memos: one verification of one document."""
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def compute_integrity_info(self: EmbeddedPdfSignature, diff_policy: Any = None, skip_diff: bool = False) -> None:
    memo = _memo.get()
    if memo is None:
        ORIGINAL_COMPUTE_INTEGRITY(self, diff_policy, skip_diff)
        return None
    policy = diff_policy or DEFAULT_DIFF_POLICY  # as pyHanko resolves it
    key = ("integrity", id(self))
    done = memo.get(key)
    # Skipped only if the last computation was for this signature and this
    # policy, and covered at least as much (a diff, or no diff asked now).
    if done is not None and done[0] is self and done[1] is policy and (not done[2] or skip_diff):
        return None
    ORIGINAL_COMPUTE_INTEGRITY(self, diff_policy, skip_diff)
    memo[key] = (self, policy, skip_diff)
    return None


def match_issuer_serial(expected_issuer_serial: Any, cert: Any) -> bool:
    # pyHanko hands over fresh copies (untag()) each time, so the key is what
    # they were parsed from: their classes and DER contents.
    contents = _contents(expected_issuer_serial, cert)
    if contents is None:
        return ORIGINAL_MATCH_ISSUER_SERIAL(expected_issuer_serial, cert)
    return bool(_kept(("issuer_serial", type(expected_issuer_serial), type(cert), *contents),
                      lambda: ORIGINAL_MATCH_ISSUER_SERIAL(expected_issuer_serial, cert)))


def _contents(*values: Any) -> tuple[bytes, ...] | None:
    """The DER contents the values were parsed from, or None for a value
    built or changed in memory, or outside a verification (then the
    originals run)."""
    if _memo.get() is None:
        return None  # not even the contents: outside a verification nothing changes
    found = tuple(getattr(v, "contents", None) for v in values)
    if all(isinstance(c, bytes) and not getattr(v, "_mutated", True) for c, v in zip(found, values, strict=True)):
        return found  # type: ignore[return-value]
    return None


def _kept(key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
    memo = _memo.get()
    if memo is None:
        return compute()
    try:
        return memo[key]
    except KeyError:
        value = memo[key] = compute()  # a failure raises, and is not kept
        return value


def name_eq(self: x509.RDNSequence, other: object) -> bool:
    contents = _contents(self, other) if isinstance(other, x509.RDNSequence) else None
    if contents is None:
        return bool(ORIGINAL_NAME_EQ(self, other))
    return bool(_kept(("name_eq", *contents), lambda: ORIGINAL_NAME_EQ(self, other)))


def name_hashable(self: x509.RDNSequence) -> str:
    contents = _contents(self)
    if contents is None:
        return str(ORIGINAL_NAME_HASHABLE.fget(self))
    return str(_kept(("name_hashable", *contents), lambda: ORIGINAL_NAME_HASHABLE.fget(self)))


def validate_signature(self: DefaultSignatureValidator, signature: bytes, signed_data: bytes, public_key_info: Any,
                       signature_algorithm: Any, context: SignatureValidationContext = DEFAULT_VALIDATION_CONTEXT) -> None:
    def check() -> bool:
        ORIGINAL_VALIDATE_SIGNATURE(self, signature, signed_data, public_key_info, signature_algorithm, context)
        return True  # it raises when the signature does not verify

    contents = _contents(public_key_info, signature_algorithm)
    if contents is None or not isinstance(signature, bytes) or not isinstance(signed_data, bytes):
        check()
    else:
        _kept(("signature", signature, signed_data, *contents, context), check)


def load(cls: type, /, encoded_data: Any, strict: bool = False, **kwargs: Any) -> Any:
    """asn1crypto's `Asn1Value.load`, one value per class and DER within a
    verification."""
    if kwargs or not isinstance(encoded_data, bytes) or _memo.get() is None:
        return ORIGINAL_LOAD(cls, encoded_data, strict=strict, **kwargs)
    return _shared(("load", cls, strict, encoded_data), lambda: ORIGINAL_LOAD(cls, encoded_data, strict=strict))


def certificate_untag(self: x509.Certificate) -> x509.Certificate:
    """asn1crypto's `untag()` (a copy without tagging: for a certificate,
    the same class and DER whatever the original's tagging), one copy per
    DER within a verification."""
    contents = _contents(self)
    if contents is None:
        return core.Asn1Value.untag(self)
    return _shared(("untag", type(self), *contents), lambda: core.Asn1Value.untag(self))


def _shared(key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
    """One value per key within a verification, while it is unchanged."""
    memo = _memo.get()
    if memo is None:
        return make()
    value = memo.get(key)
    if value is None or getattr(value, "_mutated", True):
        value = memo[key] = make()  # a failure raises, and is not kept
    return value


def trust_once() -> bool:
    """May long-term validation stand in for the first pass's trust half?"""
    return _trust_once


def integrity_status(sig: EmbeddedPdfSignature, long_term: PdfSignatureStatus) -> PdfSignatureStatus | None:
    """What the first pass (`async_validate_pdf_signature`) checks apart from
    present-time trust, on long-term validation's status: the SubFilter
    check, the integrity pass (digest, coverage, difference analysis; its
    result as pyHanko summarises it) and the seed-value constraints checked
    against long-term validation's path and time-stamp, as pyHanko checks
    them. The signed bytes' digest and the CMS signature check (`intact`,
    `valid`) are long-term validation's, from the same function over the
    same signed data. None when this cannot stand in for the first pass:
    switched off, a SubFilter the first pass refuses, or a status without
    the signature checked or without a path. Raises what the integrity pass
    raises (the caller then runs the first pass, which raises it again)."""
    if not _trust_once or not (long_term.intact and long_term.valid) or long_term.validation_path is None:
        return None
    try:
        if SigSeedSubFilter(sig.sig_object.get("/SubFilter")) not in _SIGNATURE_SUBFILTERS:
            return None
    except ValueError:
        return None
    sig.compute_integrity_info()  # as the first pass calls it (kept by the integrity memo)
    ts = long_term.timestamp_validity
    timestamp_found = ts is not None and ts.valid and ts.trusted
    seed_values = pdf_embedded.report_seed_value_validation(sig, long_term.validation_path, timestamp_found)
    return dataclasses.replace(long_term, **sig.summarise_integrity_info(), **seed_values)


def install() -> None:
    global _trust_once
    if pyhanko_version in CHECKED_PYHANKO and asn1crypto_version in CHECKED_ASN1CRYPTO:
        _trust_once = True
        EmbeddedPdfSignature.compute_integrity_info = compute_integrity_info  # type: ignore[method-assign]
        general.match_issuer_serial = match_issuer_serial
        x509.RDNSequence.__eq__ = name_eq
        x509.RDNSequence.hashable = property(name_hashable)
        DefaultSignatureValidator.validate_signature = validate_signature  # type: ignore[method-assign]
        for cls in PARSED_ONCE:
            cls.load = classmethod(load)
        x509.Certificate.untag = certificate_untag


def uninstall() -> None:
    """The originals again (for the tests and the bench that compare them)."""
    global _trust_once
    _trust_once = False
    EmbeddedPdfSignature.compute_integrity_info = ORIGINAL_COMPUTE_INTEGRITY  # type: ignore[method-assign]
    general.match_issuer_serial = ORIGINAL_MATCH_ISSUER_SERIAL
    x509.RDNSequence.__eq__ = ORIGINAL_NAME_EQ
    x509.RDNSequence.hashable = ORIGINAL_NAME_HASHABLE
    DefaultSignatureValidator.validate_signature = ORIGINAL_VALIDATE_SIGNATURE  # type: ignore[method-assign]
    for cls, original in ORIGINAL_LOADS.items():
        _restore(cls, "load", original)
    _restore(x509.Certificate, "untag", ORIGINAL_CERT_UNTAG)


def _restore(cls: type, name: str, original: Any) -> None:
    if original is None:
        if name in cls.__dict__:
            delattr(cls, name)  # inherited again
    else:
        setattr(cls, name, original)
