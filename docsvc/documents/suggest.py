"""Suggest incoming-register fields from the OCR text of an official document.

When a clerk scans an incoming document, ``suggest_fields(ocr_text)`` proposes
the issuing body, number and symbol, date, type and trích yếu for the register
form. The clerk corrects and confirms, so the rule throughout is: a wrong
suggestion costs more than an empty one. Every field is None unless it was
read from the place a Decree 30/2020 document prints it:

    ỦY BAN NHÂN DÂN              CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
    XÃ AN BÌNH                      Độc lập - Tự do - Hạnh phúc
    Số: 15/QĐ-UBND               An Bình, ngày 19 tháng 7 năm 2023
                          QUYẾT ĐỊNH
                 Về việc phê duyệt ...           <- trích yếu
    Căn cứ ... (body)

Decisions:

* Number and symbol come only from the header label "Số:" (also OCR'd as
  "Sô:", "So:", "S6:", "Số :"; or "Số 05-NQ/TU" at the start of a line, as
  Party documents print it). Numbers mentioned elsewhere ("căn cứ Nghị định
  số 61/2018/NĐ-CP") are cited documents, never this one's, so there is no
  fallback to them: without a readable header label the field is None.
* The header fields (issuing body, date) are read only when the text shows a
  header at all (a "Số:" label or the national/Party motto) and only above the
  title / "Kính gửi" / "Căn cứ"; the date must stand where the place-and-date
  line puts it (after "<place>," or alone on its line). So the body's
  "trước ngày 30/11/2019" is never taken, and a text with no header (a news
  article, the second page of a scan) gets None for them.
* The first header date decides: if it is impossible (31 tháng 2) the field
  is None rather than another date further down, which would be a cited one.
* Document type comes from the title line (QUYẾT ĐỊNH, KẾ HOẠCH ...), else
  "Công văn" when there is a "V/v" line, else from the symbol's type part
  (QĐ, KH ...; "Công văn" when the symbol has none, as in 123/UBND-VP).
* Only the first HEAD_CHARS characters are read: the fields all stand on the
  first page, and a multi-megabyte OCR text then costs nothing. Every regular
  expression has bounded repetitions between literal anchors, so none can
  backtrack catastrophically.

Deliberately not handled: lowercase header lines (OCR that lost the case),
symbols whose "/" was misread or with a space inside a part ("UB ND": the
symbol ends at the space), garbled labels other than the variants above, a
law's "Luật số: 80/2015/QH13" (lowercase label), and headers beyond the first
HEAD_CHARS characters. Those give None (or a shorter symbol), for the clerk
to correct.
"""
from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from search.folding import fold, nfc

__all__ = ["HEAD_CHARS", "SUMMARY_MAX", "Suggestion", "suggest_fields"]

HEAD_CHARS = 3000
SUMMARY_MAX = 300


@dataclass(frozen=True)
class Suggestion:
    issuing_body: str | None
    number_symbol: str | None
    issued_date: datetime.date | None
    doc_type: str | None
    summary: str | None

    def as_dict(self) -> dict:
        return {
            "issuing_body": self.issuing_body,
            "number_symbol": self.number_symbol,
            "issued_date": self.issued_date.isoformat() if self.issued_date else None,
            "doc_type": self.doc_type,
            "summary": self.summary,
        }


# --- Number and symbol ----------------------------------------------------

