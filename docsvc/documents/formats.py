"""What kind of upload is this, and can we take it?

`inspect_upload` runs inside the upload request, so it must stay cheap in time
and memory whatever the file claims: the kind comes from the magic bytes (never
the name), images are opened with Pillow reading headers only, and the size an
image declares is checked before any pixel is decoded. `image_to_pdf` turns an
accepted image into a PDF for OCR without re-compressing it.
"""
from __future__ import annotations

import io
import struct
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import img2pdf
from PIL import Image, ImageFile, TiffImagePlugin, UnidentifiedImageError

from docsvc import sandbox
from docsvc.errors import CorruptImage, DecompressionBomb, EmptyFile, TooManyPages, UnsupportedFormat
from docsvc.pdf import inspect_pdf
from docsvc.sandbox import ParseBudget

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
TIFF = "image/tiff"
ACCEPTED = "PDF, JPEG, PNG or TIFF"
UNKNOWN = "a file of unknown type"

# Pillow's own limit warns from MAX_IMAGE_PIXELS and refuses from twice that;
# ours (max_image_pixels) is checked explicitly, so the warning is noise.
warnings.simplefilter("ignore", Image.DecompressionBombWarning)

HEAD_BYTES = 64
# Where a PDF header may start (some scanners prepend bytes): as docsvc.pdf.
PDF_HEADER_WINDOW = 1024

# A scan without a resolution, or with one no scanner writes, is laid out at
# this many dots per inch: a 2480 x 3508 pixel image becomes an A4 page.
DEFAULT_DPI = 300
CREDIBLE_DPI = (75, 2400)
# 72 x 72 is what cameras and editors write without measuring anything.
UNMEASURED_DPI = {(72, 72)}

# Decoding a JPEG at 1/8 scale (libjpeg's DCT scaling) reads all of its
# entropy-coded data, so truncation and broken data show, in 1/64 of the memory.
JPEG_DRAFT_SCALE = 8


@dataclass(frozen=True)
class IntakeInfo:
    media_type: str  # "application/pdf" | "image/jpeg" | "image/png" | "image/tiff"
    page_count: int  # PDF pages or image frames (multi-page TIFF)
    is_image: bool


