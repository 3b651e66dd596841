"""The incoming register: registering a received document in the agency's
book, assigning it with a deadline, its handling (`handling`), and the
reports provinces ask for on it (`reports`); `api` and `pages` are its routes.

Other packages and the entry points use only the names below.
"""
from docsvc.incoming.handling import (
    TRANSITIONS,
    WrongRegister,
    assign,
    find_registered_copy,
    is_overdue,
    move,
    parse_date,
    queue,
    refuse_registered_copy,
    register_document,
    register_entries,
    withdraw,
)
from docsvc.incoming.reports import COUNTS as REPORT_COUNTS
from docsvc.incoming.reports import STATUS_LABELS as REPORT_STATUS_LABELS
from docsvc.incoming.reports import (
    IncomingReport,
    incoming_report,
    parse_period,
    to_csv,
    to_xlsx,
    vietnam_midnight_utc,
    vn_date,
)
from docsvc.incoming.reports import filename as report_filename

# Who may route, and who handles a document, are rules of docsvc.permissions;
# named here too until web/pages.py asks permissions itself.

__all__ = [
    "IncomingReport", "REPORT_COUNTS", "REPORT_STATUS_LABELS", "TRANSITIONS", "WrongRegister", "assign",
    "find_registered_copy", "incoming_report", "is_overdue", "move", "parse_date", "parse_period",
    "queue", "refuse_registered_copy", "register_document", "register_entries", "report_filename", "to_csv",
    "to_xlsx", "vietnam_midnight_utc", "vn_date", "withdraw",
]
