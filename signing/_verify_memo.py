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
from collections.abc import Callable, Iterator
from typing import Any

from asn1crypto import __version__ as asn1crypto_version
from asn1crypto import x509
from pyhanko.sign import general
from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
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
CHECKED_PYHANKO = ("0.38.0",)
CHECKED_ASN1CRYPTO = ("1.5.1",)

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


def install() -> None:
    if pyhanko_version in CHECKED_PYHANKO and asn1crypto_version in CHECKED_ASN1CRYPTO:
        EmbeddedPdfSignature.compute_integrity_info = compute_integrity_info  # type: ignore[method-assign]
        general.match_issuer_serial = match_issuer_serial
        x509.RDNSequence.__eq__ = name_eq
        x509.RDNSequence.hashable = property(name_hashable)
        DefaultSignatureValidator.validate_signature = validate_signature  # type: ignore[method-assign]


def uninstall() -> None:
    """The originals again (for the tests and the bench that compare them)."""
    EmbeddedPdfSignature.compute_integrity_info = ORIGINAL_COMPUTE_INTEGRITY  # type: ignore[method-assign]
    general.match_issuer_serial = ORIGINAL_MATCH_ISSUER_SERIAL
    x509.RDNSequence.__eq__ = ORIGINAL_NAME_EQ
    x509.RDNSequence.hashable = ORIGINAL_NAME_HASHABLE
    DefaultSignatureValidator.validate_signature = ORIGINAL_VALIDATE_SIGNATURE  # type: ignore[method-assign]
