"""The reform figures as people read them: labels and shares in a language,
one SVG chart per counted figure, and the exports (CSV, XLSX, and a ZIP).

The ZIP holds the CSV, the XLSX and each chart as an SVG file: a CSV has
no room for a picture, and an XLSX takes only raster images (openpyxl
cannot embed an SVG), while an SVG stays sharp when printed and opens in
any browser or office suite. The spreadsheets are written through
docsvc/spreadsheets.py, so no cell runs as a formula. Exports are in
Vietnamese, the official language of the report, like the incoming one.
"""
from __future__ import annotations

import io
import zipfile

from docsvc import spreadsheets
from docsvc.reform.charts import Bar, share_chart
from docsvc.reform.figures import Figure, Month, ReformReport, Share
from docsvc.texts import text

EXPORT_LANGUAGE = "vi"
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "zip": "application/zip",
}
SUMMARY_COLUMNS = (("figure", "reform.col.figure", 48), ("numerator", "reform.col.numerator", 10),
                   ("denominator", "reform.col.denominator", 12), ("share", "reform.col.share", 10),
                   ("counts", "reform.col.counts", 70))
MONTHLY_COLUMNS = (("figure", "reform.col.figure", 48), ("month", "reform.col.month", 10),
                   ("numerator", "reform.col.numerator", 10), ("denominator", "reform.col.denominator", 12),
                   ("share", "reform.col.share", 10))


def month_label(month: Month) -> str:
    return f"{month[1]:02d}/{month[0]}"


def percent(share: float | None, lang: str) -> str:
    """75%, 66,7% in Vietnamese (66.7% in English); a month with nothing to count says so."""
    if share is None:
        return text("reform.no_share", lang)
    written = f"{share * 100:.1f}".removesuffix(".0")
    return (written.replace(".", ",") if lang == "vi" else written) + "%"


def period_text(report: ReformReport, lang: str) -> str:
    return text("reform.period", lang, first=month_label(report.months[0]), last=month_label(report.months[-1]))


def chart(report: ReformReport, figure: Figure, lang: str) -> str:
    """The figure's SVG, its words in `lang`."""
    bars = [Bar(month_label(m), s.share, _counts_text("reform.bar", s, lang, month=month_label(m)),
                percent(s.share, lang) if s.share is not None else "")
            for m, s in zip(report.months, figure.monthly, strict=True)]
    description = _counts_text("reform.chart_desc", figure.total, lang, first=month_label(report.months[0]),
                               last=month_label(report.months[-1]))
    return share_chart(f"chart-{figure.key}", text(f"reform.figure.{figure.key}", lang), description, bars)


def _counts_text(key: str, share: Share, lang: str, **more: str) -> str:
    return text(key, lang, numerator=share.numerator, denominator=share.denominator,
                share=percent(share.share, lang), **more)


def charts(report: ReformReport, lang: str) -> dict[str, str]:
    return {f.key: chart(report, f, lang) for f in report.figures if f.counted}


# --- spreadsheets ------------------------------------------------------------------


def _share_cell(share: Share) -> float | str:
    """The share in percent as a number (Excel sums and charts it); blank when there is none."""
    return round(share.share * 100, 2) if share.share is not None else ""


def _summary_rows(report: ReformReport) -> list[list]:
    lang = EXPORT_LANGUAGE
    rows = []
    for figure in report.figures:
        label, about = text(f"reform.figure.{figure.key}", lang), text(f"reform.about.{figure.key}", lang)
        if figure.counted:
            total = figure.total
            rows.append([label, total.numerator, total.denominator, _share_cell(total), about])
        else:
            rows.append([label, "", "", text("reform.not_counted", lang), about])
    return rows


def _monthly_rows(report: ReformReport) -> list[list]:
    return [[text(f"reform.figure.{f.key}", EXPORT_LANGUAGE), month_label(m), s.numerator, s.denominator,
             _share_cell(s)]
            for f in report.figures if f.counted for m, s in zip(report.months, f.monthly, strict=True)]


def _header(columns) -> list[str]:
    return [text(key, EXPORT_LANGUAGE) + (" (%)" if name == "share" else "") for name, key, _ in columns]


def to_csv(report: ReformReport) -> bytes:
    """The agency and period, the figures over the period, then (after an
    empty line) one line per figure and month."""
    def write(writer: spreadsheets.SafeCsvWriter) -> None:
        writer.writerow([text("report.agency", EXPORT_LANGUAGE), report.agency_name])
        writer.writerow([text("report.period", EXPORT_LANGUAGE), period_text(report, EXPORT_LANGUAGE)])
        writer.writerow(_header(SUMMARY_COLUMNS))
        for row in _summary_rows(report):
            writer.writerow(row)
        writer.writerow([])
        writer.writerow(_header(MONTHLY_COLUMNS))
        for row in _monthly_rows(report):
            writer.writerow(row)
    return spreadsheets.csv_bytes(write)


def to_xlsx(report: ReformReport) -> bytes:
    """Two printable sheets: the figures over the period, and by month."""
    workbook, summary = spreadsheets.new_sheet("Tổng hợp")
    monthly = workbook.create_sheet("Theo tháng")
    for sheet, columns, rows in ((summary, SUMMARY_COLUMNS, _summary_rows(report)),
                                 (monthly, MONTHLY_COLUMNS, _monthly_rows(report))):
        spreadsheets.banner(sheet, 1, report.agency_name.upper(), len(columns))
        spreadsheets.banner(sheet, 2, text("reform.nav", EXPORT_LANGUAGE).upper(), len(columns), size=14)
        spreadsheets.banner(sheet, 3, period_text(report, EXPORT_LANGUAGE), len(columns), bold=False, italic=True)
        table_columns = [(name, label, width) for (name, _, width), label in zip(columns, _header(columns), strict=True)]
        spreadsheets.table(sheet, 5, table_columns, rows)
    return spreadsheets.workbook_bytes(workbook)


def to_zip(report: ReformReport) -> bytes:
    """The CSV, the XLSX and one SVG per counted figure, under the report's name."""
    stem = _stem(report)
    files = {f"{stem}.csv": to_csv(report), f"{stem}.xlsx": to_xlsx(report)}
    files |= {f"bieu-do_{key}.svg": svg.encode("utf-8") for key, svg in charts(report, EXPORT_LANGUAGE).items()}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            # A fixed time: the same report gives the same bytes.
            archive.writestr(zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    return out.getvalue()


RENDER = {"csv": to_csv, "xlsx": to_xlsx, "zip": to_zip}


def _stem(report: ReformReport) -> str:
    first, last = (f"{y:04d}-{m:02d}" for y, m in (report.months[0], report.months[-1]))
    return f"chi-so-cai-cach-hanh-chinh_{report.agency_code}_{first}_{last}"


def filename(report: ReformReport, extension: str) -> str:
    return f"{_stem(report)}.{extension}"

