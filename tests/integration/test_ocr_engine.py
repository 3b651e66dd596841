"""OCR of scans with the real OCRmyPDF, Tesseract (vie+eng) and Ghostscript: no mocks.

Scans are made from the Vietnamese sample texts (tests/scans.py): 300 dpi,
grey, skewed, noisy. Pages hold a few paragraphs so the file runs in about a
minute on two cores.

CER threshold: on such pages Tesseract 5.3 (vie+eng, through docsvc.documents.ocr)
measured 0.8-2.8% character error rate (mean 1.4%) over six pages of the
three samples, upright, at 90 and at 180 degrees (seeds 1-6; bench/ocr.py
measures more). The limit, 4%, sits above that spread, yet far below what a
wrong language (no Vietnamese tone marks: every third word wrong), a page
OCRed upside down (near 100%) or a missing text layer (100%) give.
"""
from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import textwrap
import time
import zlib
from pathlib import Path

import pikepdf
import psutil
import pytest
from PIL import Image

from docsvc.documents.formats import IntakeInfo, image_to_pdf, inspect_upload
from docsvc.documents.ocr import OcrCrashed, ghostscript_rewrites_text_badly, ocr_pdf
from docsvc.errors import (
    CorruptImage,
    DecompressionBomb,
    EmptyFile,
    EncryptedPdf,
    OcrInputError,
    TooManyPages,
    UnsupportedFormat,
)
from docsvc.pdf import iter_page_texts
from tests.pdfs import make_pdf, sample_paragraphs
from tests.scans import SAMPLE_NAMES, cer, make_scan, normalize, save_scan, scan_pages

MAX_CER = 0.04
LIMITS = dict(max_pages=50, max_image_pixels=120_000_000)


def text_of(path: Path) -> str:
    return "\n".join(iter_page_texts(path))


# ---------------------------------------------------------------------------
# One noisy scan, OCRed once for several tests


@pytest.fixture(scope="module")
def noisy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("noisy")
    scan = make_scan(folder / "scan.pdf", "pdf", pages=1, paragraphs=5, seed=1)
    calls: list[tuple[int, int]] = []
    outcome = ocr_pdf(scan.path, folder / "ocr.pdf", on_progress=lambda done, total: calls.append((done, total)))
    return scan, folder / "ocr.pdf", outcome, calls


def test_noisy_vietnamese_scan_is_recognized(noisy):
    scan, output, outcome, _ = noisy
    text = text_of(output)
    assert outcome.page_count == 1 and outcome.timed_out_pages == [] and outcome.skipped_pages == []
    assert cer(scan.text, text) < MAX_CER
    folded = normalize(text)
    for words in ("hành chính", "Bình Dương", "cải cách", "nhiệm vụ", "Kế hoạch"):
        assert words in folded


def test_output_is_pdfa(noisy):
    _, output, outcome, _ = noisy
    assert outcome.pdfa
    with pikepdf.open(output) as pdf:
        meta = pdf.open_metadata()
        assert meta.pdfa_status.startswith("2")  # pdfaid:part 2, conformance B
        assert meta.get("pdfaid:part") == "2"


def test_progress_counts_pages_up_to_the_total(noisy):
    *_, calls = noisy
    assert calls, "on_progress was never called"
    done = [d for d, _ in calls]
    assert done == sorted(done) and len(set(done)) == len(done)
    assert all(total == 1 for _, total in calls)
    assert calls[-1] == (1, 1)


def test_upside_down_page_comes_out_upright(tmp_path):
    scan = make_scan(tmp_path / "upside-down.pdf", "pdf", pages=1, paragraphs=3, rotate=180, seed=4)
    outcome = ocr_pdf(scan.path, tmp_path / "ocr.pdf")
    text = text_of(tmp_path / "ocr.pdf")
    assert outcome.page_count == 1
    assert cer(scan.text, text) < MAX_CER
    assert "hành chính" in normalize(text)


