"""The CSV and XLSX exports' common parts (the incoming report, the
certification book): text cells that never run as formulas, and a
printable A4 sheet of a register.

Register fields come from other parties' documents and from people at the
counter; a spreadsheet reads a cell starting with "=", "+", "-" or "@" as a
formula (OWASP "CSV injection"), so text never starts one: CSV cells get an
apostrophe in front, XLSX cells are typed as strings with Excel's quote prefix.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date

# A spreadsheet reads a cell starting with one of these as a formula (or, for
# tab and carriage return, as the start of one after trimming).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"^[+-]?\d+([.,]\d+)?$")
FONT = "Times New Roman"

# (key, header as printed, column width in characters)
Column = tuple[str, str, int]


def starts_formula(value: object) -> bool:
    """Would a spreadsheet run this cell? Text only: numbers and dates are
    data, and so is text that is just a (negative) number such as "-5"."""
    return isinstance(value, str) and value.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.match(value)


def day(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


class SafeCsvWriter:
    """csv.writer whose text cells never start a formula: an apostrophe in
    front, as OWASP advises (Excel and LibreOffice show the text as it is).
    Dates are written dd/mm/yyyy."""

    def __init__(self, out: io.StringIO) -> None:
        self._writer = csv.writer(out, lineterminator="\r\n")

    def writerow(self, row: Sequence) -> None:
        self._writer.writerow(["'" + v if starts_formula(v) else day(v) if isinstance(v, date) else v for v in row])


def csv_bytes(write: Callable[[SafeCsvWriter], None]) -> bytes:
    """UTF-8 with a BOM, so that Excel reads the Vietnamese right."""
    out = io.StringIO()
    write(SafeCsvWriter(out))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def new_sheet(title: str):
    """A workbook with one sheet named `title`: (workbook, sheet)."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.worksheets[0]
    sheet.title = title
    return workbook, sheet


def put(cell, value):
    """Write a value so that text stays text: openpyxl turns any string
    starting with "=" into a live formula, so text is typed as a string
    cell, and text a spreadsheet would read as a formula gets the quote
    prefix (Excel keeps it text when someone edits the cell)."""
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
        if starts_formula(value):
            cell.quotePrefix = True
    return cell


def banner(sheet, row: int, text: str, width: int, *, bold: bool = True, italic: bool = False, size: int = 12) -> None:
    """A line centred across the table's width (agency, title, period)."""
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    sheet.merge_cells(f"A{row}:{get_column_letter(width)}{row}")
    cell = put(sheet.cell(row=row, column=1), text)
    cell.font = Font(name=FONT, bold=bold, italic=italic, size=size)
    cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)


def table(sheet, header_row: int, columns: Sequence[Column], rows: Iterable[Sequence],
          highlight: Callable[[int], bool] = lambda _: False) -> None:
    """The register from `header_row` down: boxed cells, dates as dates,
    rows `highlight` picks (by index) shaded; then set up to print on
    landscape A4, one page wide, the header repeated on every page."""
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    thin = Side(style="thin", color="000000")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    wrap = Alignment(wrap_text=True, vertical="top")
    centre = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for column, (_, label, chars) in enumerate(columns, start=1):
        cell = put(sheet.cell(row=header_row, column=column), label)
        cell.font = Font(name=FONT, bold=True, size=11)
        cell.alignment, cell.border = centre, box
        cell.fill = PatternFill("solid", fgColor="DDDDDD")
        sheet.column_dimensions[get_column_letter(column)].width = chars
    shaded = PatternFill("solid", fgColor="F8D7DA")
    row = header_row
    for index, values in enumerate(rows):
        row += 1
        for column, value in enumerate(values, start=1):
            cell = put(sheet.cell(row=row, column=column), value)
            cell.font = Font(name=FONT, size=11)
            cell.alignment, cell.border = wrap, box
            if isinstance(value, date):
                cell.number_format = "DD/MM/YYYY"
            if highlight(index):
                cell.fill = shaded
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=1)
    sheet.print_title_rows = f"{header_row}:{header_row}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.horizontalCentered = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.oddFooter.center.text = "Trang &P / &N"


def workbook_bytes(workbook) -> bytes:
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
