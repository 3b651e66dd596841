"""Reports on the incoming register: the counts a provincial report asks for
(carried over, received, processed on time / late, in progress and overdue at
the end of the period), their CSV and XLSX exports, who may read them, and
the command line, on both profiles.

The register is built through docsvc.incoming.handling as clerks do it, for March
2025 in a commune (UBND-XA); "done" is recorded at chosen moments by fixing
the service's clock, including moments where the UTC day and the Vietnam
day differ.
"""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

import openpyxl
import pytest
from sqlalchemy import select

from docsvc import accounts
from docsvc.documents import records as documents
from docsvc.errors import InvalidInput, NotFound
from docsvc.incoming import handling as incoming
from docsvc.incoming import reports
from docsvc.models import User
from tests.integration.conftest import PASSWORD
from tests.pdfs import make_pdf, sample_paragraphs

MARCH = {"from": "2025-03-01", "to": "2025-03-31"}
UTC = UTC


@dataclass(frozen=True)
class Incoming:
    key: str
    received: date
    doc_type: str
    title: str
    issuing_body: str
    number_symbol: str
    deadline: date | None = None
    assignee: str | None = None  # username; else the department below
    department: str | None = None
    done_at: datetime | None = None  # UTC
    progress: bool = False  # taken up but not done


# The March 2025 register of UBND-XA, and what each line must count as.
REGISTER = [
    # Received before March: C handled in February; A handled in March, late; B still open.
    Incoming("C", date(2025, 2, 10), "Công văn", "V/v rà soát thủ tục hành chính năm 2025", "UBND huyện Quảng Trạch",
             "120/UBND-VP", date(2025, 2, 20), department="Văn phòng", done_at=datetime(2025, 2, 27, 3, 0, tzinfo=UTC)),
    Incoming("A", date(2025, 2, 20), "Công văn", "V/v báo cáo kết quả cải cách hành chính quý I",
             "Sở Nội vụ tỉnh Quảng Bình", "45/SNV-CCHC", date(2025, 2, 28), assignee="official-ubnd-xa",
             done_at=datetime(2025, 3, 3, 3, 0, tzinfo=UTC)),
    Incoming("B", date(2025, 2, 25), "Kế hoạch", "Kế hoạch chuyển đổi số năm 2025", "UBND huyện Quảng Trạch",
             "30/KH-UBND", date(2025, 4, 15), department="Văn phòng", progress=True),
    # Received in March.
    # D: deadline 9 March, done at 18:00 UTC on 9 March = 01:00 on 10 March in Vietnam: late.
    Incoming("D", date(2025, 3, 3), "Quyết định", "Quyết định công bố danh mục thủ tục hành chính",
             "UBND tỉnh Quảng Bình", "512/QĐ-UBND", date(2025, 3, 9), assignee="official-ubnd-xa",
             done_at=datetime(2025, 3, 9, 18, 0, tzinfo=UTC)),
    Incoming("E", date(2025, 3, 5), "Công văn", "V/v triển khai dịch vụ công trực tuyến toàn trình",
             "Văn phòng UBND tỉnh", "88/VP-KSTT", date(2025, 3, 14), department="Tư pháp - Hộ tịch"),
    Incoming("M", date(2025, 3, 6), "Tờ trình", "Tờ trình về kiện toàn bộ phận một cửa", "Phòng Nội vụ huyện",
             "15/TTr-PNV", date(2025, 3, 20), assignee="official-ubnd-xa",
             done_at=datetime(2025, 3, 18, 2, 0, tzinfo=UTC)),
    Incoming("F", date(2025, 3, 12), "Thông báo", "Thông báo lịch tiếp công dân tháng 3", "UBND huyện Quảng Trạch",
             "22/TB-UBND", None, department="Văn phòng", done_at=datetime(2025, 3, 13, 8, 0, tzinfo=UTC)),
    # G: handled in April, after the period: still in progress at its end, and overdue.
    Incoming("G", date(2025, 3, 20), "Công văn", "V/v số hóa hồ sơ, kết quả giải quyết thủ tục hành chính",
             "Sở Thông tin và Truyền thông", "301/STTTT-CĐS", date(2025, 3, 25), department="Văn phòng",
             done_at=datetime(2025, 4, 2, 2, 0, tzinfo=UTC)),
    # K: done at 17:30 UTC on 31 March = 00:30 on 1 April in Vietnam: not handled in March; deadline not passed.
    Incoming("K", date(2025, 3, 25), "Công văn", "V/v cập nhật hồ sơ lên Cổng dịch vụ công quốc gia",
             "Văn phòng UBND tỉnh", "95/VP-KSTT", date(2025, 3, 31), assignee="official-ubnd-xa",
             done_at=datetime(2025, 3, 31, 17, 30, tzinfo=UTC)),
    Incoming("H", date(2025, 3, 28), "Giấy mời", "Giấy mời dự hội nghị tổng kết công tác cải cách hành chính",
             "UBND huyện Quảng Trạch", "17/GM-UBND"),  # registered, not assigned yet
    Incoming("I", date(2025, 3, 31), "Quyết định", "Quyết định thành lập tổ công tác chuyển đổi số",
             "UBND huyện Quảng Trạch", "1024/QĐ-UBND", date(2025, 4, 10), assignee="official-ubnd-xa", progress=True),
    # Received after the period.
    Incoming("J", date(2025, 4, 1), "Công văn", "V/v chuẩn bị báo cáo quý II", "Sở Nội vụ tỉnh Quảng Bình",
             "60/SNV-CCHC", date(2025, 4, 20), department="Văn phòng"),
]
MARCH_COUNTS = {
    "carried_over": 2,        # A, B
    "received": 8,            # D E M F G K H I
    "processed": 4,           # A D M F
    "processed_on_time": 2,   # M; F has no deadline
    "processed_late": 2,      # A; D by the Vietnam day
    "in_progress_at_end": 6,  # B E G K H I
    "overdue_at_end": 2,      # E G
}
CSV_HEADER = ["Số đến", "Ngày đến", "Nơi gửi (tác giả)", "Số, ký hiệu", "Ngày văn bản", "Loại văn bản",
              "Trích yếu nội dung", "Người/đơn vị xử lý", "Hạn xử lý", "Trạng thái", "Ngày xử lý xong", "Tiến độ"]


