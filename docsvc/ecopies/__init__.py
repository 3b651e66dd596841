"""Certified e-copies: issuing them (stamp, number, signature), their codes
(`codes`), lookups and verification by code or file, citizens' portal and
share links (`service`); `api` and `pages` are their routes.

Other packages and the entry points use only the names below.
"""
from docsvc.ecopies.codes import format_code
from docsvc.ecopies.particulars import given as check_particulars
from docsvc.ecopies.service import (
    by_code,
    change_status,
    issue,
    issued_json,
    lookup,
    match_file,
    public_url,
    registered_report,
    signed_file_of,
)

__all__ = ["by_code", "change_status", "check_particulars", "format_code", "issue", "issued_json", "lookup", "match_file",
           "public_url",
           "registered_report", "signed_file_of"]