def test_page_with_text_is_left_alone(tmp_path):
    """Page 1 born-digital, page 2 a scan: page 1 keeps its exact text, page 2 is OCRed."""
    born = make_pdf(tmp_path / "born.pdf", "Quyết định số 15/QĐ-UBND", sample_paragraphs(SAMPLE_NAMES[1])[:3])
    scanned = make_scan(tmp_path / "scanned.pdf", "pdf", pages=1, paragraphs=2, seed=7)
    mixed = tmp_path / "mixed.pdf"
    with pikepdf.open(born) as first, pikepdf.open(scanned.path) as second:
        first.pages.extend(second.pages)
        first.save(mixed)
    original_page_1 = list(iter_page_texts(born))[0]

    outcome = ocr_pdf(mixed, tmp_path / "ocr.pdf")

    assert outcome.skipped_pages == [1]
    assert outcome.page_count == 2
    page_1, page_2 = list(iter_page_texts(tmp_path / "ocr.pdf"))
    assert page_1 == original_page_1
    assert cer(scanned.text, page_2) < MAX_CER
    # Ghostscript 10.0.0-10.02.0 (Debian 12) corrupts existing text when it makes
    # PDF/A, so docsvc keeps such documents plain PDF there (docsvc.documents.ocr).
    assert outcome.pdfa is (not ghostscript_rewrites_text_badly())


def test_tiny_page_timeout_completes_and_names_the_pages(tmp_path):
    scan = make_scan(tmp_path / "scan.pdf", "pdf", pages=2, paragraphs=2, seed=3)
    outcome = ocr_pdf(scan.path, tmp_path / "ocr.pdf", page_timeout=0.1)
    assert outcome.page_count == 2
    assert outcome.timed_out_pages == [1, 2]
    assert text_of(tmp_path / "ocr.pdf").strip() == ""


# ---------------------------------------------------------------------------
# Images to PDF


def test_multipage_tiff_gives_one_page_per_frame_at_its_dpi(tmp_path):
    images, texts = scan_pages(3, paragraphs=1, noise=0, specks=0, seed=2)
    scan = save_scan(images, texts, tmp_path / "scan.tiff", "tiff")
    assert inspect_upload(scan.path, **LIMITS) == IntakeInfo("image/tiff", 3, True)
    image_to_pdf(scan.path, tmp_path / "scan.pdf")
    with pikepdf.open(tmp_path / "scan.pdf") as pdf:
        assert len(pdf.pages) == 3
        for page, image in zip(pdf.pages, images, strict=True):
            width, height = float(page.mediabox[2]), float(page.mediabox[3])
            assert width == pytest.approx(image.width * 72 / 300, abs=0.5)
            assert height == pytest.approx(image.height * 72 / 300, abs=0.5)


def test_jpeg_bytes_are_embedded_unchanged(tmp_path):
    scan = make_scan(tmp_path / "scan.jpg", "jpeg", pages=1, paragraphs=1, seed=5)
    image_to_pdf(scan.path, tmp_path / "scan.pdf")
    with pikepdf.open(tmp_path / "scan.pdf") as pdf:
        (image,) = pdf.pages[0].images.values()
        assert image.Filter == pikepdf.Name.DCTDecode
        assert image.read_raw_bytes() == scan.path.read_bytes()


def test_missing_or_absurd_dpi_is_taken_as_300(tmp_path):
    for name, dpi in (("none.png", None), ("camera.jpg", (72, 72)), ("absurd.png", (1, 1))):
        image = Image.new("L", (2480, 3508), 255)
        path = tmp_path / name
        image.save(path, dpi=dpi) if dpi else image.save(path)
        image_to_pdf(path, tmp_path / "out.pdf")
        with pikepdf.open(tmp_path / "out.pdf") as pdf:
            box = pdf.pages[0].mediabox
            assert (round(float(box[2])), round(float(box[3]))) == (595, 842), name  # A4


def test_scanner_dpi_is_kept(tmp_path):
    path = tmp_path / "200.png"
    Image.new("L", (1654, 2339), 255).save(path, dpi=(200, 200))
    image_to_pdf(path, tmp_path / "out.pdf")
    with pikepdf.open(tmp_path / "out.pdf") as pdf:
        assert round(float(pdf.pages[0].mediabox[2])) == 595


