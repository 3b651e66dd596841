"""The incoming register's pages: the document page's register, assign and
handling forms, the queue, the book of a year, and the reports page."""
from __future__ import annotations

from flask import render_template, request

from docsvc import incoming, validation
from docsvc.errors import InvalidInput
from docsvc.incoming.api import FORMATS, report_file, report_for
from docsvc.localtime import today
from docsvc.web.blueprints import pages
from docsvc.web.context import runtime, session_user
from docsvc.web.document_page import act
from docsvc.web.reports import agency_choices, safe_agency_arg
from docsvc.web.requests import login_required


@pages.post("/documents/<document_id>/register")
@login_required
def register_document(document_id: str):
    return act(document_id, lambda: incoming.register_document(
        runtime(), session_user(), document_id, request.form, allow_duplicate=request.form.get("allow_duplicate") == "1"
    ))


@pages.post("/documents/<document_id>/assign")
@login_required
def assign_document(document_id: str):
    def assign():
        with runtime().write() as db:
            incoming.assign(
                db, session_user(), document_id,
                assignee_username=request.form.get("assignee") or None,
                department=request.form.get("department") or None,
                deadline=incoming.parse_date(request.form.get("deadline"), "deadline"),
                note=request.form.get("note", ""),
            )
    return act(document_id, assign)


@pages.post("/documents/<document_id>/handling")
@login_required
def move_document(document_id: str):
    def move():
        with runtime().write() as db:
            incoming.move(db, session_user(), document_id, request.form.get("status", ""), request.form.get("note", ""))
    return act(document_id, move)


@pages.get("/queue")
@login_required
def queue():
    with runtime().read() as db:
        rows = incoming.queue(db, session_user(), include_done=request.args.get("done") == "1")
        return render_template("incoming/queue.html", rows=rows, is_overdue=incoming.is_overdue,
                               include_done=request.args.get("done") == "1")


@pages.get("/registers/incoming")
@login_required
def incoming_register():
    year = validation.whole_number(request.args.get("year"), "year", validation.MIN_YEAR, validation.MAX_YEAR,
                                   today().year)
    needle = request.args.get("q", "").strip()
    with runtime().read() as db:
        rows = incoming.register_entries(db, session_user(), year, text=needle or None)
        return render_template("incoming/register.html", rows=rows, year=year, q=needle, is_overdue=incoming.is_overdue)


def _period_args() -> tuple[str, str]:
    """The page's period; this month so far unless chosen."""
    day = today()
    return (request.args.get("from") or day.replace(day=1).isoformat(), request.args.get("to") or day.isoformat())


@pages.get("/reports")
@login_required
def reports():
    user = session_user()
    start_raw, end_raw = _period_args()
    report, error = None, None
    try:
        report = report_for(user, start_raw, end_raw)
    except InvalidInput as exc:
        error = exc
    return render_template(
        "incoming/reports.html", report=report, error=error, start=start_raw, end=end_raw,
        agencies=agency_choices(user), agency_id=report.agency_id if report else safe_agency_arg(),
        count_keys=incoming.REPORT_COUNTS, status_keys=incoming.REPORT_STATUS_LABELS,
    ), (400 if error else 200)


@pages.get("/reports/incoming.<extension>")
@login_required
def download_report(extension: str):
    if extension not in FORMATS:
        raise InvalidInput("Download the report as csv or xlsx.")
    return report_file(report_for(session_user(), *_period_args()), extension)