# Type abbreviations of Decree 30/2020 (Appendix III) for administrative
# documents: "15/QĐ-UBND". A first part not in this table is the issuing body,
# which makes the document a công văn: "123/UBND-VP".
ADMIN_TYPES = {
    "NQ": "Nghị quyết", "QĐ": "Quyết định", "CT": "Chỉ thị", "QC": "Quy chế",
    "QyĐ": "Quy định", "TC": "Thông cáo", "TB": "Thông báo", "HD": "Hướng dẫn",
    "CTr": "Chương trình", "KH": "Kế hoạch", "PA": "Phương án", "ĐA": "Đề án",
    "DA": "Dự án", "BC": "Báo cáo", "BB": "Biên bản", "TTr": "Tờ trình",
    "HĐ": "Hợp đồng", "CĐ": "Công điện", "GN": "Bản ghi nhớ", "TTh": "Bản thỏa thuận",
    "GUQ": "Giấy ủy quyền", "GM": "Giấy mời", "GGT": "Giấy giới thiệu",
    "GNP": "Giấy nghỉ phép", "PG": "Phiếu gửi", "PC": "Phiếu chuyển", "PB": "Phiếu báo",
}
# Legal normative documents carry the year: "61/2018/NĐ-CP".
LEGAL_TYPES = {
    "NĐ": "Nghị định", "TT": "Thông tư", "TTLT": "Thông tư liên tịch",
    "QĐ": "Quyết định", "NQ": "Nghị quyết", "NQLT": "Nghị quyết liên tịch", "CT": "Chỉ thị",
}
# Party documents put the type before the slash: "05-NQ/TU" (TT is Thông tri here).
PARTY_TYPES = {
    "NQ": "Nghị quyết", "QĐ": "Quyết định", "CT": "Chỉ thị", "KL": "Kết luận",
    "QyĐ": "Quy định", "QC": "Quy chế", "HD": "Hướng dẫn", "TB": "Thông báo",
    "TT": "Thông tri", "BC": "Báo cáo", "KH": "Kế hoạch", "TTr": "Tờ trình",
    "CV": "Công văn", "CTr": "Chương trình", "BB": "Biên bản", "GM": "Giấy mời", "ĐA": "Đề án",
}
# OCR and uppercasing damage to type parts that has only one reading: no type
# is abbreviated QD, ND or CD, so the Đ was lost; TTr, CTr, QyĐ and TTh are
# written in mixed case. HD stays (Hướng dẫn is HD, Hợp đồng HĐ), as does DA.
TYPE_FIXES = {"QD": "QĐ", "ND": "NĐ", "CD": "CĐ", "TTR": "TTr", "CTR": "CTr",
              "QYD": "QyĐ", "QYĐ": "QyĐ", "TTH": "TTh"}
BODY_FIXES = {"HDND": "HĐND"}

_NUM = r"([0-9OIL|]{1,6})"
_PART = r"[A-ZĐ][A-ZĐ0-9]{0,11}"
_PARTS = rf"({_PART}(?:-{_PART}){{0,5}})"
_PARTY_SYMBOL = re.compile(rf"{_NUM}-({_PART})/{_PARTS}")
_LEGAL_SYMBOL = re.compile(rf"{_NUM}/([0-9OIL|]{{4}})/{_PARTS}")
_ADMIN_SYMBOL = re.compile(rf"{_NUM}/{_PARTS}")
# Tesseract reads 0 as O and 1 as l or I (uppercased here before lookup).
_DIGIT_FIXES = str.maketrans("OIL|", "0111")

# "Số:" with its OCR variants, on folded text. The S must be a capital in the
# original (checked separately): the body's "số" is lowercase.
_LABEL = re.compile(r"(?<![a-z0-9])s[o06](?:(\s{0,3}[:;])|[ .]|$)")
_COLON_LABEL = re.compile(r"(?<![a-z0-9])s[o06]\s{0,3}[:;]")


def _digits(text: str) -> str | None:
    """OCR-corrected digits, or None: at least one real digit is required, so a
    word made only of look-alike letters is never read as a number."""
    if not any(c.isdigit() for c in text):
        return None
    return text.translate(_DIGIT_FIXES)


