"""The incoming register: registering a received document in the agency's
book, assigning it with a deadline, its handling (`handling`), and the
reports provinces ask for on it (`reports`, served by `report_routes`).

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
)
from docsvc.incoming.reports import incoming_report, parse_period, to_csv, to_xlsx

# Who may route, and who handles a document, are rules of docsvc.permissions;
# named here too until web/pages.py asks permissions itself.
from docsvc.permissions import ROUTERS, is_handler

__all__ = [
    "ROUTERS", "TRANSITIONS", "WrongRegister", "assign", "find_registered_copy", "incoming_report", "is_handler",
    "is_overdue", "move", "parse_date", "parse_period", "queue", "refuse_registered_copy", "register_document",
    "register_entries", "to_csv", "to_xlsx",
]
