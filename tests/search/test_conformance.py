"""The search contract, told as clerks' stories, run unchanged on every backend.

Each test takes the ``index`` fixture (tests/search/conftest.py) and so runs
once on Tantivy and once on Elasticsearch. Nothing here may branch on the
backend: if a test needs to, the backends disagree and one of them is wrong.

Documents that lack exactly one of several words follow those that have
every word (the second tier, search.ranking); the oracle of
tests/search/helpers.py says which documents belong to which tier.
"""

from __future__ import annotations

import html
import re
import threading
import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from search import IndexedDocument, InvalidQuery, SearchIndex
from search.folding import fold
from tests.search.helpers import add, assert_tiers, every_page, ids, search, tiers

# ---------------------------------------------------------------- helpers ---

_T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)


def doc(doc_id: str, title: str, text: str = "", **fields: object) -> IndexedDocument:
    fields.setdefault("agency_id", 1)
    fields.setdefault("kind", "incoming")
    return IndexedDocument(id=doc_id, title=title, text=text, **fields)  # type: ignore[arg-type]


def marked(highlight: str) -> list[str]:
    """The texts inside <mark>, unescaped."""
    return [html.unescape(m) for m in re.findall(r"<mark>(.*?)</mark>", highlight, flags=re.S)]


def plain(highlight: str) -> str:
    return html.unescape(re.sub(r"</?mark>", "", highlight))


def assert_safe_html(highlight: str) -> None:
    """Only our own <mark> tags may be real markup; the rest must be escaped."""
    assert "<" not in re.sub(r"</?mark>", "", highlight), highlight
    assert ">" not in re.sub(r"</?mark>", "", highlight), highlight


# ------------------------------------------------------- accents & folding ---


def test_clerk_types_quyet_dinh_without_accents_and_finds_the_decision(index: SearchIndex) -> None:
    add(
        index,
        doc("qd", "Quyết định về việc thành lập Tổ công tác cải cách hành chính"),
        doc("kh", "Kế hoạch tuyên truyền cải cách hành chính năm 2021"),
    )
    result = search(index, "quyet dinh thanh lap")
    assert ids(result) == ["qd"]
    assert result.total == 1
    # The title is shown with its real accents, and the words are marked.
    assert result.hits[0].title == "Quyết định về việc thành lập Tổ công tác cải cách hành chính"
    assert {fold(m) for m in marked(result.hits[0].highlight)} >= {"quyet", "dinh", "thanh", "lap"}


def test_query_typed_with_accents_finds_a_document_stored_without_them(index: SearchIndex) -> None:
    # Old systems exported text without diacritics; the clerk types properly.
    add(index, doc("old", "QUYET DINH ve viec phe duyet quy trinh noi bo", "Quyet dinh nay co hieu luc tu ngay ky."))
    assert ids(search(index, "Quyết định phê duyệt")) == ["old"]
    assert ids(search(index, "hiệu lực")) == ["old"]


def test_upper_and_lower_case_and_d_stroke_all_fold(index: SearchIndex) -> None:
    add(index, doc("da", "ĐỀ ÁN CHÍNH QUYỀN ĐIỆN TỬ TỈNH CÀ MAU", "Đăng ký thường trú, đăng ký khai sinh."))
    for query in ["de an chinh quyen dien tu", "Đề án điện tử", "DE AN", "đăng ký", "DANG KY", "dang ky thuong tru"]:
        assert ids(search(index, query)) == ["da"], query


def test_every_vowel_mark_is_ignored_both_ways(index: SearchIndex) -> None:
    # ư ơ â ă ê ô and all five tones, in one realistic title.
    add(index, doc("v", "Sở Tư pháp và Ủy ban nhân dân tăng cường kiểm tra, nâng cao chất lượng đội ngũ thường trực"))
    query = "so tu phap uy ban nhan dan tang cuong kiem tra nang cao chat luong doi ngu thuong truc"
    assert ids(search(index, query)) == ["v"]
    # Typed with *different* (wrong) marks still matches: folding is on both sides.
    assert ids(search(index, "sớ từ phắp")) == ["v"]


