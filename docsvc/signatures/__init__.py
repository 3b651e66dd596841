"""The service's side of signatures: the trust store and the development PKI
and verification for the API, page and CLI (`verification`), signing keys
(`credentials`), archive time-stamp renewal (`archiving`), how long signed
records are kept (`retention`), the printable verification report
(`report_pdf`). The signing
itself is the `signing` library.

Other packages and the entry points use only the names below.
"""
from docsvc.signatures.archiving import due_at, renew_due
from docsvc.signatures.credentials import (
    add_credential,
    credential_for,
    has_credential,
    image_bytes,
    open_key,
    readable_by_others,
)
from docsvc.signatures.report_pdf import render as render_report
from docsvc.signatures.retention import record_terms, record_versions, retain_version, signed_records
from docsvc.signatures.verification import (
    create_dev_pki,
    dev_pki,
    dev_services,
    trust_config,
    verify,
    verify_upload,
)

__all__ = [
    "add_credential", "create_dev_pki", "credential_for",
    "dev_pki", "dev_services", "due_at", "has_credential", "image_bytes", "open_key", "readable_by_others",
    "record_terms", "record_versions", "render_report", "renew_due", "retain_version", "signed_records",
    "trust_config", "verify", "verify_upload",
]
