"""The reform figures of a commune, on both profiles: a văn thư's records
of this month and last, built through the API so that each share is known,
read back through GET /api/v1/reports/reform with the counts behind each
share, exported (CSV, XLSX, a ZIP with a chart per figure), and only by
whom may read them.

This month: the letter from the province (OCR'd text, now assigned) and a
second letter registered before any text was read (not assigned); the
decision the office issued, signed, registered as a citizen's procedure
result with its dossier code; a scanned result certified for a citizen
without one. Last month: a letter received then, registered and assigned,
its text not read. So: e-copies 1 of 2, incoming digitized 1 of 3 (1/2
this month, 0/1 last), routed 2 of 3, outgoing signed 1 of 1.
"""
from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import timedelta

import openpyxl
import pytest

from docsvc import incoming
from docsvc.accounts import user_by_username
from docsvc.localtime import today
from tests.integration import conftest as fixtures
from tests.integration.records import CITIZEN, PASSPHRASE
from tests.integration.test_api_and_permissions import process_all
from tests.pdfs import make_pdf, sample_paragraphs

DOSSIER = "000.00.31.H41-261202-0001"
EXPECTED = {  # figure: (numerator, denominator) over the last 12 months
    "ecopy_results": (1, 2), "incoming_digitized": (1, 3), "incoming_routed": (2, 3), "outgoing_signed": (1, 1),
}
THIS_MONTH = {"ecopy_results": (1, 2), "incoming_digitized": (1, 2), "incoming_routed": (1, 2), "outgoing_signed": (1, 1)}
LAST_MONTH = {"ecopy_results": (0, 0), "incoming_digitized": (0, 1), "incoming_routed": (1, 1), "outgoing_signed": (0, 0)}


def _upload(clerk, folder, name: str) -> str:
    pdf = make_pdf(folder / f"{name}.pdf", "Công văn về cải cách hành chính",
                   sample_paragraphs("quang-trach-cchc-7-thang-2021.txt")[:2])
    uploaded = clerk.post("/api/v1/documents", data={"file": (pdf.open("rb"), f"{name}.pdf"), "title": name})
    assert uploaded.status_code == 202, uploaded.get_json()
    return uploaded.get_json()["id"]


def _ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.get_json()
    return response.get_json()


@pytest.fixture(scope="module")
def commune(populated, tmp_path_factory):
    rt, office = populated.rt, populated.office
    clerk, folder = office.clerk, tmp_path_factory.mktemp("reform")
    _ok(clerk.post(f"/api/v1/documents/{populated.letter['id']}/assign",
                   json={"assignee": "pho-chu-tich", "deadline": (today() + timedelta(days=7)).isoformat()}))
    _ok(clerk.post("/api/v1/ecopies", json={"document_id": populated.decision, "citizen_id": CITIZEN,
                                            "passphrase": PASSPHRASE, "dossier_code": DOSSIER}), 201)
    scan = _upload(clerk, folder, "giay-chung-nhan")
    process_all(rt)
    _ok(clerk.post("/api/v1/ecopies", json={"document_id": scan, "citizen_id": CITIZEN, "passphrase": PASSPHRASE,
                                            "kind": "procedure_result"}), 201)
    # Registered before the worker read them: no text yet.
    unread = _upload(clerk, folder, "thu-huyen")
    _ok(clerk.post(f"/api/v1/documents/{unread}/register", json={"title": "V/v rà soát thủ tục hành chính"}))
    last_month = today().replace(day=1) - timedelta(days=1)
    earlier = _upload(clerk, folder, "thu-thang-truoc")
    _ok(clerk.post(f"/api/v1/documents/{earlier}/register",
                   json={"title": "V/v chuyển đổi số", "received_date": last_month.isoformat()}))
    _ok(clerk.post(f"/api/v1/documents/{earlier}/assign", json={"department": "Văn phòng"}))
    make = fixtures.user_maker(rt, fixtures.testing_app(rt))
    return populated, make("admin", username="admin-tinh"), make("citizen", agency=None, username="cong-dan")


def _months(last_count: int = 12) -> list[str]:
    year, month = today().year, today().month
    out = []
    for _ in range(last_count):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def _figures(body: dict) -> dict:
    return {f["key"]: f for f in body["figures"]}


