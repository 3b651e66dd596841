"""OCR of scanned PDFs: OCRmyPDF (Tesseract, Vietnamese + English) in a subprocess.

The subprocess keeps the worker's memory bounded and lets a hang be killed; it
dies with the worker (docsvc/documents/ocr_progress.py). Its progress comes back as JSON
lines on a pipe, from an OCRmyPDF plugin, and becomes on_progress(done, total)
calls here, in the caller's thread.

Failures come in two kinds:
- the input is at fault (encrypted, damaged, an image too large, a kind of PDF
  OCRmyPDF will not touch): a DocsvcError; retrying cannot help, the document
  is marked failed and its original kept;
- anything else (killed, out of disk or memory, Ghostscript or Tesseract
  crashed, a missing program): OcrCrashed, with OCRmyPDF's last log lines, and
  the pipeline retries.
"""
from __future__ import annotations

import collections
import contextlib
import dataclasses
import functools
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pikepdf

from docsvc import sandbox
from docsvc.errors import DecompressionBomb, EncryptedPdf, OcrInputError
from docsvc.pdf import check_declared_sizes
from docsvc.pdf import pages_with_text as pdf_pages_with_text

LAUNCHER = Path(__file__).with_name("ocr_progress.py")
# As in ocr_progress.py, which runs without the docsvc package (importing it here
# would load OCRmyPDF into the worker for two strings).
EVENTS_FD_ENV = "DOCSVC_OCR_EVENTS_FD"
PARENT_PID_ENV = "DOCSVC_OCR_PARENT_PID"
LOG_TAIL_LINES = 30

# OCRmyPDF's exit codes (ocrmypdf.exceptions.ExitCode, documented under
# "Return code policy"), copied so that this module does not import OCRmyPDF.
EXIT_OK = 0
EXIT_BAD_ARGS = 1
EXIT_INPUT_FILE = 2
EXIT_MISSING_DEPENDENCY = 3
EXIT_INVALID_OUTPUT_PDF = 4
EXIT_FILE_ACCESS_ERROR = 5
EXIT_ALREADY_DONE_OCR = 6
EXIT_CHILD_PROCESS_ERROR = 7
EXIT_ENCRYPTED_PDF = 8
EXIT_INVALID_CONFIG = 9
EXIT_PDFA_CONVERSION_FAILED = 10
EXIT_OTHER_ERROR = 15
EXIT_CTRL_C = 130

# OCRmyPDF turns a page only when Tesseract's orientation detection is this
# confident (its default, 14, is "quite conservative" by its own cookbook, which
# names 2 as aggressive). Noisy upside-down 300-dpi Vietnamese scans measured
# 13.4-16 on OCRmyPDF's JPEG preview, so the default left some upside down
# (bench/ocr.py: one page in six, CER 83% on it). Half the default turns them.
ROTATE_PAGES_THRESHOLD = 7.0

# The progress bar stage whose updates are pages OCRed (ocrmypdf/_pipelines/ocr.py).
OCR_STAGES = ("OCR", "Image processing")


class OcrCrashed(RuntimeError):
    """OCR failed for a reason that may pass (or that we do not know): retry."""

    def __init__(self, message: str, *, exit_code: int | None = None, log_tail: str = "") -> None:
        super().__init__(message + (f"\n{log_tail}" if log_tail else ""))
        self.exit_code = exit_code
        self.log_tail = log_tail


@dataclass(frozen=True)
class OcrOutcome:
    page_count: int
    timed_out_pages: list[int]  # 1-based pages where Tesseract hit the per-page timeout (no text for them)
    skipped_pages: list[int]  # 1-based pages that already had text and were left alone
    # False only where the installed Ghostscript corrupts existing text (see
    # ghostscript_rewrites_text_badly) and the document has pages with text:
    # then the output is a plain searchable PDF, so that their text survives.
    pdfa: bool = True


