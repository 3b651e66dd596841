"""The Tantivy index splits text exactly like the query parser (search.query.TOKEN_RE),
on every Unicode code point: otherwise a word typed could never match the same
word indexed. Tantivy's simple tokenizer takes a few more characters as
letters than Python does; search.tantivy_index turns those into spaces first.
The ``pairs`` field holds each two adjacent words of that split, as the
ranking plan pairs the words of a query.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise

from search.folding import fold, nfc
from search.query import TOKEN_RE
from search.tantivy_index import _analyzer, _pair_analyzer, _pairs_text, _tokenizable

CHUNK = 8_192


def _chunks_of_every_code_point() -> Iterator[tuple[str, str]]:
    """(first code point, text): each character folded (the searchable fields),
    lowercased NFC (the exact field) and as typed, between letters so that a
    split shows, CHUNK characters a text."""
    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    for start in range(0, len(chars), CHUNK):
        yield f"U+{start:04X}..", " ".join(f"x{fold(c)}x{nfc(c).lower()}x{c}x" for c in chars[start : start + CHUNK])


def test_the_index_splits_like_the_query_parser_on_every_code_point() -> None:
    analyzer = _analyzer()
    differing = [where for where, text in _chunks_of_every_code_point()
                 if analyzer.analyze(_tokenizable(text)) != TOKEN_RE.findall(text)]
    assert differing == []


def test_circled_letters_split_words_as_the_parser_does() -> None:
    # Ⓐ is a letter to Rust's char::is_alphanumeric, a symbol to Python.
    assert _analyzer().analyze(_tokenizable(fold("Hồ sơⒶso 15"))) == ["ho", "so", "so", "15"]


def test_the_pairs_field_holds_each_two_adjacent_words() -> None:
    folded = _tokenizable(fold("Cải cách hành chính: một-cửa, 2024"))
    assert _pair_analyzer().analyze(_pairs_text(folded)) == [
        "cai_cach", "cach_hanh", "hanh_chinh", "chinh_mot", "mot_cua", "cua_2024",
    ]


def test_pairs_split_like_the_query_parser_on_every_code_point() -> None:
    # The pairs are cut from the UTF-8 bytes, not by TOKEN_RE: they must agree.
    analyzer = _pair_analyzer()
    differing = []
    for where, text in _chunks_of_every_code_point():
        words = TOKEN_RE.findall(text)
        if analyzer.analyze(_pairs_text(_tokenizable(text))) != [f"{a}_{b}" for a, b in pairwise(words)]:
            differing.append(where)
    assert differing == []
