"""The administrative reform figures (chỉ số cải cách hành chính): the
shares docsvc's own records can count per agency and month, with the counts
behind each (`figures`), drawn as SVG charts (`charts`) and exported as CSV,
XLSX and a ZIP with the charts (`exports`); `api` and `pages` are its routes.
It reads the other domains' rows and shares the incoming report's period
rules and exports.

Other packages and the entry points use only the names below.
"""
from docsvc.reform.exports import FORMATS, RENDER, charts, filename, percent, period_text
from docsvc.reform.figures import COUNTED, FIGURES, Figure, ReformReport, Share, parse_months, reform_report

__all__ = ["COUNTED", "FIGURES", "FORMATS", "RENDER", "Figure", "ReformReport", "Share", "charts", "filename",
           "parse_months", "percent", "period_text", "reform_report"]
