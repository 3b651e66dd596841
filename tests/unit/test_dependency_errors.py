"""Which dependency an error reports: what turns a traceback into a 503
that names the database, the storage, search or the broker."""
from __future__ import annotations

import elastic_transport
import pytest
import redis
import sqlalchemy.exc
import urllib3

from docsvc.outages import DATABASE, ESSENTIAL, DependencyDown, dependency_of
from docsvc.web.i18n import error_messages


def _raised_from(outer: Exception, inner: Exception) -> Exception:
    try:
        try:
            raise inner
        except Exception as exc:
            raise outer from exc
    except Exception as exc:
        return exc


@pytest.mark.parametrize(("error", "dependency"), [
    (sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("connection refused")), "database"),
    (sqlalchemy.exc.TimeoutError("QueuePool limit reached"), "database"),
    (urllib3.exceptions.MaxRetryError(None, "/docsvc/sha256/ab", reason="refused"), "storage"),
    (urllib3.exceptions.ReadTimeoutError(None, "/docsvc", "read timed out"), "storage"),
    (elastic_transport.ConnectionError("refused"), "search"),
    (elastic_transport.ConnectionTimeout("timed out"), "search"),
    (redis.exceptions.ConnectionError("refused"), "broker"),
    (redis.exceptions.TimeoutError("timed out"), "broker"),
    # wrapped by the code that met it, the cause still tells
    (_raised_from(RuntimeError("could not store"), urllib3.exceptions.NewConnectionError(None, "refused")), "storage"),
])
def test_an_outage_is_told_by_its_dependency(error, dependency):
    assert dependency_of(error) == dependency


@pytest.mark.parametrize("error", [ValueError("bad"), KeyError("x"), sqlalchemy.exc.IntegrityError("INSERT", {}, Exception()),
                                   redis.exceptions.ResponseError("WRONGTYPE")])
def test_our_own_faults_are_not_outages(error):
    # a bug stays a 500 with its traceback in the log, never disguised as a 503
    assert dependency_of(error) is None


def test_each_outage_has_a_code_a_status_and_a_vietnamese_text():
    texts = error_messages("vi")
    for dependency in ("database", "storage", "search", "broker"):
        down = DependencyDown(dependency)
        assert (down.code, down.http_status) == (f"{dependency}_unavailable", 503) and down.retry_after
        assert down.code in texts
    assert DATABASE in ESSENTIAL
