"""Faults during a working day, on the scaled profile with real processes:
bench/load.py --faults, at a small size with short outages, on services of
its own (tests/private_services.py; the shared ones are never stopped).

While clerks upload and register, a leader batch-signs, the văn thư issues,
citizens verify and staff search, over real HTTP to two gunicorn processes
with two Celery workers and beat: a worker and a web process are killed
with SIGKILL, Redis restarts, MinIO, Elasticsearch and PostgreSQL are each
stopped for a few seconds. During each fault every answer is a success or a
503 in the one error shape naming the dependency, never a 500, and none
hangs until the client gives up (20 s). Afterwards, with nobody restarting
anything, the work resumes by itself and everything reconciles: every
accepted upload processed (or failed with a reason, its original kept),
`docsvc check` clean (rows, objects and index entries one to one, each
register book 1..N without gap or repeat, the audit chain).

The bench measures its speed too; nothing here looks at it."""
from __future__ import annotations

import pytest

from tests.bench.conftest import run_bench

# Seconds: an answer later than this is a hang. Issuing (a B-LTA seal with
# its time-stamp and revocation data) alone takes 17 s at the median on the
# busy 2-core machine under this load; 20 s cut honest answers.
CLIENT_TIMEOUT = 60
OUTAGE = "5"
UNAVAILABLE = {  # the dependency each fault takes away, as a 503's code names it
    "restart Redis": {"broker_unavailable"},
    "stop MinIO": {"storage_unavailable"},
    "stop Elasticsearch": {"search_unavailable"},
    "stop PostgreSQL": {"database_unavailable"},
}


@pytest.fixture(scope="module")
def day():
    run = run_bench("load.py", "--faults", "--seconds", "0", "--baseline-rounds", "1", "--clerks", "2",
                    "--citizens", "1", "--pdf-mb", "1", "--scan-every", "8", "--minio-outage", OUTAGE,
                    "--es-outage", OUTAGE, "--pg-outage", OUTAGE, "--fault-gap", "5",
                    "--timeout", str(CLIENT_TIMEOUT), "--settle-timeout", "420", "--exit-zero", timeout=1500)
    return run.result()


@pytest.mark.timeout(1600)  # a busy 2-core machine: setup, faults and settling take 10 minutes or more
def test_during_each_fault_answers_are_quick_503s_in_the_one_shape(day):
    windows = {w["fault"]: w for w in day["faults"]}
    assert list(windows) == ["kill -9 a Celery worker", "kill -9 a web process", "restart Redis", "stop MinIO",
                             "stop Elasticsearch", "stop PostgreSQL"]
    for name, window in windows.items():
        assert window["answers"] > 0, name
        assert window["server_errors"] == [] and window["unshaped_errors"] == [], window
        assert window["timeouts"] == [] and window["max_ms"] < CLIENT_TIMEOUT * 1000, window
        # A 503 names a dependency (a request spanning two faults may name the other one's).
        assert set(window["codes_503"]) <= set().union(*UNAVAILABLE.values()), window
    # The ones that take a dependency many requests need were felt, and named.
    for name in ("stop MinIO", "stop Elasticsearch", "stop PostgreSQL"):
        assert set(windows[name]["codes_503"]) & UNAVAILABLE[name], windows[name]
    # gunicorn's master replaced the web process that was killed.
    assert day["web_processes_end"] == 2


@pytest.mark.timeout(1600)  # a busy 2-core machine: setup, faults and settling take 10 minutes or more
def test_after_the_faults_everything_reconciles(day):
    reconciliation = day["reconciliation"]
    uploads = reconciliation["uploads"]
    assert uploads["accepted"] > 0 and uploads["ready"] > 0, uploads
    # Every accepted upload ended processed, or failed with a reason and its original kept.
    assert uploads["missing"] == [] and uploads["unfinished"] == [], uploads
    assert uploads["failed_without_reason"] == [] and uploads["without_original"] == [], uploads
    assert uploads["ready"] + uploads["failed"] == uploads["accepted"], uploads
    assert reconciliation["settle"]["outbox_pending"] == 0, reconciliation["settle"]
    # docsvc check: rows, objects and index entries one to one, registers 1..N, the audit chain.
    check = reconciliation["check"]
    # A request that stored an object and then failed while the database was
    # down (or whose process was killed) leaves it without a row; the orphan
    # sweep (grace 0: the load is over) removed them before the check.
    assert "error" not in reconciliation["swept"] and not reconciliation["swept"]["skipped"], reconciliation["swept"]
    assert reconciliation["check_exit"] == 0 and check["ok"] and check["found"] == {}, check
    assert check["checked"]["registers"] == sum(book["entries"] for book in reconciliation["books"]) > 0
    for book in reconciliation["books"]:
        assert book["entries"] == book["highest"], book
    assert day["problems"] == [], day["problems"]