def _parse_symbol(raw: str) -> tuple[str, str | None] | None:
    """Normalised number-and-symbol and the document type it names, or None."""
    # Spaces around separators are OCR noise ("15 / QĐ - UBND"); a space
    # elsewhere ends the symbol (merged columns put the place-date after it).
    raw = re.sub(r"\s*([/\-–—])\s*", r"\1", raw.strip(" \t:;.")).replace("–", "-").replace("—", "-")
    token = raw.split(None, 1)[0].rstrip(".,;:-/") if raw.strip() else ""
    token = token.upper()
    if m := _PARTY_SYMBOL.fullmatch(token):
        number, kind, body = _digits(m[1]), TYPE_FIXES.get(m[2], m[2]), _fix_body(m[3])
        if number is None or kind not in PARTY_TYPES:
            return None
        return f"{number}-{kind}/{body}", PARTY_TYPES[kind]
    if m := _LEGAL_SYMBOL.fullmatch(token):
        number, year = _digits(m[1]), _digits(m[2])
        if number is None or year is None or not 1945 <= int(year) <= 2100:
            return None
        kind, _, rest = m[3].partition("-")
        kind = TYPE_FIXES.get(kind, kind)
        if rest and kind in LEGAL_TYPES:
            return f"{number}/{year}/{kind}-{_fix_body(rest)}", LEGAL_TYPES[kind]
        return f"{number}/{year}/{_fix_body(m[3])}", None  # e.g. a law: 80/2015/QH13
    if m := _ADMIN_SYMBOL.fullmatch(token):
        number = _digits(m[1])
        if number is None:
            return None
        kind, _, rest = m[2].partition("-")
        kind = TYPE_FIXES.get(kind, kind)
        if kind in ADMIN_TYPES:  # "15/QĐ" alone lost its body part: not guessed
            return (f"{number}/{kind}-{_fix_body(rest)}", ADMIN_TYPES[kind]) if rest else None
        return f"{number}/{_fix_body(m[2])}", "Công văn"
    return None


def _fix_body(parts: str) -> str:
    return "-".join(BODY_FIXES.get(p, p) for p in parts.split("-"))


# --- Reading the page -----------------------------------------------------


class _Page:
    """The head of the text as lines, each with a folded twin of equal length
    (search.folding.fold is length-preserving), so patterns are matched
    without diacritics and the printed text is sliced at the same offsets."""

    def __init__(self, text: str):
        head = re.sub(r"\r\n?|[\f\v]", "\n", text[:HEAD_CHARS])
        head = re.sub("[\u00ad\u200b-\u200d\ufeff]", "", head)  # soft hyphens, zero widths
        head = nfc(head).replace("Ð", "Đ").replace("ð", "đ").replace("\u00a0", " ")
        self.lines = head.split("\n")
        self.folded = fold(head).split("\n")


def _find_symbol(page: _Page) -> tuple[tuple[int, int] | None, tuple[str, str | None] | None]:
    """Where the header label stands (line, column) and what it reads.

    The first label whose symbol parses wins; a "Số:" whose number does not
    parse (a receipt stamp's "Số: 1234", an unreadable number) is passed over
    but still marks where the header is. "Số" without a colon counts only at
    the start of a line and with a valid symbol after it ("Số 05-NQ/TU"): a
    body line "Số lượng hồ sơ" must not count.
    """
    first_label = None
    for i, folded in enumerate(page.folded):
        line = page.lines[i]
        for m in _LABEL.finditer(folded):
            if line[m.start()] != "S":
                continue
            colon = m[1] is not None
            # Before the label on its line: nothing, or (merged columns) more
            # of the capitalised header. "Quyết định Số: 12/QĐ-UBND" is a citation.
            before = line[: m.start()].strip(" \t|-*")
            if before and not (colon and _is_upper_line(before)):
                continue
            rest = line[m.end():]
            # "Số:" at the end of a line, or a symbol broken after a separator:
            # its rest is on the next line.
            if (not rest.strip() or rest.rstrip()[-1:] in "/-–") and i + 1 < len(page.lines):
                rest = rest + " " + page.lines[i + 1]
            parsed = _parse_symbol(rest)
            if parsed:
                return (i, m.start()), parsed
            if colon and first_label is None:
                first_label = (i, m.start())
    return first_label, None


