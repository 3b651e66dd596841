"""The e-copy stamp on the first page, before signing: the certification
text in Vietnamese, a QR that a phone reads back as the verification URL,
the code under it; top right of the page as shown, off the page's ink;
the other pages untouched; and the stamped copy signs and verifies."""
from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium
import pytest
import zxingcpp
from PIL import Image
from reportlab.lib.pagesizes import A4, A5, landscape, letter
from reportlab.pdfgen import canvas

from signing import Box, PersonSignature, verify_pdf
from signing.ecopy_stamp import HEADINGS, StampText, stamp_first_page
from signing.errors import EncryptedPdf, InvalidAppearance, NotAPdf, SigningError
from tests.scans import make_scan
from tests.signing.test_malformed_input import encrypted

CODE = "7KQ4-M2XD-9TRA-H5NW-7"
URL = f"https://dichvucong.xamau.gov.vn/v/{CODE}"
CERTIFIED = StampText(
    kind="certified_copy", number="125 quyển số 01/2026-SCT/BS", date=date(2026, 11, 23),
    signer_name="Nguyễn Văn An", signer_title="Chủ tịch UBND xã Mẫu",
)
CERTIFIED_LINES = [
    "Chứng thực bản sao đúng với bản chính",
    "Số chứng thực: 125 quyển số 01/2026-SCT/BS",
    "Ngày 23 tháng 11 năm 2026",  # Circular 01/2020's form writes the date out
    "Chủ tịch UBND xã Mẫu",
    "Nguyễn Văn An",
]
RESULT = StampText(
    kind="procedure_result", number="42/2026", date=date(2026, 11, 23),
    signer_name="Trần Thị Bích Ngọc", signer_title="Phó Chủ tịch UBND phường Đông Hòa",
    dossier_code="000.00.12.H56-261123-0042",
)
DPI = 300


def page_text(pdf: bytes, index: int = 0) -> str:
    document = pdfium.PdfDocument(pdf)
    try:
        return document[index].get_textpage().get_text_bounded()
    finally:
        document.close()


def render(pdf: bytes, dpi: int = DPI, index: int = 0) -> Image.Image:
    document = pdfium.PdfDocument(pdf)
    try:
        return document[index].render(scale=dpi / 72).to_pil().convert("L")
    finally:
        document.close()


def qr_codes(pdf: bytes) -> list:
    return [found for found in zxingcpp.read_barcodes(render(pdf)) if found.format == zxingcpp.BarcodeFormat.QRCode]


def qr_box(found) -> tuple[float, float, float, float]:
    """The QR's bounding box in pixels of the rendered page as shown (origin top left)."""
    p = found.position
    xs = [p.top_left.x, p.top_right.x, p.bottom_left.x, p.bottom_right.x]
    ys = [p.top_left.y, p.top_right.y, p.bottom_left.y, p.bottom_right.y]
    return min(xs), min(ys), max(xs), max(ys)


def contents(page: pikepdf.Page) -> bytes:
    streams = page.obj.Contents
    if isinstance(streams, pikepdf.Array):
        return b"".join(s.read_bytes() for s in streams)
    return streams.read_bytes()


def one_page(pagesize, draw=None) -> bytes:
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=pagesize)
    pdf.setFont("Helvetica", 11)
    pdf.drawString(60, pagesize[1] / 2, "Giay chung nhan - body text in the middle of the page")
    if draw:
        draw(pdf)
    pdf.showPage()
    pdf.save()
    return out.getvalue()


def with_page_boxes(pdf: bytes, rotate: int = 0, crop: list[float] | None = None) -> bytes:
    with pikepdf.open(io.BytesIO(pdf)) as document:
        page = document.pages[0]
        if rotate:
            page.obj.Rotate = rotate
        if crop:
            page.obj.CropBox = pikepdf.Array(crop)
        out = io.BytesIO()
        document.save(out)
        return out.getvalue()


@pytest.fixture(scope="module")
def stamped(decision_pdf) -> bytes:
    return stamp_first_page(decision_pdf, CERTIFIED, URL, CODE)


def test_the_certified_copy_shows_the_exact_vietnamese_lines_and_the_code(stamped, decision_pdf):
    assert CERTIFIED.lines == CERTIFIED_LINES
    text = page_text(stamped).splitlines()
    for line in CERTIFIED_LINES:
        assert any(shown.strip() == line or shown.strip().startswith(line + " ") for shown in text), (line, text)
    assert CODE in page_text(stamped)
    # what was on the page is still there, as text
    assert page_text(decision_pdf).strip() in page_text(stamped)