def _user(session, username: str) -> User:
    return session.scalar(select(User).where(User.username == username))


@pytest.fixture
def march_register(rt, make_user, tmp_path, monkeypatch):
    """UBND-XA's register as above, plus one March document of another agency."""
    with rt.write() as session:
        accounts.add_agency(session, "UBND-HUYEN", "Ủy ban nhân dân huyện Quảng Trạch", level="district")
    people = {
        "clerk": make_user("clerk"),
        "official": make_user("official"),
        "admin": make_user("admin", username="admin-tinh"),
        "huyen": make_user("clerk", agency="UBND-HUYEN"),
    }
    paragraphs = sample_paragraphs("quang-trach-cchc-7-thang-2021.txt")[:2]
    ids = {}

    def ingest(key: str, title: str, clerk: str, agency: str) -> str:
        pdf = make_pdf(tmp_path / f"{key}.pdf", f"{title} ({key})", paragraphs)
        with rt.read() as session:
            actor = _user(session, clerk)
            agency_id = accounts.agency_by_code(session, agency).id
            session.expunge(actor)
        document_id, _ = documents.ingest(rt, actor, documents.local_file(pdf, rt), title=title, agency_id=agency_id)
        return document_id

    for item in sorted(REGISTER, key=lambda i: i.received):
        ids[item.key] = ingest(item.key, item.title, "clerk-ubnd-xa", "UBND-XA")
        with rt.write() as session:
            clerk = _user(session, "clerk-ubnd-xa")
            incoming.register(session, clerk, ids[item.key], incoming.Registration(
                title=item.title, issuing_body=item.issuing_body, number_symbol=item.number_symbol,
                issued_date=item.received.replace(day=1), doc_type=item.doc_type, received_date=item.received,
            ))
            if item.assignee or item.department:
                incoming.assign(session, clerk, ids[item.key], assignee_username=item.assignee,
                                department=item.department, deadline=item.deadline)
            if item.progress:
                # The administrator stands in for each handler (handlers alone, or an admin, move handling).
                incoming.move(session, _user(session, "admin"), ids[item.key], "in_progress")
        if item.done_at:
            monkeypatch.setattr(incoming, "utcnow", lambda at=item.done_at: at)
            with rt.write() as session:
                incoming.move(session, _user(session, "admin"), ids[item.key], "done", "Đã xử lý")
            monkeypatch.undo()
    ids["L"] = ingest("L", "Công văn của huyện", "clerk-ubnd-huyen", "UBND-HUYEN")
    with rt.write() as session:
        incoming.register(session, _user(session, "clerk-ubnd-huyen"), ids["L"], incoming.Registration(
            title="V/v tổng hợp số liệu cải cách hành chính", doc_type="Công văn", received_date=date(2025, 3, 10)))
    return people, ids


