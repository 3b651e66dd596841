"""What comes from outside (API JSON, forms, query strings, the command line),
checked once, here, before any of it reaches the database or a file.

Text: PostgreSQL refuses a NUL character in any text value, parameters of a
lookup included (psycopg's DataError, which was a 500 on the scaled profile),
openpyxl refuses the other C0 control characters in an XLSX cell, and a lone
surrogate (JSON allows "\\ud800") cannot be encoded as UTF-8 by either
database driver. So text fields refuse those characters, whichever profile
runs, and have a length limit no larger than their column (PostgreSQL
refuses an over-long VARCHAR; SQLite would silently keep it).

Numbers: a page or year like 10**30 overflows SQLite's 64-bit integers and
Python's date arithmetic; each number has the range it means.
"""
from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Any, TypeVar

from docsvc.errors import (
    InvalidCharacters,
    InvalidCitizenId,
    InvalidInput,
    InvalidOrgCode,
    OutOfRange,
    TextTooLong,
)

# Tab, newline and carriage return are text; the other C0 controls, lone
# surrogates and the two XML non-characters are not.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

# Column sizes (docsvc/models.py) and the limits of free-text columns.
TITLE = 500
FILENAME = 255
NUMBER_SYMBOL = 128
ISSUING_BODY = 255
DOC_TYPE = 64
DEPARTMENT = 128
USERNAME = 128
FULL_NAME = 255
AGENCY_CODE = 64
AGENCY_NAME = 255
AGENCY_SYMBOL = 32
RECIPIENT = 255
LABEL = 128
PATH = 500
NOTE = 2000  # handling notes, return comments
REASON = 1000  # why an e-copy was revoked or superseded
FILTER = 200
OFFICIAL_TITLE = 255  # "Phó Chủ tịch UBND xã Quảng Phú"
DOSSIER_CODE = 64  # mã hồ sơ of the national portal: 000.00.12.H56-261123-0042

# Dates a register can hold: from the first documents of the state (1945) with
# a margin, to a far future; outside this, Python's date arithmetic (the day
# after 9999-12-31, Vietnam midnight of 0001-01-01 in UTC) overflows.
MIN_DATE, MAX_DATE = date(1900, 1, 1), date(2999, 12, 31)
MIN_YEAR, MAX_YEAR = MIN_DATE.year, MAX_DATE.year
MAX_PAGE = 1_000_000
MAX_PER_PAGE = 100
# Database ids are 64-bit on both profiles; a larger number names nothing.
MAX_ID = 2**63 - 1
# Amounts of money are whole đồng (VND has no subunit in use); a fee above
# this is a typing mistake, and it stays within a 32-bit column.
MAX_VND = 1_000_000_000

# The 12 digits of a citizen identity card (căn cước công dân, CCCD): the
# 9-digit identity cards (CMND) stopped being valid at the end of 2024.
_CITIZEN_ID = re.compile(r"[0-9]{12}", re.ASCII)
# An agency's electronic identification code (mã định danh, Decision
# 20/2020/QĐ-TTg): groups of digits and capital letters joined by dots, at
# most 35 characters, e.g. 000.00.00.G22.
ORG_CODE = 35
_ORG_CODE = re.compile(r"[0-9A-Z]+(\.[0-9A-Z]+)*", re.ASCII)
_WHOLE = re.compile(r"[+-]?[0-9]+", re.ASCII)
# 2000, or grouped by thousands as people write đồng: 2.000, 2,000, 2 000.
_VND = re.compile(r"[0-9]+|[0-9]{1,3}([., ][0-9]{3})+", re.ASCII)
_DOSSIER_CODE = re.compile(r"[0-9A-Za-z][0-9A-Za-z.\-_/]*", re.ASCII)


def text(value: Any, field: str, limit: int, *, multiline: bool = False) -> str:
    """The text of a field, trimmed: single-line fields have their runs of
    white space made one space; multi-line ones keep their lines."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text.")
    check_characters(value, field)
    value = value.strip() if multiline else " ".join(value.split())
    if len(value) > limit:
        raise TextTooLong(f"{field} is longer than {limit} characters.")
    return value


def optional_text(value: Any, field: str, limit: int, *, multiline: bool = False) -> str | None:
    """As text(), with a blank value as None."""
    return text(value, field, limit, multiline=multiline) or None


def check_characters(value: str, field: str) -> str:
    if _FORBIDDEN.search(value):
        raise InvalidCharacters(
            f"{field} contains a character that cannot be stored (a NUL byte or another control character)."
        )
    return value


def is_storable(value: str) -> bool:
    """Whether the database can take this text at all (for lookups by a key
    from a URL: one it cannot take names nothing)."""
    return not _FORBIDDEN.search(value)


def cleaned(value: str | None) -> str | None:
    """Text docsvc itself read from a document (suggested register fields):
    the characters that cannot be stored become spaces rather than refusing
    the clerk's registration for something they did not type."""
    return None if value is None else _FORBIDDEN.sub(" ", value)


