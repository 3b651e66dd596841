"""The entry points under fuzz, each with the promise it makes about any input.

A file parser either accepts the file or raises a `docsvc.errors.DocsvcError`
(the one error shape users see); verification returns a report whose
verdict is valid, invalid or indeterminate, and a report that is not valid
says why. Anything else (another exception, a verdict outside the three, a
refusal without a reason) is a `PropertyViolation`. Only the public
functions are called, so the promise holds however they run inside (in
this process or in a resource-limited child).
"""
from __future__ import annotations

import datetime
import io
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from docsvc import pdf
from docsvc.config import Settings
from docsvc.documents import formats as intake
from docsvc.documents import suggest
from docsvc.ecopies import codes as ecopy_codes
from docsvc.errors import DocsvcError
from docsvc.signatures import verification as signatures
from tests.fuzz.findings import known

VERDICTS = ("valid", "invalid", "indeterminate")
# Inputs that met a known, still open finding (tests/fuzz/findings.py), by its id.
KNOWN_MET: Counter[str] = Counter()


class PropertyViolation(AssertionError):
    """An entry point broke its promise; the message says how, the cause is chained."""


@dataclass(frozen=True)
class Outcome:
    kind: str  # accepted | refused | report | known (a finding of findings.py)
    detail: str  # what was accepted, the error code, or the verdict


def _refused(exc: DocsvcError) -> Outcome:
    if not exc.message or not exc.code:
        raise PropertyViolation(f"{type(exc).__name__} without a code or message")
    return Outcome("refused", exc.code)


def _unexpected(where: str, exc: BaseException) -> PropertyViolation:
    last = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    at = f" at {Path(last.filename).name}:{last.lineno} in {last.name}" if last else ""
    violation = PropertyViolation(f"{where} raised {type(exc).__name__}: {str(exc)[:300]}{at}")
    violation.__cause__ = exc
    return violation


def _guarded(where: str, call: Callable[[], Outcome]) -> Outcome:
    try:
        return call()
    except DocsvcError as exc:
        return _refused(exc)
    except PropertyViolation:
        raise
    except Exception as exc:  # noqa: BLE001 - the point: any other exception breaks the promise
        finding = known(where, exc)
        if finding is not None:
            KNOWN_MET[finding.id] += 1
            return Outcome("known", finding.id)
        raise _unexpected(where, exc) from exc


def upload_intake(settings: Settings, path: Path) -> Outcome:
    """docsvc.documents.formats.inspect_upload, as the upload path calls it."""
    def call() -> Outcome:
        info = intake.inspect_upload(path, max_pages=settings.max_pages, max_image_pixels=settings.max_image_pixels)
        if info.page_count < 1 or info.media_type not in (intake.PDF, intake.JPEG, intake.PNG, intake.TIFF):
            raise PropertyViolation(f"inspect_upload accepted a file as {info}")
        return Outcome("accepted", info.media_type)
    return _guarded("docsvc.documents.formats.inspect_upload", call)


def inspect_pdf(path: Path) -> Outcome:
    def call() -> Outcome:
        info = pdf.inspect_pdf(path)
        if info.page_count < 1:
            raise PropertyViolation(f"inspect_pdf accepted a PDF with {info.page_count} pages")
        return Outcome("accepted", f"{info.page_count} pages")
    return _guarded("docsvc.pdf.inspect_pdf", call)


def page_texts(path: Path) -> Outcome:
    def call() -> Outcome:
        texts = list(pdf.iter_page_texts(path))
        if not all(isinstance(t, str) for t in texts):
            raise PropertyViolation("iter_page_texts yielded something other than text")
        return Outcome("accepted", f"{len(texts)} pages")
    return _guarded("docsvc.pdf.iter_page_texts", call)


def verification(settings: Settings, data: bytes) -> Outcome:
    """docsvc.signatures.verification.verify (signing.verify_pdf with the installation's trust)."""
    def call() -> Outcome:
        report = signatures.verify(settings, io.BytesIO(data))
        if report.verdict not in VERDICTS:
            raise PropertyViolation(f"verdict {report.verdict!r}")
        explained = report.reasons or any(s.reasons for s in report.signatures)
        if report.verdict != "valid" and not explained:
            raise PropertyViolation(f"verdict {report.verdict} without a reason: {report.to_json()}")
        for s in report.signatures:
            if s.verdict not in VERDICTS:
                raise PropertyViolation(f"signature verdict {s.verdict!r}")
        return Outcome("report", report.verdict)
    return _guarded("docsvc.signatures.verification.verify", call)


def ecopy_code(text: str) -> Outcome:
    """normalize: the canonical code (stable, formattable) or InvalidCode."""
    def call() -> Outcome:
        canonical = ecopy_codes.normalize(text)
        if len(canonical) != ecopy_codes.CODE_LENGTH or ecopy_codes.normalize(canonical) != canonical:
            raise PropertyViolation(f"normalize({text!r}) = {canonical!r}, which is not canonical")
        if ecopy_codes.normalize(ecopy_codes.format_code(canonical)) != canonical:
            raise PropertyViolation(f"the printed form of {canonical!r} does not read back")
        return Outcome("accepted", "code")
    return _guarded("docsvc.ecopies.codes.normalize", call)


def suggestion(text: str) -> Outcome:
    """suggest_fields never raises; what it returns fits the register form."""
    def call() -> Outcome:
        s = suggest.suggest_fields(text)
        for name in ("issuing_body", "number_symbol", "doc_type", "summary"):
            value = getattr(s, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise PropertyViolation(f"{name} = {value!r}")
        if s.summary is not None and len(s.summary) > suggest.SUMMARY_MAX:
            raise PropertyViolation(f"summary of {len(s.summary)} characters")
        if s.issued_date is not None and not isinstance(s.issued_date, datetime.date):
            raise PropertyViolation(f"issued_date = {s.issued_date!r}")
        s.as_dict()
        return Outcome("accepted", "fields" if any(s.as_dict().values()) else "nothing")
    return _guarded("docsvc.documents.suggest.suggest_fields", call)
