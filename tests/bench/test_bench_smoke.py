"""Every benchmark of bench/ still runs: each script, as a real process, at
a tiny size, against the real services, every variant and mode it has. A
test passes when the script ends well and what it checks itself holds
(verification verdicts, uploads really stored, no fuzz finding); the
figures it measures are not looked at, timing belongs to the benchmarks.

Covered elsewhere, by the scripts' own code: bench/search.py by
tests/search/test_search_bench.py (bench_backend and the report, both
backends) and bench/api_fuzz.py by tests/fuzz/test_api_schema.py (the
script as a process, on the embedded profile; the scaled installation it
would make is verify_ecopy.py's, run here on both profiles).
"""
from __future__ import annotations

import re

import pytest

SIGNER = "Nguyễn Văn An"  # the development PKI's official, bench/sign_throughput.py's signer

VERIFY_ECOPY = ("--ecopies", "1", "--concurrency", "1", "--seconds", "0.5", "--repeat", "1", "--limiter-seconds", "1")
# Two clients, one request in two hostile: the first client starts with an
# honest file and the second with a hostile one, so that both kinds are sent
# however few requests a busy machine fits in the run.
VERIFY_LOAD = ("--concurrency", "2", "--seconds", "1", "--ecopies", "1", "--hostile-every", "2")
# --slow above --timeout: a parse child's first input takes seconds on a busy
# machine, which would count as a finding of so short a run.
FUZZ = ("fuzz.py", "--seconds", "2", "--seed", "1", "--timeout", "120", "--slow", "600")
# tests/search/test_relevance_set.py scores the set on both backends with the
# rules as they are; this is the script around it: a variant that changes a
# rule, one tried from the command line, the report of every query.
RELEVANCE = ("relevance.py", "--backends", "tantivy", "--variants", "all rules,no proximity",
             "--try", "EXACT_BOOST=1", "--per-query")

# Each run at its tiny size, named as the tests below ask for it. They start
# in this order, two at a time (tests/bench/conftest.py), and the tests come
# in the same order, so that none waits long for runs not its own: the
# longest first, and two runs of one script never side by side (a script
# names its results by the second it started in).
RUNS: dict[str, tuple[str, ...]] = {
    "ocr": ("ocr.py", "--docs", "1", "--pages", "1"),
    # Without faults, on the shared services (tests/integration/test_faults_under_load.py runs --faults).
    "load": ("load.py", "--seconds", "5", "--baseline-rounds", "1", "--clerks", "1", "--citizens", "1",
             "--pdf-mb", "0.5", "--scan-every", "0", "--settle-timeout", "300"),
    "upload": ("upload.py", "--size-mb", "1", "--repeat", "1", "--profile"),
    "verify_load/scaled": ("verify_load.py", "--profile", "scaled", *VERIFY_LOAD),
    "verify_ecopy/scaled": ("verify_ecopy.py", "--profile", "scaled", *VERIFY_ECOPY),
    "verify_load/embedded": ("verify_load.py", "--profile", "embedded", *VERIFY_LOAD),
    "verify_ecopy/embedded": ("verify_ecopy.py", "--profile", "embedded", *VERIFY_ECOPY),
    "fuzz": FUZZ,
    "signing": ("sign_throughput.py", "--docs", "1", "--repeat", "1", "--min-seconds", "0",
                "--levels", "B-B,B-T,B-LTA", "--profile-docs", "1"),
    "ocr_memory": ("ocr_memory.py", "1"),
    "slow_clients/head": ("slow_clients.py", "--connections", "2", "--samples", "2", "--kind", "head"),
    "parse_overhead": ("parse_overhead.py", "--runs", "2"),
    "slow_clients/body": ("slow_clients.py", "--connections", "2", "--samples", "2", "--kind", "body"),
    "relevance": RELEVANCE,
}


