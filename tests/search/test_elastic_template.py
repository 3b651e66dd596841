"""The Elasticsearch index template, checked without a node."""

from __future__ import annotations

import json
import re

import pytest

from search.elastic import DEFAULT_TEMPLATE_PATH, ElasticsearchIndex, load_template
from search.folding import FOLDING_TABLE, fold, nfc
from search.query import TOKEN_RE, WORD_JOINERS


def test_template_file_is_valid_json_with_an_empty_folding_placeholder() -> None:
    raw = json.loads(DEFAULT_TEMPLATE_PATH.read_text(encoding="utf-8"))
    # Folding lives in Python only; the file must not carry a stale copy.
    assert raw["template"]["settings"]["analysis"]["char_filter"]["vi_folding"]["mappings"] == []


def _rules(index_name: str = "docsvc-documents") -> dict[str, str]:
    """The generated mapping rules, decoded the way Elasticsearch decodes them."""
    template = load_template(index_name)
    lines = template["template"]["settings"]["analysis"]["char_filter"]["vi_folding"]["mappings"]
    decode = lambda side: re.sub(r"\\u([0-9a-f]{4})", lambda m: chr(int(m.group(1), 16)), side.strip())  # noqa: E731
    pairs = [line.split(" => ") for line in lines]
    assert len({key for key, _ in pairs}) == len(pairs), "duplicate keys are rejected by Elasticsearch"
    return {decode(key): decode(value) for key, value in pairs}


def test_folding_char_filter_holds_every_vietnamese_letter_one_char_to_one_char() -> None:
    rules = _rules()
    assert {k: v for k, v in rules.items() if k in FOLDING_TABLE} == FOLDING_TABLE
    assert all(len(k) == 1 and len(v) == 1 for k, v in rules.items())  # keeps highlight offsets exact


def test_word_joiners_become_spaces_so_the_standard_tokenizer_splits_like_fts5() -> None:
    rules = _rules()
    assert {k for k, v in rules.items() if v == " "} == WORD_JOINERS
    assert {".", ",", ":", "'", "_", "\u2019", "\u00ad"} <= WORD_JOINERS
    # Mapping them changes nothing on the Python/SQLite side: they already split
    # words there (checked where NFC leaves the character in place).
    for char in WORD_JOINERS:
        text = nfc("q" + char + "z")
        if char in text:
            assert TOKEN_RE.findall(fold(text)) == ["q", "z"], hex(ord(char))


def test_template_targets_the_configured_index_and_analyses_every_searchable_field() -> None:
    template = load_template("docsvc-test-abc")
    assert template["index_patterns"] == ["docsvc-test-abc"]
    analyzer = template["template"]["settings"]["analysis"]["analyzer"]["vi_folded"]
    assert analyzer == {
        "type": "custom",
        "char_filter": ["vi_folding"],
        "tokenizer": "standard",
        "filter": ["lowercase", "asciifolding"],
    }
    properties = template["template"]["mappings"]["properties"]
    for field in ("title", "number_symbol", "issuing_body", "text"):
        assert properties[field]["analyzer"] == "vi_folded"
    assert properties["text"]["index_options"] == "offsets"  # highlight 2 MB texts without re-analysis
    assert properties["title"]["index_options"] == "offsets"