def citizen_id(value: Any) -> str:
    """The 12 digits of a CCCD; spaces and dots people type between groups are dropped."""
    if not isinstance(value, str):
        raise InvalidCitizenId("The citizen ID must be the 12 digits of the citizen's identity card (CCCD).")
    digits = re.sub(r"[\s.]", "", value)
    if not _CITIZEN_ID.fullmatch(digits):
        raise InvalidCitizenId("The citizen ID must be the 12 digits of the citizen's identity card (CCCD).")
    return digits


def org_code(value: Any) -> str:
    """An organization code as the national directory writes it (checked, not corrected)."""
    if not isinstance(value, str) or len(value.strip()) > ORG_CODE or not _ORG_CODE.fullmatch(value.strip()):
        raise InvalidOrgCode()
    return value.strip()


Member = TypeVar("Member", bound=StrEnum)


def one_of(value: Any, vocabulary: type[Member], field: str, among: tuple[Member, ...] | None = None) -> Member:
    """The member of a vocabulary (docsvc/models.py) a field names, or
    invalid_input listing the values accepted (all of them, or `among`)."""
    accepted = [member for member in vocabulary if among is None or member in among]
    if isinstance(value, str) and value in accepted:
        return vocabulary(value)
    raise InvalidInput(f"{field} must be one of {', '.join(accepted)}.")


def whole_number(raw: Any, field: str, minimum: int, maximum: int, default: int | None = None) -> int | None:
    """A whole number written in a query string or form (blank: the default), within its range."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return default
    if isinstance(raw, bool):
        raise InvalidInput(f"{field} must be a whole number.")
    if isinstance(raw, str):
        raw = raw.strip()
        if not _WHOLE.fullmatch(raw):
            raise InvalidInput(f"{field} must be a whole number.")
        # Never parsed: nothing in any range has 20 digits (10**30 is just too large).
        if len(raw.lstrip("+-").lstrip("0")) > 19:
            raise OutOfRange(f"{field} must be between {minimum} and {maximum}.")
        raw = int(raw)
    if not isinstance(raw, int):
        raise InvalidInput(f"{field} must be a whole number.")
    return in_range(raw, field, minimum, maximum)


def in_range(value: int, field: str, minimum: int, maximum: int) -> int:
    if not minimum <= value <= maximum:
        raise OutOfRange(f"{field} must be between {minimum} and {maximum}.")
    return value


def parse_date(value: Any, field: str) -> date | None:
    """A date given as YYYY-MM-DD (or a date), between MIN_DATE and MAX_DATE; blank is None."""
    if value in (None, ""):
        return None
    if not isinstance(value, date):
        if not isinstance(value, str) or len(value) > 32:
            raise InvalidInput(f"{field} must be a date written YYYY-MM-DD.")
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            raise InvalidInput(f"{field} must be a date written YYYY-MM-DD.") from None
    if not MIN_DATE <= value <= MAX_DATE:
        raise OutOfRange(f"{field} must be a date between {MIN_DATE.isoformat()} and {MAX_DATE.isoformat()}.")
    return value


def amount_vnd(raw: Any, field: str) -> int | None:
    """A sum in đồng: a whole number from 0 to MAX_VND, written plain or
    grouped by thousands ("2.000", "2,000", "2 000", never "2.5"); blank is None."""
    if isinstance(raw, str):
        raw = raw.strip().removesuffix("đ").removesuffix("VND").strip()
        if not raw:
            return None
        if len(raw) > 32 or not _VND.fullmatch(raw):
            raise InvalidInput(f"{field} must be a whole number of đồng, like 20000 or 20.000.")
        raw = re.sub(r"[., ]", "", raw)
    elif isinstance(raw, float) and raw.is_integer():
        raw = int(raw)  # JSON 20000.0
    elif isinstance(raw, float):
        raise InvalidInput(f"{field} must be a whole number of đồng, like 20000 or 20.000.")
    return whole_number(raw, field, 0, MAX_VND)


def dossier_code(raw: Any, field: str = "dossier_code") -> str | None:
    """The procedure dossier's code (mã hồ sơ): letters, digits and . - _ /, blank is None."""
    value = optional_text(raw, field, DOSSIER_CODE)
    if value is not None and not _DOSSIER_CODE.fullmatch(value):
        raise InvalidInput(f"{field} has only letters, digits and . - _ / (like 000.00.12.H56-261123-0042).")
    return value