def test_each_share_comes_with_the_counts_behind_it(commune):
    populated, _, _ = commune
    body = _ok(populated.office.clerk.get("/api/v1/reports/reform"))
    assert body["agency"]["code"] == "UBND-XA"
    assert body["months"] == _months() and (body["from"], body["to"]) == (_months()[0], _months()[-1])
    figures = _figures(body)
    assert list(figures) == [*EXPECTED, "case_files_digitized"]
    for key, (numerator, denominator) in EXPECTED.items():
        figure = figures[key]
        assert (figure["numerator"], figure["denominator"]) == (numerator, denominator), key
        assert figure["share"] == round(numerator / denominator, 4)
        by_month = {m["month"]: m for m in figure["months"]}
        assert len(by_month) == 12
        assert (by_month[_months()[-1]]["numerator"], by_month[_months()[-1]]["denominator"]) == THIS_MONTH[key]
        assert (by_month[_months()[-2]]["numerator"], by_month[_months()[-2]]["denominator"]) == LAST_MONTH[key]
    # A month with nothing to count has no share, not a zero one.
    assert figures["outgoing_signed"]["months"][-2]["share"] is None
    assert figures["case_files_digitized"] == {"key": "case_files_digitized", "counted": False, "numerator": None,
                                               "denominator": None, "share": None, "months": []}


def test_a_period_of_months_and_who_may_read_it(commune):
    populated, admin, citizen = commune
    this_month = _months()[-1]
    one = _ok(populated.office.clerk.get("/api/v1/reports/reform", query_string={"from": this_month, "to": this_month}))
    assert one["months"] == [this_month]
    assert {k: (f["numerator"], f["denominator"]) for k, f in _figures(one).items() if f["counted"]} == THIS_MONTH
    # The district's văn thư sees the district (nothing of the commune), and not the commune.
    district = _ok(populated.office.district.get("/api/v1/reports/reform"))
    assert district["agency"]["code"] == "UBND-HUYEN"
    assert all(f["denominator"] in (0, None) for f in district["figures"])
    commune_id = _ok(populated.office.clerk.get("/api/v1/reports/reform"))["agency"]["id"]
    refused = populated.office.district.get("/api/v1/reports/reform", query_string={"agency_id": commune_id})
    assert refused.status_code == 404 and refused.get_json()["code"] == "not_found"
    # An administrator chooses any agency.
    chosen = _ok(admin.get("/api/v1/reports/reform", query_string={"agency_id": commune_id}))
    assert _figures(chosen)["incoming_routed"]["numerator"] == 2
    assert citizen.get("/api/v1/reports/reform").status_code == 403
    for query in ({"from": "2026-13"}, {"from": "2026-05", "to": "2026-01"}, {"from": "2015-01", "to": "2026-01"},
                  {"format": "pdf"}):
        bad = populated.office.clerk.get("/api/v1/reports/reform", query_string=query)
        assert bad.status_code == 400, query
        assert set(bad.get_json()) == {"code", "message"}


def test_the_exports_carry_the_same_counts_and_a_chart_per_figure(commune):
    populated, _, _ = commune
    clerk = populated.office.clerk
    raw = clerk.get("/api/v1/reports/reform", query_string={"format": "csv"})
    assert raw.status_code == 200 and raw.mimetype == "text/csv"
    assert raw.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.data.decode("utf-8-sig"))))
    assert rows[2] == ["Chỉ số", "Số đạt", "Trên tổng số", "Tỷ lệ (%)", "Cách tính"]
    summary = {row[0]: row[1:4] for row in rows[3:8]}
    assert summary["Văn bản đến được chuyển xử lý trên hệ thống"] == ["2", "3", "66.67"]
    assert summary["Kết quả giải quyết TTHC cấp dưới dạng bản điện tử tái sử dụng được"] == ["1", "2", "50.0"]
    assert summary["Hồ sơ TTHC được số hóa"] == ["", "", "Không tính được"]
    monthly = rows[rows.index([]) + 2:]
    assert len(monthly) == 4 * 12
    assert ["Văn bản đến được số hóa", f"{today().month:02d}/{today().year}", "1", "2", "50.0"] in monthly

    archive = clerk.get("/api/v1/reports/reform", query_string={"format": "zip"})
    assert archive.status_code == 200 and archive.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(archive.data)) as files:
        names = files.namelist()
        stem = f"chi-so-cai-cach-hanh-chinh_UBND-XA_{_months()[0]}_{_months()[-1]}"
        assert names[:2] == [f"{stem}.csv", f"{stem}.xlsx"]
        assert sorted(names[2:]) == sorted(f"bieu-do_{key}.svg" for key in EXPECTED)
        assert files.read(f"{stem}.csv") == raw.data
        svg = files.read("bieu-do_incoming_routed.svg").decode()
        assert svg.count('<g class="bar"') == 12 and "Tháng" in svg and "2/3" in svg
        book = openpyxl.load_workbook(io.BytesIO(files.read(f"{stem}.xlsx")))
    assert book.sheetnames == ["Tổng hợp", "Theo tháng"]
    cells = [[c.value for c in row] for row in book["Tổng hợp"].iter_rows(min_row=6, max_row=10)]
    assert cells[0][:4] == ["Kết quả giải quyết TTHC cấp dưới dạng bản điện tử tái sử dụng được", 1, 2, 50.0]
    assert cells[3][:4] == ["Văn bản đi được ký số", 1, 1, 100.0]
    assert book["Theo tháng"].max_row == 5 + 4 * 12


