"""The reform figures' months and how a share is written and drawn: pure
functions, no installation."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

import pytest

from docsvc.errors import InvalidInput
from docsvc.reform import figures
from docsvc.reform.charts import Bar, share_chart
from docsvc.reform.exports import percent

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def on_2_march_2026(monkeypatch):
    monkeypatch.setattr(figures, "today", lambda: date(2026, 3, 2))


def test_the_default_is_the_last_twelve_months_across_new_year(on_2_march_2026):
    months = figures.parse_months(None, "")
    assert months[0] == (2025, 4) and months[-1] == (2026, 3) and len(months) == 12


def test_one_end_given_gives_twelve_months_from_or_to_it(on_2_march_2026):
    assert figures.parse_months("2025-11", None)[-1] == (2026, 10)
    assert figures.parse_months(None, "2025-02")[0] == (2024, 3)
    # A date counts as its month, as the incoming report's period is written.
    assert figures.parse_months("2025-12-31", "2026-01-01") == [(2025, 12), (2026, 1)]


@pytest.mark.parametrize("start, end", [("2026-13", None), ("tháng 3", None), ("2026-05", "2026-01"),
                                        ("2019-01", "2026-01"), ("3001-01", None)])
def test_a_month_that_is_not_one_is_refused(on_2_march_2026, start, end):
    with pytest.raises(InvalidInput):
        figures.parse_months(start, end)


def test_shares_are_written_as_people_write_them():
    assert (percent(2 / 3, "vi"), percent(2 / 3, "en"), percent(1.0, "vi")) == ("66,7%", "66.7%", "100%")
    assert percent(None, "vi") == "chưa có số liệu"


def test_the_chart_has_a_bar_slot_per_month_and_no_bar_where_nothing_was_counted():
    bars = [Bar("01/2026", 0.5, "Tháng 01/2026: 1/2 (50%)", "50%"), Bar("02/2026", None, "Tháng 02/2026: 0/0", "")]
    root = ET.fromstring(share_chart("chart-x", "Văn bản <đến>", "mô tả & số liệu", bars))
    assert root.get("role") == "img" and root.get("aria-labelledby") == "chart-x-title chart-x-desc"
    assert root.find(f"{SVG}title").text == "Văn bản <đến>"  # escaped in the markup, read back whole
    slots = root.findall(f"{SVG}g")
    assert [g.find(f"{SVG}title").text for g in slots] == [b.title for b in bars]
    assert [len(g.findall(f"{SVG}rect")) for g in slots] == [1, 0]
