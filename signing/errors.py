"""Errors a user can cause while signing, each with a stable `code`.

The service maps `code` to its one JSON error shape and CLI message, so codes
never change once published; `message` is for people and may be reworded.
Verification never raises these for a bad *document*: a forged or broken PDF
is a verdict in the report, not an exception.
"""
from __future__ import annotations


class SigningError(Exception):
    """Base class: something the user (not the program) must fix."""

    code = "signing_error"
    default_message = "The document could not be signed."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)

    def to_json(self) -> dict[str, str]:
        """Same shape as docsvc.errors.DocsvcError: {"code", "message"}."""
        return {"code": self.code, "message": self.message}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class WrongPassphrase(SigningError):
    code = "wrong_passphrase"
    default_message = "The passphrase or PIN does not open the key."


class KeyNotFound(SigningError):
    code = "key_not_found"
    default_message = "No signing key was found where it was expected."


class NotAPdf(SigningError):
    code = "not_a_pdf"
    default_message = "The file is not a readable PDF document."


class EncryptedPdf(SigningError):
    code = "encrypted_pdf"
    default_message = "The PDF is password-protected; remove the protection before signing."


class CertificateRevoked(SigningError):
    code = "certificate_revoked"
    default_message = "The signing certificate has been revoked by its CA."


class CertificateExpired(SigningError):
    code = "certificate_expired"
    default_message = "The signing certificate is not valid at this time (expired or not yet valid)."


class CertificateUntrusted(SigningError):
    code = "certificate_untrusted"
    default_message = "The signing certificate does not chain to a trusted root."


class TimestampUnavailable(SigningError):
    code = "timestamp_unavailable"
    default_message = "The time-stamping authority could not be reached or refused the request."


class RevocationUnavailable(SigningError):
    code = "revocation_unavailable"
    default_message = "Revocation information (OCSP/CRL) for the certificate could not be obtained."


class InvalidAppearance(SigningError):
    code = "invalid_appearance"
    default_message = "The signature appearance cannot be placed on this document."


class FieldAlreadySigned(SigningError):
    code = "field_already_signed"
    default_message = "That signature field is already signed."
