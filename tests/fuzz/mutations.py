"""Mutations of real files, as a hostile sender would make them.

Every mutator takes the seed's bytes and a `Chooser` (where its decisions
come from) and returns the mutated bytes. The same mutators serve the
deterministic Hypothesis tests (tests/fuzz/test_parsers_fuzz.py, where the
decisions come from Hypothesis and shrink on failure) and the long random
run (bench/fuzz.py, where they come from `random.Random`).

Byte level: flips, truncations (also keeping the trailer, so the file still
ends in %%EOF and reaches the parser), splices from another seed, inserted
junk, numbers replaced by interesting ones (lengths, offsets, counts and
/Index claims are all numbers), PDF keywords swapped.
Structure level (pikepdf): an object's key set to a cycle, a huge number,
deep nesting, null; a stream's data replaced (corrupt or a small deflate
bomb); a key removed; the page tree made cyclic; saved in one of pikepdf's
layouts. Incremental: an update appended by hand that redefines the catalog
or the page tree (how an attacker edits a signed file without touching
the signed bytes).
"""
from __future__ import annotations

import io
import random
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import pikepdf

INTERESTING_NUMBERS = (0, 1, -1, 2, 255, 256, 65535, 65536, 4_000_000, 2**31 - 1, 2**31, 2**32, 2**63,
                       10**20, -(2**31))
PDF_TOKENS = (b"/Type", b"/Page", b"/Pages", b"/Kids", b"/Count", b"/Length", b"/Filter", b"/FlateDecode",
              b"/DCTDecode", b"/Index", b"/W", b"/Size", b"/Prev", b"/XRef", b"/ObjStm", b"/N", b"/First",
              b"/Root", b"/Parent", b"/Contents", b"/MediaBox", b"/ByteRange", b"/Sig", b"/DocTimeStamp",
              b"/AcroForm", b"/Fields", b"/V", b"/DSS", b"obj", b"endobj", b"stream", b"endstream", b"R",
              b"[", b"]", b"<<", b">>", b"null", b"xref", b"trailer", b"startxref", b"%%EOF", b"(", b")")
# Pieces of a Decree 30 header as OCR reads it, with its usual damage and the
# characters that change length or meaning under Unicode folding.
HEADER_PIECES = ("ỦY BAN NHÂN DÂN", "XÃ AN BÌNH", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
                 "Số: 15/QĐ-UBND", "Số 05-NQ/TU", "Sô: 61/2018/NĐ-CP", "So : 123/UBND-VP", "An Bình, ngày 19 tháng 7 năm 2023",
                 "ngày 31 tháng 2 năm 2023", "ngày 99 tháng 99 năm 99999", "QUYẾT ĐỊNH", "KẾ HOẠCH", "V/v phê duyệt",
                 "Về việc phê duyệt kế hoạch", "Kính gửi:", "Căn cứ Luật Tổ chức", "Số:", "/", "-", "\n", "\r\n", "\f",
                 "ﬁ", "ß", "İ", "ǅ", "\u0301", "\u00ad", "\u200b", "Ð", "\ufeff", "ﬀ" * 3)
NUMBER = re.compile(rb"-?\d+")
NAME_OR_KEYWORD = re.compile(rb"/[A-Za-z]+|\b(?:obj|endobj|stream|endstream|xref|trailer|startxref|null)\b")
MAX_INSERT = 64
MAX_SPLICE = 4096
# Small enough that a test run stays fast (16 MiB of zeros in 16 KiB), big
# enough to show a decoder that inflates without a budget.
SMALL_BOMB_BYTES = 16 * 1024 * 1024


class Chooser(Protocol):
    """Where a mutator's decisions come from."""

    def integer(self, low: int, high: int) -> int:
        """A whole number in [low, high]."""

    def blob(self, max_size: int) -> bytes:
        """Some bytes, at most max_size."""


