"""Ranking, tiers, filters, sorting, facets, totals, rebuilds: clerks' stories
run unchanged on every backend (the ``index`` fixture, tests/search/conftest.py).

Each ranking story builds documents that are alike in everything but the
rule under test, and makes the rule's loser the *newer* document, so a
backend that ignores the rule fails (equal scores go to the newest). The
plan every backend executes is search.ranking; these tests are its
behaviour, as a clerk sees it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from search import FACET_FIELDS, TOTAL_CAP, FacetCount, IndexedDocument, InvalidQuery, SearchIndex, ranking
from search.model import FACET_SIZE
from tests.search.helpers import add, every_page, ids, search

_T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)


def doc(doc_id: str, title: str, text: str = "", *, age: int = 0, **fields: object) -> IndexedDocument:
    """A document created ``age`` days before the newest one of a story."""
    fields.setdefault("agency_id", 1)
    fields.setdefault("kind", "incoming")
    fields.setdefault("created_at", _T0 - timedelta(days=age))
    return IndexedDocument(id=doc_id, title=title, text=text, **fields)  # type: ignore[arg-type]


# ------------------------------------------------------------ the rules ---


def test_words_standing_together_as_typed_rank_above_the_same_words_apart(index: SearchIndex) -> None:
    # The same words (a synthetic order), only their order differs: every
    # score part but the proximity bonus is equal, and "apart" is newer.
    add(
        index,
        doc("together", "Kế hoạch cải cách hành chính của xã", age=1),
        doc("apart", "Hành kế hoạch cải cách chính của xã", age=0),
    )
    result = search(index, "hành chính")
    assert ids(result) == ["together", "apart"]
    assert result.hits[0].score > result.hits[1].score
    # A longer Vietnamese word: "một cửa liên thông" is three adjacent pairs.
    add(
        index,
        doc("desk", "Bộ phận một cửa liên thông cấp huyện", age=3),
        doc("mixed", "Bộ phận liên cấp một thông cửa huyện", age=2),
    )
    assert ids(search(index, "mot cua lien thong")) == ["desk", "mixed"]


def test_a_query_typed_with_diacritics_ranks_the_exact_spelling_first(index: SearchIndex) -> None:
    add(
        index,
        doc("exact", "Đề án chuyển đổi số của tỉnh", age=1),
        doc("folded", "Đê an chuyển đổi số của tỉnh", age=0),
    )
    typed = search(index, "đề án")
    assert ids(typed) == ["exact", "folded"]  # both found, the exact spelling first
    assert typed.hits[0].score > typed.hits[1].score
    # Without diacritics nothing is "exact": the two are equal, the newer first.
    bare = search(index, "de an")
    assert ids(bare) == ["folded", "exact"]
    assert bare.hits[0].score == pytest.approx(bare.hits[1].score, rel=1e-6)


def test_two_words_spelt_together_as_typed_rank_above_the_same_pair_folded(index: SearchIndex) -> None:
    # "khai tử" (a death registered) and "khai từ" in "triển khai từ năm
    # 2016" (rolled out from) fold to the same pair, and both documents
    # spell "tử" somewhere: only the pair as typed tells them apart.
    add(
        index,
        doc("death", "Đăng ký khai tử và khai sinh tại xã", age=1),
        doc("rollout", "Triển khai từ năm 2016 chính quyền điện tử tại xã", age=0),
    )
    typed = search(index, "khai tử")
    assert ids(typed) == ["death", "rollout"]
    assert typed.hits[0].score > typed.hits[1].score


def test_exact_spelling_is_per_word(index: SearchIndex) -> None:
    # "bán" (sell) and "bạn" (friend) fold alike; the clerk typed "bán".
    add(
        index,
        doc("sell", "Hợp đồng mua bán nhà ở", age=2),
        doc("friend", "Hợp đồng mua bạn nhà ở", age=1),
        doc("plain", "Hop dong mua ban nha o", age=0),
    )
    result = search(index, "hợp đồng mua bán")
    assert ids(result)[0] == "sell"
    assert set(ids(result)) == {"sell", "friend", "plain"}
    # One word alone: its own spelling decides, no pair carries it.
    assert ids(search(index, "bán"))[0] == "sell"


def test_only_the_first_pairs_of_a_long_query_carry_the_proximity_bonus(index: SearchIndex) -> None:
    # Twelve words, eleven pairs: the last ("Khánh Bình") is past
    # MAX_PAIRS. The same words, only "Bình" moved to the front: a tie, so
    # the newer comes first. The same move of a word among the first pairs
    # ("Hoạch kế") decides.
    assert ranking.MAX_PAIRS == 10
    add(
        index,
        doc("together", "Kế hoạch cải cách hành chính năm 2024 của xã Khánh Bình", age=2),
        doc("late-apart", "Bình kế hoạch cải cách hành chính năm 2024 của xã Khánh", age=1),
        doc("early-apart", "Hoạch kế cải cách hành chính năm 2024 của xã Khánh Bình", age=0),
    )
    result = search(index, "ke hoach cai cach hanh chinh nam 2024 cua xa khanh binh")
    assert ids(result) == ["late-apart", "together", "early-apart"]
    assert result.hits[0].score == pytest.approx(result.hits[1].score, rel=1e-6)


@pytest.mark.parametrize(
    ("query", "strong", "weak"),
    [
        # Mirror images: each field of one is the other field of the other.
        (
            "khen thuong",
            doc("title", "Khen thưởng tập thể", "Quyết định của Chủ tịch", age=1),
            doc("body", "Quyết định của Chủ tịch", "Khen thưởng tập thể"),
        ),
        (
            "15/KH-UBND",
            doc("numbered", "Kế hoạch cải cách", "Triển khai trong năm.", number_symbol="15/KH-UBND", age=1),
            doc("cites", "Kế hoạch cải cách", "Triển khai 15/KH-UBND.", number_symbol="16/KH-UBND"),
        ),
        (
            "tu phap",
            doc("issued", "Công văn đôn đốc", "Gửi các phòng chuyên môn", issuing_body="Sở Tư pháp", age=1),
            doc("mentions", "Công văn đôn đốc", "Gửi Sở Tư pháp", issuing_body="Sở Nội vụ"),
        ),
    ],
    ids=["title", "number_symbol", "issuing_body"],
)
def test_a_match_in_a_field_clerks_remember_counts_more_than_one_in_the_body(
    index: SearchIndex, query: str, strong: IndexedDocument, weak: IndexedDocument
) -> None:
    add(index, strong, weak)
    assert ids(search(index, query)) == [strong.id, weak.id]


def test_documents_missing_one_word_follow_those_with_every_word(index: SearchIndex) -> None:
    # The clerk types "Cà Mau" but the plan only says "Cà": it still comes,
    # after the documents that have every word, however strong it is. Of
    # three words, one missing is the most a document may lack.
    add(
        index,
        doc("every", "Báo cáo", "Kết quả của tỉnh Cà Mau năm 2020, " + "và các nội dung khác." * 20, age=2),
        doc("one-short", "Tỉnh Cà", "Tỉnh Cà, tỉnh Cà", age=0),
        doc("two-short", "Tỉnh", "Tỉnh, tỉnh", age=0),
    )
    result = search(index, "tinh ca mau")
    assert ids(result) == ["every", "one-short"]
    assert [hit.all_words for hit in result.hits] == [True, False]
    assert (result.total, result.total_all_words, result.total_is_exact) == (2, 1, True)


def test_a_long_query_also_finds_documents_that_hold_half_of_its_words(index: SearchIndex) -> None:
    # Six words: a document holding three of them follows, one holding two
    # does not. Those that hold more rank higher (the newer holds fewer).
    add(
        index,
        doc("every", "Kế hoạch cải cách hành chính năm 2024", age=3),
        doc("five", "Kế hoạch cải cách hành", age=2),
        doc("three", "Kế hoạch cải", age=1),
        doc("two", "Kế hoạch", age=0),
    )
    result = search(index, "ke hoach cai cach hanh chinh")
    assert ids(result) == ["every", "five", "three"]
    assert [hit.all_words for hit in result.hits] == [True, False, False]
    assert (result.total, result.total_all_words) == (3, 1)


def test_a_one_word_query_has_no_second_tier(index: SearchIndex) -> None:
    add(index, doc("has", "Thông báo lịch tiếp công dân"), doc("lacks", "Giấy mời họp"))
    result = search(index, "thong")
    assert ids(result) == ["has"]
    assert (result.total, result.total_all_words) == (1, 1)


def test_a_quoted_phrase_is_one_clause_of_the_tiers(index: SearchIndex) -> None:
    add(
        index,
        doc("both", "Một cửa liên thông tại huyện Quảng Trạch", age=1),
        doc("phrase-only", "Một cửa liên thông tại xã", age=0),
        doc("words-apart", "Liên thông một cửa tại huyện", age=0),
    )
    result = search(index, '"mot cua lien thong" huyen')
    # "words-apart" lacks the phrase and has "huyện": one clause short, second tier.
    assert ids(result) == ["both", "phrase-only", "words-apart"] or ids(result) == ["both", "words-apart", "phrase-only"]
    assert result.total_all_words == 1 and [h.all_words for h in result.hits] == [True, False, False]


def test_when_no_document_has_every_word_those_missing_one_are_the_answer(index: SearchIndex) -> None:
    add(index, doc("a", "Quyết định khen thưởng năm 2023"), doc("b", "Quyết định kỷ luật"))
    result = search(index, "quyet dinh khen thuong 2024")
    assert ids(result) == ["a"]
    assert (result.total, result.total_all_words) == (1, 0)
    assert result.hits[0].all_words is False


def test_equal_documents_go_newest_first_then_by_id(index: SearchIndex) -> None:
    same = "Công văn về việc rà soát thủ tục hành chính"
    add(
        index,
        doc("c", same, age=0),
        doc("b", same, age=0),
        doc("a", same, age=3),
        doc("z", same, created_at=None),
        doc("d", same, age=1),
    )
    assert ids(search(index, "ra soat thu tuc")) == ["b", "c", "d", "a", "z"]


def test_paging_is_stable_across_pages_and_tiers(index: SearchIndex) -> None:
    # Many equal scores, equal creation times and both tiers: every page
    # boundary falls inside a tie group somewhere.
    docs = [doc(f"all-{i:02d}", "Báo cáo cải cách hành chính quý", age=i % 4) for i in range(23)]
    docs += [doc(f"one-{i:02d}", "Báo cáo cải cách hành chính", age=i % 3) for i in range(17)]
    add(index, *docs)
    whole = ids(search(index, "bao cao cai cach hanh chinh quy", per_page=100))
    assert len(whole) == 40 and whole[:23] == sorted(whole[:23], key=lambda i: (int(i[-2:]) % 4, i))
    for per_page in (1, 7, 20):
        assert every_page(index, "bao cao cai cach hanh chinh quy", per_page) == whole


# -------------------------------------------------------------- filters ---


def _register() -> list[IndexedDocument]:
    return [
        doc("jan31", "Công văn cải cách hành chính", doc_date=date(2024, 1, 31), year=2024, issuing_body="Sở Nội vụ",
            doc_type="Công văn", agency_id=1),
        doc("feb01", "Quyết định cải cách hành chính", doc_date=date(2024, 2, 1), year=2024, issuing_body="Sở Nội vụ",
            doc_type="Quyết định", agency_id=2),
        doc("feb29", "Kế hoạch cải cách hành chính", doc_date=date(2024, 2, 29), year=2024,
            issuing_body="Sở Nội vụ tỉnh Cà Mau", doc_type="Kế hoạch", agency_id=2),
        doc("mar01", "Quyết định cải cách hành chính", doc_date=date(2024, 3, 1), year=2024,
            issuing_body="UBND tỉnh Cà Mau", doc_type="Quyết định", agency_id=3),
        doc("undated", "Tài liệu cải cách hành chính", agency_id=1),
    ]


def test_date_range_is_inclusive_at_both_ends(index: SearchIndex) -> None:
    add(index, *_register())
    q = "cai cach"
    assert set(ids(search(index, q, date_from=date(2024, 2, 1), date_to=date(2024, 2, 29)))) == {"feb01", "feb29"}
    assert set(ids(search(index, q, date_from=date(2024, 2, 29)))) == {"feb29", "mar01"}
    assert set(ids(search(index, q, date_to=date(2024, 1, 31)))) == {"jan31"}
    assert set(ids(search(index, q, date_from=date(2024, 2, 1), date_to=date(2024, 2, 1)))) == {"feb01"}
    assert search(index, q, date_from=date(2025, 1, 1)).total == 0


def test_a_reversed_date_range_is_refused_with_a_message(index: SearchIndex) -> None:
    with pytest.raises(InvalidQuery, match="date"):
        search(index, "cai cach", date_from=date(2024, 3, 1), date_to=date(2024, 2, 1))


def test_issuing_body_and_document_type_filter_on_the_exact_value(index: SearchIndex) -> None:
    add(index, *_register())
    assert set(ids(search(index, "cai cach", issuing_body="Sở Nội vụ"))) == {"jan31", "feb01"}
    assert ids(search(index, "cai cach", issuing_body="Sở Nội vụ tỉnh Cà Mau")) == ["feb29"]
    assert search(index, "cai cach", issuing_body="so noi vu").total == 0  # a value, not a search
    assert set(ids(search(index, "cai cach", doc_type="Quyết định"))) == {"feb01", "mar01"}
    assert ids(search(index, "cai cach", doc_type="Quyết định", issuing_body="Sở Nội vụ")) == ["feb01"]
    # The value as a decomposed (NFD) string from some browser is the same value.
    assert set(ids(search(index, "cai cach", doc_type=unicodedata.normalize("NFD", "Quyết định")))) == {"feb01", "mar01"}


def test_one_agency_is_chosen_inside_the_permission_never_beyond_it(index: SearchIndex) -> None:
    add(index, *_register())
    assert set(ids(search(index, "cai cach", agency_id=2))) == {"feb01", "feb29"}
    assert set(ids(search(index, "cai cach", agency_id=2, agency_ids=frozenset({1, 2})))) == {"feb01", "feb29"}
    assert search(index, "cai cach", agency_id=3, agency_ids=frozenset({1, 2})).total == 0


def test_hits_carry_issuing_body_and_document_date(index: SearchIndex) -> None:
    add(index, *_register())
    (hit,) = search(index, "ke hoach cai cach").hits
    assert (hit.issuing_body, hit.doc_date, hit.all_words) == ("Sở Nội vụ tỉnh Cà Mau", date(2024, 2, 29), True)


# ----------------------------------------------------------------- sort ---


def test_sort_by_date_newest_or_oldest_with_undated_last(index: SearchIndex) -> None:
    add(index, *_register())
    assert ids(search(index, "cai cach", sort="newest")) == ["mar01", "feb29", "feb01", "jan31", "undated"]
    assert ids(search(index, "cai cach", sort="oldest")) == ["jan31", "feb01", "feb29", "mar01", "undated"]


def test_sort_by_date_keeps_documents_with_every_word_first(index: SearchIndex) -> None:
    add(
        index,
        doc("old-every", "Kế hoạch cải cách hành chính", doc_date=date(2019, 1, 1)),
        doc("new-short", "Kế hoạch cải cách hành", doc_date=date(2024, 1, 1)),
        doc("mid-every", "Cải cách hành chính, kế hoạch", doc_date=date(2021, 1, 1)),
    )
    assert ids(search(index, "ke hoach cai cach hanh chinh", sort="newest")) == ["mid-every", "old-every", "new-short"]
    assert ids(search(index, "ke hoach cai cach hanh chinh", sort="oldest")) == ["old-every", "mid-every", "new-short"]


def test_sort_by_date_breaks_ties_by_creation_then_id(index: SearchIndex) -> None:
    day = date(2024, 5, 5)
    add(
        index,
        doc("b", "Thông báo", doc_date=day, age=1),
        doc("a", "Thông báo", doc_date=day, age=1),
        doc("c", "Thông báo", doc_date=day, age=0),
    )
    assert ids(search(index, "thong bao", sort="newest")) == ["c", "a", "b"]
    assert ids(search(index, "thong bao", sort="oldest")) == ["a", "b", "c"]
    assert every_page(index, "thong bao", 1, sort="newest") == ["c", "a", "b"]


def test_an_unknown_sort_is_refused(index: SearchIndex) -> None:
    with pytest.raises(InvalidQuery, match="sort"):
        search(index, "cai cach", sort="random")


@pytest.mark.parametrize("field", ["issuing_body", "doc_type", "kind"])
def test_a_filter_value_longer_than_any_register_field_is_refused(index: SearchIndex, field: str) -> None:
    # Anything a user sends in a URL: bounded before it reaches the engine
    # (Elasticsearch refuses terms over 32 KB with a server error).
    add(index, doc("a", "Cải cách"))
    assert search(index, "cai cach", **{field: "x" * 500}).total == 0
    with pytest.raises(InvalidQuery, match="too long"):
        search(index, "cai cach", **{field: "x" * 501})


# --------------------------------------------------------------- facets ---


def test_facets_count_the_documents_with_every_word_under_every_filter(index: SearchIndex) -> None:
    add(
        index,
        *_register(),
        doc("short", "Cải cách hành", year=2023, issuing_body="Sở Nội vụ", kind="outgoing"),  # second tier
        doc("other", "Giấy mời họp", year=2024, issuing_body="Sở Nội vụ"),  # no match
    )
    result = search(index, "cai cach hanh chinh", facets=True)
    assert set(result.facets) == set(FACET_FIELDS)
    assert result.facets["kind"] == [FacetCount("incoming", 5)]
    assert result.facets["year"] == [FacetCount(2024, 4)]  # the undated one has no year
    assert result.facets["issuing_body"] == [
        FacetCount("Sở Nội vụ", 2),  # most frequent first, then by value
        FacetCount("Sở Nội vụ tỉnh Cà Mau", 1),
        FacetCount("UBND tỉnh Cà Mau", 1),
    ]
    assert result.facets["doc_type"] == [FacetCount("Quyết định", 2), FacetCount("Công văn", 1), FacetCount("Kế hoạch", 1)]
    assert result.facets["agency_id"] == [FacetCount(1, 2), FacetCount(2, 2), FacetCount(3, 1)]
    narrowed = search(index, "cai cach hanh chinh", facets=True, agency_ids=frozenset({2, 3}), doc_type="Quyết định")
    assert narrowed.facets["agency_id"] == [FacetCount(2, 1), FacetCount(3, 1)]
    assert narrowed.facets["issuing_body"] == [FacetCount("Sở Nội vụ", 1), FacetCount("UBND tỉnh Cà Mau", 1)]


def test_facets_count_the_second_tier_when_no_document_has_every_word(index: SearchIndex) -> None:
    add(index, doc("a", "Cải cách hành chính", year=2022), doc("b", "Cải cách thể chế", year=2023))
    result = search(index, "cai cach hanh chinh 2099", facets=True)
    assert result.total_all_words == 0 and ids(result) == ["a"]
    assert result.facets["year"] == [FacetCount(2022, 1)]


def test_facets_are_only_computed_when_asked_and_list_at_most_facet_size_values(index: SearchIndex) -> None:
    docs = [doc(f"d{i:02d}", "Báo cáo tháng", issuing_body=f"Phòng {i % 25:02d}", age=i) for i in range(50)]
    add(index, *docs)
    assert search(index, "bao cao").facets == {}
    bodies = search(index, "bao cao", facets=True).facets["issuing_body"]
    assert len(bodies) == FACET_SIZE
    assert bodies == [FacetCount(f"Phòng {i:02d}", 2) for i in range(FACET_SIZE)]  # ties by value


# --------------------------------------------------------------- totals ---


def test_totals_count_both_tiers_and_say_they_are_exact(index: SearchIndex) -> None:
    docs = [doc(f"e{i}", "Kế hoạch cải cách hành chính") for i in range(6)]
    docs += [doc(f"s{i}", "Kế hoạch cải cách") for i in range(4)]
    add(index, *docs)
    for exact in (False, True):
        result = search(index, "ke hoach cai cach hanh", per_page=3, exact_total=exact)
        assert (result.total, result.total_all_words, result.total_is_exact) == (10, 6, True)
        assert len(result.hits) == 3
    assert [h.all_words for h in search(index, "ke hoach cai cach hanh", page=3, per_page=3).hits] == [False] * 3


def test_past_the_cap_the_total_says_more_than_unless_asked_for_exact(index: SearchIndex) -> None:
    extra = 7
    docs = (doc(f"n{i:05d}", "Thông báo", created_at=None) for i in range(TOTAL_CAP + extra))
    index.index(docs)
    index.refresh()
    capped = search(index, "thong bao")
    assert (capped.total, capped.total_all_words, capped.total_is_exact) == (TOTAL_CAP, TOTAL_CAP, False)
    exact = search(index, "thong bao", exact_total=True)
    assert (exact.total, exact.total_all_words, exact.total_is_exact) == (TOTAL_CAP + extra,) * 2 + (True,)
    # A second tier past the cap: the first tier is still counted exactly.
    index.index([doc("full", "Thông báo khẩn")])
    index.refresh()
    relaxed = search(index, "thong bao khan")
    assert (relaxed.total, relaxed.total_all_words, relaxed.total_is_exact) == (TOTAL_CAP, 1, False)
    assert ids(relaxed)[0] == "full"


def test_a_second_tier_past_the_cap_says_more_than_whichever_words_its_documents_hold(index: SearchIndex) -> None:
    # The second tier passes the cap both where its documents share the two
    # commonest words and where no one pair of words holds that many.
    one, other, every = TOTAL_CAP * 6 // 10, TOTAL_CAP // 2, 30
    docs = [doc(f"t{i:05d}", "Thông khẩn", created_at=None) for i in range(one)]
    docs += [doc(f"b{i:05d}", "Báo khẩn", created_at=None) for i in range(other)]
    docs += [doc(f"e{i:02d}", "Thông báo khẩn") for i in range(every)]
    index.index(docs)
    index.refresh()
    for text, first in (("thong bao khan", every), ("thong khan", one + every)):
        capped = search(index, text)
        assert (capped.total, capped.total_all_words, capped.total_is_exact) == (TOTAL_CAP, first, False), text
        assert set(ids(capped)) <= {f"e{i:02d}" for i in range(every)} | {f"t{i:05d}" for i in range(one)}
        exact = search(index, text, exact_total=True)
        assert (exact.total, exact.total_all_words, exact.total_is_exact) == (one + other + every, first, True), text
        assert ids(exact) == ids(capped)


# -------------------------------------------------------------- rebuild ---


def test_searches_use_the_live_index_while_a_rebuild_runs_and_the_new_one_after(index: SearchIndex) -> None:
    add(index, doc("kept", "Kế hoạch năm 2024"), doc("stale", "Kế hoạch cũ đã xóa khỏi cơ sở dữ liệu"))
    build = index.rebuild()
    assert build.resume_after is None
    build.add([doc("kept", "Kế hoạch năm 2024 (bản mới)"), doc("more", "Kế hoạch bổ sung")])
    index.refresh()
    assert set(ids(search(index, "ke hoach"))) == {"kept", "stale"}  # still the live one
    build.finish()
    index.refresh()
    assert set(ids(search(index, "ke hoach"))) == {"kept", "more"}
    assert index.count() == 2


def test_writes_during_a_rebuild_survive_the_swap(index: SearchIndex) -> None:
    add(index, doc("a", "Quyết định số 1"), doc("b", "Quyết định số 2"))
    build = index.rebuild()
    build.add([doc("a", "Quyết định số 1")])
    add(index, doc("new", "Quyết định số 3"))  # a clerk registers a document meanwhile
    index.delete(["b"])  # and another is deleted
    index.refresh()
    assert set(ids(search(index, "quyet dinh"))) == {"a", "new"}  # at once, in the live index
    build.finish()
    index.refresh()
    assert set(ids(search(index, "quyet dinh"))) == {"a", "new"}


def test_an_interrupted_rebuild_resumes_after_the_last_document_it_wrote(
    index: SearchIndex, reopen: Callable[[], SearchIndex]
) -> None:
    add(index, doc("a", "Báo cáo tháng 1"))
    build = index.rebuild()
    build.add([doc("a", "Báo cáo tháng 1"), doc("b", "Báo cáo tháng 2")])
    # The process dies here; a new one (docsvc reindex again) picks it up.
    again = reopen()
    resumed = again.rebuild()
    assert resumed.resume_after == "b"
    resumed.add([doc("c", "Báo cáo tháng 3")])
    resumed.finish()
    again.refresh()
    assert set(ids(search(again, "bao cao"))) == {"a", "b", "c"}
    index.refresh()
    assert set(ids(search(index, "bao cao"))) == {"a", "b", "c"}  # the first object sees the swap too


def test_an_aborted_rebuild_leaves_the_live_index_untouched(index: SearchIndex) -> None:
    add(index, doc("live", "Tờ trình phê duyệt"))
    build = index.rebuild()
    build.add([doc("other", "Tờ trình khác")])
    build.abort()
    index.refresh()
    assert ids(search(index, "to trinh")) == ["live"]
    fresh = index.rebuild()
    assert fresh.resume_after is None  # the next build starts afresh
    fresh.abort()


# ------------------------------------------------------------- versions ---


def test_versions_list_every_entry_with_the_stamp_it_was_built_from(index: SearchIndex) -> None:
    add(index, doc("a", "Một", version="2024-03-01T08:00:00"), doc("b", "Hai", version="v7"), doc("c", "Ba"))
    assert sorted(index.versions()) == [("a", "2024-03-01T08:00:00"), ("b", "v7"), ("c", "")]
    add(index, doc("a", "Một (sửa)", version="2024-03-02T09:00:00"))
    index.delete(["c"])
    index.refresh()
    assert sorted(index.versions()) == [("a", "2024-03-02T09:00:00"), ("b", "v7")]


def test_versions_stream_a_larger_index(index: SearchIndex) -> None:
    docs = [doc(f"doc-{i:04d}", "Văn bản", version=f"v{i}") for i in range(2500)]
    index.index(docs)
    index.refresh()
    listed = index.versions()
    assert not isinstance(listed, list | set | tuple)  # streamed, not built in memory
    assert sorted(listed) == sorted((d.id, d.version) for d in docs)