@pytest.mark.parametrize("bench", ["ocr"], indirect=True)
def test_ocr_every_variant_reads_the_scan(bench):
    result = bench.result()
    # A variant that failed, or a pipeline whose stored text is not OCR text, is a problem the bench names.
    assert result["problems"] == {}, result["problems"]
    assert sorted(result["summary"]) == ["docsvc", "pipeline", "raw"]
    assert all(s["cer"] is not None for s in result["summary"].values())


@pytest.mark.parametrize("bench", ["load"], indirect=True)
def test_load_runs_a_working_day_and_reconciles(bench):
    result = bench.result()
    assert result["problems"] == [] and result["reconciliation"]["ok"], result["problems"]
    endpoints = result["endpoints"]
    # Every step of the day was taken unloaded, one at a time, for the floor.
    for endpoint in ("POST /documents (pdf)", "POST /documents/{id}/register", "POST /signing-jobs",
                     "POST /documents/{id}/issue", "GET /ecopies/{code}", "POST /verify", "GET /search"):
        assert endpoints[endpoint]["baseline"]["requests"] >= 1, endpoint
    assert result["reconciliation"]["issued"] >= 1 and result["reconciliation"]["registered"] >= 1
    assert "| GET /search |" in bench.stdout and "reconciliation: ok" in bench.stdout


@pytest.mark.parametrize("bench", ["upload"], indirect=True)
def test_upload_every_variant_stores_the_file(bench):
    result = bench.result()
    by_variant = {r["variant"]: r for r in result["runs"]}
    assert sorted(by_variant) == sorted(["raw", "raw_fput", "service", "ingest", "http", "http_digest"])
    assert by_variant["http"]["status"] == by_variant["http_digest"]["status"] == 202
    for variant in ("service", "ingest", "http", "http_digest"):
        assert by_variant[variant]["document_id"], variant
    # Each repetition uploads for real (no deduplication): one stored version removed after it.
    for variant in ("service", "http", "http_digest"):
        assert by_variant[variant]["versions_removed"] == 1, variant
    assert "throughput / raw:" in bench.stdout and "where the time goes" in bench.stdout
    assert "inspect_pdf" in result["profile"]


@pytest.mark.parametrize("bench", ["verify_load/scaled", "verify_load/embedded"], indirect=True)
def test_verify_load_answers_honest_files_valid_and_hostile_ones_invalid(bench):
    result = bench.result()
    assert set(result["baseline"]["verify_pdf"]["verdicts"]) == {"valid"}
    (level,) = result["levels"]
    honest, hostile = level["verify"]["honest"], level["verify"]["hostile"]
    assert honest["requests"] >= 1 and honest["valid"] == honest["requests"], honest
    assert hostile["requests"] >= 1, hostile
    # Every hostile file gets a verdict, not a server error or a timeout (bench/README.md).
    answers = {answer for entry in hostile["by_file"].values() for answer in entry["answers"]}
    assert answers == {"200 invalid"}, hostile["by_file"]
    assert level["server_alive"] and level["health"]["failures"] == 0, level["health"]
    assert re.search(r"^\| 2 \| ", bench.stdout, re.MULTILINE)


@pytest.mark.parametrize("bench", ["verify_ecopy/scaled", "verify_ecopy/embedded"], indirect=True)
def test_verify_ecopy_answers_valid_by_code_and_by_file(bench):
    result = bench.result()
    runs = result["runs"]
    for name in ("inproc/verify_pdf", "inproc/signatures", "inproc/lookup"):
        (r,) = runs[name]
        assert r["docs"] >= 1 and set(r["verdicts"]) == {"valid"}, (name, r)
    for name in ("health/1", "code/1", "file/1"):
        (r,) = runs[name]
        # The limiter is lifted for these runs: every request answered, and answered right.
        assert r["requests"] >= 1 and r["ok"] == r["requests"], (name, r)
        assert r["wrong_answers"] == 0 and r["connection_errors"] == 0, (name, r)
    limiter = result["limiter"]["run"]
    assert set(limiter["statuses"]) <= {"200", "429"} and limiter["wrong_answers"] == 0, limiter
    assert limiter["ok"] <= result["limiter"]["expected_allowed"], result["limiter"]
    assert "| (b) POST /api/v1/verify (raw body) | 1 |" in bench.stdout