def test_decomposed_unicode_from_a_pdf_is_found_and_shown_composed(index: SearchIndex) -> None:
    # Text extracted from PDFs/Word is often NFD (base letter + combining marks).
    title = unicodedata.normalize("NFD", "Thông báo kết quả giải quyết thủ tục hành chính")
    add(index, doc("nfd", title, unicodedata.normalize("NFD", "Kết quả giải quyết hồ sơ trực tuyến.")))
    result = search(index, "ket qua giai quyet")
    assert ids(result) == ["nfd"]
    assert "Kết quả" in plain(result.hits[0].highlight) or "kết quả" in plain(result.hits[0].highlight)


# ----------------------------------------------------- AND, phrases, parser ---


def test_all_words_must_match(index: SearchIndex) -> None:
    add(
        index,
        doc("cm", "Cà Mau rà soát thủ tục hành chính"),
        doc("bd", "Bình Dương đẩy mạnh cải cách hành chính"),
    )
    assert set(ids(search(index, "hanh chinh"))) == {"cm", "bd"}
    assert ids(search(index, "hanh chinh ca mau")) == ["cm"]
    assert ids(search(index, "ca mau binh duong")) == []


def test_words_may_match_in_different_fields(index: SearchIndex) -> None:
    add(index, doc("x", "Báo cáo kết quả", "số liệu tổng hợp", issuing_body="Sở Nội vụ", number_symbol="12/BC-SNV"))
    assert ids(search(index, "bao cao noi vu")) == ["x"]
    assert ids(search(index, "so lieu BC-SNV")) == ["x"]


def test_quoted_phrase_needs_adjacent_words_in_order(index: SearchIndex) -> None:
    add(
        index,
        doc("adjacent", "Thực hiện cơ chế một cửa liên thông hiện đại"),
        doc("scattered", "Kết nối liên thông dữ liệu với bộ phận một cửa"),
    )
    assert set(ids(search(index, "mot cua lien thong"))) == {"adjacent", "scattered"}
    assert ids(search(index, '"một cửa liên thông"')) == ["adjacent"]
    assert ids(search(index, '"mot cua lien thong"')) == ["adjacent"]
    assert ids(search(index, '"lien thong mot cua"')) == []


def test_phrase_and_words_mix(index: SearchIndex) -> None:
    add(
        index,
        doc("kb", "Một cửa tại xã Khánh Bình", "Bộ phận một cửa của xã Khánh Bình tiếp nhận hồ sơ."),
        doc("qt", "Một cửa tại huyện Quảng Trạch", "Bộ phận một cửa cấp huyện."),
    )
    assert ids(search(index, '"mot cua" Khanh Binh')) == ["kb"]
    assert set(ids(search(index, '"một cửa"'))) == {"kb", "qt"}


def test_curly_quotes_from_a_vietnamese_keyboard_make_a_phrase(index: SearchIndex) -> None:
    add(index, doc("a", "cải cách hành chính"), doc("b", "hành chính và cải cách"))
    assert ids(search(index, "\u201ccải cách hành chính\u201d")) == ["a"]


@pytest.mark.parametrize("bad", ['"quyết định', 'quyết "định" "số', '"', "\u201cmột cửa"])
def test_unbalanced_quote_is_rejected_with_a_message(index: SearchIndex, bad: str) -> None:
    with pytest.raises(InvalidQuery, match="quotation mark"):
        search(index, bad)


@pytest.mark.parametrize("empty", ["", "   ", "\t\n", "?!...", '""', "-- / --"])
def test_empty_query_is_rejected(index: SearchIndex, empty: str) -> None:
    with pytest.raises(InvalidQuery):
        search(index, empty)


def test_query_longer_than_500_characters_is_rejected(index: SearchIndex) -> None:
    add(index, doc("a", "cải cách"))
    assert ids(search(index, "cai " + " " * 496)) == ["a"]  # exactly 500 is fine
    with pytest.raises(InvalidQuery, match="too long"):
        search(index, "cai " + " " * 497)


