"""Decree 30/2020 on the page: the chairman signs (blue hand, no text), the
văn thư seals it for UBND xã Mẫu (red seal over the signature's left third,
agency name and time), a clerk issues a certified copy ("Sao y", top right,
Times 10). Both signatures of the outgoing document stay valid."""
from __future__ import annotations

import io
import re
import subprocess

import pikepdf
import pytest
from PIL import Image

from signing import AgencySeal, AttachmentStamp, Box, CopyStamp, PersonSignature, verify_pdf
from signing.errors import InvalidAppearance
from tests.signing.helpers import pdfsig, pdfsig_blocks

SIGNATURE_BOX = Box(page=0, x=360, y=420, width=150, height=60)
DPI = 72  # one rendered pixel per PDF point keeps the geometry readable


def render(pdf: bytes, tmp_path, name: str) -> Image.Image:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(DPI), "-png", "-singlefile", str(path), str(tmp_path / name)], check=True)
    return Image.open(tmp_path / f"{name}.png").convert("RGB")


def count(image: Image.Image, box: tuple[float, float, float, float], is_colour) -> int:
    """Pixels of a colour inside a PDF-coordinate box (origin bottom-left)."""
    x0, y0, x1, y1 = box
    height = image.height
    crop = image.crop((int(x0), int(height - y1), int(x1), int(height - y0)))
    data = crop.tobytes()
    return sum(1 for i in range(0, len(data), 3) if is_colour(data[i:i + 3]))


def blue(p):
    return p[2] > 120 and p[0] < 90 and p[1] < 110


def red(p):
    return p[0] > 150 and p[1] < 90 and p[2] < 90


def widget_rects(pdf: bytes) -> dict[str, list[float]]:
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        return {str(f.T): [float(v) for v in f.Rect] for f in doc.Root.AcroForm.Fields if "/Rect" in f}


@pytest.fixture
def signed_by_chairman_and_sealed(decision_pdf, official, agency, sign, signature_image, seal_image):
    personal = sign(decision_pdf, official, level="B-T", appearance=PersonSignature(signature_image, SIGNATURE_BOX))
    return sign(personal, agency, level="B-LTA",
                appearance=AgencySeal(seal_image, "UBND xã Mẫu", over="person-1"))


def test_chairman_signs_then_the_agency_seals_and_both_stay_valid(signed_by_chairman_and_sealed, trust, tmp_path,
                                                                   nssdb):
    report = verify_pdf(io.BytesIO(signed_by_chairman_and_sealed), trust)

    assert report.verdict == "valid", report.to_json()
    person, seal = report.signatures
    assert (person.signer, seal.signer) == ("Nguyễn Văn An", "UBND xã Mẫu")
    assert person.modifications == "form_filling"  # the seal came after: allowed
    assert seal.level == "B-LTA"

    path = tmp_path / "two-signatures.pdf"
    path.write_bytes(signed_by_chairman_and_sealed)
    blocks = pdfsig_blocks(pdfsig(path, nssdb))
    for name in ("person-1", "agency-1"):
        assert "Signature is Valid." in blocks[name]
        assert "Certificate is Trusted." in blocks[name]


def test_the_sealed_document_validates_both_signatures_from_what_it_embeds(signed_by_chairman_and_sealed, pki):
    """Years later, the CA offline: the seal carried the chairman's
    certificate status into the document too, not only the agency's."""
    report = verify_pdf(io.BytesIO(signed_by_chairman_and_sealed), pki.trust_config(allow_fetching=False))

    assert report.verdict == "valid", report.to_json()
    person, seal = report.signatures
    for signature in (person, seal):
        assert signature.revocation.status == "good"
        assert "embedded" in signature.revocation.source


def test_personal_signature_is_the_blue_hand_only(decision_pdf, official, sign, signature_image, tmp_path):
    signed = sign(decision_pdf, official, appearance=PersonSignature(signature_image, SIGNATURE_BOX))

    assert widget_rects(signed)["person-1"] == pytest.approx(list(SIGNATURE_BOX.rect))
    page = render(signed, tmp_path, "person")
    assert count(page, SIGNATURE_BOX.rect, blue) > 300
    with pikepdf.open(io.BytesIO(signed)) as doc:
        field = next(f for f in doc.Root.AcroForm.Fields if f.T == "person-1")
        appearance = field.AP.N
        assert "/Font" not in appearance.get("/Resources", {})  # no text at all


