"""The certification book (sổ chứng thực bản sao từ bản chính, Circular
01/2020/TT-BTP) of an agency and a year: one line per entry, in number
order, with the form's columns; one book of the year (quyển số) or all of
them. Exported as CSV (UTF-8 with a BOM) and a printable XLSX sheet, text
never read as a formula (docsvc/spreadsheets.py): requesters' names and
originals' titles are typed at the counter.

Staff see their own agency's book (an administrator any agency's); the book
names the citizens, so it is never public.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from docsvc import spreadsheets, validation
from docsvc.accounts import reported_agency
from docsvc.ecopies.codes import format_code
from docsvc.ecopies.particulars import MAX_BOOK
from docsvc.localtime import VIETNAM
from docsvc.models import Document, Ecopy, EcopyStatus, RegisterBook, User
from docsvc.permissions import require_staff

TITLE = "SỔ CHỨNG THỰC BẢN SAO TỪ BẢN CHÍNH"
COLUMNS: tuple[spreadsheets.Column, ...] = (
    ("number", "Số chứng thực", 9),
    ("book", "Quyển số", 8),
    ("issued_on", "Ngày chứng thực", 11),
    ("requester_name", "Họ tên người yêu cầu chứng thực", 22),
    ("original_title", "Tên bản chính giấy tờ, văn bản", 30),
    ("original_issuer", "Cơ quan ban hành", 20),
    ("original_number", "Số, ký hiệu", 14),
    ("original_date", "Ngày của bản chính", 11),
    ("page_count", "Số trang", 7),
    ("copies", "Số bản sao", 7),
    ("certifier", "Họ tên, chức danh người ký chứng thực", 24),
    ("fee", "Lệ phí (đồng)", 10),
    ("dossier_code", "Mã hồ sơ", 18),
    ("code", "Mã kiểm tra", 24),
    ("note", "Ghi chú", 16),
)
NOTES = {EcopyStatus.ACTIVE: "", EcopyStatus.REVOKED: "Đã thu hồi", EcopyStatus.SUPERSEDED: "Đã thay thế"}


@dataclass(frozen=True)
class Entry:
    """One line of the book, as printed."""

    number: int
    book: str  # "01/2026-SCT/BS", blank for an entry that is not a certified copy
    issued_on: date
    requester_name: str
    original_title: str
    original_issuer: str
    original_number: str
    original_date: date | None
    page_count: int | None
    copies: int | None
    certifier: str
    fee: int | None
    dossier_code: str
    code: str
    note: str
    status: str
    document_id: str

    def cells(self) -> list:
        return [getattr(self, key) if getattr(self, key) is not None else "" for key, _, _ in COLUMNS]

    def to_json(self) -> dict:
        return {key: value.isoformat() if isinstance(value, date) else value for key, value in vars(self).items()}


@dataclass(frozen=True)
class CertificationBook:
    agency_id: int
    agency_code: str
    agency_name: str
    year: int
    book_number: int | None  # None: every book of the year
    entries: list[Entry]

    @property
    def heading(self) -> str:
        return f"Quyển số {self.book_number:02d}/{self.year}-SCT/BS" if self.book_number else f"Năm {self.year}"

    def to_json(self) -> dict:
        return {"agency": {"id": self.agency_id, "code": self.agency_code, "name": self.agency_name},
                "year": self.year, "book_number": self.book_number, "entries": [e.to_json() for e in self.entries]}


def certification_book(session: Session, user: User, *, year: int, book_number: int | None = None,
                       agency_id: int | None = None) -> CertificationBook:
    require_staff(user)
    validation.in_range(year, "year", validation.MIN_YEAR, validation.MAX_YEAR)
    if book_number is not None:
        validation.in_range(book_number, "book", 1, MAX_BOOK)
    agency = reported_agency(session, user, agency_id)  # another agency's book is not the user's business
    query = (
        select(Ecopy, Document.register_number)
        .join(Document, Document.id == Ecopy.document_id)
        .where(Ecopy.agency_id == agency.id, Document.register_book == RegisterBook.CERTIFICATION,
               Document.register_year == year)
        .order_by(Document.register_number)
    )
    if book_number is not None:
        query = query.where(Ecopy.book_number == book_number)
    entries = [_entry(ecopy, number, year) for ecopy, number in session.execute(query)]
    return CertificationBook(agency.id, agency.code, agency.name, year, book_number, entries)


def _entry(ecopy: Ecopy, number: int, year: int) -> Entry:
    certifier = ", ".join(filter(None, (ecopy.certifier_name, ecopy.certifier_title)))
    return Entry(
        number=number, book=f"{ecopy.book_number:02d}/{year}-SCT/BS" if ecopy.book_number else "",
        issued_on=_vietnam_day(ecopy.issued_at), requester_name=ecopy.requester_name or "",
        original_title=ecopy.original_title or "", original_issuer=ecopy.original_issuer or "",
        original_number=ecopy.original_number or "", original_date=ecopy.original_date,
        page_count=ecopy.page_count, copies=ecopy.copies, certifier=certifier, fee=ecopy.fee,
        dossier_code=ecopy.dossier_code or "", code=format_code(ecopy.code), note=NOTES.get(ecopy.status, ecopy.status),
        status=ecopy.status, document_id=ecopy.document_id,
    )


def _vietnam_day(at: datetime) -> date:
    return at.astimezone(VIETNAM).date()


# --- exports ----------------------------------------------------------------------


def to_csv(book: CertificationBook) -> bytes:
    def write(writer: spreadsheets.SafeCsvWriter) -> None:
        writer.writerow(["Cơ quan", book.agency_name])
        writer.writerow([TITLE.capitalize(), book.heading])
        writer.writerow([])
        writer.writerow([label for _, label, _ in COLUMNS])
        for entry in book.entries:
            writer.writerow(entry.cells())
    return spreadsheets.csv_bytes(write)


def to_xlsx(book: CertificationBook) -> bytes:
    """A sheet to print: agency, title, which book, then the entries."""
    workbook, sheet = spreadsheets.new_sheet("Sổ chứng thực")
    width = len(COLUMNS)
    spreadsheets.banner(sheet, 1, book.agency_name.upper(), width)
    spreadsheets.banner(sheet, 2, TITLE, width, size=14)
    spreadsheets.banner(sheet, 3, book.heading, width, bold=False, italic=True)
    spreadsheets.table(sheet, 5, COLUMNS, [e.cells() for e in book.entries],
                       highlight=lambda index: book.entries[index].status != EcopyStatus.ACTIVE)
    return spreadsheets.workbook_bytes(workbook)


FORMATS = {
    "csv": ("text/csv; charset=utf-8", to_csv),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", to_xlsx),
}


def filename(book: CertificationBook, extension: str) -> str:
    which = f"quyen-{book.book_number:02d}" if book.book_number else "ca-nam"
    return f"so-chung-thuc_{book.agency_code}_{book.year}_{which}.{extension}"