@pytest.mark.parametrize(
    ("page", "per_page"), [(0, 20), (-1, 20), (1, 0), (1, 101), (1, -5), (501, 20)]
)
def test_paging_out_of_range_is_rejected(index: SearchIndex, page: int, per_page: int) -> None:
    with pytest.raises(InvalidQuery):
        search(index, "cai cach", page=page, per_page=per_page)


@pytest.mark.parametrize(
    "odd",
    ["title:quyet", "quyet*", "NEAR(cai cach)", "cai OR cach", "-cai", "(cai", "cai AND", "^cai", "a:b:c", "cai\\"],
)
def test_search_syntax_typed_by_a_user_is_plain_text_not_an_operator(index: SearchIndex, odd: str) -> None:
    # None of these may reach Tantivy / Lucene as syntax: no error, and the
    # result is exactly what the plain-text reading of the query gives.
    docs = [doc("t", "Quyết định cải cách"), doc("o", "cai or cach near title a b c")]
    add(index, *docs)
    assert_tiers(ids(search(index, odd)), *tiers(docs, odd))


# --------------------------------------------------------------- filters ---


def _filter_docs() -> list[IndexedDocument]:
    return [
        doc("in-2020-a1", "Báo cáo cải cách hành chính", kind="incoming", year=2020, agency_id=1),
        doc("out-2020-a2", "Báo cáo cải cách hành chính", kind="outgoing", year=2020, agency_id=2),
        doc("in-2021-a2", "Báo cáo cải cách hành chính", kind="incoming", year=2021, agency_id=2),
        doc("ecopy-none-a3", "Báo cáo cải cách hành chính", kind="ecopy", year=None, agency_id=3),
    ]


def test_filter_by_kind(index: SearchIndex) -> None:
    add(index, *_filter_docs())
    assert set(ids(search(index, "bao cao", kind="incoming"))) == {"in-2020-a1", "in-2021-a2"}
    assert ids(search(index, "bao cao", kind="ecopy")) == ["ecopy-none-a3"]
    assert search(index, "bao cao", kind="upload").total == 0


def test_filter_by_year(index: SearchIndex) -> None:
    add(index, *_filter_docs())
    assert set(ids(search(index, "bao cao", year=2020))) == {"in-2020-a1", "out-2020-a2"}
    assert set(ids(search(index, "bao cao", year=2021, kind="incoming"))) == {"in-2021-a2"}
    assert search(index, "bao cao", year=1999).total == 0


def test_clerk_only_sees_documents_of_agencies_they_may_see(index: SearchIndex) -> None:
    add(index, *_filter_docs())
    assert search(index, "bao cao").total == 4  # None = no restriction
    assert set(ids(search(index, "bao cao", agency_ids=frozenset({2})))) == {"out-2020-a2", "in-2021-a2"}
    assert set(ids(search(index, "bao cao", agency_ids=frozenset({1, 3, 99})))) == {"in-2020-a1", "ecopy-none-a3"}


def test_user_with_no_agencies_sees_nothing(index: SearchIndex) -> None:
    add(index, *_filter_docs())
    result = search(index, "bao cao", agency_ids=frozenset())
    assert result.total == 0 and result.hits == []


def test_permission_filter_with_thousands_of_agencies(index: SearchIndex) -> None:
    add(index, *_filter_docs())
    allowed = frozenset(range(3, 5003))  # a ministry-level user
    assert ids(search(index, "bao cao", agency_ids=allowed)) == ["ecopy-none-a3"]


# -------------------------------------------------- the sample articles ---


def _archive(paragraphs: list[str]) -> list[IndexedDocument]:
    kinds = ["incoming", "outgoing", "ecopy", "upload"]
    return [
        doc(
            f"p{i:03d}",
            title=p[:80],
            text=p,
            kind=kinds[i % 4],
            year=2019 + i % 3,
            agency_id=1 + i % 5,
            created_at=_T0 + timedelta(minutes=i),
        )
        for i, p in enumerate(paragraphs)
    ]


