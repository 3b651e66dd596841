"""Vietnam's time, which people read and registers count days in; the
database keeps UTC."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def today() -> date:
    """The calendar day in Vietnam: a document received at 06:30 on 1 January
    (23:30 UTC the day before) is the first of the new year."""
    return datetime.now(VIETNAM).date()