def test_agency_seal_covers_the_left_third_of_the_signature_at_real_size(signed_by_chairman_and_sealed, tmp_path):
    rects = widget_rects(signed_by_chairman_and_sealed)
    x0, y0, x1, y1 = rects["agency-1"]
    seal_width = 36 / 25.4 * 72  # 36 mm
    assert x0 + seal_width == pytest.approx(SIGNATURE_BOX.x + SIGNATURE_BOX.width / 3, abs=0.5)

    page = render(signed_by_chairman_and_sealed, tmp_path, "sealed")
    left_third = (SIGNATURE_BOX.x, SIGNATURE_BOX.y, SIGNATURE_BOX.x + SIGNATURE_BOX.width / 3, y1)
    right_part = (SIGNATURE_BOX.x + SIGNATURE_BOX.width / 3 + 3, SIGNATURE_BOX.y, SIGNATURE_BOX.x + SIGNATURE_BOX.width,
                  SIGNATURE_BOX.y + SIGNATURE_BOX.height)
    assert count(page, left_third, red) > 200
    assert count(page, right_part, red) == 0
    assert count(page, right_part, blue) > 100  # the hand still shows to the right


def test_agency_text_names_the_agency_and_the_vietnam_time(signed_by_chairman_and_sealed, trust, tmp_path):
    path = tmp_path / "sealed.pdf"
    path.write_bytes(signed_by_chairman_and_sealed)

    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True).stdout
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True).stdout

    assert "UBND xã Mẫu" in text
    shown = re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00", text).group(0)
    # The time on the page is the signing time inside the signature itself.
    seal = verify_pdf(io.BytesIO(signed_by_chairman_and_sealed), trust).signatures[1]
    assert shown == seal.signing_time
    serif = [line for line in fonts.splitlines() if "LiberationSerif" in line]
    assert serif and " yes yes " in serif[0]  # embedded, subset


def test_certified_copy_stamp_sits_top_right_in_times_10(long_report_pdf, agency, sign, trust, tmp_path):
    signed = sign(long_report_pdf, agency, level="B-T", appearance=CopyStamp("UBND xã Mẫu"))

    x0, y0, x1, y1 = widget_rects(signed)["copy-1"]
    assert x1 > 595 * 0.75 and y1 > 842 - 40  # A4: top-right corner
    path = tmp_path / "copy.pdf"
    path.write_bytes(signed)
    text = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-layout", str(path), "-"],
                          capture_output=True, text=True).stdout
    first_lines = "\n".join(text.splitlines()[:6])
    assert "Sao y" in first_lines and "UBND xã Mẫu" in first_lines
    assert re.search(r"\+07:00", first_lines)
    with pikepdf.open(path) as doc:
        stream = next(f for f in doc.Root.AcroForm.Fields if f.T == "copy-1").AP.N
        assert b"10 Tf" in _all_content(stream)
    assert verify_pdf(io.BytesIO(signed), trust).verdict == "valid"


def test_attachment_stamp_carries_the_main_documents_number(decision_pdf, agency, sign, tmp_path):
    signed = sign(decision_pdf, agency, appearance=AttachmentStamp("15/QĐ-UBND"))
    path = tmp_path / "attachment.pdf"
    path.write_bytes(signed)

    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True).stdout

    assert "15/QĐ-UBND" in text


def test_an_opaque_signature_image_is_refused(decision_pdf, official, sign):
    buffer = io.BytesIO()
    Image.new("RGB", (60, 20), "white").save(buffer, format="PNG")

    with pytest.raises(InvalidAppearance) as caught:
        sign(decision_pdf, official, appearance=PersonSignature(buffer.getvalue(), SIGNATURE_BOX))
    assert caught.value.code == "invalid_appearance"


def _all_content(xobject) -> bytes:
    """The appearance stream and the form XObjects it draws."""
    data = xobject.read_bytes()
    for inner in xobject.get("/Resources", {}).get("/XObject", {}).values():
        if inner.get("/Subtype") == "/Form":
            data += _all_content(inner)
    return data