@pytest.mark.parametrize(
    "query",
    [
        "cai cach hanh chinh",
        "thủ tục hành chính",
        '"mot cua lien thong"',
        '"một cửa" huyện',
        "UBND tinh",
        "doanh nghiep nguoi dan",
        "Ca Mau",
        "TTHC",
        "61/2018/NĐ-CP",
        "cong nghe thong tin",
        '"chinh quyen dien tu"',
        "xa Khanh Binh",
    ],
)
def test_archive_of_reform_articles_matches_brute_force(
    index: SearchIndex, sample_paragraphs: list[str], query: str
) -> None:
    """A clerk searches real Vietnamese articles: the backend returns exactly
    the paragraphs a brute-force scan says contain every word/phrase, then
    those that lack exactly one of them."""
    docs = _archive(sample_paragraphs)
    add(index, *docs)
    first, second = tiers(docs, query)
    assert first, f"the samples should contain {query!r}; pick another query"
    assert_tiers(every_page(index, query), first, second)
    result = search(index, query)
    assert (result.total, result.total_all_words) == (len(first) + len(second), len(first))
    # With filters too: the expected sets narrow exactly.
    by_id = {d.id: d for d in docs}
    kept = {i for i in by_id if by_id[i].year == 2020 and by_id[i].agency_id in {1, 2}}
    assert_tiers(every_page(index, query, year=2020, agency_ids=frozenset({1, 2})), first & kept, second & kept)


