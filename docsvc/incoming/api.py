"""The incoming register's JSON API: register, assign, move a document's
handling, the queue, the book of a year, and the report (JSON, CSV, XLSX)."""
from __future__ import annotations

from flask import Response, jsonify, request

from docsvc import incoming
from docsvc.localtime import today
from docsvc.models import User
from docsvc.presenters import document_json
from docsvc.web.blueprints import api
from docsvc.web.context import api_user, runtime
from docsvc.web.reports import agency_arg, export_format
from docsvc.web.requests import document_response, download, int_arg, json_body

FORMATS = {
    "csv": ("text/csv; charset=utf-8", incoming.to_csv),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", incoming.to_xlsx),
}


@api.post("/documents/<document_id>/register")
def register_document(document_id: str):
    user = api_user()
    body = json_body()
    incoming.register_document(runtime(), user, document_id, body, allow_duplicate=body.get("allow_duplicate") is True)
    return document_response(user, document_id)


@api.post("/documents/<document_id>/assign")
def assign_document(document_id: str):
    user = api_user()
    body = json_body()
    with runtime().write() as db:
        incoming.assign(
            db, user, document_id,
            assignee_username=body.get("assignee") or None,
            department=body.get("department") or None,
            deadline=incoming.parse_date(body.get("deadline"), "deadline"),
            note=str(body.get("note") or ""),
        )
    return document_response(user, document_id)


@api.post("/documents/<document_id>/handling")
def move_document(document_id: str):
    user = api_user()
    body = json_body()
    with runtime().write() as db:
        incoming.move(db, user, document_id, str(body.get("status", "")), str(body.get("note") or ""))
    return document_response(user, document_id)


@api.get("/queue")
def my_queue():
    user = api_user()
    with runtime().read() as db:
        rows = incoming.queue(db, user, include_done=request.args.get("done") in ("1", "true"))
        return jsonify({"documents": [document_json(d) for d in rows]})


@api.get("/registers/incoming")
def incoming_register():
    user = api_user()
    with runtime().read() as db:
        rows = incoming.register_entries(db, user, int_arg("year", today().year))
        return jsonify({"entries": [document_json(d) for d in rows]})


def report_for(user: User, start, end) -> incoming.IncomingReport:
    with runtime().read() as db:
        return incoming.incoming_report(db, user, start=start, end=end, agency_id=agency_arg())


def report_file(report: incoming.IncomingReport, extension: str) -> Response:
    media_type, render = FORMATS[extension]
    return download(render(report), incoming.report_filename(report, extension), media_type)


@api.get("/reports/incoming")
def incoming_report():
    user = api_user()
    extension = export_format(FORMATS)
    report = report_for(user, request.args.get("from"), request.args.get("to"))
    return jsonify(report.to_json()) if extension == "json" else report_file(report, extension)