def test_transparency_is_accepted(tmp_path):
    rgba = tmp_path / "rgba.png"
    Image.new("RGBA", (300, 200), (0, 0, 255, 128)).save(rgba)
    palette = tmp_path / "palette.png"
    Image.new("P", (300, 200), 0).save(palette, transparency=0)
    deep = tmp_path / "rgba16.png"
    # img2pdf refuses alpha above 8 bits: docsvc flattens it onto white.
    deep.write_bytes(_png(64, 64, bit_depth=16, color_type=6, row=b"\xff\xff\x00\x00\x00\x00\x80\x00" * 64))
    for path in (rgba, palette, deep):
        assert inspect_upload(path, **LIMITS).media_type == "image/png"
        image_to_pdf(path, tmp_path / "out.pdf")
        with pikepdf.open(tmp_path / "out.pdf") as pdf:
            assert len(pdf.pages) == 1


# ---------------------------------------------------------------------------
# What the upload check refuses


def _png(width: int, height: int, *, bit_depth: int = 8, color_type: int = 0, row: bytes | None = None,
         rows: int | None = None) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    raw = b"".join(b"\x00" + (row if row is not None else b"\x00" * width) for _ in range(rows or height))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def test_decompression_bomb_is_refused_from_its_header(tmp_path):
    # 100000 x 100000 grey pixels would be 10 GB decoded: a test that passes did not decode it.
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png(100_000, 100_000, row=b"", rows=1))
    assert bomb.stat().st_size < 200
    with pytest.raises(DecompressionBomb) as error:
        inspect_upload(bomb, **LIMITS)
    assert error.value.code == "decompression_bomb" and error.value.http_status == 422
    # Also when it is under Pillow's own limit but over ours.
    big = tmp_path / "big.png"
    big.write_bytes(_png(12_000, 12_000, row=b"", rows=1))
    with pytest.raises(DecompressionBomb, match="12000 x 12000"):
        inspect_upload(big, **LIMITS)


