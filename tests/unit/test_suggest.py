"""Register-field suggestions from OCR text: what the clerk sees, exactly.

Documents are laid out as Decree 30/2020 prints them, with body paragraphs
from /work/shared/samples (real Vietnamese administrative prose, full of
cited numbers and dates that must not be taken for the document's own).
"""
from __future__ import annotations

import json
import unicodedata
from datetime import date
from pathlib import Path

import pytest

from docsvc.documents.suggest import HEAD_CHARS, SUMMARY_MAX, Suggestion, suggest_fields


def _samples_dir() -> Path:
    for parent in Path(__file__).resolve().parents:
        for candidate in (parent / "shared" / "samples", parent.parent / "shared" / "samples"):
            if candidate.is_dir():
                return candidate
    pytest.skip("shared/samples not found beside this checkout")


SAMPLES = {p.stem: p.read_text(encoding="utf-8") for p in sorted(_samples_dir().glob("*.txt"))}
NATIONAL = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")
PARTY = ("ĐẢNG CỘNG SẢN VIỆT NAM",)


def paragraphs(sample: str, count: int = 3) -> str:
    return "\n".join([p for p in SAMPLES[sample].splitlines() if len(p) > 80][:count])


def document(left, number, place_date, title, summary, body, *, motto=NATIONAL,
             layout="columns", authority=None, number_label="Số: ") -> str:
    """A scanned document as Tesseract gives it back.

    layout "columns": the left column's block, then the right column's;
    "merged": each line of the left column joined to the right column's line
    beside it (how OCR reads a header with no clear gutter); "right-first".
    """
    left_col = [*left, "-------", f"{number_label}{number}"]
    right_col = [*motto, "---------------", place_date]
    if layout == "columns":
        header = left_col + [""] + right_col
    elif layout == "right-first":
        header = right_col + [""] + left_col
    else:
        rows = max(len(left_col), len(right_col))
        left_col += [""] * (rows - len(left_col))
        right_col += [""] * (rows - len(right_col))
        header = [f"{a} {b}".strip() for a, b in zip(left_col, right_col, strict=False)]
    lines = [*header, "", title, *summary, "----------"]
    if authority:
        lines += [authority]
    return "\n".join(lines + ["", body, ""])


QD_TEXT = document(
    ["ỦY BAN NHÂN DÂN", "XÃ AN BÌNH"], "15/QĐ-UBND", "An Bình, ngày 19 tháng 7 năm 2023",
    "QUYẾT ĐỊNH",
    ["Về việc công bố danh mục thủ tục hành chính", "thực hiện tại Bộ phận một cửa xã An Bình"],
    "Căn cứ Nghị định số 61/2018/NĐ-CP ngày 23/4/2018 của Chính phủ về thực hiện cơ chế một cửa;\n"
    + paragraphs("quang-trach-cchc-7-thang-2021"),
    authority="CHỦ TỊCH ỦY BAN NHÂN DÂN XÃ AN BÌNH",
)
QD = Suggestion(
    issuing_body="ỦY BAN NHÂN DÂN XÃ AN BÌNH",
    number_symbol="15/QĐ-UBND",
    issued_date=date(2023, 7, 19),
    doc_type="Quyết định",
    summary="Về việc công bố danh mục thủ tục hành chính thực hiện tại Bộ phận một cửa xã An Bình",
)


def test_decision_of_a_commune():
    assert suggest_fields(QD_TEXT) == QD


