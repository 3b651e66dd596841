"""Every time read from the database is an aware UTC datetime, on SQLite
(which keeps no zone) as on PostgreSQL (which answers in the session's
zone), and a time without a zone is refused on write."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import DateTime, select
from sqlalchemy.exc import StatementError

from docsvc import accounts
from docsvc.column_types import UtcDateTime
from docsvc.localtime import VIETNAM
from docsvc.models import ApiToken, Base, User, utcnow


def test_every_timestamp_column_is_aware_utc():
    columns = [column for table in Base.metadata.tables.values() for column in table.columns
               if isinstance(column.type, DateTime) or isinstance(getattr(column.type, "impl", None), DateTime)]
    assert len(columns) > 20
    assert [f"{c.table.name}.{c.name}" for c in columns if not isinstance(c.type, UtcDateTime)] == []


def test_times_read_back_are_aware_utc_and_the_same_instant(rt):
    in_vietnam = datetime(2026, 3, 15, 6, 30, tzinfo=VIETNAM)  # 23:30 UTC the day before
    with rt.write() as session:
        admin = session.scalar(select(User).where(User.role == "admin"))
        token, row = accounts.issue_token_record(session, admin, "laptop", days=30)
        row.revoked_at = in_vietnam
        token_id = row.id

    with rt.read() as session:
        row = session.get(ApiToken, token_id)
        for moment in (row.created_at, row.expires_at, row.revoked_at):
            assert moment.tzinfo is UTC
        assert row.revoked_at == in_vietnam
        assert row.revoked_at.isoformat() == "2026-03-14T23:30:00+00:00"
        assert abs(row.created_at - utcnow()) < timedelta(minutes=5)
        assert row.expires_at - row.created_at == timedelta(days=30)


def test_a_naive_time_is_refused_on_write(rt):
    with pytest.raises(StatementError, match="naive datetime cannot be stored"), rt.write() as session:
        admin = session.scalar(select(User).where(User.role == "admin"))
        _, row = accounts.issue_token_record(session, admin, "laptop", days=30)
        row.revoked_at = datetime(2026, 3, 15, 6, 30)
        session.flush()
