"""Reports: GET /api/v1/reports/incoming (JSON, CSV, XLSX for API callers) and
the /reports page with its downloads for the signed-in user."""
from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, jsonify, render_template, request
from sqlalchemy import select

from docsvc import validation
from docsvc.errors import DocsvcError, InvalidInput
from docsvc.incoming import handling, reports
from docsvc.models import Agency, Role, User
from docsvc.web.context import api_user, runtime, session_user
from docsvc.web.pages import login_required

blueprint = Blueprint("reports", __name__)
FORMATS = {
    "csv": ("text/csv; charset=utf-8", reports.to_csv),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", reports.to_xlsx),
}


def _agency_arg() -> int | None:
    return validation.whole_number(request.args.get("agency_id"), "agency_id", 1, validation.MAX_ID)


def _report(user: User, start, end) -> reports.IncomingReport:
    with runtime().read() as db:
        return reports.incoming_report(db, user, start=start, end=end, agency_id=_agency_arg())


def _file(report: reports.IncomingReport, extension: str) -> Response:
    media_type, render = FORMATS[extension]
    name = reports.filename(report, extension)
    return Response(
        render(report),
        mimetype=media_type,
        headers={"Content-Disposition": f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(name)}"},
    )


@blueprint.get("/api/v1/reports/incoming")
def api_incoming():
    user = api_user()
    extension = request.args.get("format", "json")
    if extension != "json" and extension not in FORMATS:
        raise InvalidInput("format must be json, csv or xlsx.")
    report = _report(user, request.args.get("from"), request.args.get("to"))
    return jsonify(report.to_json()) if extension == "json" else _file(report, extension)


def _period_args() -> tuple[str, str]:
    """The page's period; this month so far unless chosen."""
    today = handling.today()
    return (request.args.get("from") or today.replace(day=1).isoformat(), request.args.get("to") or today.isoformat())


@blueprint.get("/reports")
@login_required
def page():
    user = session_user()
    start_raw, end_raw = _period_args()
    report, error = None, None
    try:
        report = _report(user, start_raw, end_raw)
    except InvalidInput as exc:
        error = exc
    agencies = []
    if user.role == Role.ADMIN:
        with runtime().read() as db:
            agencies = [(a.id, a.name) for a in db.scalars(select(Agency).order_by(Agency.name))]
    return render_template(
        "reports.html", report=report, error=error, start=start_raw, end=end_raw, agencies=agencies,
        agency_id=report.agency_id if report else _safe_agency_arg(),
        count_keys=reports.COUNTS, status_keys=reports.STATUS_LABELS,
    ), (400 if error else 200)


def _safe_agency_arg() -> int | None:
    try:
        return _agency_arg()
    except DocsvcError:
        return None


@blueprint.get("/reports/incoming.<extension>")
@login_required
def download(extension: str):
    if extension not in FORMATS:
        raise InvalidInput("Download the report as csv or xlsx.")
    return _file(_report(session_user(), *_period_args()), extension)