# One document of each type, each as its issuer would print it.
TYPED = {
    "kế hoạch": (
        document(["ỦY BAN NHÂN DÂN", "TỈNH BÌNH DƯƠNG"], "6793/KH-UBND",
                 "Bình Dương, ngày 31 tháng 12 năm 2019", "KẾ HOẠCH",
                 ["Cải cách hành chính nhà nước tỉnh Bình Dương năm 2020"],
                 paragraphs("binh-duong-cchc-2020")),
        Suggestion("ỦY BAN NHÂN DÂN TỈNH BÌNH DƯƠNG", "6793/KH-UBND", date(2019, 12, 31), "Kế hoạch",
                   "Cải cách hành chính nhà nước tỉnh Bình Dương năm 2020"),
    ),
    "thông báo": (
        document(["UBND TỈNH CÀ MAU", "VĂN PHÒNG"], "245/TB-VP", "Cà Mau, ngày 05 tháng 11 năm 2019",
                 "THÔNG BÁO",
                 ["Kết luận của Chủ tịch UBND tỉnh Nguyễn Tiến Hải", "về nâng cao chất lượng đội ngũ cán bộ"],
                 paragraphs("ca-mau-hien-dai-hoa-hanh-chinh")),
        Suggestion("VĂN PHÒNG", "245/TB-VP", date(2019, 11, 5), "Thông báo",
                   "Kết luận của Chủ tịch UBND tỉnh Nguyễn Tiến Hải về nâng cao chất lượng đội ngũ cán bộ"),
    ),
    "báo cáo": (
        document(["ỦY BAN NHÂN DÂN", "HUYỆN QUẢNG TRẠCH"], "187/BC-UBND",
                 "Quảng Trạch, ngày 30 tháng 7 năm 2021", "BÁO CÁO",
                 ["Kết quả công tác cải cách hành chính 7 tháng năm 2021"],
                 paragraphs("quang-trach-cchc-7-thang-2021")),
        Suggestion("ỦY BAN NHÂN DÂN HUYỆN QUẢNG TRẠCH", "187/BC-UBND", date(2021, 7, 30), "Báo cáo",
                   "Kết quả công tác cải cách hành chính 7 tháng năm 2021"),
    ),
    "tờ trình": (
        document(["UBND HUYỆN QUẢNG TRẠCH", "PHÒNG NỘI VỤ"], "12/TTr-PNV",
                 "Quảng Trạch, ngày 2 tháng 8 năm 2021", "TỜ TRÌNH",
                 ["Về việc đề nghị kiện toàn Bộ phận Tiếp nhận và trả kết quả",
                  "giải quyết thủ tục hành chính huyện"],
                 "Kính gửi: Ủy ban nhân dân huyện Quảng Trạch\n" + paragraphs("quang-trach-cchc-7-thang-2021")),
        Suggestion("PHÒNG NỘI VỤ", "12/TTr-PNV", date(2021, 8, 2), "Tờ trình",
                   "Về việc đề nghị kiện toàn Bộ phận Tiếp nhận và trả kết quả giải quyết thủ tục hành chính huyện"),
    ),
    "giấy mời": (
        document(["ỦY BAN NHÂN DÂN", "XÃ KHÁNH BÌNH"], "03/GM-UBND", "Khánh Bình, ngày 9 tháng 10 năm 2019",
                 "GIẤY MỜI", ["Dự hội nghị triển khai nhiệm vụ cải cách hành chính năm 2020"],
                 "Ủy ban nhân dân xã Khánh Bình trân trọng kính mời:\n" + paragraphs("ca-mau-hien-dai-hoa-hanh-chinh")),
        Suggestion("ỦY BAN NHÂN DÂN XÃ KHÁNH BÌNH", "03/GM-UBND", date(2019, 10, 9), "Giấy mời",
                   "Dự hội nghị triển khai nhiệm vụ cải cách hành chính năm 2020"),
    ),
    "nghị quyết": (
        document(["HỘI ĐỒNG NHÂN DÂN", "TỈNH CÀ MAU"], "11/NQ-HĐND", "Cà Mau, ngày 6 tháng 12 năm 2019",
                 "NGHỊ QUYẾT", ["Về việc thông qua Đề án hiện đại hóa nền hành chính tỉnh Cà Mau"],
                 paragraphs("ca-mau-hien-dai-hoa-hanh-chinh"),
                 authority="HỘI ĐỒNG NHÂN DÂN TỈNH CÀ MAU\nKHÓA IX, KỲ HỌP THỨ 11"),
        Suggestion("HỘI ĐỒNG NHÂN DÂN TỈNH CÀ MAU", "11/NQ-HĐND", date(2019, 12, 6), "Nghị quyết",
                   "Về việc thông qua Đề án hiện đại hóa nền hành chính tỉnh Cà Mau"),
    ),
    "chỉ thị": (
        document(["ỦY BAN NHÂN DÂN", "TỈNH BÌNH DƯƠNG"], "05/CT-UBND", "Bình Dương, ngày 20 tháng 3 năm 2020",
                 "CHỈ THỊ", ["Về việc tăng cường kỷ luật, kỷ cương hành chính",
                             "trong giải quyết thủ tục hành chính"],
                 paragraphs("binh-duong-cchc-2020")),
        Suggestion("ỦY BAN NHÂN DÂN TỈNH BÌNH DƯƠNG", "05/CT-UBND", date(2020, 3, 20), "Chỉ thị",
                   "Về việc tăng cường kỷ luật, kỷ cương hành chính trong giải quyết thủ tục hành chính"),
    ),
    "công điện": (
        document(["ỦY BAN NHÂN DÂN", "TỈNH QUẢNG BÌNH"], "01/CĐ-UBND", "Quảng Bình, ngày 15 tháng 10 năm 2020",
                 "CÔNG ĐIỆN", ["Về việc bảo đảm giải quyết thủ tục hành chính trong mưa lũ"],
                 paragraphs("quang-trach-cchc-7-thang-2021"),
                 authority="CHỦ TỊCH ỦY BAN NHÂN DÂN TỈNH điện:"),
        Suggestion("ỦY BAN NHÂN DÂN TỈNH QUẢNG BÌNH", "01/CĐ-UBND", date(2020, 10, 15), "Công điện",
                   "Về việc bảo đảm giải quyết thủ tục hành chính trong mưa lũ"),
    ),
    "hướng dẫn": (
        document(["UBND TỈNH BÌNH DƯƠNG", "SỞ NỘI VỤ"], "45/HD-SNV", "Bình Dương, ngày 10 tháng 1 năm 2020",
                 "HƯỚNG DẪN", ["Thực hiện công tác cải cách hành chính năm 2020"],
                 paragraphs("binh-duong-cchc-2020")),
        Suggestion("SỞ NỘI VỤ", "45/HD-SNV", date(2020, 1, 10), "Hướng dẫn",
                   "Thực hiện công tác cải cách hành chính năm 2020"),
    ),
    "nghị định, with the year in the symbol": (
        document(["CHÍNH PHỦ"], "61/2018/NĐ-CP", "Hà Nội, ngày 23 tháng 4 năm 2018", "NGHỊ ĐỊNH",
                 ["Về thực hiện cơ chế một cửa, một cửa liên thông", "trong giải quyết thủ tục hành chính"],
                 "Căn cứ Luật Tổ chức Chính phủ ngày 19 tháng 6 năm 2015;\n" + paragraphs("binh-duong-cchc-2020")),
        Suggestion("CHÍNH PHỦ", "61/2018/NĐ-CP", date(2018, 4, 23), "Nghị định",
                   "Về thực hiện cơ chế một cửa, một cửa liên thông trong giải quyết thủ tục hành chính"),
    ),
    "Party resolution, hyphen symbol": (
        document(["ĐẢNG BỘ TỈNH BÌNH DƯƠNG", "HUYỆN ỦY BẾN CÁT", "*"], "05-NQ/HU",
                 "Bến Cát, ngày 12 tháng 1 năm 2021", "NGHỊ QUYẾT",
                 ["về đẩy mạnh cải cách hành chính giai đoạn 2021 - 2025"],
                 paragraphs("binh-duong-cchc-2020"), motto=PARTY, number_label="Số "),
        Suggestion("HUYỆN ỦY BẾN CÁT", "05-NQ/HU", date(2021, 1, 12), "Nghị quyết",
                   "về đẩy mạnh cải cách hành chính giai đoạn 2021 - 2025"),
    ),
}


