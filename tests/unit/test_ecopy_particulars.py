"""The certification entry's fields as a clerk types them (the API's JSON,
the issue form, the CLI's options): each is checked before anything is
stamped or numbered, with the {code, message} of docsvc.errors; blanks are
filled from the source document; the public part never names the citizen."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from docsvc.ecopies import particulars
from docsvc.errors import InvalidCharacters, InvalidInput, OutOfRange, TextTooLong
from docsvc.localtime import today
from docsvc.models import Document, Ecopy

GIVEN = {
    "requester_name": "  Trần   Thị Mai ", "original_title": "Giấy khai sinh", "original_issuer": "UBND xã Quảng Phú",
    "original_number": "45/2024/TLKS-BS", "original_date": "2024-03-15", "book_number": "2",
    "certifier_name": "Nguyễn Văn An", "certifier_title": "Phó Chủ tịch UBND xã", "page_count": 2, "copies": "3",
    "dossier_code": "000.00.12.H56-261123-0042", "fee": "20.000",
}


def test_what_a_clerk_types_is_kept_trimmed_and_typed():
    entry = particulars.given(GIVEN)
    assert entry.requester_name == "Trần Thị Mai"
    assert entry.original_date == date(2024, 3, 15)
    assert (entry.book_number, entry.page_count, entry.copies, entry.fee) == (2, 2, 3, 20_000)
    assert entry.dossier_code == "000.00.12.H56-261123-0042"


@pytest.mark.parametrize("written, amount", [
    (0, 0), ("0", 0), (20000, 20000), ("20000", 20000), ("20.000", 20000), ("20,000", 20000), ("1 200 000", 1_200_000),
    ("20.000 đ", 20000), ("", None), (None, None), (20000.0, 20000),
])
def test_the_fee_is_whole_dong_written_as_people_write_it(written, amount):
    assert particulars.given({"fee": written}).fee == amount


@pytest.mark.parametrize("written, error", [
    (-1, OutOfRange), ("-2000", InvalidInput), ("2.5", InvalidInput), (20.5, InvalidInput), (True, InvalidInput),
    ("20.00", InvalidInput), ("2e4", InvalidInput), ("1" * 40, InvalidInput), (10**12, OutOfRange), ([1], InvalidInput),
])
def test_a_fee_that_is_not_whole_dong_is_refused(written, error):
    with pytest.raises(error) as caught:
        particulars.given({"fee": written})
    assert "fee" in caught.value.message


@pytest.mark.parametrize("field, value, error", [
    ("requester_name", "A" * 256, TextTooLong),
    ("original_title", "x\x00y", InvalidCharacters),
    ("original_issuer", "UBND\x1b[31m", InvalidCharacters),
    ("certifier_title", "\ud800", InvalidCharacters),
    ("original_number", 45, InvalidInput),
    ("original_date", "15/03/2024", InvalidInput),
    ("original_date", "1800-01-01", OutOfRange),
    ("original_date", (today() + timedelta(days=1)).isoformat(), InvalidInput),
    ("book_number", "0", OutOfRange),
    ("book_number", "100", OutOfRange),
    ("page_count", "10" * 20, OutOfRange),
    ("copies", 0, OutOfRange),
    ("copies", "ba", InvalidInput),
    ("dossier_code", "000.00.12 H56", InvalidInput),
    ("dossier_code", "<script>", InvalidInput),
    ("dossier_code", "X" * 65, TextTooLong),
])
def test_hostile_fields_are_refused_with_their_name(field, value, error):
    with pytest.raises(error) as caught:
        particulars.given({field: value})
    assert field in caught.value.message and caught.value.code == error.code


def test_blanks_come_from_the_source_document_and_the_certifier():
    source = Document(title="Bản sao giấy khai sinh", issuing_body="UBND xã Quảng Phú", number_symbol="45/2024/TLKS-BS",
                      issued_date=date(2024, 3, 15), page_count=2)
    entry = particulars.completed(particulars.given({"original_title": "", "copies": "2"}), source,
                                  requester="Trần Thị Mai", certifier=("Nguyễn Văn An", "Chủ tịch UBND xã"), book_number=1)
    assert entry == particulars.Particulars(
        requester_name="Trần Thị Mai", original_title="Bản sao giấy khai sinh", original_issuer="UBND xã Quảng Phú",
        original_number="45/2024/TLKS-BS", original_date=date(2024, 3, 15), book_number=1,
        certifier_name="Nguyễn Văn An", certifier_title="Chủ tịch UBND xã", page_count=2, copies=2, fee=0)


def test_the_public_part_never_names_the_citizen():
    ecopy = Ecopy(citizen_id="001203004567")
    particulars.on_record(ecopy, particulars.given(GIVEN))
    public = particulars.public_json(ecopy)
    assert public["original_number"] == "45/2024/TLKS-BS" and public["original_date"] == "2024-03-15"
    shown = repr(public)
    for private in ("Trần Thị Mai", "Giấy khai sinh", "000.00.12.H56", "20000", "001203004567"):
        assert private not in shown
