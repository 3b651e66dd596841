"""Decree 30/2020/NĐ-CP, Appendix I: how a signature looks on the page.

The one place where the appearance rules live:

- PersonSignature: the competent person's handwritten signature image (blue
  PNG, transparent), at the signing position, no text.
- AgencySeal: the agency's red seal PNG at its real size, covering about
  one third of the person's signature on its left, with the agency name and
  the signing time (ISO 8601, Vietnam time) as text.
- CopyStamp / AttachmentStamp: no image; text top-right of the first page
  in Times New Roman, upright, 10 pt.

Text is set in Liberation Serif 2 (metric-compatible with Times New Roman,
Debian's fonts-liberation2), embedded as a subset so Vietnamese renders on
any viewer; a character the font lacks is an error, never a blank box. Boxes are in PDF points from the page's lower-left corner.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from PIL import Image
from pyhanko.pdf_utils import layout
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator, GlyphAccumulatorFactory
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.pdf_utils.xref import ObjectStream
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.stamp import BaseStampStyle, StaticStampStyle, TextStampStyle

from .errors import InvalidAppearance

# Liberation Serif 2.x (Debian fonts-liberation2): Times New Roman metrics
# *and* Vietnamese. The 1.07 font in Debian's fonts-liberation lacks ẫ, ạ, ơ, ư...
SERIF_FONT = Path("/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf")
MM = 72 / 25.4
STAMP_FONT_SIZE = 10  # Decree 30: attachments and copies, Times New Roman 10
SEAL_TEXT_FONT_SIZE = 7  # small enough to sit under a 36 mm seal
RIGHT_MARGIN = 15 * MM  # Decree 30 page margins: right 15-20 mm, top 20-25 mm
TOP_MARGIN = 10 * MM  # stamps sit in the top margin, above the text block

ImageSource = bytes | str | Path


@dataclass(frozen=True)
class Box:
    page: int  # 0-based; negative counts from the last page
    x: float
    y: float
    width: float
    height: float

    @property
    def rect(self) -> tuple[float, float, float, float]:
        return (self.x, self.y, self.x + self.width, self.y + self.height)


@dataclass(frozen=True)
class PersonSignature:
    image: ImageSource
    box: Box


@dataclass(frozen=True)
class AgencySeal:
    image: ImageSource
    agency: str
    over: Box | str  # the person's signature: its box, or its field name
    seal_diameter_mm: float = 36.0  # commune/district seals are 35-40 mm


@dataclass(frozen=True)
class CopyStamp:
    agency: str
    form: str = "Sao y"  # or "Sao lục", "Trích sao"


@dataclass(frozen=True)
class AttachmentStamp:
    document_number: str  # number and symbol of the main document, "15/QĐ-UBND"


Appearance = PersonSignature | AgencySeal | CopyStamp | AttachmentStamp


@dataclass(frozen=True)
class PlacedAppearance:
    """What pyHanko needs: a style, the field's page and rectangle."""

    style: BaseStampStyle
    page: int
    rect: tuple[float, float, float, float]
    field_prefix: str


def vietnam_time_text(when: datetime) -> str:
    """'2026-11-22T09:15:04+07:00' — the form Decree 30 asks for."""
    return when.isoformat(timespec="seconds")


def place(appearance: Appearance, writer: IncrementalPdfFileWriter, signing_time: datetime) -> PlacedAppearance:
    if isinstance(appearance, PersonSignature):
        return _person(appearance)
    if isinstance(appearance, AgencySeal):
        return _agency(appearance, writer, signing_time)
    if isinstance(appearance, CopyStamp):
        lines = [appearance.form, appearance.agency, vietnam_time_text(signing_time)]
        return _top_right_text(lines, writer, "copy")
    if isinstance(appearance, AttachmentStamp):
        lines = [appearance.document_number, vietnam_time_text(signing_time)]
        return _top_right_text(lines, writer, "attachment")
    raise InvalidAppearance(f"Unknown appearance {type(appearance).__name__}.")