def test_the_counts_of_march_are_what_the_province_asks_for(rt, march_register):
    people, ids = march_register
    response = people["clerk"].get("/api/v1/reports/incoming", query_string=MARCH)
    assert response.status_code == 200
    body = response.get_json()
    assert body["counts"] == MARCH_COUNTS
    counts = body["counts"]
    assert counts["carried_over"] + counts["received"] - counts["processed"] == counts["in_progress_at_end"]
    assert body["agency"]["code"] == "UBND-XA" and (body["from"], body["to"]) == ("2025-03-01", "2025-03-31")

    by_type = {row["doc_type"]: row for row in body["by_type"]}
    assert {k: v["received"] for k, v in by_type.items() if v["received"]} == {
        "Công văn": 3, "Quyết định": 2, "Tờ trình": 1, "Thông báo": 1, "Giấy mời": 1}
    assert by_type["Công văn"] == {"doc_type": "Công văn", "received": 3, "processed": 1,
                                   "in_progress_at_end": 3, "overdue_at_end": 2}  # A; E G K open; E G overdue

    # The register of the period: March's entries in number order, numbers continuing February's.
    entries = body["entries"]
    assert [e["document_id"] for e in entries] == [ids[k] for k in "DEMFGKHI"]
    assert [e["number"] for e in entries] == [4, 5, 6, 7, 8, 9, 10, 11]
    line = {e["document_id"]: e for e in entries}
    d, e, f, g, k, h = (line[ids[x]] for x in "DEFGKH")
    assert (d["number_symbol"], d["issuing_body"], d["doc_type"]) == ("512/QĐ-UBND", "UBND tỉnh Quảng Bình", "Quyết định")
    assert (d["status"], d["handled_date"], d["deadline"], d["timeliness"]) == ("done", "2025-03-10", "2025-03-09", "late")
    assert d["handler"] == "official-ubnd-xa"
    assert (e["handler"], e["status"], e["timeliness"], e["overdue"]) == ("Tư pháp - Hộ tịch", "assigned", "overdue", True)
    assert (f["timeliness"], f["handled_date"]) == ("", "2025-03-13")
    # Handled in April: the March report shows it open and overdue at the end of March.
    assert (g["status"], g["handled_date"], g["timeliness"], g["overdue"]) == ("done", "2025-04-02", "overdue", True)
    assert (k["handled_date"], k["timeliness"], k["overdue"]) == ("2025-04-01", "within", False)
    assert (h["status"], h["handler"], h["deadline"]) == ("received", "", None)
    assert sum(x["overdue"] for x in entries) == 2

    # The same numbers from the service; the other agency's March document is not in them.
    with rt.read() as session:
        report = reports.incoming_report(session, _user(session, "clerk-ubnd-xa"),
                                         start=date(2025, 3, 1), end=date(2025, 3, 31))
    assert report.counts() == MARCH_COUNTS


def test_other_periods_move_the_boundaries(rt, march_register):
    people, _ = march_register
    # February: A, B, C received; C handled; A overdue at the end of February (deadline 28 Feb is not before it).
    february = people["clerk"].get("/api/v1/reports/incoming", query_string={"from": "2025-02-01", "to": "2025-02-28"})
    assert february.get_json()["counts"] == {
        "carried_over": 0, "received": 3, "processed": 1, "processed_on_time": 0, "processed_late": 1,
        "in_progress_at_end": 2, "overdue_at_end": 0}
    # One day, 1 April (Vietnam time): K and J's day.
    first_april = people["clerk"].get("/api/v1/reports/incoming", query_string={"from": "2025-04-01", "to": "2025-04-01"})
    counts = first_april.get_json()["counts"]
    assert (counts["received"], counts["processed"], counts["processed_late"]) == (1, 1, 1)  # J; K, a day late
    assert counts["carried_over"] == 6 and counts["in_progress_at_end"] == 6


