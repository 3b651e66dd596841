"""The reform figures' JSON API: GET /api/v1/reports/reform (JSON, CSV, XLSX, ZIP)."""
from __future__ import annotations

from flask import Response, jsonify, request

from docsvc import reform
from docsvc.models import User
from docsvc.web.blueprints import api
from docsvc.web.context import api_user, runtime
from docsvc.web.reports import agency_arg, export_format
from docsvc.web.requests import download


def report_for(user: User) -> reform.ReformReport:
    """The report the query string asks for: ?from=YYYY-MM&to=YYYY-MM (the last 12 months), ?agency_id=."""
    with runtime().read() as db:
        return reform.reform_report(db, user, start=request.args.get("from"), end=request.args.get("to"),
                                    agency_id=agency_arg())


def report_file(report: reform.ReformReport, extension: str) -> Response:
    return download(reform.RENDER[extension](report), reform.filename(report, extension), reform.FORMATS[extension])


@api.get("/reports/reform")
def reform_report():
    user = api_user()
    extension = export_format(reform.FORMATS)
    report = report_for(user)
    return jsonify(report.to_json()) if extension == "json" else report_file(report, extension)
