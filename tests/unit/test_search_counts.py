"""What the search page's count line says, in both languages, once the index
stopped counting at search.TOTAL_CAP."""
from __future__ import annotations

import pytest
from flask import Flask, g

from docsvc.presenters import Count, search_counts
from docsvc.web.i18n import count_text, number
from search import TOTAL_CAP, SearchResult


@pytest.fixture(params=["vi", "en"])
def lang(request):
    with Flask(__name__).app_context():
        g.lang = request.param
        yield request.param


def test_exact_counts_split_into_the_two_tiers():
    counts = search_counts(SearchResult(total=12, hits=[], total_all_words=4))
    assert (counts.total, counts.all_words, counts.fewer_words) == (Count(12), Count(4), Count(8))
    single = search_counts(SearchResult(total=3, hits=[], total_all_words=3))
    assert single.fewer_words == Count(0)  # no second tier: nothing said about it


def test_past_the_cap_what_is_not_the_first_tier_is_more_than_the_rest():
    counts = search_counts(SearchResult(total=TOTAL_CAP, hits=[], total_all_words=3000, total_is_exact=False))
    assert counts.total == Count(TOTAL_CAP, exact=False)
    assert counts.all_words == Count(3000)  # under the cap: still counted exactly
    assert counts.fewer_words == Count(TOTAL_CAP - 3000, exact=False)
    common = search_counts(SearchResult(total=TOTAL_CAP, hits=[], total_all_words=TOTAL_CAP, total_is_exact=False))
    assert common.all_words == Count(TOTAL_CAP, exact=False)


def test_counts_are_written_as_people_write_them(lang):
    written = {"vi": ("10.000", "hơn 10.000", "1.234.567"), "en": ("10,000", "more than 10,000", "1,234,567")}
    assert (count_text(Count(10_000)), count_text(Count(10_000, exact=False)), number(1_234_567)) == written[lang]
    assert count_text(Count(7)) == "7"