@pytest.mark.parametrize("name", TYPED)
def test_each_document_type(name):
    text, expected = TYPED[name]
    assert suggest_fields(text) == expected


CV_TEXT = "\n".join([
    "ỦY BAN NHÂN DÂN", "HUYỆN QUẢNG TRẠCH", "-------", "Số: 123/UBND-VP",
    "V/v đẩy mạnh tiếp nhận hồ sơ trực tuyến", "trên Cổng Dịch vụ công của tỉnh", "",
    *NATIONAL, "---------------", "Quảng Trạch, ngày 16 tháng 8 năm 2021", "",
    "Kính gửi:", "- Các phòng, ban, đơn vị thuộc UBND huyện;", "- UBND các xã.", "",
    paragraphs("quang-trach-cchc-7-thang-2021"),
])
CV = Suggestion("ỦY BAN NHÂN DÂN HUYỆN QUẢNG TRẠCH", "123/UBND-VP", date(2021, 8, 16), "Công văn",
                "V/v đẩy mạnh tiếp nhận hồ sơ trực tuyến trên Cổng Dịch vụ công của tỉnh")


def test_official_letter_with_v_v():
    assert suggest_fields(CV_TEXT) == CV


def test_letter_whose_symbol_starts_like_a_type_is_still_a_letter():
    # Cục Thuế writes "CT-TTHT", which is not a Chỉ thị: the V/v line decides.
    text = CV_TEXT.replace("123/UBND-VP", "4148/CT-TTHT").replace("ỦY BAN NHÂN DÂN\nHUYỆN QUẢNG TRẠCH",
                                                                "TỔNG CỤC THUẾ\nCỤC THUẾ TỈNH QUẢNG BÌNH")
    assert suggest_fields(text) == Suggestion("CỤC THUẾ TỈNH QUẢNG BÌNH", "4148/CT-TTHT", date(2021, 8, 16),
                                              "Công văn", CV.summary)