# The motto, national or Party: marks a header and ends its left column when
# OCR merges the two columns on one line.
_MOTTO = re.compile(r"cong\s{0,3}hoa\s{0,3}xa\s{0,3}hoi|doc\s{0,3}lap\W{0,5}tu\s{0,3}do|dang\s{0,3}cong\s{0,3}san\s{0,3}viet")


def _find_motto(page: _Page) -> int | None:
    return next((i for i, f in enumerate(page.folded) if _MOTTO.search(f)), None)


# Canonical names of the title line, keyed by the folded letters without spaces
# (OCR sometimes spaces out or glues the letters of a centred title).
TITLES = {fold(name).replace(" ", ""): name for name in (
    "Quyết định", "Kế hoạch", "Thông báo", "Báo cáo", "Tờ trình", "Giấy mời", "Nghị định",
    "Nghị quyết", "Chỉ thị", "Công điện", "Hướng dẫn", "Thông tư", "Thông tư liên tịch",
    "Chương trình", "Kết luận", "Quy chế", "Quy định", "Phương án", "Đề án", "Dự án",
    "Biên bản", "Hợp đồng", "Thông cáo", "Thông tri", "Giấy giới thiệu", "Giấy ủy quyền",
    "Giấy nghỉ phép", "Bản ghi nhớ", "Bản thỏa thuận", "Luật", "Pháp lệnh",
)}  # no "Công văn": letters print no title, and "CÔNG VĂN ĐẾN" is a receipt stamp


def _is_upper_word(word: str) -> bool:
    letters = [c for c in word if c.isalpha()]
    return bool(letters) and all(c.isupper() for c in letters)


def _find_title(page: _Page) -> tuple[int, str, str] | None:
    """(line, document type, text after the title on that line) of the title.

    The title is a line whose leading capitalised words spell a type name and
    nothing more; "QUYẾT ĐỊNH Về việc ..." (title and trích yếu merged) counts,
    "Kế hoạch số 6793/KH-UBND" in a sentence does not.
    """
    for i, line in enumerate(page.lines):
        letters, end = "", 0
        for m in re.finditer(r"\S+", line):
            word = m[0].strip(".:;,-–—*_|")
            if word and not _is_upper_word(word):
                break
            letters, end = letters + word, m.end()
        name = TITLES.get(fold(letters))
        if name:
            return i, name, line[end:].strip()
    return None


_BODY_START = re.compile(r"\W{0,3}(kinh\s{0,2}gui|can\s{0,2}cu)\b")


def _body_start(page: _Page) -> int:
    return next((i for i, f in enumerate(page.folded) if _BODY_START.match(f)), len(page.lines))


# --- Date -----------------------------------------------------------------

_D = r"([0-9oil|]{1,2})"
_DATE_WORDS = re.compile(rf"ngay\s{{0,3}}{_D}\s{{0,3}}thang\s{{0,3}}{_D}\s{{0,3}}nam\s{{0,3}}([0-9oil|]{{4}})(?![0-9])")
_DATE_NUMBERS = re.compile(rf"(?:ngay\s{{0,3}})?(?<![0-9/.-]){_D}\s?([/.-])\s?{_D}\s?\2\s?([0-9oil|]{{4}})(?![0-9/])")


def _date_in_line(folded: str) -> tuple[str, str, str] | None:
    """The place-and-date on this line as printed: (year, month, day), or None.

    A date counts only after "<place>," or at the start of the line: that is
    where the place-and-date line puts it, and not where a cited document's
    date stands ("Quyết định số 12/QĐ-UBND ngày 5/1/2023").
    """
    found = [(m.start(), m[3], m[2], m[1]) for m in _DATE_WORDS.finditer(folded)]
    found += [(m.start(), m[4], m[3], m[1]) for m in _DATE_NUMBERS.finditer(folded)]
    for start, *year_month_day in sorted(found):
        before = folded[:start].rstrip()
        if not before or before[-1] in ",.":
            return tuple(year_month_day)
    return None


