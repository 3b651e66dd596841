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

from sqlalchemy import event, func, inspect, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from docsvc import validation
from docsvc.errors import Conflict
from docsvc.models import Document, Ecopy, RegisterBook, RegisterCounter

_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def allocate(session: Session, agency_id: int, book: RegisterBook, on: date) -> int:
    """The next number of `book` for `agency_id` in the year of `on`."""
    book = validation.one_of(book, RegisterBook, "Register book")
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


# --- a register entry, once given, is permanent ------------------------------------
# Any code that re-used a registered document for something else (an e-copy
# once overwrote an incoming document's entry with its certification number,
# leaving a gap in the incoming book) fails here, whatever module it is in.
ENTRY_FIELDS = ("register_book", "register_year", "register_number", "kind")


class RegisterEntryChanged(Conflict):
    code = "register_entry_permanent"


@event.listens_for(Document, "before_update")
def _keep_register_entry(_mapper, _connection, document: Document) -> None:
    state = inspect(document)
    if state.committed_state.get("register_book", document.register_book) is None:
        return  # not registered before this change
    changed = [name for name in ENTRY_FIELDS if state.attrs[name].history.has_changes()]
    if changed:
        raise RegisterEntryChanged(
            "A registered document keeps its place in its register book; make a new document instead "
            f"(tried to change {', '.join(changed)})."
        )


@event.listens_for(Session, "before_flush")
def _keep_records(session: Session, _context, _instances) -> None:
    # Before the flush, not on the row's own delete: its files go first.
    for document in [o for o in session.deleted if isinstance(o, Document)]:
        with session.no_autoflush:
            certified = session.scalar(select(func.count()).select_from(Ecopy).where(
                or_(Ecopy.document_id == document.id, Ecopy.source_document_id == document.id)))
        if document.register_book is not None or certified:
            raise RegisterEntryChanged("A registered or certified document is a record and cannot be deleted.")
