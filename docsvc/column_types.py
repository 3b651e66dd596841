"""Column types that convert at the database boundary, so the rest of the code
never meets a value the two profiles hand back differently.

`UtcDateTime`: PostgreSQL gives back aware datetimes, SQLite naive ones that
are UTC. Every timestamp read is aware UTC on both, and a naive one is
refused on write (it would mean local time on one machine, UTC on another).

`Vocabulary`: a state or kind stored as its string (the columns stay
VARCHAR, values unchanged) and read back as the enum member; a value
outside the vocabulary is refused whenever it is bound, in a write or a
lookup, whatever code tries (values from outside are checked first, by
validation.one_of, and answered as invalid input).
"""
from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import DateTime, String
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator):
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"a naive datetime cannot be stored ({value!r}): give it a time zone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:  # SQLite keeps no zone; docsvc only ever wrote UTC
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Vocabulary(TypeDecorator):
    impl = String
    cache_ok = True

    def __init__(self, vocabulary: type[enum.StrEnum], length: int) -> None:
        super().__init__(length)
        self.vocabulary = vocabulary

    def process_bind_param(self, value: str | None, dialect) -> str | None:
        # ValueError names the value and the vocabulary.
        return None if value is None else self.vocabulary(value).value

    def process_result_value(self, value: str | None, dialect) -> enum.StrEnum | None:
        return None if value is None else self.vocabulary(value)