def _find_date(page: _Page, end: int) -> datetime.date | None:
    """The first place-and-date above `end`; None if it is not a real date
    (31 tháng 2 is a misread, and any later date would be a cited one)."""
    found = next((d for d in map(_date_in_line, page.folded[:end]) if d), None)
    if found is None:
        return None
    numbers = [_digits(part.upper()) for part in found]
    if None in numbers or not 1945 <= int(numbers[0]) <= 2100:
        return None
    try:
        return datetime.date(*(int(n) for n in numbers))
    except ValueError:
        return None


# --- Issuing body ---------------------------------------------------------

# Capitalised lines near the header that name no body: urgency and secrecy
# marks, drafts, and the receipt stamp an earlier receiver put on the scan.
_MARKERS = {"hoa toc", "thuong khan", "khan", "mat", "toi mat", "tuyet mat", "du thao",
            "den", "cong van", "cong van den", "van ban den"}
# Words that begin a locality: the part of a name that says where.
_LOCALITY = ("tinh", "huyen", "quan", "xa", "phuong", "thanh pho", "thi xa", "thi tran", "tp")
_SEPARATORS = " \t-_—–=*~.:;,|·•"


def _header_part(page: _Page, i: int, end: int | None = None) -> str:
    """Line i up to `end` and up to the motto: the left column of the header."""
    line, folded = page.lines[i][:end], page.folded[i][:end]
    if m := _MOTTO.search(folded):
        line = line[: m.start()]
    return " ".join(line.split()).strip(_SEPARATORS)


def _is_upper_line(line: str) -> bool:
    letters = [c for c in line if c.isalpha()]
    return len(letters) >= 2 and sum(c.isupper() for c in letters) >= 0.85 * len(letters)


def _starts_locality(words: list[str]) -> bool:
    return any(f"{' '.join(words[:2])} ".startswith(f"{w} ") for w in _LOCALITY)


def _names_locality(words: list[str]) -> bool:
    joined = f" {' '.join(words)} "
    return any(f" {w} " in joined for w in _LOCALITY)


def _issuing_body(page: _Page, below: tuple[int, int]) -> str | None:
    """The issuing body from the capitalised block just above `below` (line,
    column): the "Số:" label, or the title when the label is missing.

    Decree 30 prints the parent body, then the issuing body ("UBND TỈNH BÌNH
    DƯƠNG" / "SỞ NỘI VỤ" -> "SỞ NỘI VỤ"); a name broken over two lines is
    joined back ("ỦY BAN NHÂN DÂN" / "XÃ AN BÌNH" -> "ỦY BAN NHÂN DÂN XÃ AN BÌNH").
    """
    line_no, column = below
    block: list[str] = []
    # Walk up from the label: lines that are not part of the left column
    # (separators, the right column's place-date) are skipped until the block
    # starts; after that, the first one ends it.
    for i in range(line_no, max(line_no - 12, -1), -1):
        part = _header_part(page, i, column if i == line_no else None)
        # Another "Số:" above the label is a receipt stamp's ("ĐẾN Số: 1234").
        if stamp := _COLON_LABEL.search(fold(part)):
            part = part[: stamp.start()]
        usable = _is_upper_line(part) and fold(part).strip(_SEPARATORS) not in _MARKERS
        if usable and len(block) < 4:
            block.insert(0, part)
        elif block:
            break
    if not block:
        return None
    units: list[str] = []
    for part in block:
        words = fold(part).split()
        previous = fold(units[-1]).split() if units else []
        continues = previous and (previous[-1] in ("va", "&") or words[0] in ("va", "&"))
        # A name cut before its locality ("ỦY BAN NHÂN DÂN" / "TỈNH ...") goes on
        # the next line; a unit that already names its locality does not.
        completes = previous and _starts_locality(words) and not _names_locality(previous)
        if continues or completes:
            units[-1] = f"{units[-1]} {part}"
        else:
            units.append(part)
    return units[-1]