def test_a_recalled_document_stays_received_and_stops_being_open(rt, march_register, monkeypatch):
    """E (assigned, overdue at the end of March) given back to its sender on
    15 March: still received in March, in the register as recalled, neither
    in progress nor overdue at the end; February is as it was."""
    people, ids = march_register
    monkeypatch.setattr(incoming, "utcnow", lambda: datetime(2025, 3, 15, 2, 0, tzinfo=UTC))
    with rt.write() as session:
        incoming.withdraw(session, _user(session, "clerk-ubnd-xa"), ids["E"], "Ban hành nhầm")
    monkeypatch.undo()
    march = people["clerk"].get("/api/v1/reports/incoming", query_string=MARCH).get_json()
    assert march["counts"] == {**MARCH_COUNTS, "in_progress_at_end": 5, "overdue_at_end": 1}
    [e] = [line for line in march["entries"] if line["document_id"] == ids["E"]]
    assert (e["number"], e["status"], e["timeliness"], e["overdue"]) == (5, "recalled", "", False)
    csv_text = people["clerk"].get("/api/v1/reports/incoming", query_string={**MARCH, "format": "csv"}).data.decode()
    assert "Đã thu hồi" in csv_text
    february = people["clerk"].get("/api/v1/reports/incoming", query_string={"from": "2025-02-01", "to": "2025-02-28"})
    assert february.get_json()["counts"]["in_progress_at_end"] == 2
    # Recalled on 15 March: still open at the end of a period that ends before.
    early = people["clerk"].get("/api/v1/reports/incoming", query_string={"from": "2025-03-01", "to": "2025-03-14"})
    assert ids["E"] in [line["document_id"] for line in early.get_json()["entries"] if line["timeliness"] == "within"]


def test_csv_opens_in_excel_with_vietnamese_headers(march_register):
    people, ids = march_register
    response = people["clerk"].get("/api/v1/reports/incoming", query_string={**MARCH, "format": "csv"})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.data.startswith(b"\xef\xbb\xbf")  # the BOM that makes Excel read UTF-8
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    blank = rows.index([])
    summary = {row[0]: row[1] for row in rows[1:blank]}
    assert rows[0] == ["Chỉ tiêu", "Số văn bản"]
    assert summary["Cơ quan"] == "Ủy ban nhân dân xã (mặc định)"
    assert summary["Kỳ báo cáo"] == "Từ ngày 01/03/2025 đến ngày 31/03/2025"
    assert summary["Tiếp nhận trong kỳ"] == "8"
    assert summary["Đã xử lý trong kỳ"] == "4"
    assert summary["Đang xử lý cuối kỳ"] == "6"
    assert summary["Trong đó: quá hạn xử lý"] == "2"
    assert rows[blank + 1] == CSV_HEADER
    register = [dict(zip(CSV_HEADER, row, strict=True)) for row in rows[blank + 2:]]
    assert [r["Số đến"] for r in register] == ["4", "5", "6", "7", "8", "9", "10", "11"]
    d = register[0]
    assert d == {
        "Số đến": "4", "Ngày đến": "03/03/2025", "Nơi gửi (tác giả)": "UBND tỉnh Quảng Bình",
        "Số, ký hiệu": "512/QĐ-UBND", "Ngày văn bản": "01/03/2025", "Loại văn bản": "Quyết định",
        "Trích yếu nội dung": "Quyết định công bố danh mục thủ tục hành chính",
        "Người/đơn vị xử lý": "official-ubnd-xa", "Hạn xử lý": "09/03/2025", "Trạng thái": "Đã xử lý xong",
        "Ngày xử lý xong": "10/03/2025", "Tiến độ": "Trễ hạn",
    }
    assert [r["Tiến độ"] for r in register if r["Tiến độ"] == "Quá hạn"] == ["Quá hạn", "Quá hạn"]
    assert register[6]["Trạng thái"] == "Chưa giao xử lý"


