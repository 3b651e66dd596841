"""Vietnam's time, which people read and registers count days in; the
database keeps UTC."""
from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def today() -> date:
    """The calendar day in Vietnam: a document received at 06:30 on 1 January
    (23:30 UTC the day before) is the first of the new year."""
    return datetime.now(VIETNAM).date()


def day_of(moment: datetime) -> date:
    """The Vietnam calendar day of a stored time (aware, or naive UTC as
    SQLite returns it): 23:30 UTC on 31 December is already 1 January."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(VIETNAM).date()
