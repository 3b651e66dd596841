"""The shared query parser: what a clerk's typing turns into."""

from __future__ import annotations

import random
import sqlite3

import pytest

from search import InvalidQuery, SearchQuery
from search.folding import fold
from search.query import MAX_QUERY_CHARS, parse_query, tokenize, validate


def test_words_are_folded_terms() -> None:
    parsed = parse_query("Quyết  ĐỊNH   số")
    assert parsed.terms == ("quyet", "dinh", "so")
    assert parsed.phrases == ()


def test_quoted_words_form_one_phrase_in_order() -> None:
    parsed = parse_query('kế hoạch "một cửa liên thông" 2020')
    assert parsed.clauses == (("ke",), ("hoach",), ("mot", "cua", "lien", "thong"), ("2020",))
    assert parsed.phrases == (("mot", "cua", "lien", "thong"),)


def test_a_number_symbol_is_a_phrase_of_its_parts() -> None:
    assert parse_query("15/QĐ-UBND").clauses == (("15", "qd", "ubnd"),)
    assert parse_query("TP.HCM").clauses == (("tp", "hcm"),)


def test_a_single_quoted_word_is_just_a_term() -> None:
    assert parse_query('"Đà Nẵng" "UBND"').clauses == (("da", "nang"), ("ubnd",))


def test_repeated_words_are_dropped() -> None:
    assert parse_query("ubnd UBND Ubnd tỉnh").clauses == (("ubnd",), ("tinh",))


def test_curly_quotes_count_as_quotes() -> None:
    assert parse_query("\u201cmột cửa\u201d").clauses == (("mot", "cua"),)


def test_operators_are_not_special() -> None:
    assert parse_query("a OR b -c title:d e*").clauses == (("a",), ("or",), ("b",), ("c",), ("title", "d"), ("e",))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "type something"),
        ("   ", "type something"),
        ("!!! ...", "no letters or digits"),
        ('""', "no letters or digits"),
        ('"abc', "unbalanced quotation mark"),
        ("a" * (MAX_QUERY_CHARS + 1), "too long"),
        ("x" * 256, "word in the search is too long"),
    ],
)
def test_malformed_queries_explain_themselves(text: str, message: str) -> None:
    with pytest.raises(InvalidQuery, match=f"(?i){message}"):
        parse_query(text)


def test_invalid_query_is_a_value_error_for_generic_handlers() -> None:
    with pytest.raises(ValueError):
        parse_query("")


@pytest.mark.parametrize(
    ("page", "per_page", "ok"),
    [(1, 1, True), (1, 100, True), (100, 100, True), (101, 100, False), (0, 20, False), (1, 0, False),
     (1, 101, False), (True, 20, False), ("2", 20, False)],
)
def test_paging_limits(page: object, per_page: object, ok: bool) -> None:
    query = SearchQuery("cai cach", page=page, per_page=per_page)  # type: ignore[arg-type]
    if ok:
        assert validate(query).terms == ("cai", "cach")
    else:
        with pytest.raises(InvalidQuery):
            validate(query)


def _fts5_tokens(folded: str) -> list[str]:
    """How SQLite's unicode61 tokenizer splits the text, in order."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5 (x, tokenize = 'unicode61 remove_diacritics 0')")
    db.execute("CREATE VIRTUAL TABLE v USING fts5vocab (t, 'instance')")
    db.execute("INSERT INTO t (x) VALUES (?)", (folded,))
    return [term for term, in db.execute("SELECT term FROM v ORDER BY offset")]


def test_parser_splits_words_exactly_like_the_fts5_index(sample_texts: dict[str, str]) -> None:
    # If these disagreed, a query word could never match what SQLite indexed.
    rng = random.Random(7)
    alphabet = "aăâđêôơư ÀỰỢ 09 ./-_'’,;:()[]“”\t\n ¼٣ßİ\u0301\u0323\ue000😀你"
    texts = [*sample_texts.values(), "TP.HCM 6.793 a_b 15/QĐ-UBND v.v… ợ\u0300a"]
    texts += ["".join(rng.choice(alphabet) for _ in range(60)) for _ in range(300)]
    for text in texts:
        folded = fold(text)
        assert tokenize(text) == _fts5_tokens(folded), repr(text)