def test_xlsx_is_a_printable_sheet(march_register):
    people, _ = march_register
    response = people["clerk"].get("/api/v1/reports/incoming", query_string={**MARCH, "format": "xlsx"})
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    cells = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    texts = [v for row in cells for v in row if isinstance(v, str)]
    assert "BÁO CÁO TÌNH HÌNH TIẾP NHẬN, XỬ LÝ VĂN BẢN ĐẾN" in texts
    assert "ỦY BAN NHÂN DÂN XÃ (MẶC ĐỊNH)" in texts
    assert "Từ ngày 01/03/2025 đến ngày 31/03/2025" in texts
    counts = {row[0]: row[3] for row in cells if row[0] in reports.COUNT_LABELS.values() or
              isinstance(row[0], str) and row[0].startswith("Trong đó")}
    assert counts["Tiếp nhận trong kỳ"] == 8
    assert counts["Kỳ trước chuyển sang"] == 2
    assert counts["Trong đó: quá hạn xử lý"] == 2
    header = next(i for i, row in enumerate(cells) if row[0] == "Số đến")
    assert list(cells[header]) == CSV_HEADER
    register = cells[header + 1:]
    assert [row[0] for row in register] == [4, 5, 6, 7, 8, 9, 10, 11]
    assert register[0][1].date() == date(2025, 3, 3)  # a real date cell, shown dd/mm/yyyy
    assert sheet.cell(row=header + 2, column=2).number_format == "DD/MM/YYYY"
    assert register[0][6] == "Quyết định công bố danh mục thủ tục hành chính"
    # Printing: landscape A4, one page wide, the register's header on every page, long text wrapped.
    assert sheet.page_setup.orientation == "landscape"
    assert int(sheet.page_setup.paperSize) == int(sheet.PAPERSIZE_A4) == 9
    assert sheet.sheet_properties.pageSetUpPr.fitToPage is True
    assert int(sheet.page_setup.fitToWidth) == 1 and int(sheet.page_setup.fitToHeight) == 0
    assert sheet.print_title_rows == f"${header + 1}:${header + 1}"
    assert sheet.cell(row=header + 2, column=7).alignment.wrap_text
    assert sheet.column_dimensions["G"].width > sheet.column_dimensions["A"].width


def test_staff_read_their_own_agency_only(rt, march_register):
    people, _ = march_register
    with rt.read() as session:
        xa = accounts.agency_by_code(session, "UBND-XA").id
        huyen = accounts.agency_by_code(session, "UBND-HUYEN").id
    # The district clerk gets the district's register, and 404 for the commune's.
    own = people["huyen"].get("/api/v1/reports/incoming", query_string=MARCH).get_json()
    assert own["agency"]["code"] == "UBND-HUYEN" and own["counts"]["received"] == 1
    assert len(own["entries"]) == 1 and own["entries"][0]["title"] == "V/v tổng hợp số liệu cải cách hành chính"
    other = people["huyen"].get("/api/v1/reports/incoming", query_string={**MARCH, "agency_id": xa})
    assert other.status_code == 404 and other.get_json()["code"] == "not_found"
    other_agency = {**MARCH, "agency_id": xa, "format": "csv"}
    assert people["huyen"].get("/api/v1/reports/incoming", query_string=other_agency).status_code == 404
    # An administrator chooses any agency.
    chosen = people["admin"].get("/api/v1/reports/incoming", query_string={**MARCH, "agency_id": huyen}).get_json()
    assert chosen["counts"]["received"] == 1
    answer = people["admin"].get("/api/v1/reports/incoming", query_string={**MARCH, "agency_id": xa}).get_json()
    assert answer["counts"] == MARCH_COUNTS
    # Anonymous callers and citizens get nothing.
    anonymous = people["clerk"].client.get("/api/v1/reports/incoming", query_string=MARCH)
    assert anonymous.status_code == 401
    with rt.read() as session, pytest.raises(NotFound):
        reports.incoming_report(session, _user(session, "clerk-ubnd-huyen"), start=date(2025, 3, 1),
                                end=date(2025, 3, 31), agency_id=xa)


def test_citizens_cannot_read_reports(make_user):
    citizen = make_user("citizen", agency=None)
    response = citizen.get("/api/v1/reports/incoming", query_string=MARCH)
    assert response.status_code == 403 and response.get_json()["code"] == "forbidden"


@pytest.mark.parametrize("query, words", [
    ({"from": "2025-03-31", "to": "2025-03-01"}, "after its end"),
    ({"from": "2025-31-03", "to": "2025-04-01"}, "YYYY-MM-DD"),
    ({"to": "2025-04-01"}, "Give the period"),
    ({"from": "2019-01-01", "to": "2025-01-01"}, "five years"),
    ({**MARCH, "format": "pdf"}, "format"),
    ({**MARCH, "agency_id": "xa"}, "agency_id"),
])
def test_a_bad_period_is_a_400_with_code_and_message(clerk, query, words):
    response = clerk.get("/api/v1/reports/incoming", query_string=query)
    assert response.status_code == 400
    body = response.get_json()
    assert body["code"] == "invalid_input" and words in body["message"]


