"""The administrative reform figures (chỉ số cải cách hành chính) that
docsvc's own records can count, per agency and month: each a share with
the counts behind it (numerator over denominator).

Which records each figure counts, and what docsvc cannot know (the README
says it to users too):
- ecopy_results: procedure results issued as reusable e-copies. Denominator:
  the procedure results docsvc knows of, its e-copies of kind
  procedure_result and any e-copy whose record carries a procedure dossier
  code (mã hồ sơ), by the Vietnam month issued. Numerator: of those, the
  ones carrying a dossier code (what links a result to the citizen's dossier
  and data store on the national portal, so later procedures can reuse it)
  and not revoked. Results handed out only on paper, or by another system,
  are not in docsvc's records; a certified copy made at the counter without
  a dossier code is not counted as a procedure's result.
- incoming_digitized: incoming documents registered in the month (by the
  date received) whose text docsvc holds: a scan OCR'd or a born-digital
  file read; over incoming registered.
- incoming_routed: of the same, those routed electronically for handling
  (assigned to a person or a department, whatever happened after); over
  incoming registered. A document its sender recalled after it was routed
  still counts as routed (its assignee is kept); one recalled before stays
  in the denominator only, as it stays in the book. docsvc records the
  routing, not whether a leader read the document before it.
- outgoing_signed: outgoing documents numbered in docsvc's book in the month
  (by their date) that carry the leader's digital signature; over outgoing
  numbered. docsvc numbers only documents its workflow had signed, so the
  share is whole by construction: what the agency issues on paper outside
  docsvc is not in its records.
- case_files_digitized: not counted. docsvc has no procedure case files
  (hồ sơ TTHC): it sees a dossier only as a code on an e-copy, never the
  dossiers received, nor which of their papers were digitized; the one-stop
  system (Hệ thống thông tin giải quyết TTHC) holds them.

The counts read the records as they are now, like the incoming report:
one GROUP BY per source table, by month.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import and_, case, exists, extract, func, or_, select
from sqlalchemy.orm import Session

from docsvc import documents, incoming, validation
from docsvc.accounts import reported_agency
from docsvc.errors import InvalidInput, OutOfRange
from docsvc.localtime import today
from docsvc.models import (
    Document,
    DocumentFile,
    Ecopy,
    EcopyKind,
    EcopyStatus,
    FileRole,
    Handling,
    RegisterBook,
    User,
)
from docsvc.permissions import require_staff

# The figures in the order the page, the API and the exports give them.
COUNTED = ("ecopy_results", "incoming_digitized", "incoming_routed", "outgoing_signed")
NOT_COUNTED = ("case_files_digitized",)
FIGURES = COUNTED + NOT_COUNTED
DEFAULT_MONTHS = 12

Month = tuple[int, int]  # (year, month)


@dataclass(frozen=True)
class Share:
    """numerator of denominator; no share when there is nothing to divide by."""

    numerator: int
    denominator: int

    @property
    def share(self) -> float | None:
        return round(self.numerator / self.denominator, 4) if self.denominator else None

    def to_json(self) -> dict:
        return {"numerator": self.numerator, "denominator": self.denominator, "share": self.share}


@dataclass(frozen=True)
class Figure:
    key: str
    counted: bool
    monthly: tuple[Share, ...] = ()  # one per month of the report, in order

    @property
    def total(self) -> Share:
        return Share(sum(s.numerator for s in self.monthly), sum(s.denominator for s in self.monthly))


@dataclass
class ReformReport:
    agency_id: int
    agency_code: str
    agency_name: str
    months: list[Month]
    figures: list[Figure] = field(default_factory=list)

    @property
    def start(self) -> date:
        return date(*self.months[0], 1)

    @property
    def end(self) -> date:
        return last_day(self.months[-1])

    def figure(self, key: str) -> Figure:
        return next(f for f in self.figures if f.key == key)

    def to_json(self) -> dict:
        return {
            "agency": {"id": self.agency_id, "code": self.agency_code, "name": self.agency_name},
            "from": month_text(self.months[0]),
            "to": month_text(self.months[-1]),
            "months": [month_text(m) for m in self.months],
            "figures": [_figure_json(f, self.months) for f in self.figures],
        }


def _figure_json(figure: Figure, months: list[Month]) -> dict:
    if not figure.counted:
        return {"key": figure.key, "counted": False, "numerator": None, "denominator": None, "share": None,
                "months": []}
    return {"key": figure.key, "counted": True, **figure.total.to_json(),
            "months": [{"month": month_text(m), **s.to_json()} for m, s in zip(months, figure.monthly, strict=True)]}


# --- the period --------------------------------------------------------------------


def month_text(month: Month) -> str:
    return f"{month[0]:04d}-{month[1]:02d}"


def last_day(month: Month) -> date:
    following = (month[0] + month[1] // 12, month[1] % 12 + 1)
    return date(*following, 1) - timedelta(days=1)


def _month_of(raw, name: str) -> Month | None:
    """A month written YYYY-MM, or the month of a date YYYY-MM-DD (the incoming report's period)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, date):
        return raw.year, raw.month
    text = validation.text(raw, name, 10)
    try:
        day = validation.parse_date(f"{text}-01" if len(text) == 7 else text, name)
    except OutOfRange:
        raise
    except InvalidInput:
        day = None
    if day is None:
        raise InvalidInput(f"{name} must be a month written YYYY-MM.")
    return day.year, day.month


def parse_months(start, end) -> list[Month]:
    """The months from `start` to `end` (YYYY-MM; dates count as their
    month), the last 12 months to this one when neither is given; held to
    the incoming report's rules (dates in range, start before end, at most
    five years)."""
    first, last = _month_of(start, "from"), _month_of(end, "to")
    if last is None:
        last = (today().year, today().month) if first is None else _plus(first, DEFAULT_MONTHS - 1)
    if first is None:
        first = _plus(last, 1 - DEFAULT_MONTHS)
    incoming.parse_period(date(*first, 1), last_day(last))
    months = [first]
    while months[-1] != last:
        months.append(_plus(months[-1], 1))
    return months


def _plus(month: Month, count: int) -> Month:
    index = month[0] * 12 + month[1] - 1 + count
    return index // 12, index % 12 + 1


# --- the counts --------------------------------------------------------------------


def _count(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _by_month(session: Session, day, *counts, where) -> dict[Month, tuple[int, ...]]:
    """Each month's counts: one GROUP BY on the Vietnam month of `day`."""
    year, month = extract("year", day), extract("month", day)
    query = select(year, month, *counts).where(*where).group_by(year, month)
    return {(int(y), int(m)): tuple(int(v) for v in values) for y, m, *values in session.execute(query)}


def _in_instants(column, report: ReformReport):
    """A UTC timestamp column within the report's Vietnam days (index friendly)."""
    return and_(column >= incoming.vietnam_midnight_utc(report.start),
                column < incoming.vietnam_midnight_utc(report.end + timedelta(days=1)))


def _ecopy_results(session: Session, report: ReformReport) -> dict[Month, tuple[int, ...]]:
    has_dossier = Ecopy.dossier_code.is_not(None)
    return _by_month(
        session, incoming.vn_date(Ecopy.issued_at),
        _count(and_(has_dossier, Ecopy.status != EcopyStatus.REVOKED)),
        _count(or_(has_dossier, Ecopy.kind == EcopyKind.PROCEDURE_RESULT)),
        where=(Ecopy.agency_id == report.agency_id, _in_instants(Ecopy.issued_at, report)),
    )


def _incoming(session: Session, report: ReformReport) -> dict[Month, tuple[int, ...]]:
    # A text file longer than the separators its pages' texts are joined
    # with: a scan whose OCR was off or found nothing is not digitized.
    separators = (func.coalesce(Document.page_count, 1) - 1) * len(documents.PAGE_SEPARATOR.encode())
    has_text = exists().where(DocumentFile.document_id == Document.id, DocumentFile.role == FileRole.TEXT,
                              DocumentFile.size > separators)
    was_assigned = or_(Document.assignee_id.is_not(None), Document.assignee_department.is_not(None))
    routed = or_(Document.handling_status.in_((Handling.ASSIGNED, Handling.IN_PROGRESS, Handling.DONE)),
                 and_(Document.handling_status == Handling.RECALLED, was_assigned))
    return _by_month(
        session, Document.received_date, _count(has_text), _count(routed), func.count(),
        where=(Document.agency_id == report.agency_id, Document.register_book == RegisterBook.INCOMING,
               Document.received_date.between(report.start, report.end)),
    )


def _outgoing(session: Session, report: ReformReport) -> dict[Month, tuple[int, ...]]:
    return _by_month(
        session, Document.issued_date, _count(Document.signed_at.is_not(None)), func.count(),
        where=(Document.agency_id == report.agency_id, Document.register_book == RegisterBook.OUTGOING,
               Document.issued_date.between(report.start, report.end)),
    )


def reform_report(session: Session, user: User, *, start=None, end=None, agency_id: int | None = None) -> ReformReport:
    require_staff(user)
    months = parse_months(start, end)
    agency = reported_agency(session, user, agency_id)
    report = ReformReport(agency.id, agency.code, agency.name, months)
    ecopies, incomings, outgoings = _ecopy_results(session, report), _incoming(session, report), _outgoing(session, report)

    def figure(key: str, counts: dict[Month, tuple[int, ...]], numerator: int, denominator: int) -> Figure:
        rows = [counts.get(m) for m in months]
        return Figure(key, True, tuple(Share(r[numerator], r[denominator]) if r else Share(0, 0) for r in rows))

    report.figures = [
        figure("ecopy_results", ecopies, 0, 1),
        figure("incoming_digitized", incomings, 0, 2),
        figure("incoming_routed", incomings, 1, 2),
        figure("outgoing_signed", outgoings, 0, 1),
        *(Figure(key, False) for key in NOT_COUNTED),
    ]
    return report