def _person(appearance: PersonSignature) -> PlacedAppearance:
    image = _open_image(appearance.image)
    style = StaticStampStyle(
        background=PdfImage(image),
        border_width=0,
        background_opacity=1.0,
        # Keep the hand's proportions whatever the box: never stretch a signature.
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID, y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins(), inner_content_scaling=layout.InnerScaling.STRETCH_TO_FIT,
        ),
    )
    return PlacedAppearance(style, appearance.box.page, appearance.box.rect, "person")


def _agency(appearance: AgencySeal, writer: IncrementalPdfFileWriter, signing_time: datetime) -> PlacedAppearance:
    person = appearance.over if isinstance(appearance.over, Box) else field_box(writer, appearance.over)
    seal = appearance.seal_diameter_mm * MM
    image = _open_image(appearance.image)
    seal_height = seal * image.height / image.width  # real size is the width
    # The seal's right edge lands one third into the person's signature.
    seal_x = person.x + person.width / 3 - seal
    seal_top = person.y + person.height / 2 + seal_height / 2
    lines = [appearance.agency, vietnam_time_text(signing_time)]
    text_width = max(text_width_pt(line, SEAL_TEXT_FONT_SIZE) for line in lines) + 2
    width = max(seal, text_width)
    height = seal_height + _text_height(len(lines), SEAL_TEXT_FONT_SIZE)
    style = TextStampStyle(
        stamp_text="\n".join(_escape(line) for line in lines),
        text_box_style=_text_style(SEAL_TEXT_FONT_SIZE),
        border_width=0,
        background=PdfImage(image, box=layout.BoxConstraints(width=seal, height=seal_height)),
        background_opacity=1.0,
        background_layout=_anchored(layout.AxisAlignment.ALIGN_MAX),
        inner_content_layout=_anchored(layout.AxisAlignment.ALIGN_MIN),
    )
    rect = (seal_x, seal_top - height, seal_x + width, seal_top)
    return PlacedAppearance(style, person.page, rect, "agency")


def _top_right_text(lines: list[str], writer: IncrementalPdfFileWriter, prefix: str) -> PlacedAppearance:
    x0, y0, x1, y1 = page_box(writer, 0)
    width = max(text_width_pt(line, STAMP_FONT_SIZE) for line in lines) + 4
    height = _text_height(len(lines), STAMP_FONT_SIZE)
    right, top = x1 - RIGHT_MARGIN, y1 - TOP_MARGIN
    style = TextStampStyle(
        stamp_text="\n".join(_escape(line) for line in lines),
        text_box_style=_text_style(STAMP_FONT_SIZE),
        border_width=0,
        inner_content_layout=_anchored(layout.AxisAlignment.ALIGN_MAX),
    )
    return PlacedAppearance(style, 0, (right - width, top - height, right, top), prefix)


def _text_height(lines: int, size: int) -> float:
    # lines at a 1.2 leading, room for descenders, 1 pt margins
    return round(size * 1.2) * lines + size * 0.4 + 2


def _anchored(y_align: layout.AxisAlignment) -> layout.SimpleBoxLayoutRule:
    # Left-aligned at natural size: a seal must not be scaled off its real size.
    return layout.SimpleBoxLayoutRule(
        x_align=layout.AxisAlignment.ALIGN_MIN, y_align=y_align,
        margins=layout.Margins(left=1, right=1, top=1, bottom=1),
        inner_content_scaling=layout.InnerScaling.NO_SCALING,
    )


@lru_cache(maxsize=4)
def _font_at_1000_upem(path: str) -> bytes:
    from fontTools.ttLib import TTFont
    from fontTools.ttLib.scaleUpem import scale_upem

    font = TTFont(path)
    if font["head"].unitsPerEm != 1000:
        scale_upem(font, 1000)
    buffer = io.BytesIO()
    font.save(buffer)
    return buffer.getvalue()


