"""Register numbers (số đến, số đi, số chứng thực): 1 on 1 January, never
repeated, never skipped, also when many clerks register at the same moment,
on SQLite and on PostgreSQL."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest

from docsvc import accounts, registers
from docsvc.errors import InvalidInput


def agency_id(rt, code="UBND-XA") -> int:
    with rt.read() as session:
        return accounts.agency_by_code(session, code).id


def test_many_clerks_at_once_get_one_to_n(rt):
    agency = agency_id(rt)
    clerks, each = 8, 25

    def register_some(_clerk: int) -> list[int]:
        numbers = []
        for _ in range(each):
            with rt.write() as session:
                numbers.append(registers.allocate(session, agency, "incoming", date(2026, 3, 2)))
        return numbers

    with ThreadPoolExecutor(clerks) as pool:
        results = [n for batch in pool.map(register_some, range(clerks)) for n in batch]
    assert sorted(results) == list(range(1, clerks * each + 1))


def test_a_registration_that_fails_gives_its_number_back(rt):
    agency = agency_id(rt)
    with rt.write() as session:
        assert registers.allocate(session, agency, "outgoing", date(2026, 5, 1)) == 1
    with pytest.raises(RuntimeError), rt.write() as session:
        assert registers.allocate(session, agency, "outgoing", date(2026, 5, 2)) == 2
        raise RuntimeError("the registration's file could not be stored")
    with rt.write() as session:
        assert registers.allocate(session, agency, "outgoing", date(2026, 5, 3)) == 2


def test_each_book_agency_and_year_counts_on_its_own(rt):
    with rt.write() as session:
        accounts.add_agency(session, "UBND-HUYEN", "UBND huyện", level="district")
    xa, huyen = agency_id(rt), agency_id(rt, "UBND-HUYEN")
    with rt.write() as session:
        got = [
            registers.allocate(session, xa, "incoming", date(2026, 12, 31)),
            registers.allocate(session, xa, "incoming", date(2026, 12, 31)),
            registers.allocate(session, xa, "incoming", date(2027, 1, 1)),  # a new year starts at 1
            registers.allocate(session, xa, "certification", date(2026, 12, 31)),
            registers.allocate(session, huyen, "incoming", date(2026, 12, 31)),
        ]
    assert got == [1, 2, 1, 1, 1]
    with rt.write() as session, pytest.raises(InvalidInput):
        registers.allocate(session, xa, "no-such-book", date(2026, 1, 1))
