"""Register numbers: số đến, số văn bản đi, số chứng thực.

Each book of each agency numbers from 1 on 1 January, with no gap and no
repeat, also when many clerks register at once. The number is taken inside
the caller's transaction from a counter row that the transaction locks
(PostgreSQL: SELECT … FOR UPDATE; SQLite: the write transaction already
holds the database's write lock, see Runtime.write), so the registration and
its number commit or roll back together.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from docsvc.errors import InvalidInput
from docsvc.models import RegisterCounter

BOOKS = ("incoming", "outgoing", "certification")
_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def allocate(session: Session, agency_id: int, book: str, on: date) -> int:
    """The next number of `book` for `agency_id` in the year of `on`."""
    if book not in BOOKS:
        raise InvalidInput(f"Register book must be one of {', '.join(BOOKS)}.")
    insert = _INSERTS[session.get_bind().dialect.name]
    # The first registration of a year creates the row; racing creators are
    # harmless (DO NOTHING), and all then queue on the row lock below.
    session.execute(
        insert(RegisterCounter)
        .values(agency_id=agency_id, book=book, year=on.year, last_number=0)
        .on_conflict_do_nothing(index_elements=["agency_id", "book", "year"])
    )
    counter = session.execute(
        select(RegisterCounter)
        .where(RegisterCounter.agency_id == agency_id, RegisterCounter.book == book, RegisterCounter.year == on.year)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    counter.last_number += 1
    session.flush()
    return counter.last_number
