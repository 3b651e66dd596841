"""Peak memory of OCR against the number of pages: docsvc.documents.ocr.ocr_pdf on
scans of N pages (tests/scans.py, 300 dpi), the resident memory of this
process and every process it starts (OCRmyPDF, Tesseract, Ghostscript)
sampled every 0.2 s. Memory that stays flat as pages grow is what lets a
300-page scan run on a small machine.

    .venv/bin/python bench/ocr_memory.py 4 32 [N ...]
"""
from __future__ import annotations

import contextlib
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from docsvc.documents.ocr import ocr_pdf
from tests.scans import make_scan  # noqa: E402


def tree_rss(process: psutil.Process) -> int:
    total = 0
    for member in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):  # exited between listing and reading
            total += member.memory_info().rss
    return total


def measure(pages: int, folder: Path) -> dict:
    scan = make_scan(folder / f"scan-{pages}.pdf", "pdf", pages=pages, paragraphs=3).path
    me, peak, stop = psutil.Process(), [0], threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], tree_rss(me))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.monotonic()
    try:
        ocr_pdf(scan, folder / f"out-{pages}.pdf")
    finally:
        stop.set()
        sampler.join()
    return {"pages": pages, "seconds": round(time.monotonic() - started, 1),
            "peak_rss_mib": round(peak[0] / 2**20), "input_mib": round(scan.stat().st_size / 2**20, 1)}


def main() -> None:
    counts = [int(a) for a in sys.argv[1:]] or [4, 32]
    with tempfile.TemporaryDirectory(prefix="docsvc-ocr-memory-") as tmp:
        for pages in counts:
            print(measure(pages, Path(tmp)), flush=True)


if __name__ == "__main__":
    main()