def test_the_font_is_embedded(stamped):
    with pikepdf.open(io.BytesIO(stamped)) as document:
        fonts = []
        for _name, xobject in document.pages[0].Resources.XObject.items():
            for _fname, font in xobject.get("/Resources", {}).get("/Font", {}).items():
                fonts.append(font)
        assert fonts and all("LiberationSerif" in str(f.BaseFont) for f in fonts)
        assert all("/FontFile2" in f.FontDescriptor for f in fonts)


def test_a_procedure_result_has_its_own_heading(decision_pdf):
    pdf = stamp_first_page(decision_pdf, RESULT, URL, CODE)
    text = page_text(pdf)
    assert HEADINGS["procedure_result"] == "Kết quả giải quyết TTHC"
    for line in ["Kết quả giải quyết TTHC", "Số hồ sơ: 42/2026", "Mã hồ sơ: 000.00.12.H56-261123-0042",
                 "Ngày 23 tháng 11 năm 2026",
                 "Phó Chủ tịch UBND phường Đông Hòa", "Trần Thị Bích Ngọc"]:
        assert line in text
    assert "Chứng thực bản sao" not in text
    assert [found.text for found in qr_codes(pdf)] == [URL]


def test_a_long_title_wraps_and_the_qr_keeps_its_size(decision_pdf, stamped):
    """A certifier's title may be 255 characters: it wraps at spaces rather
    than shrinking the block, so the QR is as large, and reads, as usual."""
    title = "Phó Chủ tịch Ủy ban nhân dân xã Quảng Phú, huyện Quảng Trạch, tỉnh Quảng Bình, phụ trách tư pháp hộ tịch"
    long = StampText("certified_copy", "125 quyển số 01/2026-SCT/BS", date(2026, 11, 23), "Nguyễn Văn An", title)
    pdf = stamp_first_page(decision_pdf, long, URL, CODE)
    lines = [line.strip() for line in page_text(pdf).splitlines()]
    assert " ".join(line for line in lines if line and line in title) == title  # every word, in order
    assert sum(1 for line in lines if line and line in title) >= 2
    [found], [usual] = qr_codes(pdf), qr_codes(stamped)
    assert found.text == URL
    width = lambda box: box[2] - box[0]  # noqa: E731
    assert width(qr_box(found)) == pytest.approx(width(qr_box(usual)), rel=0.02)


def test_the_qr_reads_back_as_the_verification_url_top_right(stamped):
    found = qr_codes(stamped)
    assert [f.text for f in found] == [URL]
    assert found[0].orientation == 0  # upright
    width, height = render(stamped).size
    x0, y0, x1, y1 = qr_box(found[0])
    assert x0 > width * 0.7 and y1 < height * 0.15, (x0, y1, width, height)


def test_the_code_is_printed_under_the_qr(stamped):
    document = pdfium.PdfDocument(stamped)
    try:
        page = document[0]
        textpage = page.get_textpage()
        text = textpage.get_text_range(0, textpage.count_chars())
        start = text.index(CODE)
        boxes = [textpage.get_charbox(start + i) for i in range(len(CODE))]
        page_height = page.get_height()
    finally:
        document.close()
    left = min(b[0] for b in boxes)
    right, top = max(b[2] for b in boxes), max(b[3] for b in boxes)
    qr = qr_box(qr_codes(stamped)[0])
    scale = DPI / 72
    qr_left, qr_right, qr_bottom = qr[0] / scale, qr[2] / scale, page_height - qr[3] / scale
    assert top < qr_bottom  # below the QR, in PDF points from the bottom
    assert qr_bottom - top < 12
    assert abs(right - qr_right) < 3  # right-aligned with it
    assert left < qr_left


def test_nothing_of_the_original_page_is_hidden(stamped, decision_pdf):
    before, after = render(decision_pdf, 72), render(stamped, 72)
    hidden = sum(1 for b, a in zip(before.tobytes(), after.tobytes(), strict=True) if b < 160 and a > b + 40)
    assert hidden == 0


def test_the_other_pages_are_untouched(long_report_pdf):
    stamped = stamp_first_page(long_report_pdf, CERTIFIED, URL, CODE)
    with pikepdf.open(io.BytesIO(long_report_pdf)) as before, pikepdf.open(io.BytesIO(stamped)) as after:
        assert len(after.pages) == len(before.pages) == 3
        for index in (1, 2):
            assert contents(after.pages[index]) == contents(before.pages[index])
            assert page_text(stamped, index) == page_text(long_report_pdf, index)
        # the first page's own drawing is kept whole, the stamp drawn over it
        assert contents(before.pages[0]) in contents(after.pages[0])
    assert CODE not in page_text(stamped, 1) + page_text(stamped, 2)


