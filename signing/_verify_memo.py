"""Work pyHanko repeats within one verification, done once.

Profiled on B-LTA e-copies (bench/sign_throughput.py, offline
verification), one `verify_pdf` runs pyHanko over the same parsed objects
several times: the first pass, AdES long-term validation (the document
time-stamps as evidence, the signature with time, in the past) and the
document time-stamps' own check. Two of the repetitions cost most:

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
  5280. Its answer is kept per pair of DER contents (and classes): the
  objects were parsed from the document, and verification reads them
  without changing them, so their contents are their value.

Both memos belong to one verification (`verification()`, entered by
verify_pdf around its checks) and are dropped at its end; the integrity
memo is keyed by the signature object and holds it, so its identity cannot
be reused. A failing call is not kept, and raises again. Outside
a verification (signing, the tests of other modules) pyHanko's functions
run as they are.

Installed when `signing` is imported, for pyHanko 0.38 (the version the
calls were read against); tests/signing/test_verify_memo.py compares
reports with and without.
"""
from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from typing import Any

from pyhanko.sign import general
from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.version import __version__ as pyhanko_version

ORIGINAL_COMPUTE_INTEGRITY: Callable[..., None] = EmbeddedPdfSignature.compute_integrity_info
ORIGINAL_MATCH_ISSUER_SERIAL = general.match_issuer_serial
CHECKED_PYHANKO = ("0.38.0",)

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
    memo = _memo.get()
    contents = (getattr(expected_issuer_serial, "contents", None), getattr(cert, "contents", None))
    if memo is None or not all(isinstance(c, bytes) for c in contents):
        return ORIGINAL_MATCH_ISSUER_SERIAL(expected_issuer_serial, cert)
    # pyHanko hands over fresh copies (untag()) each time, so the key is what
    # they were parsed from: their class and DER contents.
    key = ("issuer_serial", type(expected_issuer_serial), type(cert), *contents)
    kept = memo.get(key)
    if kept is None:
        kept = memo[key] = ORIGINAL_MATCH_ISSUER_SERIAL(expected_issuer_serial, cert)
    return bool(kept)


def install() -> None:
    if pyhanko_version in CHECKED_PYHANKO:
        EmbeddedPdfSignature.compute_integrity_info = compute_integrity_info  # type: ignore[method-assign]
        general.match_issuer_serial = match_issuer_serial


def uninstall() -> None:
    """The originals again (for the tests and the bench that compare them)."""
    EmbeddedPdfSignature.compute_integrity_info = ORIGINAL_COMPUTE_INTEGRITY  # type: ignore[method-assign]
    general.match_issuer_serial = ORIGINAL_MATCH_ISSUER_SERIAL