@dataclass
class RandomChooser:
    """Decisions from a seeded random generator: bench/fuzz.py."""

    rng: random.Random

    def integer(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def blob(self, max_size: int) -> bytes:
        return self.rng.randbytes(self.rng.randint(0, max_size))


def pick(chooser: Chooser, items):
    return items[chooser.integer(0, len(items) - 1)]


# --- byte level ---------------------------------------------------------------


def flip_byte(data: bytes, c: Chooser, others: list[bytes]) -> bytes:
    at = c.integer(0, len(data) - 1)
    return data[:at] + bytes([data[at] ^ c.integer(1, 255)]) + data[at + 1:]


def truncate(data: bytes, c: Chooser, others: list[bytes]) -> bytes:
    return data[:c.integer(0, len(data) - 1)]


def truncate_keep_trailer(data: bytes, c: Chooser, others: list[bytes]) -> bytes:
    """Cut out the middle but keep the last KiB: the cheap %%EOF check passes."""
    tail = data[-1024:]
    return data[:c.integer(0, max(0, len(data) - len(tail) - 1))] + tail


def splice(data: bytes, c: Chooser, others: list[bytes]) -> bytes:
    """A piece of another seed over a piece of this one."""
    other = pick(c, others) if others else data
    start = c.integer(0, len(data) - 1)
    end = min(len(data), start + c.integer(0, MAX_SPLICE))
    o_start = c.integer(0, len(other) - 1)
    return data[:start] + other[o_start:o_start + c.integer(1, MAX_SPLICE)] + data[end:]


def insert_junk(data: bytes, c: Chooser, others: list[bytes]) -> bytes:
    at = c.integer(0, len(data))
    return data[:at] + c.blob(MAX_INSERT) + data[at:]


def delete_range(data: bytes, c: Chooser, others: list[bytes]) -> bytes:
    start = c.integer(0, len(data) - 1)
    return data[:start] + data[start + c.integer(1, MAX_SPLICE):]


def replace_number(data: bytes, c: Chooser, others: list[bytes]) -> bytes:
    """One number of the file (a length, an offset, a count, an object number) made interesting."""
    found = [m.span() for m in NUMBER.finditer(data[:200_000])]
    if not found:
        return flip_byte(data, c, others)
    start, end = pick(c, found)
    value = pick(c, INTERESTING_NUMBERS) if c.integer(0, 3) else int(data[start:end]) + c.integer(-3, 3)
    return data[:start] + str(value).encode() + data[end:]


def swap_token(data: bytes, c: Chooser, others: list[bytes]) -> bytes:
    """A name or keyword replaced by another PDF token."""
    found = [m.span() for m in NAME_OR_KEYWORD.finditer(data[:200_000])]
    if not found:
        return insert_junk(data, c, others)
    start, end = pick(c, found)
    return data[:start] + pick(c, PDF_TOKENS) + data[end:]


BYTE_MUTATORS: tuple[Callable[[bytes, Chooser, list[bytes]], bytes], ...] = (
    flip_byte, truncate, truncate_keep_trailer, splice, insert_junk, delete_range, replace_number, swap_token)


# --- structure level (pikepdf) ----------------------------------------------------


def nested_array(depth: int) -> pikepdf.Array:
    inner = pikepdf.Array([])
    for _ in range(depth):
        inner = pikepdf.Array([inner])
    return inner


@lru_cache(maxsize=4)
def deflate_bomb(size: int) -> bytes:
    """`size` zero bytes, deflated (about 1000 : 1)."""
    compressor = zlib.compressobj(9)
    chunk = bytes(1024 * 1024)
    parts = [compressor.compress(chunk) for _ in range(size // len(chunk))]
    return b"".join(parts) + compressor.flush()


def _hostile_value(pdf: pikepdf.Pdf, target: pikepdf.Object, c: Chooser):
    kind = c.integer(0, 5)
    if kind == 0:
        return target  # a reference to itself: a cycle
    if kind == 1:
        return pick(c, INTERESTING_NUMBERS)
    if kind == 2:
        return nested_array(c.integer(10, 400))
    if kind == 3:
        return None
    if kind == 4:
        return pikepdf.Name("/" + pick(c, ("Page", "Pages", "XObject", "Sig", "Catalog")))
    return pikepdf.Array([pick(c, INTERESTING_NUMBERS) for _ in range(4)])


def _keys(obj: pikepdf.Object) -> list[str]:
    if isinstance(obj, (pikepdf.Dictionary, pikepdf.Stream)):
        return sorted(obj.keys())
    return []


def _edit(pdf: pikepdf.Pdf, c: Chooser) -> None:
    objects = [o for o in pdf.objects if isinstance(o, (pikepdf.Dictionary, pikepdf.Stream))]
    kind = c.integer(0, 4)
    if kind == 0:  # the page tree points back at itself
        pages = pdf.Root.Pages
        pages.Kids = pikepdf.Array([*pages.Kids, pages])
        pages.Count = pick(c, INTERESTING_NUMBERS)
        return
    if not objects:
        return
    target = pick(c, objects)
    keys = _keys(target)
    if kind == 1 and isinstance(target, pikepdf.Stream):
        data = deflate_bomb(SMALL_BOMB_BYTES) if c.integer(0, 1) else c.blob(256)
        target.write(data, filter=pikepdf.Name.FlateDecode if data[:1] == b"\x78" else None)
        return
    if kind == 2 and keys:
        del target[pick(c, keys)]
        return
    if kind == 3:  # a page's box: inverted, huge, or not numbers
        page = pick(c, list(pdf.pages)) if len(pdf.pages) else None
        if page is not None:
            page.MediaBox = pikepdf.Array([pick(c, INTERESTING_NUMBERS) for _ in range(4)])
        return
    key = pick(c, keys) if keys and c.integer(0, 1) else "/" + pick(c, ("Kids", "Parent", "Contents", "Resources",
                                                                          "Length", "Filter", "DecodeParms", "N"))
    target[key] = _hostile_value(pdf, target, c)


def structural(data: bytes, c: Chooser, others: list[bytes]) -> bytes:
    """Edit one object with pikepdf and save; the seed unchanged when pikepdf refuses."""
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            _edit(pdf, c)
            out = io.BytesIO()
            mode = pick(c, (pikepdf.ObjectStreamMode.preserve, pikepdf.ObjectStreamMode.disable,
                            pikepdf.ObjectStreamMode.generate))
            # Streams are written as they are: re-encoding a bomb would cost the generator, not the parser.
            pdf.save(out, object_stream_mode=mode, compress_streams=bool(c.integer(0, 1)),
                     stream_decode_level=pikepdf.StreamDecodeLevel.none)
            return out.getvalue()
    except Exception:  # noqa: BLE001 - pikepdf refusing its own edit says nothing about the parsers
        return flip_byte(data, c, others)


# --- incremental updates by hand ------------------------------------------------------

# Bounded and anchored: a file that is one long run of digits must not make the generator quadratic.
OBJECT_HEADER = re.compile(rb"(?<!\d)(\d{1,10}) 0 obj")
STARTXREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF\s*$")


def append_update(data: bytes, objects: dict[int, bytes], root: int | None = None) -> bytes:
    """An incremental update redefining `objects` (number → body): a classic
    xref section whose /Prev is the file's last one. Signed bytes stay as
    they were; only what follows them changes."""
    found = STARTXREF.search(data[-64:])
    prev = int(found.group(1)) if found else 0
    if root is None:
        root = _root_number(data)
    size = max([*objects, _max_object_number(data)]) + 1
    out = bytearray(data if data.endswith(b"\n") else data + b"\n")
    offsets = {}
    for number, body in sorted(objects.items()):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n"
    for number in sorted(offsets):
        out += b"%d 1\n%010d 00000 n \n" % (number, offsets[number])
    out += b"trailer\n<< /Size %d /Root %d 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (size, root, prev, xref_at)
    return bytes(out)


def _root_number(data: bytes) -> int:
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            return pdf.Root.objgen[0] or 1
    except Exception:  # noqa: BLE001 - an unreadable seed: guess the usual number
        return 1


def _max_object_number(data: bytes) -> int:
    numbers = [int(m.group(1)) for m in OBJECT_HEADER.finditer(data)]
    return max(numbers, default=1)


def incremental(data: bytes, c: Chooser, others: list[bytes]) -> bytes:
    """An update after the signatures: the catalog or page tree redefined in a hostile way."""
    root = _root_number(data)
    pages = _max_object_number(data) + 1
    kind = c.integer(0, 3)
    if kind == 0:  # the page tree contains itself
        body = b"<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % pages
        return append_update(data, {root: b"<< /Type /Catalog /Pages %d 0 R >>" % pages, pages: body}, root)
    if kind == 1:  # the catalog's page tree is the catalog
        return append_update(data, {root: b"<< /Type /Catalog /Pages %d 0 R >>" % root}, root)
    if kind == 2:  # deep nesting where the diff analysis walks
        depth = c.integer(100, 20_000)
        return append_update(data, {root: b"<< /Type /Catalog /Pages %d 0 R /Junk " % pages + b"[" * depth
                                     + b"]" * depth + b" >>", pages: b"<< /Type /Pages /Kids [] /Count 0 >>"}, root)
    count = pick(c, INTERESTING_NUMBERS)
    return append_update(data, {pages: b"<< /Type /Pages /Kids [] /Count %d >>" % count,
                                root: b"<< /Type /Catalog /Pages %d 0 R >>" % pages}, root)


PDF_MUTATORS = (*BYTE_MUTATORS, structural, incremental)


def mutate(data: bytes, c: Chooser, others: list[bytes], *, pdf: bool, rounds: int | None = None) -> bytes:
    """One to three mutations in a row (structure-level ones only for PDFs)."""
    mutators = PDF_MUTATORS if pdf else BYTE_MUTATORS
    for _ in range(rounds if rounds is not None else c.integer(1, 3)):
        if not data:
            break
        data = pick(c, mutators)(data, c, others)
    return data
