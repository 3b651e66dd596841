"""The Elasticsearch index template: its generated parts without a node, its
analysis and layout on the real one (the ``index`` fixture, Elasticsearch only)."""

from __future__ import annotations

import json
import re
from itertools import pairwise
from typing import Any

import pytest

from search import SearchIndex
from search.elastic import DEFAULT_TEMPLATE_PATH, ElasticsearchIndex, load_template
from search.folding import FOLDING_TABLE, fold, nfc
from search.query import TOKEN_RE, WORD_JOINERS, tokenize
from search.ranking import FIELD_WEIGHTS, exact_tokens


@pytest.fixture
def index_settings() -> dict[str, Any]:
    """Only Elasticsearch: overrides the backend-parametrised fixture of conftest."""
    return {"search_backend": "elasticsearch"}


def test_template_file_is_valid_json_with_empty_character_mapping_placeholders() -> None:
    raw = json.loads(DEFAULT_TEMPLATE_PATH.read_text(encoding="utf-8"))
    # Folding and word joiners live in Python only; the file must not carry a stale copy.
    char_filters = raw["template"]["settings"]["analysis"]["char_filter"]
    assert char_filters["vi_folding"]["mappings"] == [] and char_filters["vi_joiners"]["mappings"] == []


def _rules(char_filter: str = "vi_folding") -> dict[str, str]:
    """The generated mapping rules, decoded the way Elasticsearch decodes them."""
    template = load_template("docsvc-documents")
    lines = template["template"]["settings"]["analysis"]["char_filter"][char_filter]["mappings"]
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
    # The unfolded fields split at the same characters, and only there.
    assert _rules("vi_joiners") == {char: " " for char in WORD_JOINERS}


def test_template_targets_the_generations_of_the_configured_name_and_analyses_every_searchable_field() -> None:
    template = load_template("docsvc-test-abc")
    # The name itself is the alias; the template shapes the physical indices behind it.
    assert template["index_patterns"] == ["docsvc-test-abc-v*"]
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
    assert template["template"]["settings"]["analysis"]["analyzer"]["vi_exact"] == {
        "type": "custom",
        "char_filter": ["vi_joiners"],
        "tokenizer": "standard",
        "filter": ["lowercase"],  # diacritics kept: the exact-spelling bonus
    }
    for field in FIELD_WEIGHTS:
        # One unfolded field: one term per exact word; and one of its pairs.
        assert properties[field]["copy_to"] == ["exact", "exact_pairs"]
    # Only term queries touch them: no positions, frequencies or norms to pay for.
    assert properties["exact"] == {"type": "text", "analyzer": "vi_exact", "index_options": "docs", "norms": False}
    assert properties["exact_pairs"] == {
        "type": "text", "analyzer": "vi_exact_pairs", "index_options": "docs", "norms": False,
    }
    analysis = template["template"]["settings"]["analysis"]
    assert analysis["analyzer"]["vi_exact_pairs"]["filter"] == ["lowercase", "vi_pairs"]  # vi_exact, then pairs
    assert analysis["filter"]["vi_pairs"] == {
        "type": "shingle", "min_shingle_size": 2, "max_shingle_size": 2, "output_unigrams": False,
    }
    # Two adjacent words are one term: the proximity bonus without reading positions.
    assert properties["title"]["index_phrases"] and properties["text"]["index_phrases"]
    assert properties["version"] == {"type": "keyword", "index": False}  # read back, never searched
    assert properties["doc_type"]["type"] == "keyword" and properties["doc_date"]["type"] == "date"


# ------------------------------------------------------------ on the node ---


def _analyzed(index: ElasticsearchIndex, field: str, texts: list[str]) -> list[str]:
    response = index.client.indices.analyze(index=index.index_name, field=field, text=texts)
    return [token["token"] for token in response["tokens"]]


def test_the_node_splits_the_exact_fields_like_the_plan_and_keeps_the_diacritics(
    index: SearchIndex, sample_paragraphs: list[str]
) -> None:
    assert isinstance(index, ElasticsearchIndex)
    odd = ["Số: 15/QĐ-UBND ngày 01.02.2024 tại TP.HCM", "Đề án, ĐỀ ÁN; đê an", "don\u2019t a_b 95,07", "x\u00ady"]
    texts = [nfc(t) for t in odd + sample_paragraphs]
    assert _analyzed(index, "exact", texts) == [t for text in texts for t in exact_tokens(text)]
    for field in FIELD_WEIGHTS:
        assert _analyzed(index, field, texts) == [t for text in texts for t in tokenize(text)], field
    assert _analyzed(index, "exact", ["Đề án"]) == ["đề", "án"]
    # Its pairs: each two adjacent exact words, never across two values.
    pairs = [f"{a} {b}" for text in texts for a, b in pairwise(exact_tokens(text))]
    assert _analyzed(index, "exact_pairs", texts) == pairs
    assert _analyzed(index, "exact_pairs", ["Khai tử", "tại xã"]) == ["khai tử", "tại xã"]


def test_the_configured_name_is_an_alias_to_one_generation(index: SearchIndex) -> None:
    assert isinstance(index, ElasticsearchIndex)
    index.ensure_ready()  # again: nothing new
    name = index.index_name
    assert index.client.indices.get_alias(name=name).body == {f"{name}-v000001": {"aliases": {name: {}}}}
    (template,) = index.client.indices.get_index_template(name=index.template_name)["index_templates"]
    assert template["index_template"]["index_patterns"] == [f"{name}-v*"]
    assert not index.client.indices.exists_alias(name=index.rebuild_alias)