def test_letter_with_merged_columns():
    text = "\n".join([
        "ỦY BAN NHÂN DÂN CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "HUYỆN QUẢNG TRẠCH Độc lập - Tự do - Hạnh phúc",
        "------- ---------------",
        "Số: 123/UBND-VP Quảng Trạch, ngày 16 tháng 8 năm 2021",
        "V/v đẩy mạnh tiếp nhận hồ sơ trực tuyến",
        "trên Cổng Dịch vụ công của tỉnh", "",
        "Kính gửi: Các phòng, ban, đơn vị thuộc UBND huyện", "",
        paragraphs("quang-trach-cchc-7-thang-2021"),
    ])
    assert suggest_fields(text) == CV


def test_letter_type_comes_from_a_symbol_without_type_part():
    got = suggest_fields(CV_TEXT.replace("V/v đẩy mạnh tiếp nhận hồ sơ trực tuyến\ntrên Cổng Dịch vụ công của tỉnh\n", ""))
    assert (got.doc_type, got.number_symbol, got.summary) == ("Công văn", "123/UBND-VP", None)


def test_party_letter_type_comes_from_the_symbol():
    text = document(["TỈNH ỦY BÌNH DƯƠNG", "*"], "312-CV/TU", "Bình Dương, ngày 4 tháng 3 năm 2021",
                    "", [], paragraphs("binh-duong-cchc-2020"), motto=PARTY, number_label="Số ")
    assert suggest_fields(text) == Suggestion("TỈNH ỦY BÌNH DƯƠNG", "312-CV/TU", date(2021, 3, 4), "Công văn", None)


# --- OCR damage: the same documents, degraded as scans come back -----------


@pytest.mark.parametrize("layout", ["merged", "right-first"])
def test_column_layouts(layout):
    text = QD_TEXT.split("\n\nQUYẾT ĐỊNH")[1]
    header = document(["ỦY BAN NHÂN DÂN", "XÃ AN BÌNH"], "15/QĐ-UBND", "An Bình, ngày 19 tháng 7 năm 2023",
                      "QUYẾT ĐỊNH", [], "", layout=layout).split("\n\nQUYẾT ĐỊNH")[0]
    assert suggest_fields(header + "\n\nQUYẾT ĐỊNH" + text) == QD


