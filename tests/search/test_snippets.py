"""Python-side highlighting (used by the SQLite backend)."""

from __future__ import annotations

import html
import re
import unicodedata

from search.query import parse_query
from search.snippets import SNIPPET_CHARS, build_highlight, highlight_text, leading_text


def clauses(text: str) -> tuple[tuple[str, ...], ...]:
    return parse_query(text).clauses


def plain(snippet: str) -> str:
    return html.unescape(re.sub(r"</?mark>", "", snippet))


def test_snippet_is_cut_around_the_match_far_into_the_text() -> None:
    before = " ".join(f"mục{i}" for i in range(500))
    after = " ".join(f"điều{i}" for i in range(500))
    text = before + " UBND tỉnh ban hành Kế hoạch số 6793/KH-UBND về công tác CCHC. " + after
    snippet = highlight_text(text, clauses("6793/KH-UBND"))
    assert snippet is not None
    assert "<mark>6793/KH-UBND</mark>" in snippet
    assert len(plain(snippet)) <= SNIPPET_CHARS
    start = text.index(plain(snippet))
    end = start + len(plain(snippet))
    # Cut at spaces, never inside a word, with context on both sides.
    assert text[start - 1] == " " and text[end] == " "
    assert plain(snippet).startswith("mục") and plain(snippet).endswith(tuple(f"điều{i}" for i in range(500)))


def test_window_prefers_the_place_where_all_words_meet() -> None:
    text = "quyết " + "x " * 300 + "định " + "y " * 300 + "Quyết định số 9 " + "z " * 300
    snippet = highlight_text(text, clauses("quyet dinh"))
    assert snippet is not None and "<mark>Quyết</mark> <mark>định</mark> số 9" in snippet


def test_offsets_map_back_to_decomposed_input() -> None:
    text = unicodedata.normalize("NFD", "Về việc phê duyệt đề án chính quyền điện tử")
    snippet = highlight_text(text, clauses('"de an"'))
    assert snippet is not None and "<mark>đề án</mark>" in snippet  # NFC, the document's own accents


def test_no_match_gives_none_and_the_fallbacks_apply() -> None:
    assert highlight_text("không liên quan", clauses("quyet dinh")) is None
    assert build_highlight("Quyết định <1>", "không liên quan", clauses("quyet dinh")) == (
        "<mark>Quyết</mark> <mark>định</mark> &lt;1&gt;"
    )
    assert build_highlight("Tiêu đề", "Đoạn đầu <b>", clauses("khac")) == "Đoạn đầu &lt;b&gt;"
    assert build_highlight("Tiêu đề & phụ lục", "", clauses("khac")) == "Tiêu đề &amp; phụ lục"


def test_leading_text_cuts_at_a_space() -> None:
    text = "chữ " * 100
    lead = leading_text(text)
    assert len(lead) <= SNIPPET_CHARS and lead.endswith("chữ") and text.startswith(lead)


def test_a_word_inside_a_phrase_is_marked_once() -> None:
    snippet = highlight_text("cơ chế một cửa liên thông", clauses('"mot cua" cua'))
    assert snippet == "cơ chế <mark>một cửa</mark> liên thông"


def test_every_spelling_of_a_word_is_marked_but_not_a_longer_word() -> None:
    # Upper case, đ, tone and vowel marks all fold to the typed word; "ánh"
    # inside "Thành" or "an" inside "bản" is not the word "an".
    snippet = highlight_text("ĐỀ ÁN thành lập; Đề án khác; bản đê an toàn", clauses("de an"))
    assert snippet is not None
    assert [plain(m) for m in re.findall(r"<mark>(.*?)</mark>", snippet)] == ["ĐỀ", "ÁN", "Đề", "án", "đê", "an"]


def test_a_word_that_begins_a_longer_word_of_the_query_is_marked_as_itself() -> None:
    # "can" begins "canh" and "co" begins "cong": each spelling is marked as the word it is.
    snippet = highlight_text("Cán bộ cảnh giới; công chức có cơ hội; canhx", clauses("can canh co cong"))
    assert snippet is not None
    assert [plain(m) for m in re.findall(r"<mark>(.*?)</mark>", snippet)] == ["Cán", "cảnh", "công", "có", "cơ"]