@pytest.mark.parametrize("bench", ["fuzz"], indirect=True)
def test_fuzz_finds_nothing_in_a_short_run_of_every_target(bench):
    result = bench.result()
    targets = {r["target"]: r for r in result["results"]}
    assert sorted(targets) == sorted(["intake", "inspect_pdf", "page_texts", "verify", "ecopy_code", "suggest"])
    for name, r in targets.items():
        assert r["inputs"] >= 1, name
        assert r["findings"] == [], (name, [(f["kind"], f["signature"]) for f in r["findings"]])


@pytest.mark.parametrize("bench", ["signing"], indirect=True)
def test_signing_every_variant_and_level_gives_signatures_that_verify(bench):
    result = bench.result()
    checks = result["checks"]
    levels = [f"{way}_{level}" for level in ("B-T", "B-LTA") for way in ("before", "docsvc", "batch")]
    variants = ["naive", "docsvc", "proto_asn1fix", "proto_template", *levels]
    assert sorted(checks) == sorted(f"{v}/{pages}" for v in variants for pages in (1, 50))
    for name, check in checks.items():
        variant = name.split("/")[0]
        level = variant.split("_", 1)[1] if variant in levels else "B-B"
        # With the development OCSP/CRL answering, every signature of every variant is valid.
        assert check["online"] == {f"valid / 1 / True / {level} / {SIGNER} / good": 1}, name
        # Offline (nothing fetched), only B-LTA carries its revocation data; none is ever invalid.
        if level == "B-LTA":
            offline = f"valid / 1 / True / B-LTA / {SIGNER} / good"
        else:
            offline = f"indeterminate / 1 / True / {level} / {SIGNER} / unknown"
        assert check["offline"] == {offline: 1}, name
    assert "| batch_B-LTA | 50 |" in bench.stdout and "verify_offline_stock_asn1crypto" in bench.stdout
    assert "| B-LTA | 50 | batch_B-LTA |" in bench.stdout and "B-LTA offline verification, 1 p:" in bench.stdout
    assert {"docsvc/1", "verify_offline/50", "docsvc_B-T/1", "verify_lta_offline_before/1"} <= set(result["profiles"])


@pytest.mark.parametrize("bench", ["ocr_memory"], indirect=True)
def test_ocr_memory_reports_a_scan(bench):
    assert re.search(r"^\{'pages': 1, 'seconds': [\d.]+, 'peak_rss_mib': [1-9]\d*, ", bench.stdout, re.MULTILINE), \
        bench.stdout


@pytest.mark.parametrize("bench", ["slow_clients/head", "slow_clients/body"], indirect=True)
def test_slow_clients_leave_health_answering(bench):
    kind = bench.command.rsplit(" ", 1)[1]
    assert re.search(r"^unloaded: p50 [\d.]+ ms", bench.stdout, re.MULTILINE), bench.stdout
    assert re.search(rf"^2 slow \({kind}\): p50 [\d.]+ ms.*; cut by the server meanwhile: \d of 2$", bench.stdout,
                     re.MULTILINE), bench.stdout
    assert "timed out" not in bench.stdout


@pytest.mark.parametrize("bench", ["parse_overhead"], indirect=True)
def test_parse_overhead_times_every_case(bench):
    for case in ("inspect_pdf", "page-one text", "verify (B-T)", "new child"):
        assert re.search(rf"^{re.escape(case)} +[\d.-]+ ", bench.stdout, re.MULTILINE), (case, bench.stdout)


@pytest.mark.parametrize("bench", ["relevance"], indirect=True)
def test_relevance_scores_the_set_with_its_rules_changed(bench):
    result = bench.result()
    (summary,) = result["summary"].values()
    assert sorted(summary) == ["all rules", "no proximity", "try EXACT_BOOST=1"]
    assert result["set"]["queries"] >= 1 and "| q" in bench.stdout