# --- Trích yếu ------------------------------------------------------------

_VV = re.compile(r"(?:^|(?<=\s))v ?[/|] ?v\b")
_STOP_FIRST = re.compile(r"\W{0,3}(kinh\s{0,2}(gui|moi)|can\s{0,2}cu|xet\s{0,2}de\s{0,2}nghi|dieu\s{0,2}1\b)")
_STOP_MORE = re.compile(r"\W{0,3}(thuc\s{0,2}hien|theo\s{0,2}de\s{0,2}nghi)")


def _find_vv(page: _Page, end: int) -> tuple[int, int] | None:
    for i, folded in enumerate(page.folded[:end]):
        for m in _VV.finditer(folded):
            if page.lines[i][m.start()] == "V":
                return i, m.end()
    return None


def _summary(page: _Page, first: str, start: int, typed: bool) -> str | None:
    """Join the trích yếu's lines: `first` (already read) and the lines from
    `start` until a blank or separator line, a capitalised line (the signing
    authority), the body or the date."""
    parts = [first] if first.strip() else []
    i = start
    if typed and not parts:  # the title may be followed by a blank line
        while i < len(page.lines) and i < start + 2 and not page.lines[i].strip():
            i += 1
    while i < len(page.lines) and len(parts) < 4:
        line, folded = page.lines[i].strip(), page.folded[i]
        # "Thực hiện ..." may open a trích yếu (a Hướng dẫn's) and go on one in
        # lowercase ("... thực hiện tại Bộ phận một cửa"), but capitalised after
        # it, it opens the body.
        starts_body = _STOP_FIRST.match(folded) or (
            parts and line[:1].isupper() and _STOP_MORE.match(folded))
        if (not line.strip(_SEPARATORS) or _is_upper_line(line) or starts_body
                or _MOTTO.search(folded) or _date_in_line(folded)):
            break
        parts.append(line)
        i += 1
    text = " ".join(" ".join(parts).split()).strip(_SEPARATORS.replace(".", ""))
    if not text:
        return None
    if len(text) > SUMMARY_MAX:
        text = text[: SUMMARY_MAX - 1].rsplit(" ", 1)[0] + "…"
    return text


# --- The whole --------------------------------------------------------------


def suggest_fields(text: str) -> Suggestion:
    """Suggest the incoming-register fields from a document's OCR text.

    Pure and linear: reads at most the first HEAD_CHARS characters. Any field
    that cannot be read with confidence is None (see the module docstring).
    """
    page = _Page(text)
    label, parsed = _find_symbol(page)
    symbol, symbol_type = parsed if parsed else (None, None)
    motto = _find_motto(page)
    title = _find_title(page)
    body = _body_start(page)
    end = min(title[0], body) if title else body
    has_header = label is not None or motto is not None

    date = _find_date(page, end) if has_header else None
    issuing_body = None
    if label is not None:
        issuing_body = _issuing_body(page, label)
    elif motto is not None and title is not None:
        issuing_body = _issuing_body(page, (title[0], 0))

    vv = None if title else _find_vv(page, end)
    if title:
        doc_type = title[1]
        summary = _summary(page, title[2], title[0] + 1, typed=True)
    elif vv:
        doc_type = "Công văn"
        line_no, column = vv
        summary = _summary(page, "V/v " + page.lines[line_no][column:].lstrip(" :.-"), line_no + 1, typed=False)
    else:
        doc_type, summary = symbol_type, None
    return Suggestion(issuing_body, symbol, date, doc_type, summary)
