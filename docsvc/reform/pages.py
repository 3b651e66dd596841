"""The reform figures' page, /reports/reform: the period and agency form,
each figure with its counts and its chart, and the downloads."""
from __future__ import annotations

from flask import render_template, request
from markupsafe import Markup

from docsvc import reform
from docsvc.errors import InvalidInput
from docsvc.reform.api import report_file, report_for
from docsvc.web.blueprints import pages
from docsvc.web.context import session_user
from docsvc.web.i18n import current_language
from docsvc.web.reports import agency_choices, safe_agency_arg
from docsvc.web.requests import login_required


@pages.get("/reports/reform")
@login_required
def reform_figures():
    user = session_user()
    assert user is not None  # login_required
    report, error = None, None
    try:
        report = report_for(user)
    except InvalidInput as exc:
        error = exc
    lang = current_language()
    # The charts are built by docsvc.reform.charts from numbers and escaped texts only.
    charts = {key: Markup(svg) for key, svg in reform.charts(report, lang).items()} if report else {}
    return render_template(
        "reform/reform.html", report=report, error=error, charts=charts, percent=lambda s: reform.percent(s, lang),
        period=reform.period_text(report, lang) if report else "",
        start=request.args.get("from", ""), end=request.args.get("to", ""),
        agencies=agency_choices(user), agency_id=report.agency_id if report else safe_agency_arg(),
    ), (error.http_status if error else 200)


@pages.get("/reports/reform.<extension>")
@login_required
def download_reform_figures(extension: str):
    if extension not in reform.FORMATS:
        raise InvalidInput("Download the reform figures as csv, xlsx or zip.")
    user = session_user()
    assert user is not None  # login_required
    return report_file(report_for(user), extension)