# Ghostscript 10.0.0 up to 10.02.0 corrupt the text of PDFs that already have
# some when they rewrite them (the PDF/A step); OCRmyPDF refuses --skip-text
# with them. Debian 12 ships 10.0.0.
BAD_GHOSTSCRIPT = ((10, 0, 0), (10, 2, 1))


@functools.lru_cache(maxsize=1)
def ghostscript_version() -> tuple[int, ...] | None:
    try:
        out = subprocess.run(["gs", "--version"], capture_output=True, text=True, timeout=30, check=True).stdout
        return tuple(int(part) for part in out.strip().split("."))
    except (OSError, subprocess.SubprocessError, ValueError):
        return None  # OCRmyPDF will say what is missing


def ghostscript_rewrites_text_badly() -> bool:
    version = ghostscript_version()
    return version is not None and BAD_GHOSTSCRIPT[0] <= version < BAD_GHOSTSCRIPT[1]


def pages_with_text(path: Path) -> list[int]:
    """1-based numbers of the pages that hold any text (visible or not), as
    --skip-text sees them; read in a parse child (docsvc.pdf)."""
    return pdf_pages_with_text(path)


def ocrmypdf_arguments(
    src: Path,
    dst: Path,
    *,
    languages: str = "vie+eng",
    jobs: int = 0,
    page_timeout: float = 180.0,
    max_image_mpixels: float = 250.0,
    output_type: str = "pdfa",
    skip_text: bool = True,
) -> list[str]:
    """The OCRmyPDF command line docsvc runs (also what bench/ocr.py runs by hand)."""
    return [
        "--output-type", output_type,
        *(["--skip-text"] if skip_text else []),
        "--deskew",
        "--rotate-pages",
        "--rotate-pages-threshold", f"{ROTATE_PAGES_THRESHOLD:g}",
        "-l", languages,
        "--jobs", str(jobs or os.cpu_count() or 1),
        "--tesseract-timeout", f"{page_timeout:g}",
        "--max-image-mpixels", f"{max_image_mpixels:g}",
        str(src),
        str(dst),
    ]


def ocr_pdf(
    src: Path,
    dst: Path,
    *,
    languages: str = "vie+eng",
    jobs: int = 0,
    page_timeout: float = 180.0,
    max_image_mpixels: float = 250.0,
    on_progress: Callable[[int, int], None] | None = None,
) -> OcrOutcome:
    """OCR src into a searchable PDF/A at dst; pages that already have text are left alone."""
    src, dst = Path(src), Path(dst)
    options = dict(languages=languages, jobs=jobs, page_timeout=page_timeout, max_image_mpixels=max_image_mpixels)
    if not ghostscript_rewrites_text_badly():
        return _run(src, dst, on_progress, ocrmypdf_arguments(src, _part(dst), **options), pdfa=True)
    # With such a Ghostscript: a pure scan (the usual upload) has nothing to
    # skip, so it runs without --skip-text and becomes PDF/A as usual. In a
    # document with text pages, OCRmyPDF is told to OCR only the other pages
    # (--pages, which leaves the rest alone as --skip-text would) and to write
    # a plain PDF, so that Ghostscript never rewrites the existing text
    # (OCRmyPDF's own advice; it refuses --skip-text with these versions).
    text_pages = pages_with_text(src)
    if not text_pages:
        try:
            return _run(
                src, dst, on_progress, ocrmypdf_arguments(src, _part(dst), skip_text=False, **options), pdfa=True
            )
        except _PriorText:
            # Text pdfium did not see but OCRmyPDF did: let OCRmyPDF's
            # --skip-text judge, with a Ghostscript-free output.
            return _run(
                src, dst, on_progress, ocrmypdf_arguments(src, _part(dst), output_type="pdf", **options), pdfa=False
            )
    total = _page_count(src)
    scan_pages = [n for n in range(1, total + 1) if n not in set(text_pages)]
    if not scan_pages:
        # Nothing to recognise: the output is the input.
        shutil.copyfile(src, _part(dst))
        _part(dst).replace(dst)
        if on_progress:
            on_progress(total, total)
        return OcrOutcome(page_count=total, timed_out_pages=[], skipped_pages=text_pages, pdfa=False)
    args = ocrmypdf_arguments(src, _part(dst), output_type="pdf", skip_text=False, **options)
    args[-2:-2] = ["--pages", ",".join(str(n) for n in scan_pages)]
    outcome = _run(src, dst, on_progress, args, pdfa=False)
    return dataclasses.replace(outcome, skipped_pages=sorted(set(outcome.skipped_pages) | set(text_pages)))