def sniff(head: bytes) -> str | None:
    """The accepted media type these first bytes announce, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return TIFF
    if b"%PDF-" in head:
        return PDF
    return None


def _describe(head: bytes) -> str:
    """A name for a kind of file we do not accept, for the error message."""
    if head[:4] == b"PK\x03\x04":
        return "a ZIP archive or an Office document (.docx, .xlsx, .odt)"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "a GIF image"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"hevc", b"mif1", b"msf1", b"avif"):
        return "a HEIC/AVIF photo"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "a WebP image"
    if head[:2] == b"BM":
        return "a BMP image"
    if head[:4] in (b"II+\x00", b"MM\x00+"):
        return "a BigTIFF image"
    if head[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return "an old Office document (.doc, .xls)"
    if head[:12] == b"\x00\x00\x00\x0cjP  \r\n\x87\n":
        return "a JPEG 2000 image"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return "an HTML or XML document"
    return UNKNOWN


def _other_format(head: bytes) -> bool:
    """Does the file start as another kind of file, with a PDF header later
    (a ZIP or an HTML page carrying a PDF: a polyglot)? Scanners prepend
    binary junk, never a known format or markup."""
    return _describe(head[:HEAD_BYTES]) != UNKNOWN


def inspect_upload(path: Path, *, max_pages: int, max_image_pixels: int,
                   budget: ParseBudget | None = None, check_sizes: Callable[[], None] | None = None) -> IntakeInfo:
    """Accept a PDF or a scan image we can store and OCR, or raise the error a
    user should see. The PDF or image parser runs in a parse child within the
    budget (docsvc/sandbox.py); what is decided from the first bytes is decided here.
    `check_sizes`: as for `inspect_pdf` (a PDF's declared sizes, checked as it streamed in)."""
    size = path.stat().st_size
    if size == 0:
        raise EmptyFile()
    with open(path, "rb") as handle:
        head = handle.read(PDF_HEADER_WINDOW)
    media_type = sniff(head[:HEAD_BYTES]) or (PDF if b"%PDF-" in head else None)
    if media_type == PDF and _other_format(head):
        media_type = None
    if media_type is None:
        raise UnsupportedFormat(
            f"This file is {_describe(head[:HEAD_BYTES])} (whatever its name says); "
            f"docsvc accepts {ACCEPTED} files. Save or scan it as one of those."
        )
    if media_type == PDF:
        pages = inspect_pdf(path, budget, check_sizes).page_count
        if pages > max_pages:
            raise TooManyPages(count=pages, limit=max_pages)
        return IntakeInfo(PDF, pages, is_image=False)
    frames = sandbox.call(_inspect_image_here, path, media_type, size, max_pages, max_image_pixels, budget=budget)
    return IntakeInfo(media_type, frames, is_image=True)


def _inspect_image_here(path: Path, media_type: str, size: int, max_pages: int, max_image_pixels: int) -> int:
    return _inspect_image(path, media_type, size, max_pages=max_pages, max_image_pixels=max_image_pixels)


def _inspect_image(path: Path, media_type: str, size: int, *, max_pages: int, max_image_pixels: int) -> int:
    try:
        with Image.open(path) as image:
            if Image.MIME.get(image.format or "") != media_type:
                raise CorruptImage(f"The file starts like {media_type} but is not a readable image.")
            frames = 0
            while True:
                frames += 1
                if frames > max_pages:
                    raise TooManyPages(
                        f"The image has more than {max_pages} pages (frames); at most {max_pages} are accepted. "
                        "Split it into smaller files.",
                        limit=max_pages,
                    )
                _check_frame(image, frames, max_image_pixels)
                if media_type == TIFF:
                    _check_tiff_frame_data(image, frames, size)
                try:
                    image.seek(frames)
                except EOFError:
                    break
            # The decode check, after every header passed (so nothing big is decoded).
            if media_type == PNG:
                image.verify()  # walks every chunk and checks its CRC, up to IEND; decodes nothing
            elif media_type == JPEG:
                image.seek(0)
                _decode_jpeg_small(image)
            return frames
    except Image.DecompressionBombError:
        # Pillow's own hard limit (twice Image.MAX_IMAGE_PIXELS), hit while reading the header.
        raise DecompressionBomb(
            f"The image declares more than {max_image_pixels:,} pixels; scan it at a lower resolution."
        ) from None
    # Pillow raises all of these on damaged headers, depending on the format and the damage.
    except (UnidentifiedImageError, SyntaxError, OSError, ValueError, EOFError, struct.error, TypeError, KeyError,
            IndexError, ZeroDivisionError) as exc:
        raise CorruptImage(f"The image is damaged or incomplete and cannot be read ({_short(exc)}).") from None


def _check_frame(image: Image.Image, number: int, max_image_pixels: int) -> None:
    width, height = image.size
    where = f" (page {number})" if number > 1 else ""
    if width <= 0 or height <= 0:
        raise CorruptImage(f"The image{where} has no pixels ({width} x {height}).")
    if width * height > max_image_pixels:
        raise DecompressionBomb(
            f"The image{where} declares {width} x {height} pixels, more than the {max_image_pixels:,} accepted; "
            "scan it at a lower resolution."
        )


def _check_tiff_frame_data(image: Image.Image, number: int, size: int) -> None:
    """Every strip or tile of this frame lies inside the file: truncation shows without decoding."""
    tags = image.tag_v2
    offsets = tags.get(TiffImagePlugin.STRIPOFFSETS) or tags.get(324)  # TileOffsets
    counts = tags.get(TiffImagePlugin.STRIPBYTECOUNTS) or tags.get(325)  # TileByteCounts
    if offsets is None or counts is None:
        raise CorruptImage(f"Page {number} of the TIFF has no image data.")
    offsets = offsets if isinstance(offsets, tuple) else (offsets,)
    counts = counts if isinstance(counts, tuple) else (counts,)
    if len(offsets) != len(counts) or any(o + c > size for o, c in zip(offsets, counts, strict=True)):
        raise CorruptImage(f"The TIFF is incomplete (truncated): page {number} ends past the end of the file.")


def _decode_jpeg_small(image: Image.Image) -> None:
    width, height = image.size
    image.draft(image.mode, (max(1, width // JPEG_DRAFT_SCALE), max(1, height // JPEG_DRAFT_SCALE)))
    # LOAD_TRUNCATED_IMAGES is a process-wide Pillow setting; we rely on its default (False).
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES is set: truncated scans would pass")
    image.load()


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:160]


# ---------------------------------------------------------------------------
# Image to PDF


def image_to_pdf(src: Path, dst: Path) -> None:
    """Wrap an accepted image (every frame of a TIFF) into a PDF, one page a frame.

    img2pdf puts JPEG bytes in as they are (DCTDecode) and other pixels in
    losslessly (Flate, or CCITT G4 for bilevel TIFF), so nothing is re-compressed
    with loss. The page size follows the image's resolution; a scan without one,
    or with one no scanner writes, is laid out at 300 dpi.
    """
    dpis = _frame_dpis(src)
    layout = _layout_for(dpis)
    try:
        try:
            pdf = img2pdf.convert(str(src), layout_fun=layout, rotation=img2pdf.Rotation.ifvalid)
        except img2pdf.AlphaChannelError:
            pdf = img2pdf.convert(
                *_flattened_frames(src), layout_fun=_layout_for(dpis), rotation=img2pdf.Rotation.ifvalid
            )
    except (img2pdf.ImageOpenError, ValueError, OSError) as exc:
        raise CorruptImage(f"The image cannot be converted to PDF ({_short(exc)}).") from None
    tmp = dst.with_name(dst.name + ".part")
    tmp.write_bytes(pdf)
    tmp.replace(dst)


def _frame_dpis(src: Path) -> list[tuple[float, float]]:
    dpis = []
    with Image.open(src) as image:
        for index in range(getattr(image, "n_frames", 1)):
            image.seek(index)
            dpis.append(credible_dpi(image.info.get("dpi")))
    return dpis


def credible_dpi(dpi) -> tuple[float, float]:
    """The image's resolution if a scanner could have written it, else 300 x 300."""
    try:
        x, y = (float(v) for v in dpi)
    except (TypeError, ValueError):
        return (DEFAULT_DPI, DEFAULT_DPI)
    low, high = CREDIBLE_DPI
    if not (low <= x <= high and low <= y <= high) or (round(x), round(y)) in UNMEASURED_DPI:
        return (DEFAULT_DPI, DEFAULT_DPI)
    return (x, y)


def _layout_for(dpis: list[tuple[float, float]]):
    """An img2pdf layout function giving frame i the resolution dpis[i].

    img2pdf calls it once per frame, in order; it would substitute 96 dpi for a
    missing resolution, which is why the resolutions are read beforehand.
    """
    remaining = iter(dpis)

    def layout(width_px: int, height_px: int, _ndpi):
        x, y = next(remaining, (DEFAULT_DPI, DEFAULT_DPI))
        width_pt, height_pt = width_px * 72.0 / x, height_px * 72.0 / y
        return width_pt, height_pt, width_pt, height_pt

    return layout


def _flattened_frames(src: Path) -> list[bytes]:
    """Frames img2pdf refuses (transparency it cannot carry, e.g. >8-bit alpha),
    as PNGs with the transparency composited onto white paper.

    This is the least lossy form a page can take: the visible pixels are kept
    exactly (a transparent pixel on paper is white, which is what the scan
    shows), and PNG is lossless. Only the alpha channel itself is dropped, and
    16-bit samples become 8-bit, which Pillow cannot keep with transparency.
    """
    pages = []
    with Image.open(src) as image:
        for index in range(getattr(image, "n_frames", 1)):
            image.seek(index)
            frame = image.convert("RGBA")
            paper = Image.new("RGB", frame.size, "white")
            paper.paste(frame, mask=frame.getchannel("A"))
            if image.mode.startswith(("1", "L", "I")):
                paper = paper.convert("L")  # grey stays grey: no colour invented
            out = io.BytesIO()
            paper.save(out, format="PNG")
            pages.append(out.getvalue())
    return pages