def test_pagination_walks_every_match_exactly_once(index: SearchIndex, sample_paragraphs: list[str]) -> None:
    docs = _archive(sample_paragraphs)
    add(index, *docs)
    first, second = tiers(docs, "hanh chinh")
    expected = first | second
    assert len(first) > 14 and second, "need several pages and both tiers"
    seen: list[str] = []
    pages = -(-len(expected) // 7)
    for page in range(1, pages + 1):
        result = search(index, "hanh chinh", page=page, per_page=7)
        assert result.total == len(expected)  # the full count on every page
        assert len(result.hits) == (7 if page < pages else len(expected) - 7 * (pages - 1))
        seen += ids(result)
    assert_tiers(seen, first, second)
    beyond = search(index, "hanh chinh", page=pages + 1, per_page=7)
    assert beyond.hits == [] and beyond.total == len(expected)


# -------------------------------------------------------------- ordering ---


def test_the_document_about_the_query_ranks_above_a_passing_mention(
    index: SearchIndex, sample_texts: dict[str, str]
) -> None:
    article = sample_texts["binh-duong-cchc-2020"]
    add(
        index,
        doc("mention", "Báo cáo tình hình kinh tế xã hội", article + " Có nhắc tới chứng thực."),
        doc("about", "Hướng dẫn chứng thực bản sao", "Chứng thực bản sao từ bản chính; chứng thực chữ ký."),
    )
    result = search(index, "chung thuc")
    assert ids(result) == ["about", "mention"]
    assert result.hits[0].score > result.hits[1].score > 0


def test_equally_relevant_documents_come_newest_first(index: SearchIndex) -> None:
    same = "Công văn về việc rà soát thủ tục hành chính"
    add(
        index,
        doc("older", same, created_at=_T0),
        doc("undated", same, created_at=None),
        doc("newest", same, created_at=_T0 + timedelta(days=30)),
        # A naive datetime is UTC: 09:00 UTC is newer than 08:00 UTC (= 15:00 +07).
        doc("middle", same, created_at=datetime(2024, 3, 10, 9, 0)),
        doc("middle-tz", same, created_at=datetime(2024, 3, 10, 15, 0, tzinfo=timezone(timedelta(hours=7)))),
    )
    result = search(index, "ra soat thu tuc")
    assert ids(result) == ["newest", "middle", "middle-tz", "older", "undated"]
    scores = [hit.score for hit in result.hits]
    assert max(scores) - min(scores) <= 1e-6 * max(scores)


def test_hits_are_sorted_by_descending_score(index: SearchIndex, sample_paragraphs: list[str]) -> None:
    add(index, *_archive(sample_paragraphs))
    scores = [hit.score for hit in search(index, "cai cach", per_page=100).hits]
    assert len(scores) > 3
    assert scores == sorted(scores, reverse=True)


# ------------------------------------------------------------ highlights ---


def test_highlight_shows_the_documents_own_diacritics(index: SearchIndex, sample_texts: dict[str, str]) -> None:
    add(index, doc("qt", "Huyện Quảng Trạch: kết quả CCHC", sample_texts["quang-trach-cchc-7-thang-2021"]))
    hit = search(index, "kiem soat thu tuc").hits[0]
    words = marked(hit.highlight)
    assert words, hit.highlight
    assert {fold(w) for w in " ".join(words).split()} <= {"kiem", "soat", "thu", "tuc"}
    # Taken from the original: the marked text is accented ("kiểm soát"/"thủ tục"), not folded.
    assert any(w != fold(w) for w in words)
    assert plain(hit.highlight) in unicodedata.normalize("NFC", sample_texts["quang-trach-cchc-7-thang-2021"])
    assert 40 <= len(plain(hit.highlight)) <= 320, "a snippet of about 200 characters"
    assert_safe_html(hit.highlight)


def test_highlight_marks_a_phrase_where_it_occurs(index: SearchIndex, sample_texts: dict[str, str]) -> None:
    text = sample_texts["ca-mau-hien-dai-hoa-hanh-chinh"]
    add(index, doc("cm", "Hiện đại hóa nền hành chính", text))
    hit = search(index, '"chi so PAPI"').hits[0]
    assert "PAPI" in plain(hit.highlight)
    joined = fold(" ".join(marked(hit.highlight)))
    assert joined.split() == ["chi", "so", "papi"] * (len(joined.split()) // 3)
    assert "Chỉ số PAPI" in " ".join(marked(hit.highlight))


def test_highlight_escapes_html_in_the_document(index: SearchIndex) -> None:
    text = "Cảnh báo <script>alert('x')</script> & \"quyết định\" <b>khẩn</b> số 7."
    add(index, doc("xss", "Tệp tải lên <img src=x onerror=alert(1)>", text, kind="upload"))
    hit = search(index, "quyet dinh").hits[0]
    assert_safe_html(hit.highlight)
    assert "<script>" in plain(hit.highlight)  # shown as text, not executed
    assert [fold(w) for w in marked(hit.highlight)] in (["quyet", "dinh"], ["quyet dinh"])
    # The title fallback is escaped too.
    title_hit = search(index, "tep tai len").hits[0]
    assert_safe_html(title_hit.highlight)
    assert "<img" in plain(title_hit.highlight) and marked(title_hit.highlight)


def test_highlight_falls_back_to_the_title_then_to_the_start_of_the_text(index: SearchIndex) -> None:
    add(
        index,
        doc("t", "Quyết định khen thưởng", "Nội dung: biểu dương tập thể có thành tích xuất sắc."),
        doc("n", "Công văn", "Đề nghị các đơn vị báo cáo số liệu đúng hạn.", number_symbol="88/CV-VP"),
        doc("e", "Tờ trình 88/TTr-VP", ""),
    )
    title_only = search(index, "khen thuong").hits[0]
    assert plain(title_only.highlight) == "Quyết định khen thưởng"
    assert [fold(w) for w in marked(title_only.highlight)] in (["khen", "thuong"], ["khen thuong"])

    number_only = search(index, "88/CV-VP").hits[0]
    assert number_only.id == "n"
    assert plain(number_only.highlight).startswith("Đề nghị các đơn vị")
    assert marked(number_only.highlight) == []

    empty_text = search(index, "TTr-VP").hits[0]
    assert "88/TTr-VP" in plain(empty_text.highlight)


def test_two_megabyte_document_indexes_searches_and_highlights(index: SearchIndex, sample_texts: dict[str, str]) -> None:
    # A scanned register or a long annex: ~2 MB of real text, the needle near the end.
    filler = "\n".join(sample_texts.values())
    body = filler * (2_000_000 // len(filler) + 1)
    needle = "Phê duyệt dự án khu công nghệ cao Hòa Lạc giai đoạn mới."
    text = body + "\n" + needle + "\n" + filler
    assert len(text) > 2_000_000
    add(index, doc("big", "Phụ lục tổng hợp", text), doc("small", "Khu công nghệ cao", "Hòa Lạc"))

    result = search(index, '"hoa lac" phe duyet')
    assert ids(result) == ["big"]
    hit = result.hits[0]
    assert "Hòa Lạc" in plain(hit.highlight) and len(plain(hit.highlight)) <= 320
    assert "Hòa Lạc" in " ".join(marked(hit.highlight))
    assert_safe_html(hit.highlight)
    # Common words still work on the big document and it is counted once.
    assert "big" in ids(search(index, "cai cach hanh chinh"))
    assert index.count() == 2


# -------------------------------------------------------- number symbols ---


def test_number_symbol_found_with_or_without_d_stroke_and_by_its_suffix(index: SearchIndex) -> None:
    add(
        index,
        doc("qd15", "Quyết định phê duyệt kế hoạch", number_symbol="15/QĐ-UBND", issuing_body="UBND tỉnh Bình Dương"),
        doc("qd16", "Quyết định thành lập hội đồng", number_symbol="16/QĐ-UBND"),
        doc("kh15", "Kế hoạch CCHC năm 2020", number_symbol="15/KH-UBND"),
        doc("nd61", "Nghị định 61/2018/NĐ-CP về cơ chế một cửa"),
    )
    assert ids(search(index, "15/QĐ-UBND")) == ["qd15"]
    assert ids(search(index, "15/QD-UBND")) == ["qd15"]
    assert ids(search(index, "15/qd-ubnd")) == ["qd15"]
    assert set(ids(search(index, "QĐ-UBND"))) == {"qd15", "qd16"}
    assert set(ids(search(index, "QD-UBND"))) == {"qd15", "qd16"}
    assert ids(search(index, "61/2018/ND-CP")) == ["nd61"]
    assert ids(search(index, "15/QD-UBND binh duong")) == ["qd15"]  # issuing body is searchable


def test_punctuation_inside_words_splits_them_the_same_way_everywhere(index: SearchIndex) -> None:
    # Unicode word rules (the ES standard tokenizer) would keep "TP.HCM",
    # "1.419", "95,07" or a soft-hyphenated word as one token; FTS5 splits.
    # The contract: punctuation always separates words.
    docs = [
        doc("hcm", "Công văn gửi UBND TP.HCM", "Cấp huyện tiếp nhận 1.419 hồ sơ, đạt tỷ lệ 95,07%."),
        doc("pdf", "Báo cáo trích từ PDF", "công tác cải\u00adcách hành chính; mã hồ_sơ_01; Sở Tư pháp’s note"),
        doc("frac", "Phân bổ ½ kinh phí", "diện tích 25m² và mục ③ cải ½ cách"),
    ]
    add(index, *docs)
    for query in [
        "HCM", "TP.HCM", "tp hcm", "1.419", "419 ho so", "95,07", '"07"',
        "cai cach", '"cải cách hành chính"', "ho so 01", "hồ_sơ_01", "phap s",
        "25m", "kinh phi", '"cai cach"', "½", "cải ½ cách",
    ]:
        try:
            first, second = tiers(docs, query)
        except InvalidQuery:
            with pytest.raises(InvalidQuery):
                search(index, query)
            continue
        assert_tiers(ids(search(index, query)), first, second)
    assert ids(search(index, "HCM")) == ["hcm"]
    assert ids(search(index, '"cai cach hanh chinh"')) == ["pdf"]
    assert ids(search(index, '"cai cach"')) == ["pdf", "frac"] or set(ids(search(index, '"cai cach"'))) == {"pdf", "frac"}


# ------------------------------------------------------ writes lifecycle ---


def test_reindexing_the_same_id_replaces_the_document(index: SearchIndex) -> None:
    add(index, doc("d1", "Dự thảo quy chế làm việc", "bản nháp", kind="upload", year=2020))
    add(index, doc("d1", "Quy chế làm việc chính thức", "ban hành kèm quyết định", kind="outgoing", year=2021))
    assert index.count() == 1
    assert ids(search(index, "du thao")) == []
    assert ids(search(index, '"ban nhap"')) == []  # "ban" alone is in the new text
    hit = search(index, "quy che chinh thuc").hits[0]
    assert (hit.id, hit.title, hit.kind, hit.year) == ("d1", "Quy chế làm việc chính thức", "outgoing", 2021)
    assert ids(search(index, "quy che", kind="upload")) == []


def test_deleted_documents_disappear_and_unknown_ids_are_ignored(index: SearchIndex) -> None:
    add(index, doc("keep", "Báo cáo tháng 7"), doc("gone", "Báo cáo tháng 8"), doc("gone2", "Báo cáo tháng 9"))
    index.delete(["gone", "no-such-id"])
    index.delete(iter(["gone2"]))  # any iterable
    index.refresh()
    assert ids(search(index, "bao cao")) == ["keep"]
    assert index.count() == 1


def test_clear_empties_the_index_and_reindexing_starts_over(index: SearchIndex, sample_paragraphs: list[str]) -> None:
    docs = _archive(sample_paragraphs)
    add(index, *docs)
    assert index.count() == len(docs)
    index.clear()
    index.refresh()
    assert index.count() == 0
    assert search(index, "hanh chinh").total == 0
    add(index, *docs[:3])
    assert index.count() == 3


def test_indexing_accepts_a_generator_and_ensure_ready_is_idempotent(
    index: SearchIndex, sample_paragraphs: list[str]
) -> None:
    index.index(d for d in _archive(sample_paragraphs))
    index.ensure_ready()  # e.g. a second worker starting up
    index.refresh()
    assert index.count() == len(sample_paragraphs)
    assert search(index, "cai cach").total > 0


def test_web_threads_and_a_worker_can_use_one_index_at_once(index: SearchIndex, sample_paragraphs: list[str]) -> None:
    # Flask serves requests from threads while a Celery task indexes.
    docs = _archive(sample_paragraphs)
    add(index, *docs[:5])
    errors: list[BaseException] = []

    def writer(chunk: list[IndexedDocument]) -> None:
        try:
            for d in chunk:
                index.index([d])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def reader() -> None:
        try:
            for _ in range(20):
                assert search(index, "hanh chinh").total >= 0
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    rest = docs[5:]
    threads = [threading.Thread(target=writer, args=(rest[i::3],)) for i in range(3)]
    threads += [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    index.refresh()
    assert index.count() == len(docs)
    assert_tiers(every_page(index, "hanh chinh"), *tiers(docs, "hanh chinh"))


def test_search_hit_carries_the_documents_fields(index: SearchIndex) -> None:
    add(
        index,
        doc(
            "full",
            "Quyết định ban hành quy chế",
            "Nội dung quy chế.",
            agency_id=42,
            kind="outgoing",
            number_symbol="7/QĐ-SNV",
            issuing_body="Sở Nội vụ",
            year=2023,
            issued_date=date(2023, 5, 4),
            created_at=_T0,
        ),
    )
    (hit,) = search(index, "quy che").hits
    assert (hit.id, hit.agency_id, hit.kind, hit.year, hit.number_symbol) == ("full", 42, "outgoing", 2023, "7/QĐ-SNV")
    assert hit.title == "Quyết định ban hành quy chế"
    assert isinstance(hit.score, float) and hit.score > 0


def test_backend_satisfies_the_protocol(index: SearchIndex) -> None:
    assert isinstance(index, SearchIndex)
    assert index.count() == 0
    assert search(index, "bat ky").total == 0
