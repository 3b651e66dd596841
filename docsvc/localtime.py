"""Vietnam's time, which people read and registers count days in; the
database keeps UTC."""
from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
WITH_SECONDS = "%d/%m/%Y %H:%M:%S"  # a signature's time, where seconds matter


def today() -> date:
    """The calendar day in Vietnam: a document received at 06:30 on 1 January
    (23:30 UTC the day before) is the first of the new year."""
    return datetime.now(VIETNAM).date()


def day_of(moment: datetime) -> date:
    """The Vietnam calendar day of an aware time (every column gives them
    aware): 23:30 UTC on 31 December is already 1 January."""
    if moment.utcoffset() is None:
        # astimezone() would read it as this machine's local time.
        raise ValueError(f"a naive datetime has no Vietnam day ({moment!r})")
    return moment.astimezone(VIETNAM).date()


def local_time(value: datetime | str | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    """A moment as people in Vietnam read it; a report's ISO 8601 string too
    (signature times), which a citizen should not have to decode."""
    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(VIETNAM).strftime(fmt)