def test_damaged_images_are_refused(tmp_path):
    scan = make_scan(tmp_path / "good.jpg", "jpeg", pages=1, paragraphs=1, seed=6)
    good = scan.path.read_bytes()
    assert inspect_upload(scan.path, **LIMITS) == IntakeInfo("image/jpeg", 1, True)
    cases = {
        "truncated.jpg": good[: len(good) // 2],
        "corrupt.jpg": good[:4] + b"\x13\x37" * 200 + good[404:],
        "truncated.png": _png(64, 64)[:60],
    }
    png = make_scan(tmp_path / "good.png", "png", pages=1, paragraphs=1, seed=6).path.read_bytes()
    cases["cut.png"] = png[: len(png) - 5000]
    tiff = save_scan(*scan_pages(2, paragraphs=1, seed=6), tmp_path / "good.tiff", "tiff").path.read_bytes()
    cases["cut.tiff"] = tiff[: len(tiff) * 3 // 4]
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(CorruptImage):
            inspect_upload(tmp_path / name, **LIMITS)
            pytest.fail(f"{name} was accepted")


def test_zero_size_image_is_refused(tmp_path):
    path = tmp_path / "zero.png"
    path.write_bytes(_png(0, 10, rows=0))
    with pytest.raises(CorruptImage):
        inspect_upload(path, **LIMITS)


def test_empty_file_is_refused(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(EmptyFile):
        inspect_upload(tmp_path / "empty.jpg", **LIMITS)


@pytest.mark.parametrize(
    "name, data, kind",
    [
        ("report.docx", b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 100, "Office document"),
        ("scan.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "GIF"),
        ("photo.heic", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "HEIC"),
        ("notes.pdf", "Quyết định số 15/QĐ-UBND\n".encode() * 20, "unknown type"),
    ],
)
def test_unsupported_formats_name_what_is_accepted(tmp_path, name, data, kind):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(UnsupportedFormat) as error:
        inspect_upload(path, **LIMITS)
    assert kind in error.value.message and "PDF, JPEG, PNG or TIFF" in error.value.message
    assert error.value.http_status == 415 and error.value.code == "unsupported_format"


def test_page_limit(tmp_path):
    pdf = make_pdf(tmp_path / "three.pdf", "Báo cáo", sample_paragraphs(SAMPLE_NAMES[2])[:2], pages=3)
    assert inspect_upload(pdf, max_pages=3, max_image_pixels=10**8) == IntakeInfo("application/pdf", 3, False)
    with pytest.raises(TooManyPages) as error:
        inspect_upload(pdf, max_pages=2, max_image_pixels=10**8)
    assert "3 pages" in error.value.message and "at most 2" in error.value.message
    images, texts = scan_pages(3, paragraphs=1, noise=0, specks=0)
    tiff = save_scan(images, texts, tmp_path / "three.tiff", "tiff").path
    with pytest.raises(TooManyPages, match="more than 2"):
        inspect_upload(tiff, max_pages=2, max_image_pixels=10**8)


# ---------------------------------------------------------------------------
# What OCR refuses, and what it retries


def test_encrypted_pdf_is_an_input_error(tmp_path):
    scan = make_scan(tmp_path / "scan.pdf", "pdf", pages=1, paragraphs=1, noise=0, specks=0)
    with pikepdf.open(scan.path) as pdf:
        pdf.save(tmp_path / "locked.pdf", encryption=pikepdf.Encryption(user="mat-khau", owner="mat-khau"))
    with pytest.raises(EncryptedPdf):
        ocr_pdf(tmp_path / "locked.pdf", tmp_path / "out.pdf")
    assert not (tmp_path / "out.pdf").exists()


def test_damaged_pdf_is_an_input_error(tmp_path):
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n")
    with pytest.raises(OcrInputError) as error:
        ocr_pdf(tmp_path / "broken.pdf", tmp_path / "out.pdf")
    assert error.value.code == "ocr_failed"


def test_image_over_the_ocr_pixel_limit_is_an_input_error(tmp_path):
    scan = make_scan(tmp_path / "scan.pdf", "pdf", pages=1, paragraphs=1, noise=0, specks=0)
    with pytest.raises(DecompressionBomb):
        ocr_pdf(scan.path, tmp_path / "out.pdf", max_image_mpixels=1.0)


def test_missing_language_is_retried_not_blamed_on_the_document(tmp_path):
    scan = make_scan(tmp_path / "scan.pdf", "pdf", pages=1, paragraphs=1, noise=0, specks=0)
    with pytest.raises(OcrCrashed) as error:
        ocr_pdf(scan.path, tmp_path / "out.pdf", languages="vie+xyz")
    assert error.value.exit_code is not None and "xyz" in error.value.log_tail


def test_killed_worker_leaves_no_ocr_running(tmp_path):
    """SIGKILL the process that called ocr_pdf: OCRmyPDF and its Tesseracts go too."""
    scan = make_scan(tmp_path / "scan.pdf", "pdf", pages=2, paragraphs=8, seed=9)
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from docsvc.documents.ocr import ocr_pdf
        ocr_pdf(Path({str(scan.path)!r}), Path({str(tmp_path / 'out.pdf')!r}))
        """
    )
    worker = subprocess.Popen([sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[2])
    try:
        tesseract = _wait_for(lambda: _descendants(worker.pid, "tesseract"))
        assert tesseract, "Tesseract never started"
        ocr_processes = psutil.Process(worker.pid).children(recursive=True)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
        gone, alive = psutil.wait_procs(ocr_processes, timeout=30)
        assert alive == [], f"still running after the worker was killed: {[p.name() for p in alive]}"
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()


def _descendants(pid: int, name: str) -> list[psutil.Process]:
    try:
        return [p for p in psutil.Process(pid).children(recursive=True) if p.name() == name]
    except psutil.NoSuchProcess:
        return []


def _wait_for(probe, limit: float = 60.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if found := probe():
            return found
        time.sleep(0.1)
    return None