def test_merged_header_line_reads_the_left_column():
    merged = document(["ỦY BAN NHÂN DÂN", "XÃ AN BÌNH"], "15/QĐ-UBND", "An Bình, ngày 19 tháng 7 năm 2023",
                      "QUYẾT ĐỊNH", [], "", layout="merged")
    assert merged.startswith("ỦY BAN NHÂN DÂN CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\n")
    assert "Số: 15/QĐ-UBND An Bình, ngày 19 tháng 7 năm 2023" in merged
    assert suggest_fields(merged).issuing_body == "ỦY BAN NHÂN DÂN XÃ AN BÌNH"


@pytest.mark.parametrize("label", ["S6: ", "Sô: ", "So: ", "Số : ", "SỐ:", "Sổ; ", "S0: "])
def test_number_label_as_ocr_reads_it(label):
    assert suggest_fields(QD_TEXT.replace("Số: ", label, 1)) == QD


@pytest.mark.parametrize("printed, expected", [
    ("15 / QĐ - UBND", "15/QĐ-UBND"),
    ("15/QD-UBND", "15/QĐ-UBND"),
    ("15/QÐ-UBND", "15/QĐ-UBND"),       # Icelandic eth for Đ
    ("l5/Qđ-ubnd", "15/QĐ-UBND"),
    ("I5/QĐ–UBND.", "15/QĐ-UBND"),      # en dash, trailing full stop
    ("15/QĐ-\nUBND", "15/QĐ-UBND"),     # broken after the hyphen
    ("\n15/QĐ-UBND", "15/QĐ-UBND"),     # number on the line under "Số:"
])
def test_symbol_noise(printed, expected):
    assert suggest_fields(QD_TEXT.replace("15/QĐ-UBND", printed, 1)).number_symbol == expected


@pytest.mark.parametrize("name, printed, expected", [
    ("nghị định, with the year in the symbol", "61 / 2O18 / ND - CP", "61/2018/NĐ-CP"),
    ("Party resolution, hyphen symbol", "O5 - NQ / HU", "05-NQ/HU"),
    ("tờ trình", "12/TTR-PNV", "12/TTr-PNV"),
    ("nghị quyết", "11/NQ-HDND", "11/NQ-HĐND"),
    ("kế hoạch", "6793/KH-UBND", "6793/KH-UBND"),
    ("kế hoạch", "67 93/KH-UBND", None),    # a space inside the number: not guessed at
    ("kế hoạch", "6793lKH-UBND", None),     # "/" read as l: not guessed at
    ("kế hoạch", "/KH-UBND", None),         # unnumbered form
    ("kế hoạch", "lO/KH-UBND", None),       # no real digit at all
    ("kế hoạch", "6793/KH", None),          # the issuing body's part is lost
])
def test_symbol_noise_in_other_documents(name, printed, expected):
    text, clean = TYPED[name]
    got = suggest_fields(text.replace(clean.number_symbol, printed, 1))
    assert got.number_symbol == expected
    assert got.doc_type == clean.doc_type  # the title line still says what it is


def test_lost_diacritics():
    text = "\n".join([
        "UY BAN NHAN DAN", "XA AN BINH", "So: 15/QD-UBND", "",
        "CONG HOA XA HOI CHU NGHIA VIET NAM", "Doc lap - Tu do - Hanh phuc",
        "An Binh, ngay 19 thang 7 nam 2023", "", "QUYET DINH",
        "Ve viec cong bo danh muc thu tuc hanh chinh", "", "CHU TICH UY BAN NHAN DAN XA AN BINH",
        "Can cu Nghi dinh so 61/2018/ND-CP ngay 23/4/2018 cua Chinh phu;",
    ])
    assert suggest_fields(text) == Suggestion("UY BAN NHAN DAN XA AN BINH", "15/QĐ-UBND", date(2023, 7, 19),
                                              "Quyết định", "Ve viec cong bo danh muc thu tuc hanh chinh")