def _page_count(path: Path) -> int:
    check_declared_sizes(path)
    return sandbox.call(_page_count_here, path)


def _page_count_here(path: Path) -> int:
    try:
        with pikepdf.open(path) as pdf:
            return len(pdf.pages)
    except pikepdf.PasswordError:
        raise EncryptedPdf() from None
    except (pikepdf.PdfError, RecursionError) as exc:
        raise OcrInputError(f"The PDF is damaged and cannot be read ({str(exc)[:160]}).") from None


class _PriorText(Exception):
    """OCRmyPDF found text on a page, and --skip-text was not given (exit code 6)."""


def _part(dst: Path) -> Path:
    return dst.with_name(dst.name + ".part")


def _run(src: Path, dst: Path, on_progress, args: list[str], *, pdfa: bool) -> OcrOutcome:
    part = _part(dst)
    read_fd, write_fd = os.pipe()
    env = dict(os.environ)
    env[EVENTS_FD_ENV] = str(write_fd)
    env[PARENT_PID_ENV] = str(os.getpid())
    # Tesseract's own threads would fight OCRmyPDF's page jobs on the same cores.
    env.setdefault("OMP_THREAD_LIMIT", "1")
    try:
        process = subprocess.Popen(
            [sys.executable, "-P", str(LAUNCHER), *args, "--plugin", str(LAUNCHER)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            pass_fds=(write_fd,),
            env=env,
            start_new_session=True,  # its own process group, so all of it can be killed
        )
    except OSError as exc:
        os.close(read_fd)
        os.close(write_fd)
        raise OcrCrashed(f"OCR could not be started: {exc}") from exc
    os.close(write_fd)

    events = _Events(on_progress)
    log_tail: collections.deque[str] = collections.deque(maxlen=LOG_TAIL_LINES)
    try:
        _pump(process, read_fd, events, log_tail)
        code = process.wait()
    except BaseException:
        _kill(process)
        part.unlink(missing_ok=True)
        raise
    finally:
        os.close(read_fd)

    tail = "\n".join(log_tail)
    if code != EXIT_OK:
        part.unlink(missing_ok=True)
        if code == EXIT_ALREADY_DONE_OCR and "--skip-text" not in args:
            raise _PriorText()
        raise _error_for(code, tail)
    try:
        with pikepdf.open(part) as pdf:
            page_count = len(pdf.pages)
    except pikepdf.PdfError as exc:
        part.unlink(missing_ok=True)
        raise OcrCrashed(f"OCRmyPDF reported success but its output cannot be read: {exc}", log_tail=tail) from exc
    part.replace(dst)
    if events.total and on_progress and events.reported < events.total:
        on_progress(events.total, events.total)
    return OcrOutcome(
        page_count=page_count,
        timed_out_pages=sorted(events.timed_out),
        skipped_pages=sorted(events.skipped),
        pdfa=pdfa,
    )


class _Events:
    """Turns the plugin's JSON lines into page counts and on_progress calls."""

    def __init__(self, on_progress: Callable[[int, int], None] | None) -> None:
        self.on_progress = on_progress
        self.total = 0
        self.reported = -1
        self.timed_out: set[int] = set()
        self.skipped: set[int] = set()

    def line(self, raw: bytes) -> None:
        try:
            event = json.loads(raw)
        except ValueError:
            return
        kind = event.get("event")
        if kind == "timeout":
            self.timed_out.add(int(event["page"]))
        elif kind == "skipped":
            self.skipped.add(int(event["page"]))
        elif kind == "progress" and event.get("desc") in OCR_STAGES and event.get("unit") == "page":
            total = int(event.get("total") or 0)
            # A page counts once it is OCRed and grafted (OCRmyPDF adds 0.5 for each).
            done = min(int(event.get("done") or 0), total)
            self.total = total
            if self.on_progress and total and done > self.reported:
                self.reported = done
                self.on_progress(done, total)


def _pump(process: subprocess.Popen, events_fd: int, events: _Events, log_tail: collections.deque) -> None:
    """Read events and stderr until both close (the process has exited)."""
    selector = selectors.DefaultSelector()
    stderr_fd = process.stderr.fileno()
    selector.register(events_fd, selectors.EVENT_READ)
    selector.register(stderr_fd, selectors.EVENT_READ)
    pending = {events_fd: b"", stderr_fd: b""}
    open_fds = 2
    try:
        while open_fds:
            for key, _ in selector.select():
                fd = key.fd
                chunk = os.read(fd, 65536)
                if not chunk:
                    selector.unregister(fd)
                    open_fds -= 1
                    lines = [pending[fd]] if pending[fd] else []
                else:
                    *lines, pending[fd] = (pending[fd] + chunk).split(b"\n")
                for raw in lines:
                    if fd == events_fd:
                        events.line(raw)
                    elif raw.strip():
                        log_tail.append(raw.decode("utf-8", "replace").rstrip())
    finally:
        selector.close()
        process.stderr.close()


def _kill(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _error_for(code: int, tail: str) -> Exception:
    """Map OCRmyPDF's exit code (and, where one code covers both kinds, its log) to our errors."""
    lowered = tail.lower()
    detail = _last_error_line(tail)
    if code == EXIT_ENCRYPTED_PDF:
        return EncryptedPdf()
    if "decompression bomb" in lowered or "decompressionbomb" in lowered:
        return DecompressionBomb(
            "A page holds an image larger than the OCR limit (--max-image-mpixels); scan it at a lower resolution."
        )
    if code == EXIT_INPUT_FILE:
        if "digital signature" in lowered:
            return OcrInputError("The PDF is digitally signed; OCR would invalidate the signature, so it was not run.")
        return OcrInputError(f"Text recognition could not read this document: {detail}")
    if code == EXIT_BAD_ARGS and "color" in lowered and "conversion" in lowered:
        # ColorConversionNeededError is a BadArgsError: the input's colour space, not our arguments.
        return OcrInputError(f"The document uses colours that cannot be converted to PDF/A: {detail}")
    if code == EXIT_ALREADY_DONE_OCR:
        return OcrInputError("Text recognition refused a page that already holds text.")
    if code == EXIT_PDFA_CONVERSION_FAILED:
        # Ghostscript produced a PDF, but not a valid PDF/A: the same input fails the same way.
        return OcrInputError("The recognised document could not be converted to PDF/A (archival format).")
    if code < 0:
        return OcrCrashed(f"OCR was killed by signal {-code}", exit_code=code, log_tail=tail)
    names = {
        EXIT_BAD_ARGS: "bad arguments",
        EXIT_MISSING_DEPENDENCY: "a program it needs is missing",
        EXIT_INVALID_OUTPUT_PDF: "its output is not a valid PDF",
        EXIT_FILE_ACCESS_ERROR: "a file could not be written (disk full or permissions?)",
        EXIT_CHILD_PROCESS_ERROR: "Tesseract or Ghostscript failed",
        EXIT_INVALID_CONFIG: "Tesseract's configuration is invalid",
        EXIT_OTHER_ERROR: "unexpected error",
        EXIT_CTRL_C: "interrupted",
    }
    return OcrCrashed(f"OCRmyPDF failed with exit code {code} ({names.get(code, 'unknown')})", exit_code=code, log_tail=tail)


def _last_error_line(tail: str) -> str:
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    for line in reversed(lines):
        if "Error" in line or "error" in line:
            return line[:300]
    return lines[-1][:300] if lines else "no details"
