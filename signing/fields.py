"""Text fields the văn thư fills in after the competent person has signed.

Decree 30's order is: the person signs, then the văn thư gives the number and
the date and applies the agency's signature. The number and date must show on
the page, yet writing them into the signed content would break the person's
signature. So, before anyone signs, the draft gets empty text fields where the
number and date go; after the person's signature they are filled in an
incremental update. Filling a form field is a change PAdES (DocMDP) and
pyHanko's difference analysis allow, so both signatures stay valid.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import pikepdf
from pyhanko.pdf_utils import generic, layout
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.stamp import TextStamp, TextStampStyle

from .appearance import _escape, _text_style
from .errors import SigningError

FIELD_FONT_SIZE = 13  # Decree 30: number and date lines in 13-14 pt


@dataclass(frozen=True)
class TextField:
    name: str  # no periods: PDF field names use them as separators
    page: int  # 0-based; negative counts from the last page
    rect: tuple[float, float, float, float]


def add_text_fields(pdf: bytes, fields: list[TextField]) -> bytes:
    """The unsigned draft with empty text fields added (a full rewrite: nothing is signed yet)."""
    with pikepdf.open(io.BytesIO(pdf)) as document:
        if document.Root.get("/AcroForm") is not None and document.Root.AcroForm.get("/SigFlags"):
            raise SigningError("The draft is already signed; fields can only be added before signing.")
        form = document.Root.get("/AcroForm")
        if form is None:
            form = document.Root.AcroForm = document.make_indirect(pikepdf.Dictionary(Fields=pikepdf.Array()))
        for field in fields:
            page = document.pages[field.page]
            widget = document.make_indirect(pikepdf.Dictionary(
                Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Widget, FT=pikepdf.Name.Tx,
                T=pikepdf.String(field.name), Rect=list(field.rect), F=4, P=page.obj,
                DA=pikepdf.String(f"/Helv {FIELD_FONT_SIZE} Tf 0 g"),
            ))
            if "/Annots" not in page.obj:
                page.obj.Annots = document.make_indirect(pikepdf.Array())
            page.obj.Annots.append(widget)
            form.Fields.append(widget)
        out = io.BytesIO()
        document.save(out)
        return out.getvalue()


def fill_text_fields(pdf: bytes, values: dict[str, str]) -> bytes:
    """Fill the named fields in an incremental update, each with an appearance
    drawn in an embedded font with Vietnamese glyphs (viewers must not have to
    supply "Đ")."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    form = writer.root.get("/AcroForm")
    form = form.get_object() if form is not None else None
    fields = form.get("/Fields") if form is not None else None
    found = {}
    for ref in (fields.get_object() if fields is not None else []):
        field = ref.get_object()
        name = str(field.get("/T", ""))
        if name in values:
            found[name] = (ref, field)
    missing = set(values) - set(found)
    if missing:
        raise SigningError(f"The document has no field {', '.join(sorted(missing))} to fill.")
    for name, (_ref, field) in found.items():
        x0, y0, x1, y1 = (float(v) for v in field["/Rect"])
        stamp = TextStamp(
            writer,
            style=TextStampStyle(stamp_text=_escape(values[name]), text_box_style=_text_style(FIELD_FONT_SIZE), border_width=0),
            box=layout.BoxConstraints(width=x1 - x0, height=y1 - y0),
        )
        field["/V"] = generic.TextStringObject(values[name])
        field["/AP"] = generic.DictionaryObject({generic.pdf_name("/N"): stamp.register()})
        writer.update_container(field)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def field_value(pdf: bytes, name: str) -> str | None:
    with pikepdf.open(io.BytesIO(pdf)) as document:
        form = document.Root.get("/AcroForm")
        if form is None:
            return None
        for field in form.Fields.as_list():
            title = field.get("/T")
            if title is not None and str(title) == name:
                value = field.get("/V")
                return None if value is None else str(value)
    return None
