"""Pages speak Vietnamese first, English second, and show Vietnam's time."""
from __future__ import annotations

from datetime import UTC, datetime

from docsvc.errors import DocsvcError
from docsvc.web.i18n import MESSAGES, error_messages, local_time


def test_every_text_exists_in_both_languages():
    for key, texts in MESSAGES.items():
        assert set(texts) == {"vi", "en"} and all(texts.values()), key


def test_every_error_a_user_can_cause_has_a_vietnamese_text():
    codes = {cls.code for cls in _subclasses(DocsvcError)}
    assert codes <= set(error_messages("vi")), codes - set(error_messages("vi"))


def test_times_are_shown_in_vietnam_time():
    # 17:30 UTC on 31 December is already New Year's Day in Hà Nội.
    assert local_time(datetime(2026, 12, 31, 17, 30, tzinfo=UTC)) == "01/01/2027 00:30"
    assert local_time(datetime(2026, 12, 31, 17, 30)) == "01/01/2027 00:30"  # naive = UTC (SQLite)


def test_a_signature_time_from_a_report_reads_as_a_date_not_iso():
    # verification reports carry ISO 8601 strings; the page shows them as dates
    assert local_time("2026-12-01T09:05:07+07:00", "%d/%m/%Y %H:%M:%S") == "01/12/2026 09:05:07"
    assert local_time("2026-12-01T02:05:07+00:00") == "01/12/2026 09:05"
    assert local_time(None) == local_time("") == ""


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)
