"""Why a verification came out as it did: a stable code with its facts.

Modelled on pyHanko's `AdESSubIndic` and EU DSS's sub-indications: a report
carries codes and parameters, and whoever shows it to a person renders the
words in that person's language (docsvc/texts.py for Vietnamese). The
English `message` is rendered here, so a report read by a program or in a
log still says it in a sentence.

Templates name their parameters; a parameter with a format spec says what
kind of value it is (`{date:date}`, `{when:datetime}`: ISO 8601 strings;
`{revocation_reason:revocation_reason}`: an RFC 5280 CRLReason name), so
each renderer may write it its own way. A reason whose optional parameter
is unknown (None) is rendered from the variant `<code>.without_<param>`.
"""
from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from asn1crypto.crl import CRLReason


class ReasonCode(StrEnum):
    # The file as a whole
    NOT_A_PDF = "not_a_pdf"
    ENCRYPTED = "encrypted"
    UNREADABLE_STRUCTURE = "unreadable_structure"
    DAMAGED_SIGNATURE = "damaged_signature"
    NO_SIGNATURE = "no_signature"
    CANNOT_CHECK = "cannot_check"
    FILE_DECLARES_TOO_MUCH = "file_declares_too_much"
    FILE_TOO_COMPLEX = "file_too_complex"
    # Document time-stamps (B-LTA); each of these invalidates the document
    DOC_TIMESTAMP_CANNOT_CHECK = "doc_timestamp_cannot_check"
    DOC_TIMESTAMP_NOT_MATCHING = "doc_timestamp_not_matching"
    MODIFIED_AFTER_DOC_TIMESTAMP = "modified_after_doc_timestamp"
    # One signature: integrity
    SIGNATURE_CANNOT_CHECK = "signature_cannot_check"
    CONTENT_ALTERED = "content_altered"
    SIGNATURE_NOT_COVERING_REVISION = "signature_not_covering_revision"
    MODIFIED_AFTER_SIGNING = "modified_after_signing"
    LATER_CHANGES_ALLOWED = "later_changes_allowed"
    TIMESTAMP_BROKEN = "timestamp_broken"
    # One signature: trust and revocation
    TIMESTAMP_REVOCATION_UNKNOWN = "timestamp_revocation_unknown"
    TIMESTAMP_UNTRUSTED = "timestamp_untrusted"
    CERTIFICATE_REVOKED = "certificate_revoked"
    REVOKED_AFTER_SIGNING = "revoked_after_signing"
    CERTIFICATE_EXPIRED = "certificate_expired"
    CERTIFICATE_EXPIRED_NO_PROOF = "certificate_expired_no_proof"
    UNTRUSTED_ROOT = "untrusted_root"
    CERTIFICATE_INVALID = "certificate_invalid"
    REVOCATION_UNKNOWN_OFFLINE = "revocation_unknown_offline"
    REVOCATION_UNKNOWN_REFUSED = "revocation_unknown_refused"
    REVOCATION_UNKNOWN_UNREACHABLE = "revocation_unknown_unreachable"


_REVOCATION_UNKNOWN = "The certificate chains to a trusted root, but its revocation status could not be obtained ("