@pytest.mark.parametrize("rotate, crop", [(90, None), (180, None), (270, None), (90, [30, 50, 560, 800])])
def test_a_rotated_page_gets_the_stamp_upright_top_right_as_shown(rotate, crop):
    pdf = with_page_boxes(one_page(A4), rotate=rotate, crop=crop)
    stamped = stamp_first_page(pdf, CERTIFIED, URL, CODE)
    found = qr_codes(stamped)
    assert [f.text for f in found] == [URL]
    assert found[0].orientation == 0  # the QR, drawn with the text, reads upright
    image = render(stamped)
    assert image.size[0] > image.size[1] if rotate in (90, 270) else image.size[0] < image.size[1]
    x0, _y0, _x1, y1 = qr_box(found[0])
    assert x0 > image.size[0] * 0.75 and y1 < image.size[1] * 0.25, (rotate, x0, y1, image.size)
    assert all(line in page_text(stamped) for line in CERTIFIED_LINES)


@pytest.mark.parametrize("pagesize, crop", [
    (landscape(letter), None),
    (A5, None),
    (A4, [40, 60, 520, 800]),  # a scan cropped: the visible page is the CropBox
])
def test_other_page_sizes_and_crop_boxes_get_it_top_right_of_the_visible_page(pagesize, crop):
    pdf = with_page_boxes(one_page(pagesize), crop=crop)
    stamped = stamp_first_page(pdf, CERTIFIED, URL, CODE)
    found = qr_codes(stamped)
    assert [f.text for f in found] == [URL]
    width, height = render(stamped).size
    x0, _y0, x1, y1 = qr_box(found[0])
    assert x0 > width * 0.7 and x1 < width and y1 < height * 0.3, (x0, x1, y1, width, height)


def test_the_stamp_moves_off_what_is_printed_in_the_corner():
    box = (A4[0] - 200, A4[1] - 70, 200, 70)  # a dark header block in the top right corner
    pdf = one_page(A4, lambda c: c.rect(*box, stroke=0, fill=1))
    stamped = stamp_first_page(pdf, CERTIFIED, URL, CODE)
    found = qr_codes(stamped)
    assert [f.text for f in found] == [URL]
    _x0, y0, _x1, _y1 = qr_box(found[0])
    assert y0 > 70 * DPI / 72  # below the header block, not over it
    assert y0 < A4[1] / 4 * DPI / 72  # and still in the top quarter


def test_a_scanned_original_is_stamped_and_its_qr_reads(tmp_path):
    scan = make_scan(tmp_path / "giay-khai-sinh.pdf", "pdf", paragraphs=2, seed=3)
    stamped = stamp_first_page(Path(scan.path).read_bytes(), CERTIFIED, URL, CODE)
    assert [f.text for f in qr_codes(stamped)] == [URL]
    assert all(line in page_text(stamped) for line in CERTIFIED_LINES)


def test_the_stamped_copy_signs_at_b_b_and_verifies(stamped, official, sign, trust, signature_image):
    signed = sign(stamped, official, level="B-B")
    report = verify_pdf(io.BytesIO(signed), trust)
    assert report.verdict == "valid", report.to_json()
    # and with a visible signature too: the stamp and the signature share the page
    signed = sign(stamped, official, level="B-B",
                  appearance=PersonSignature(signature_image, Box(page=0, x=360, y=420, width=150, height=60)))
    assert verify_pdf(io.BytesIO(signed), trust).verdict == "valid"
    assert [f.text for f in qr_codes(signed)] == [URL]


def test_what_cannot_be_stamped_gets_signings_errors(decision_pdf, official, sign):
    with pytest.raises(NotAPdf) as caught:
        stamp_first_page(b"Just some text, not a PDF", CERTIFIED, URL, CODE)
    assert caught.value.code == "not_a_pdf"
    with pytest.raises(NotAPdf):
        stamp_first_page(b"%PDF-1.4\n" + bytes(300), CERTIFIED, URL, CODE)
    with pytest.raises(EncryptedPdf) as caught:
        stamp_first_page(encrypted(decision_pdf), CERTIFIED, URL, CODE)
    assert caught.value.code == "encrypted_pdf"
    with pytest.raises(SigningError, match="already signed"):
        stamp_first_page(sign(decision_pdf, official, level="B-B"), CERTIFIED, URL, CODE)


def test_a_letter_the_font_lacks_is_an_error_not_a_blank_box(decision_pdf):
    text = StampText("certified_copy", "1 quyển số 01/2026-SCT/BS", date(2026, 1, 2), "王小明", "Công chứng viên")
    with pytest.raises(InvalidAppearance, match="王"):
        stamp_first_page(decision_pdf, text, URL, CODE)
    with pytest.raises(InvalidAppearance):
        stamp_first_page(decision_pdf, StampText("bản sao", "1", date(2026, 1, 2), "A", "B"), URL, CODE)  # type: ignore[arg-type]