@pytest.mark.parametrize("place_date", [
    "An Bình, ngày 19/7/2023",
    "An Bình, ngày 19-07-2023",
    "An Bình, 19-07-2023",
    "An Bình , ngày l9 tháng 7 nǎm 2O23",   # l for 1, O for 0, ǎ from a legacy font
    "An Bình, ngày19 tháng 07 năm 2023",
    "An Bình. ngày 19 tháng 7 năm 2023",
])
def test_date_forms(place_date):
    assert suggest_fields(QD_TEXT.replace("An Bình, ngày 19 tháng 7 năm 2023", place_date)).issued_date \
        == date(2023, 7, 19)


def test_windows_line_ends_form_feeds_and_decomposed_accents():
    text = "\f" + unicodedata.normalize("NFD", QD_TEXT).replace("\n", "\r\n")
    assert suggest_fields(text) == QD


def test_spaced_out_title_and_title_merged_with_summary():
    spaced = QD_TEXT.replace("QUYẾT ĐỊNH\n", "Q U Y Ế T   Đ Ị N H\n", 1)
    assert suggest_fields(spaced) == QD
    merged = QD_TEXT.replace("QUYẾT ĐỊNH\n", "QUYẾT ĐỊNH ", 1)
    assert suggest_fields(merged) == QD


@pytest.mark.parametrize("stamp", ["CÔNG VĂN ĐẾN Số: 1234\nNgày: 20/7/2023", "CÔNG VĂN\nĐẾN\nSố: 1234"])
def test_urgency_mark_and_receipt_stamp_are_not_the_header(stamp):
    text = "HỎA TỐC\n" + QD_TEXT.replace("XÃ AN BÌNH\n-------\n", f"XÃ AN BÌNH\n-------\n{stamp}\n", 1)
    assert suggest_fields(text) == QD


@pytest.mark.parametrize("vv", ["V/V", "V/ v", "V|v"])
def test_v_v_as_ocr_reads_it(vv):
    assert suggest_fields(CV_TEXT.replace("V/v", vv, 1)) == CV


def test_garbled_title_leaves_the_type_to_the_symbol_and_no_summary():
    got = suggest_fields(QD_TEXT.replace("QUYẾT ĐỊNH\n", "QUYÉT ĐlNH\n", 1))
    assert (got.doc_type, got.number_symbol, got.summary) == ("Quyết định", "15/QĐ-UBND", None)


# --- Not guessing ----------------------------------------------------------


@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_body_only_texts_give_nothing(sample):
    # The samples cite "Kế hoạch số 6793/KH-UBND", "Nghị định số 61/2018/NĐ-CP",
    # "ngày 23/4/2018", "trước ngày 30/11/2019": none of them is this text's.
    assert suggest_fields(SAMPLES[sample]) == Suggestion(None, None, None, None, None)


def test_missing_number_label_is_not_filled_from_cited_documents():
    text = QD_TEXT.replace("Số: 15/QĐ-UBND", "", 1)
    assert suggest_fields(text) == Suggestion(QD.issuing_body, None, QD.issued_date, QD.doc_type, QD.summary)


def test_missing_place_date_is_not_filled_from_cited_dates():
    text = CV_TEXT.replace("Quảng Trạch, ngày 16 tháng 8 năm 2021", "", 1).replace(
        "V/v đẩy mạnh", "V/v thực hiện Công văn số 12/UBND-VP ngày 5/1/2021, đẩy mạnh", 1)
    got = suggest_fields(text)
    assert (got.number_symbol, got.issued_date) == ("123/UBND-VP", None)
    assert got.summary.startswith("V/v thực hiện Công văn số 12/UBND-VP ngày 5/1/2021")


def test_body_number_mentioned_without_label_in_a_header_is_ignored():
    text = QD_TEXT.replace("Số: 15/QĐ-UBND", "", 1).replace(
        "Về việc công bố", "Về việc thực hiện Kế hoạch số 6793/KH-UBND, công bố", 1)
    assert suggest_fields(text).number_symbol is None