# The English sentences, as verification wrote them before it had codes.
ENGLISH: dict[str, str] = {
    ReasonCode.NOT_A_PDF: "The file is not a PDF document.",
    ReasonCode.ENCRYPTED: "The PDF is encrypted; its signatures cannot be read.",
    ReasonCode.UNREADABLE_STRUCTURE: "The PDF structure cannot be read ({error_type}).",
    ReasonCode.DAMAGED_SIGNATURE: "A signature in the document is damaged and cannot be read ({error_type}).",
    ReasonCode.NO_SIGNATURE: "The document carries no digital signature.",
    ReasonCode.CANNOT_CHECK: "The document could not be checked ({error}).",
    ReasonCode.FILE_DECLARES_TOO_MUCH: "{detail}",
    ReasonCode.FILE_TOO_COMPLEX: "{detail} Its signatures could not be checked.",
    ReasonCode.DOC_TIMESTAMP_CANNOT_CHECK: "The document time-stamp '{field}' cannot be checked: {error}",
    ReasonCode.DOC_TIMESTAMP_NOT_MATCHING: "The document time-stamp '{field}' does not match the document.",
    ReasonCode.MODIFIED_AFTER_DOC_TIMESTAMP: "The document was changed after its time-stamp '{field}'.",
    ReasonCode.SIGNATURE_CANNOT_CHECK: "The signature cannot be checked: {error}",
    ReasonCode.CONTENT_ALTERED: "The signed content was altered after signing (the signature no longer matches).",
    ReasonCode.SIGNATURE_NOT_COVERING_REVISION: "The signature does not cover the whole revision it belongs to.",
    ReasonCode.MODIFIED_AFTER_SIGNING: "The document was changed after signing in a way a signature does not allow "
                                       "({detail}).",
    ReasonCode.LATER_CHANGES_ALLOWED: "Form fields were filled or further signatures added after this signature "
                                      "(allowed).",
    ReasonCode.TIMESTAMP_BROKEN: "The signature time-stamp is broken.",
    ReasonCode.TIMESTAMP_REVOCATION_UNKNOWN: "The signature time-stamp's authority could not be confirmed: the "
                                             "revocation status of its certificate could not be obtained.",
    ReasonCode.TIMESTAMP_UNTRUSTED: "The signature time-stamp comes from a time-stamping authority that is not "
                                    "trusted.",
    ReasonCode.CERTIFICATE_REVOKED: "The certificate was revoked on {date:date} "
                                    "({revocation_reason:revocation_reason}), and nothing proves the document was "
                                    "signed before.",
    f"{ReasonCode.CERTIFICATE_REVOKED}.without_date": "The certificate was revoked, and nothing proves the document "
                                                      "was signed before.",
    ReasonCode.REVOKED_AFTER_SIGNING: "The certificate was revoked on {date:date} "
                                      "({revocation_reason:revocation_reason}), after the time-stamp proves the "
                                      "document was signed ({timestamp:datetime}); the signature stays valid.",
    ReasonCode.CERTIFICATE_EXPIRED: "The certificate expired on {date:date}, before the document was signed.",
    ReasonCode.CERTIFICATE_EXPIRED_NO_PROOF: "The certificate expired on {date:date} and nothing proves the "
                                             "signature is older.",
    ReasonCode.UNTRUSTED_ROOT: "The certificate does not chain to a trusted root (unknown CA).",
    ReasonCode.CERTIFICATE_INVALID: "The certificate could not be validated ({problem}).",
    ReasonCode.REVOCATION_UNKNOWN_OFFLINE: _REVOCATION_UNKNOWN + "not embedded in the document; online checking "
                                                                 "is off).",
    ReasonCode.REVOCATION_UNKNOWN_REFUSED: _REVOCATION_UNKNOWN + "not embedded in the document; fetching it was not "
                                                                 "allowed by the verification policy: {refused}).",
    ReasonCode.REVOCATION_UNKNOWN_UNREACHABLE: _REVOCATION_UNKNOWN + "not embedded in the document, and the CA "
                                                                     "could not be reached).",
}


@dataclass(frozen=True)
class Reason:
    code: ReasonCode
    params: Mapping[str, Any]
    message: str  # in English; people read the rendering of code and params in their language
    # Does this reason alone make the document invalid? (A document
    # time-stamp that no longer matches does; its signatures may all be valid.)
    invalidates: bool = field(default=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {"code": str(self.code), "params": dict(self.params), "message": self.message}


def reason(code: ReasonCode, *, invalidates: bool = False, **params: Any) -> Reason:
    return Reason(code, params, render(ENGLISH[template_key(code, params)], params, _ENGLISH_VALUES), invalidates)


def template_key(code: str, params: Mapping[str, Any]) -> str:
    """The catalogue key for these params: the variant without an unknown one."""
    missing = [name for name, value in params.items() if value is None]
    return f"{code}.without_{missing[0]}" if missing else str(code)


def render(template: str, params: Mapping[str, Any], values: Mapping[str, Callable[[Any], str]]) -> str:
    """The template with the params, each written by `values[spec]` when its
    field has a format spec."""
    return _Writer(values).vformat(template, (), params)


class _Writer(string.Formatter):
    def __init__(self, values: Mapping[str, Callable[[Any], str]]) -> None:
        self.values = values

    def format_field(self, value: Any, spec: str) -> str:
        write = self.values.get(spec)
        return write(value) if write is not None else super().format_field(value, spec)


_ENGLISH_VALUES: dict[str, Callable[[Any], str]] = {
    "date": str,  # ISO 8601, as reports always wrote it
    "datetime": str,
    "revocation_reason": lambda name: CRLReason(name).human_friendly,
}