def test_period_rules_in_the_service(rt):
    with rt.read() as session:
        admin = _user(session, "admin")
        full = reports.incoming_report(session, admin, start=date(2021, 1, 1), end=date(2025, 12, 31))
        assert full.counts() == dict.fromkeys(reports.COUNTS, 0) and full.entries == []
        with pytest.raises(InvalidInput):
            reports.incoming_report(session, admin, start=date(2020, 1, 1), end=date(2025, 12, 31))


def test_the_command_writes_the_files(backend, march_register, tmp_path):
    out_csv, out_xlsx = tmp_path / "thang3.csv", tmp_path / "thang3.xlsx"
    period = ["--from", "2025-03-01", "--to", "2025-03-31", "--agency", "UBND-XA"]
    result = backend.run("report", "incoming", *period, "--format", "csv", "--out", str(out_csv), check=True)
    assert "8 received" in result.stdout
    rows = list(csv.reader(io.StringIO(out_csv.read_bytes().decode("utf-8-sig"))))
    assert CSV_HEADER in rows and len(rows) - rows.index(CSV_HEADER) - 1 == 8
    backend.run("report", "incoming", *period, "--format", "xlsx", "--out", str(out_xlsx), check=True)
    sheet = openpyxl.load_workbook(out_xlsx).active
    assert sheet.page_setup.orientation == "landscape"
    as_json = backend.run("report", "incoming", *period, check=True)
    assert json.loads(as_json.stdout)["counts"] == MARCH_COUNTS


@pytest.mark.parametrize("args, words", [
    (["--from", "2025-03-31", "--to", "2025-03-01", "--agency", "UBND-XA"], "after its end"),
    (["--from", "1/3/2025", "--to", "2025-03-31", "--agency", "UBND-XA"], "YYYY-MM-DD"),
    (["--from", "2025-03-01", "--to", "2025-03-31", "--agency", "KHONG-CO"], "(not_found)"),
    (["--from", "2025-03-01", "--to", "2025-03-31", "--agency", "UBND-XA", "--format", "xlsx"], "--out"),
])
def test_the_command_refuses_bad_input_in_one_line(backend, rt, args, words, tmp_path):
    result = backend.run("report", "incoming", *args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("docsvc: error: ") and words in lines[0]
    assert result.stdout == ""


def test_the_reports_page_shows_the_counts_and_the_register(app, march_register):
    browser = app.test_client()
    app.config["WTF_CSRF_ENABLED"] = False  # the form's token is tested in the browser suite
    assert browser.post("/login", data={"username": "clerk-ubnd-xa", "password": PASSWORD}).status_code == 302
    page = browser.get("/reports", query_string={**MARCH, "lang": "vi"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Báo cáo tình hình tiếp nhận, xử lý văn bản đến" in html
    shown = dict(re.findall(r'data-count="(\w+)">\s*<dt>[^<]*</dt><dd>(\d+)</dd>', html))
    assert shown == {key: str(value) for key, value in MARCH_COUNTS.items()}
    assert html.count('<tr class="overdue">') == 2
    assert "512/QĐ-UBND" in html and "/reports/incoming.csv?" in html and "/reports/incoming.xlsx?" in html
    # The nav link and the downloads for the signed-in user.
    assert 'href="/reports"' in html
    download = browser.get("/reports/incoming.csv", query_string=MARCH)
    assert download.status_code == 200 and "Tiếp nhận trong kỳ,8" in download.data.decode("utf-8-sig")
    assert browser.get("/reports/incoming.xlsx", query_string=MARCH).status_code == 200
    english = browser.get("/reports", query_string={**MARCH, "lang": "en"}).get_data(as_text=True)
    assert "In progress at the end" in english and "report." not in english  # every text has its English
    browser.get("/reports", query_string={"lang": "vi"})
    # Defaults to this month so far; a bad period is shown on the page.
    assert browser.get("/reports").status_code == 200
    bad = browser.get("/reports", query_string={"from": "2025-04-01", "to": "2025-03-01"})
    assert bad.status_code == 400 and "Kỳ báo cáo không hợp lệ" in bad.get_data(as_text=True)
    # Signed out: to the sign-in page.
    assert app.test_client().get("/reports").status_code == 302
