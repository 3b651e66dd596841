"""What a certification entry records beside the file (Decree 23/2015 and
the Circular 01/2020/TT-BTP book; Decree 45/2020 for e-results): who asked,
what the original is, the book, who certified, pages, copies, the
procedure's dossier code and the fee.

`given` checks what a clerk typed (API JSON, the issue form, CLI options;
all hostile until checked) before anything is stamped or numbered, so a
refused field leaves nothing behind; `completed` fills what was not given
from the source document and the installation's certifier; `on_record`
writes it on the Ecopy row. Which of it anyone may see is `PUBLIC`.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from docsvc import validation
from docsvc.errors import InvalidInput
from docsvc.localtime import today
from docsvc.models import Document, Ecopy

MAX_BOOK = 99  # "quyển số 01" … a year's books
MAX_PAGES = 10_000
MAX_COPIES = 100

# The request's (and the Ecopy column's) names, in the book's order.
FIELDS = ("requester_name", "original_title", "original_issuer", "original_number", "original_date",
          "book_number", "certifier_name", "certifier_title", "page_count", "copies", "dossier_code", "fee")

# What public verification (/v/<code>, verify by file, a share link's page)
# shows: what the original is by its issuer, number and date, how many
# pages and copies, who certified it. Never who asked (the requester, the
# citizen ID), nor the original's title: free text that names the person
# ("Giấy khai sinh của Trần Thị Mai"), nor the dossier code (on the national
# portal it opens the citizen's dossier), nor the fee they paid.
PUBLIC = ("original_issuer", "original_number", "original_date", "book_number", "certifier_name",
          "certifier_title", "page_count", "copies")


@dataclass(frozen=True)
class Particulars:
    requester_name: str | None = None
    original_title: str | None = None
    original_issuer: str | None = None
    original_number: str | None = None
    original_date: date | None = None
    book_number: int | None = None
    certifier_name: str | None = None
    certifier_title: str | None = None
    page_count: int | None = None
    copies: int | None = None
    dossier_code: str | None = None
    fee: int | None = None

    def to_json(self) -> dict:
        return {name: _json(getattr(self, name)) for name in FIELDS}


def given(raw: Mapping[str, Any]) -> Particulars:
    """The fields a request gives, checked; blank ones are None (filled later)."""
    if not isinstance(raw, Mapping):
        raise InvalidInput("The e-copy's particulars must be an object.")
    text = lambda name, limit: validation.optional_text(raw.get(name), name, limit)  # noqa: E731
    number = lambda name, low, high: validation.whole_number(raw.get(name), name, low, high)  # noqa: E731
    original_date = validation.parse_date(raw.get("original_date"), "original_date")
    if original_date is not None and original_date > today():
        raise InvalidInput("original_date is in the future; give the date the original was issued.")
    return Particulars(
        requester_name=text("requester_name", validation.FULL_NAME),
        original_title=text("original_title", validation.TITLE),
        original_issuer=text("original_issuer", validation.ISSUING_BODY),
        original_number=text("original_number", validation.NUMBER_SYMBOL),
        original_date=original_date,
        book_number=number("book_number", 1, MAX_BOOK),
        certifier_name=text("certifier_name", validation.FULL_NAME),
        certifier_title=text("certifier_title", validation.OFFICIAL_TITLE),
        page_count=number("page_count", 1, MAX_PAGES),
        copies=number("copies", 1, MAX_COPIES),
        dossier_code=validation.dossier_code(raw.get("dossier_code")),
        fee=validation.amount_vnd(raw.get("fee"), "fee"),
    )


def completed(asked: Particulars, source: Document, *, requester: str | None, certifier: tuple[str, str],
              book_number: int | None) -> Particulars:
    """What the entry records: what was given, else the source document's
    register fields, the citizen's account name, the certifier, one copy, no fee."""
    def first(value, fallback):
        return value if value is not None else fallback

    return dataclasses.replace(
        asked,
        requester_name=first(asked.requester_name, requester or None),
        original_title=first(asked.original_title, source.title or None),
        original_issuer=first(asked.original_issuer, source.issuing_body),
        original_number=first(asked.original_number, source.number_symbol),
        original_date=first(asked.original_date, source.issued_date),
        book_number=book_number,
        certifier_name=first(asked.certifier_name, certifier[0] or None),
        certifier_title=first(asked.certifier_title, certifier[1] or None),
        page_count=first(asked.page_count, source.page_count),
        copies=first(asked.copies, 1),
        fee=first(asked.fee, 0),
    )


def on_record(ecopy: Ecopy, particulars: Particulars) -> None:
    for name in FIELDS:
        setattr(ecopy, name, getattr(particulars, name))


def of(ecopy: Ecopy) -> Particulars:
    return Particulars(**{name: getattr(ecopy, name) for name in FIELDS})


def public_json(ecopy: Ecopy) -> dict:
    return {name: _json(getattr(ecopy, name)) for name in PUBLIC}


def _json(value):
    return value.isoformat() if isinstance(value, date) else value
