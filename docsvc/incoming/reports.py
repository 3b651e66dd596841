"""Reports on the incoming register (báo cáo tình hình tiếp nhận, xử lý văn
bản đến) for a period and an agency: the counts provincial reports ask for,
by document type, and the register entries of the period; exported as JSON,
CSV (UTF-8 with a BOM, for Excel) and a printable XLSX sheet.

The counts are SQL aggregates (one GROUP BY over the agency's book). They
read the register as it is now: a document reopened after the period counts
as not handled, because the register keeps the latest handling date only.

Definitions (dates are calendar days in Vietnam time):
- carried_over: received before `start` and not handled before `start`;
- received: received_date within the period;
- processed: handled (done) on a day within the period; on time when there
  was no deadline or it was handled on or before the deadline, else late;
- in_progress_at_end: received by `end` and not handled by `end`;
- overdue_at_end: of those, the deadline is before min(end, today).
carried_over + received − processed = in_progress_at_end.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Date, and_, case, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from docsvc import spreadsheets
from docsvc.accounts import reported_agency
from docsvc.errors import InvalidInput
from docsvc.incoming import handling
from docsvc.localtime import VIETNAM
from docsvc.models import Document, Handling, User
from docsvc.permissions import require_staff
from docsvc.spreadsheets import day

MAX_PERIOD_DAYS = 5 * 366  # about five years
COUNTS = ("carried_over", "received", "processed", "processed_on_time", "processed_late",
          "in_progress_at_end", "overdue_at_end")

# The Vietnamese wording of the exports (the official language of the report).
TITLE = "BÁO CÁO TÌNH HÌNH TIẾP NHẬN, XỬ LÝ VĂN BẢN ĐẾN"
COUNT_LABELS = {
    "carried_over": "Kỳ trước chuyển sang",
    "received": "Tiếp nhận trong kỳ",
    "processed": "Đã xử lý trong kỳ",
    "processed_on_time": "   Trong đó: đúng hạn",
    "processed_late": "   Trong đó: quá hạn",
    "in_progress_at_end": "Đang xử lý cuối kỳ",
    "overdue_at_end": "   Trong đó: quá hạn xử lý",
}
COLUMNS = (
    ("number", "Số đến", 8),
    ("received_date", "Ngày đến", 11),
    ("issuing_body", "Nơi gửi (tác giả)", 22),
    ("number_symbol", "Số, ký hiệu", 15),
    ("issued_date", "Ngày văn bản", 11),
    ("doc_type", "Loại văn bản", 13),
    ("title", "Trích yếu nội dung", 45),
    ("handler", "Người/đơn vị xử lý", 20),
    ("deadline", "Hạn xử lý", 11),
    ("status", "Trạng thái", 14),
    ("handled_date", "Ngày xử lý xong", 11),
    ("timeliness", "Tiến độ", 12),
)
# Keyed by str: a register line carries its status as the stored text.
STATUS_LABELS: dict[str, str] = {
    Handling.RECEIVED: "Chưa giao xử lý",
    Handling.ASSIGNED: "Đã giao xử lý",
    Handling.IN_PROGRESS: "Đang xử lý",
    Handling.DONE: "Đã xử lý xong",
    Handling.RECALLED: "Đã thu hồi",
}
TIMELINESS_LABELS = {"on_time": "Đúng hạn", "late": "Trễ hạn", "overdue": "Quá hạn", "within": "Trong hạn", "": ""}
UNTYPED = "Chưa phân loại"


class vn_date(FunctionElement):
    """The Vietnam calendar day of a stored UTC timestamp, computed by the database."""

    type = Date()
    name = "vn_date"
    inherit_cache = True


@compiles(vn_date)
def _vn_date_sqlite(element, compiler, **kw):
    # SQLite keeps UTC as text; Vietnam has been UTC+7 all year since 1975.
    return f"date({compiler.process(element.clauses, **kw)}, '+7 hours')"


@compiles(vn_date, "postgresql")
def _vn_date_postgresql(element, compiler, **kw):
    return f"CAST(({compiler.process(element.clauses, **kw)} AT TIME ZONE 'Asia/Ho_Chi_Minh') AS DATE)"


@dataclass(frozen=True)
class TypeCounts:
    doc_type: str | None
    received: int
    processed: int
    in_progress_at_end: int
    overdue_at_end: int


@dataclass(frozen=True)
class Entry:
    """One line of the incoming register, as printed."""

    document_id: str
    year: int
    number: int
    received_date: date
    issuing_body: str | None
    number_symbol: str | None
    issued_date: date | None
    doc_type: str | None
    title: str
    handler: str
    deadline: date | None
    status: str
    handled_date: date | None
    timeliness: str  # on_time, late (handled); overdue, within (open with a deadline); "" otherwise

    @property
    def overdue(self) -> bool:
        return self.timeliness == "overdue"


@dataclass
class IncomingReport:
    agency_id: int
    agency_code: str
    agency_name: str
    start: date
    end: date
    as_of: date  # the day overdue is judged on: min(end, today)
    carried_over: int = 0
    received: int = 0
    processed: int = 0
    processed_on_time: int = 0
    processed_late: int = 0
    in_progress_at_end: int = 0
    overdue_at_end: int = 0
    by_type: list[TypeCounts] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNTS}

    def to_json(self) -> dict:
        return {
            "agency": {"id": self.agency_id, "code": self.agency_code, "name": self.agency_name},
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "as_of": self.as_of.isoformat(),
            "counts": self.counts(),
            "by_type": [asdict(row) for row in self.by_type],
            "entries": [
                {key: value.isoformat() if isinstance(value, date) else value for key, value in asdict(e).items()}
                | {"overdue": e.overdue}
                for e in self.entries
            ],
        }


def parse_period(start, end) -> tuple[date, date]:
    """Validated (start, end) from dates or YYYY-MM-DD text."""
    start = handling.parse_date(start, "from")
    end = handling.parse_date(end, "to")
    if start is None or end is None:
        raise InvalidInput("Give the period: from and to, as dates written YYYY-MM-DD.")
    if start > end:
        raise InvalidInput("The start of the period (from) is after its end (to).")
    if (end - start).days >= MAX_PERIOD_DAYS:
        raise InvalidInput("The period is longer than five years; report on a shorter one.")
    return start, end


def vietnam_midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time.min, VIETNAM).astimezone(UTC)


def incoming_report(session: Session, user: User, *, start: date, end: date, agency_id: int | None = None) -> IncomingReport:
    require_staff(user)
    start, end = parse_period(start, end)
    agency = reported_agency(session, user, agency_id)
    as_of = min(end, handling.today())
    report = IncomingReport(agency.id, agency.code, agency.name, start, end, as_of)

    handled_day = vn_date(Document.handled_at)
    # handled_at is indexed-range friendly: the period as UTC instants.
    handled_in_period = and_(
        Document.handled_at >= vietnam_midnight_utc(start),
        Document.handled_at < vietnam_midnight_utc(end + timedelta(days=1)),
    )
    handled_by_end = Document.handled_at < vietnam_midnight_utc(end + timedelta(days=1))
    received_in_period = Document.received_date.between(start, end)
    # A document its sender recalled stops being open when it was given back.
    kept_at_end = or_(Document.recalled_at.is_(None), Document.recalled_at >= vietnam_midnight_utc(end + timedelta(days=1)))
    kept_at_start = or_(Document.recalled_at.is_(None), Document.recalled_at >= vietnam_midnight_utc(start))
    open_at_end = and_(Document.received_date <= end, or_(Document.handled_at.is_(None), ~handled_by_end), kept_at_end)
    late = and_(Document.deadline.is_not(None), handled_day > Document.deadline)

    def count(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    query = (
        select(
            Document.doc_type,
            count(and_(Document.received_date < start, kept_at_start,
                       or_(Document.handled_at.is_(None), Document.handled_at >= vietnam_midnight_utc(start)))),
            count(received_in_period),
            count(handled_in_period),
            count(and_(handled_in_period, late)),
            count(open_at_end),
            count(and_(open_at_end, Document.deadline < as_of)),
        )
        .where(
            Document.agency_id == agency.id,
            Document.register_book == handling.BOOK,
            or_(Document.received_date <= end, handled_in_period),
        )
        .group_by(Document.doc_type)
    )
    for doc_type, carried, received, processed, processed_late, open_, overdue in session.execute(query):
        carried, received, processed, processed_late, open_, overdue = (
            int(v) for v in (carried, received, processed, processed_late, open_, overdue)
        )
        report.carried_over += carried
        report.received += received
        report.processed += processed
        report.processed_late += processed_late
        report.in_progress_at_end += open_
        report.overdue_at_end += overdue
        if received or processed or open_:
            report.by_type.append(TypeCounts(doc_type, received, processed, open_, overdue))
    report.processed_on_time = report.processed - report.processed_late
    report.by_type.sort(key=lambda row: (-row.received, row.doc_type is None, row.doc_type or ""))
    report.entries = _entries(session, report, handled_day)
    return report


def _entries(session: Session, report: IncomingReport, handled_day) -> list[Entry]:
    rows = session.execute(
        select(
            Document.id, Document.register_year, Document.register_number, Document.received_date,
            Document.issuing_body, Document.number_symbol, Document.issued_date, Document.doc_type,
            Document.title, Document.assignee_department, User.full_name, User.username,
            Document.deadline, Document.handling_status, handled_day, Document.recalled_at,
        )
        .outerjoin(User, User.id == Document.assignee_id)
        .where(
            Document.agency_id == report.agency_id,
            Document.register_book == handling.BOOK,
            Document.received_date.between(report.start, report.end),
        )
        .order_by(Document.register_year, Document.register_number)
    )
    entries = []
    for (doc_id, year, number, received, issuing_body, number_symbol, issued, doc_type, title, department,
         full_name, username, deadline, status, handled, recalled_at) in rows:
        handled = _as_date(handled)
        person = full_name or username or ""
        handler = f"{person} ({department})" if person and department else person or department or ""
        done_by_end = handled is not None and handled <= report.end
        if deadline is None or (
                recalled_at is not None and recalled_at < vietnam_midnight_utc(report.end + timedelta(days=1))):
            timeliness = ""  # none, or given back to its sender: no longer handled
        elif done_by_end:
            timeliness = "late" if handled > deadline else "on_time"
        else:
            timeliness = "overdue" if deadline < report.as_of else "within"
        entries.append(Entry(
            doc_id, year, number, received, issuing_body, number_symbol, issued, doc_type, title, handler,
            deadline, status or Handling.RECEIVED, handled, timeliness,
        ))
    return entries


def _as_date(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


# --- exports ----------------------------------------------------------------------


def period_text(report: IncomingReport) -> str:
    return f"Từ ngày {day(report.start)} đến ngày {day(report.end)}"


def _cells(entry: Entry) -> list:
    """One register line in the order of COLUMNS, dates left as dates."""
    values = {
        **asdict(entry),
        "doc_type": entry.doc_type or "",
        "status": STATUS_LABELS.get(entry.status, entry.status),
        "timeliness": TIMELINESS_LABELS.get(entry.timeliness, entry.timeliness),
    }
    return [values[key] if values[key] is not None else "" for key, _, _ in COLUMNS]


def to_csv(report: IncomingReport) -> bytes:
    """Two blocks a person reads in Excel: the counts, then (after an empty
    line) the register of the period with its own header row. Dates dd/mm/yyyy."""
    def write(writer: spreadsheets.SafeCsvWriter) -> None:
        writer.writerow(["Chỉ tiêu", "Số văn bản"])
        writer.writerow(["Cơ quan", report.agency_name])
        writer.writerow(["Kỳ báo cáo", period_text(report)])
        for name in COUNTS:
            writer.writerow([COUNT_LABELS[name].strip(), getattr(report, name)])
        writer.writerow([])
        writer.writerow([label for _, label, _ in COLUMNS])
        for entry in report.entries:
            writer.writerow(_cells(entry))
    return spreadsheets.csv_bytes(write)


def to_xlsx(report: IncomingReport) -> bytes:
    """A sheet to print: title, agency, period, counts, then the register;
    landscape A4, one page wide, the register's header repeated on every page."""
    from openpyxl.styles import Font

    workbook, sheet = spreadsheets.new_sheet("Văn bản đến")
    width = len(COLUMNS)
    spreadsheets.banner(sheet, 1, report.agency_name.upper(), width)
    spreadsheets.banner(sheet, 2, TITLE, width, size=14)
    spreadsheets.banner(sheet, 3, period_text(report), width, bold=False, italic=True)
    row = 5
    for name in COUNTS:
        label = spreadsheets.put(sheet.cell(row=row, column=1), COUNT_LABELS[name].strip())
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=3)
        value = spreadsheets.put(sheet.cell(row=row, column=4), getattr(report, name))
        label.font = Font(name=spreadsheets.FONT, size=12, bold=not COUNT_LABELS[name].startswith(" "))
        value.font = Font(name=spreadsheets.FONT, size=12, bold=True)
        row += 1
    spreadsheets.table(sheet, row + 1, COLUMNS, [_cells(e) for e in report.entries],
                       highlight=lambda index: report.entries[index].overdue)
    return spreadsheets.workbook_bytes(workbook)


def filename(report: IncomingReport, extension: str) -> str:
    return f"bao-cao-van-ban-den_{report.agency_code}_{report.start.isoformat()}_{report.end.isoformat()}.{extension}"