def test_the_command_line_gives_the_apis_figures(commune, tmp_path):
    populated, _, _ = commune
    run, clerk = populated.installation.run, populated.office.clerk
    api = _ok(clerk.get("/api/v1/reports/reform"))
    assert json.loads(run("report", "reform", "--agency", "UBND-XA", "--json", check=True).stdout) == api
    this_month = _months()[-1]
    one = json.loads(run("report", "reform", "--agency", "UBND-XA", "--from", this_month, "--to", this_month,
                         "--json", check=True).stdout)
    assert one == _ok(clerk.get("/api/v1/reports/reform", query_string={"from": this_month, "to": this_month}))

    out_csv, out_xlsx = tmp_path / "cchc.csv", tmp_path / "cchc.xlsx"
    wrote = run("report", "reform", "--agency", "UBND-XA", "--csv", str(out_csv), check=True)
    assert f"wrote {out_csv}" in wrote.stdout
    assert out_csv.read_bytes() == clerk.get("/api/v1/reports/reform", query_string={"format": "csv"}).data
    run("report", "reform", "--agency", "UBND-XA", "--xlsx", str(out_xlsx), check=True)
    assert openpyxl.load_workbook(out_xlsx).sheetnames == ["Tổng hợp", "Theo tháng"]

    lines = run("report", "reform", "--agency", "UBND-XA", check=True).stdout.splitlines()
    assert lines[0].startswith(f"{api['agency']['name']} (UBND-XA)")
    shown = {line.split(":")[0].strip(): line for line in lines[1:]}
    assert list(shown) == [*EXPECTED, "case_files_digitized"]
    assert "66.7%" in shown["incoming_routed"] and "(2 of 3)" in shown["incoming_routed"]
    assert shown["case_files_digitized"].endswith("not counted")

    for args, words in ((["--from", "2026-13"], "YYYY-MM"), (["--from", "2026-05", "--to", "2026-01"], "after its end"),
                        (["--from", "2015-01", "--to", "2026-01"], "five years"),
                        (["--json", "--csv", str(tmp_path / "x.csv")], "one of --json"),
                        (["--agency", "KHONG-CO"], "(not_found)"), ([], "--agency")):
        result = run("report", "reform", *(args if "--agency" in args or not args else ["--agency", "UBND-XA", *args]))
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        refused = result.stderr.strip().splitlines()
        assert len(refused) == 1 and refused[0].startswith("docsvc: error: ") and words in refused[0], (args, refused)
        assert result.stdout == ""
    assert not (tmp_path / "x.csv").exists()


# Last in the file: it adds two letters to the commune's month.
def test_a_recalled_letter_stays_counted_as_it_was_routed(commune, tmp_path):
    populated, _, _ = commune
    clerk, folder = populated.office.clerk, tmp_path
    before = _figures(_ok(clerk.get("/api/v1/reports/reform")))["incoming_routed"]
    routed_then_recalled = _upload(clerk, folder, "thu-da-chuyen-roi-thu-hoi")
    _ok(clerk.post(f"/api/v1/documents/{routed_then_recalled}/register", json={"title": "V/v kiểm tra công vụ"}))
    _ok(clerk.post(f"/api/v1/documents/{routed_then_recalled}/assign", json={"department": "Văn phòng"}))
    recalled_unrouted = _upload(clerk, folder, "thu-thu-hoi-ngay")
    _ok(clerk.post(f"/api/v1/documents/{recalled_unrouted}/register", json={"title": "V/v gửi nhầm"}))
    with populated.rt.write() as session:
        actor = user_by_username(session, clerk.username)
        for document_id in (routed_then_recalled, recalled_unrouted):
            incoming.withdraw(session, actor, document_id, "Gửi nhầm nơi nhận")
    after = _figures(_ok(clerk.get("/api/v1/reports/reform")))["incoming_routed"]
    assert (after["numerator"], after["denominator"]) == (before["numerator"] + 1, before["denominator"] + 2)
