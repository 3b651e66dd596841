"""Errors a user can cause. Each maps to one JSON shape and one CLI line.

API:  HTTP status + {"code": "...", "message": "..."}
CLI:  "docsvc: error: <message> (<code>)" on stderr, exit status 2.
"""
from __future__ import annotations


class DocsvcError(Exception):
    code = "error"
    http_status = 400
    default_message = "The request could not be completed."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


# The signing library's errors (signing.SigningError: a key, certificate or
# document problem the user can act on) carry a code and a message but no
# HTTP status: this is theirs, for the API, the pages and batch outcomes alike.
SIGNING_ERROR_STATUS = 422


def http_status(error: Exception) -> int:
    """The HTTP status of a DocsvcError or a signing.SigningError."""
    return error.http_status if isinstance(error, DocsvcError) else SIGNING_ERROR_STATUS


class InvalidInput(DocsvcError):
    code = "invalid_input"


# Fields checked by docsvc.validation.


class InvalidCharacters(InvalidInput):
    code = "invalid_characters"
    default_message = "The text contains a character that cannot be stored (a NUL byte or another control character)."


class TextTooLong(InvalidInput):
    code = "text_too_long"


class OutOfRange(InvalidInput):
    code = "out_of_range"


class InvalidCitizenId(InvalidInput):
    code = "invalid_citizen_id"
    default_message = "The citizen ID must be the 12 digits of the citizen's identity card (CCCD)."


class InvalidOrgCode(InvalidInput):
    code = "invalid_org_code"
    default_message = ("An organization code is at most 35 characters: groups of digits and capital letters "
                       "separated by dots, e.g. 000.00.00.H41.")


class EmptyFile(DocsvcError):
    code = "empty_file"
    default_message = "The file is empty."


class NotAPdf(DocsvcError):
    code = "not_a_pdf"
    http_status = 415
    default_message = "The file is not a PDF."


class EncryptedPdf(DocsvcError):
    code = "encrypted_pdf"
    http_status = 422
    default_message = "The PDF is password-protected or encrypted; upload an unprotected copy."


class TruncatedPdf(DocsvcError):
    code = "truncated_pdf"
    http_status = 422
    default_message = "The PDF is incomplete (truncated); the upload or scan may have been cut off."


class CorruptPdf(DocsvcError):
    code = "corrupt_pdf"
    http_status = 422
    default_message = "The PDF is damaged and cannot be read."


class UploadTooLarge(DocsvcError):
    code = "upload_too_large"
    http_status = 413


class InvalidQuery(DocsvcError):
    code = "invalid_query"


class Unauthorized(DocsvcError):
    code = "unauthorized"
    http_status = 401
    default_message = "Sign in or send a valid API token."


class Forbidden(DocsvcError):
    code = "forbidden"
    http_status = 403
    default_message = "You are not allowed to do this."


class NotFound(DocsvcError):
    code = "not_found"
    http_status = 404
    default_message = "Not found."


class Conflict(DocsvcError):
    code = "conflict"
    http_status = 409


class StorageFailure(DocsvcError):
    code = "storage_unavailable"  # as docsvc.outages.DependencyDown("storage") says it
    http_status = 503
    retry_after = 15
    default_message = "Document storage is unavailable; nothing was saved. Try again shortly."


# Scans: what the upload check (docsvc.documents.formats) and OCR (docsvc.documents.ocr) refuse.


class UnsupportedFormat(DocsvcError):
    code = "unsupported_format"
    http_status = 415
    default_message = "This kind of file is not accepted. Upload a PDF, JPEG, PNG or TIFF."


class CorruptImage(DocsvcError):
    code = "corrupt_image"
    http_status = 422
    default_message = "The image is damaged or incomplete and cannot be read; scan it again."


class DecompressionBomb(DocsvcError):
    code = "decompression_bomb"
    http_status = 422
    default_message = "The image declares more pixels than docsvc accepts; scan it at a lower resolution."


class TooManyPages(DocsvcError):
    code = "too_many_pages"
    http_status = 422
    default_message = "The document has more pages than docsvc accepts."

    def __init__(self, message: str | None = None, *, count: int | None = None, limit: int | None = None) -> None:
        if message is None and count is not None and limit is not None:
            message = f"The document has {count} pages; at most {limit} are accepted. Split it into smaller files."
        super().__init__(message)
        self.count = count
        self.limit = limit


class OcrInputError(DocsvcError):
    code = "ocr_failed"
    http_status = 422
    default_message = "Text recognition could not process this document; the original is kept."


class TooManyRequests(DocsvcError):
    code = "too_many_requests"
    http_status = 429
    default_message = "Too many requests from this address; wait a little and try again."

    def __init__(self, message: str | None = None, *, retry_after: int | None = None) -> None:
        """`retry_after`: whole seconds until a request would be allowed (the Retry-After header)."""
        if message is None and retry_after is not None:
            message = f"Too many requests from this address; try again in {retry_after} s."
        super().__init__(message)
        self.retry_after = retry_after


# Parsing files from outside within a budget (docsvc/sandbox.py, docsvc/pdf.py).


class FileTooComplex(DocsvcError):
    code = "file_too_complex"
    http_status = 422
    default_message = (
        "The file is too complex to read within this service's limits; it may be damaged or built to exhaust "
        "a reader. Save it again (print to PDF) and try once more."
    )


class ServiceBusy(DocsvcError):
    code = "busy"
    http_status = 503
    default_message = "The service is reading too many files at once; try again in a few seconds."

    def __init__(self, message: str | None = None, *, retry_after: int = 5) -> None:
        super().__init__(message)
        self.retry_after = retry_after


# Files that arrive in a folder (docsvc/folder_intake.py): the watched folder and the drop folder.


class NotAPlainFile(DocsvcError):
    code = "not_a_plain_file"
    http_status = 422
    default_message = "This is a link, not a file: docsvc never follows a link out of the folder. Copy the file itself."


class InvalidFileName(DocsvcError):
    code = "invalid_file_name"
    http_status = 422
    default_message = ("The file's name is not one line of text (a control character, or bytes that are not UTF-8); "
                       "rename it and put it back.")


class IntakeGaveUp(DocsvcError):
    code = "intake_gave_up"
    http_status = 422