@dataclass(frozen=True)
class _EmbeddedFont(GlyphAccumulatorFactory):
    """pyHanko (0.29 to 0.38) writes glyph widths in font units as if every font had
    1000 units per em; Liberation Serif has 2048, and its letters would be
    spaced twice too wide. We hand pyHanko a copy rescaled to 1000 units."""

    def create_font_engine(
        self, writer: BasePdfFileWriter, obj_stream: ObjectStream | None = None
    ) -> GlyphAccumulator:
        if obj_stream is None and writer.stream_xrefs and self.create_objstream_if_needed:
            obj_stream = writer.prepare_object_stream()
        return GlyphAccumulator(
            writer=writer, font_handle=io.BytesIO(_font_at_1000_upem(self.font_file)),
            font_size=self.font_size, obj_stream=obj_stream,
        )


def _text_style(size: int) -> TextBoxStyle:
    return TextBoxStyle(
        font=_EmbeddedFont(str(SERIF_FONT), font_size=size),
        font_size=size,
        leading=round(size * 1.2),
        # pyHanko pads text boxes by 10 pt; the stamp's own margins suffice.
        box_layout_rule=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MIN, y_align=layout.AxisAlignment.ALIGN_MAX, margins=layout.Margins(),
        ),
    )


def _escape(text: str) -> str:
    return text.replace("%", "%%")  # stamp_text is a %-template


def _open_image(source: ImageSource) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
        image.load()
    except (OSError, ValueError) as e:
        raise InvalidAppearance(f"The signature/seal image cannot be read: {e}") from None
    if image.mode not in ("RGBA", "LA", "P", "PA"):
        # Decree 30 wants a transparent background, so the text under a seal
        # or signature stays readable; an opaque image would hide it.
        raise InvalidAppearance("The signature/seal image must be a PNG with a transparent background.")
    return image


@lru_cache(maxsize=4)
def _font_metrics(path: str) -> tuple[dict[int, str], Any, int]:
    """The font's character map, its hmtx table (fontTools has no types) and its units per em."""
    from fontTools.ttLib import TTFont

    font = TTFont(path, lazy=True)
    return font.getBestCmap(), font["hmtx"], font["head"].unitsPerEm


def text_width_pt(text: str, size: float, font: Path = SERIF_FONT) -> float:
    cmap, hmtx, units = _font_metrics(str(font))
    missing = sorted({ch for ch in text if ord(ch) not in cmap and not ch.isspace()})
    if missing:
        raise InvalidAppearance(f"The font {font.name} cannot show {''.join(missing)!r}.")
    advance = sum(hmtx[cmap.get(ord(ch), ".notdef")][0] for ch in text)
    return float(advance * size / units)


def page_box(writer: IncrementalPdfFileWriter, page: int) -> tuple[float, float, float, float]:
    """The page's visible box (CropBox, else MediaBox), inherited if need be."""
    page_obj = writer.find_page_for_modification(page)[0].get_object()
    node = page_obj
    while node is not None:
        for key in ("/CropBox", "/MediaBox"):
            if key in node:
                x0, y0, x1, y1 = (float(v) for v in node[key])
                return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)
        node = node.get("/Parent")
        node = node.get_object() if node is not None else None
    raise InvalidAppearance("The page has no size (MediaBox).")


def field_box(writer: IncrementalPdfFileWriter, field_name: str) -> Box:
    """Where an existing signature field sits: page and rectangle."""
    reader = writer.prev
    for name, _value, field_ref in enumerate_sig_fields(reader, filled_status=None):
        if name != field_name:
            continue
        field = field_ref.get_object()
        widget = field if "/Rect" in field else field["/Kids"][0].get_object()
        x0, y0, x1, y1 = (float(v) for v in widget["/Rect"])
        page_ref = widget.get_value_as_reference("/P")
        count = int(reader.root["/Pages"]["/Count"])
        for index in range(count):
            if reader.find_page_for_modification(index)[0].idnum == page_ref.idnum:
                return Box(index, min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0))
        break
    raise InvalidAppearance(f"No visible signature field named {field_name!r} to place the seal over.")