def test_capitalised_label_in_a_citation_is_not_the_number():
    text = QD_TEXT.replace("Số: 15/QĐ-UBND", "", 1).replace(
        "Căn cứ Nghị định số 61/2018/NĐ-CP", "Căn cứ Quyết định Số: 12/QĐ-UBND ngày 5/1/2020 và Nghị định số 61/2018/NĐ-CP", 1)
    assert suggest_fields(text).number_symbol is None
    assert suggest_fields("Thực hiện Kế hoạch Số: 6793/KH-UBND của UBND tỉnh").number_symbol is None


def test_label_after_the_left_column_on_a_merged_line():
    text = QD_TEXT.replace("XÃ AN BÌNH\n-------\nSố: 15/QĐ-UBND", "XÃ AN BÌNH Số: 15/QĐ-UBND", 1)
    assert suggest_fields(text) == QD


@pytest.mark.parametrize("printed", [
    "ngày 31 tháng 2 năm 2023", "ngày 29 tháng 2 năm 2023", "ngày 19 tháng 13 năm 2023",
    "ngày 0 tháng 7 năm 2023", "ngày 19 tháng 7 năm 1023", "ngày 31/4/2023", "ngày lO tháng 7 năm 2023",
])
def test_impossible_dates_give_none_and_no_other_date(printed):
    # The body's "ngày 23/4/2018" must not take the header date's place.
    got = suggest_fields(QD_TEXT.replace("ngày 19 tháng 7 năm 2023", printed, 1))
    assert got == Suggestion(QD.issuing_body, QD.number_symbol, None, QD.doc_type, QD.summary)


def test_leap_day_is_a_date():
    got = suggest_fields(QD_TEXT.replace("ngày 19 tháng 7 năm 2023", "ngày 29 tháng 2 năm 2024", 1))
    assert got.issued_date == date(2024, 2, 29)


@pytest.mark.parametrize("text", ["", " \n\n\t ", "\f", "Số:", "QUYẾT ĐỊNH"])
def test_empty_and_stub_texts(text):
    got = suggest_fields(text)
    assert got.number_symbol is None and got.issued_date is None and got.issuing_body is None
    assert got.summary is None


def test_as_dict_is_json_friendly():
    assert json.loads(json.dumps(QD.as_dict())) == {
        "issuing_body": "ỦY BAN NHÂN DÂN XÃ AN BÌNH",
        "number_symbol": "15/QĐ-UBND",
        "issued_date": "2023-07-19",
        "doc_type": "Quyết định",
        "summary": "Về việc công bố danh mục thủ tục hành chính thực hiện tại Bộ phận một cửa xã An Bình",
    }
    assert suggest_fields("").as_dict() == dict.fromkeys(QD.as_dict())


def test_long_summary_is_cut_to_one_line_within_the_limit():
    long = ["Về việc " + "công bố danh mục thủ tục hành chính " * 3] + ["thuộc thẩm quyền giải quyết " * 4] * 3
    text = QD_TEXT.replace("Về việc công bố danh mục thủ tục hành chính\n", "\n".join(long) + "\n", 1)
    summary = suggest_fields(text).summary
    assert len(summary) <= SUMMARY_MAX and summary.endswith("…") and "\n" not in summary
    assert summary.startswith("Về việc công bố danh mục thủ tục hành chính công bố")


def test_header_beyond_the_first_page_is_not_read():
    assert suggest_fields(" " * HEAD_CHARS + QD_TEXT) == Suggestion(None, None, None, None, None)


def test_five_megabyte_texts_complete():
    body = "\n".join(SAMPLES.values())
    big = QD_TEXT + body * (5_000_000 // len(body) + 1)
    assert len(big) > 5_000_000
    assert suggest_fields(big) == QD
    # Inputs built to make a careless pattern backtrack: no line breaks,
    # endless near-matches of the label, the date and the symbol.
    for unit in ("Số: 1/", "ngày 1 tháng 1 năm ", "1-1-1-1-", "V/v ", "Q U Y Ế T ", "ỦY BAN "):
        suggest_fields(unit * (5_000_000 // len(unit)))
