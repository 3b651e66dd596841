"""Vietnamese diacritic folding, written once and shared by every backend.

``fold()`` turns "Quyết định số 15/QĐ-UBND" into "quyet dinh so 15/qd-ubnd".
Both the indexed text and the user's query go through it, so a clerk who types
without accents (very common: Telex/VNI input is often switched off) finds
accented documents, and vice versa.

Design constraint: on NFC text the fold is *length-preserving* (one char in,
one char out). Highlighting relies on that to map match offsets found in
the folded text straight back to the original text for highlighting, and the
Elasticsearch ``mapping`` char_filter built from ``FOLDING_TABLE`` is 1:1 for
the same reason (no offset corrections, highlights land on the right letters).
"""

from __future__ import annotations

import unicodedata

__all__ = ["FOLDING_TABLE", "fold", "nfc"]

# Every accented Vietnamese letter (lowercase), grouped by the base letter it
# folds to. Tone marks (huyền, sắc, hỏi, ngã, nặng) and vowel marks (ă, â, ê,
# ô, ơ, ư) are both removed: users routinely drop either kind.
_LOWER_GROUPS: dict[str, str] = {
    "a": "àáảãạ" "ăằắẳẵặ" "âầấẩẫậ",
    "e": "èéẻẽẹ" "êềếểễệ",
    "i": "ìíỉĩị",
    "o": "òóỏõọ" "ôồốổỗộ" "ơờớởỡợ",
    "u": "ùúủũụ" "ưừứửữự",
    "y": "ỳýỷỹỵ",
    # đ is a separate letter in Vietnamese, but nobody searches for it
    # distinctly; ð (Icelandic eth) is a common typo for đ from some fonts/IMEs.
    "d": "đð",
}


def _build_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for base, letters in _LOWER_GROUPS.items():
        for letter in letters:
            upper = letter.upper()
            # Every Vietnamese letter has a single-char uppercase form (Ð for
            # ð too); assert it so a typo in the table can't break the
            # length-preserving guarantee.
            assert len(letter) == 1 and len(upper) == 1, letter
            table[letter] = base
            table[upper] = base
    return table


#: Accented letter -> lowercase ASCII base, for every Vietnamese letter in
#: both cases (66 accented vowels x 2 cases + đ/Đ + ð/Ð = 136 entries). The
#: Elasticsearch backend turns this into the ``mapping`` char_filter of the
#: index template.
FOLDING_TABLE: dict[str, str] = _build_table()


def _fold_other(char: str) -> str:
    """Fold a character that is not in FOLDING_TABLE, keeping it one char.

    Roughly what Elasticsearch's lowercase + asciifolding filters do for other
    Latin letters (é, ü, ñ in foreign names), so the backends agree. Anything
    that would not stay a single character is left alone.
    """
    category = unicodedata.category(char)
    if category[0] == "M" or category in ("Co", "No"):
        # Characters no backend can search on become spaces (one char, so
        # offsets still map back to the original):
        # * M*: a combining mark still standing alone after NFC (e.g. a second
        #   tone on "ợ̀" in badly OCRed text). Tantivy's simple tokenizer and the ES
        #   standard tokenizer would keep it inside the word (ES gets it mapped
        #   to a space too: search.query.WORD_JOINERS), and left after a folded
        #   letter it would recompose with it on the next NFC (breaking
        #   idempotence).
        # * Co: private-use glyphs from PDF symbol fonts (unicode61 indexes
        #   them as letters, Elasticsearch drops them).
        # * No: ½, ², ③ (unicode61 indexes them, the ES standard tokenizer
        #   drops them, which would shift phrase positions).
        return " "
    base = "".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))
    if len(base) != 1:
        base = char
    lower = base.lower()
    return lower if len(lower) == 1 else base


class _FoldMap(dict[int, str]):
    """str.translate table: Vietnamese letters pre-filled, others computed once.

    translate() runs in C and only calls __missing__ the first time it meets a
    code point, so folding a multi-megabyte document stays fast.
    """

    def __missing__(self, codepoint: int) -> str:
        folded = _fold_other(chr(codepoint))
        self[codepoint] = folded  # benign race: every thread computes the same value
        return folded


_TRANSLATION = _FoldMap({ord(k): v for k, v in FOLDING_TABLE.items()})


def nfc(text: str) -> str:
    """NFC-normalise. Text pasted from Word/PDF is often decomposed (e + U+0302 + U+0301)."""
    return unicodedata.normalize("NFC", text)


def fold(text: str) -> str:
    """NFC-normalise, lowercase and strip Vietnamese diacritics (đ -> d).

    ``len(fold(t)) == len(nfc(t))`` always holds, and ``fold`` is idempotent.
    """
    return nfc(text).translate(_TRANSLATION)
