#!/usr/bin/env python3
"""Public verification of e-copies over real HTTP: requests per second and
latency, by code and by uploaded file, against the server's floor and the
raw signature validation, all measured in the same run.

    .venv/bin/python bench/verify_ecopy.py [--profile embedded|scaled] [--ecopies 4]
                                           [--concurrency 1,4,8] [--seconds 5] [--repeat 3]
                                           [--limiter-seconds 10]

A throwaway installation (embedded by default; scaled: a fresh PostgreSQL
database, MinIO bucket and Elasticsearch index from the DOCSVC_TEST_*
services, removed at the end) gets a development PKI, an agency key and
--ecopies e-copies issued with `docsvc ecopy issue` from born-digital PDFs
(no OCR). Then `docsvc serve --no-worker` runs on a free port with the
verification limiter raised out of the way, and N client threads (one
keep-alive connection each) send, for --seconds per run:

  health   GET  /api/v1/health                 the server's floor (one SELECT 1)
  code     GET  /api/v1/ecopies/<code>         verification by code
  file     POST /api/v1/verify (raw body)      verification by upload of the signed file

In the bench process, one thread, between the HTTP runs:

  verify_pdf   signing.verify_pdf(BytesIO(file), trust)   raw signature validation
  signatures   docsvc.signatures.verification.verify(settings, BytesIO(file))
  lookup       docsvc.ecopies.service.lookup(rt, code)            (a) without HTTP

Last, the server is restarted with the default limiter and `code` runs once
more, to show the 429s beyond the configured rate.
Benchmarks report; they assert nothing about time.
"""
from __future__ import annotations

import argparse
import contextlib
import http.client
import io
import json
import logging
import math
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The repository root for tests.pdfs (the test documents), bench/ for the
# installation and server helpers that upload.py already has.
# The repository before bench/: bench/search.py would otherwise stand for
# the search package.
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

import upload as shared  # noqa: E402

RESULTS = ROOT / "bench" / "results"
PASSPHRASE = "docsvc-dev"  # the development PKI's
AGENCY = "UBND-XA"
HTTP_VARIANTS = ("health", "code", "file")
INPROC_VARIANTS = ("verify_pdf", "signatures", "lookup")
# High enough that the limiter never refuses during the bench (the default is 30 a minute, burst 10).
BENCH_RATE_PER_MINUTE = 10_000_000
BENCH_BURST = 1_000_000
# The public verification limits (by code and, since issue 9, by file) raised
# out of the way: benchmarks measure the server, not its limiter.
LIMITS_LIFTED = {
    "DOCSVC_VERIFY_RATE_PER_MINUTE": str(BENCH_RATE_PER_MINUTE),
    "DOCSVC_VERIFY_BURST": str(BENCH_BURST),
    "DOCSVC_VERIFY_FILE_RATE_PER_MINUTE": str(BENCH_RATE_PER_MINUTE),
    "DOCSVC_VERIFY_FILE_BURST": str(BENCH_BURST),
}
SAMPLES = ("quang-trach-cchc-7-thang-2021.txt", "binh-duong-cchc-2020.txt", "ca-mau-hien-dai-hoa-hanh-chinh.txt")


# --- the installation ------------------------------------------------------------


def installation_env(profile: str, workdir: Path, suffix: str) -> dict[str, str]:
    if profile == "embedded":
        return {"DOCSVC_DATA_DIR": str(workdir / "var")}
    shared.load_services_env()
    shared.check_services()
    env = shared.scaled_env(workdir / "var", suffix, 0)
    # MinIO's compliance lock cannot be lifted, so a bucket holding locked
    # records could never be removed; the shared Redis keeps queues apart by name.
    env.update(DOCSVC_RECORD_RETENTION="0", DOCSVC_TASK_QUEUE=f"docsvc-bench-{suffix}")
    return env


def cleanup(profile: str, env: dict[str, str]) -> None:
    if profile != "scaled":
        return
    shared.cleanup_scaled(env)  # database, bucket, index, the run's Redis queue
    with contextlib.suppress(Exception):
        from elasticsearch import Elasticsearch

        es = Elasticsearch(env["DOCSVC_ELASTICSEARCH_URL"])
        es.options(ignore_status=404).indices.delete_index_template(
            name=env["DOCSVC_ELASTICSEARCH_INDEX"] + "-template")
        es.close()


def issue_ecopies(env: dict[str, str], workdir: Path, count: int) -> list[dict]:
    """Dev PKI, the agency's key and `count` e-copies of born-digital PDFs,
    all with the real `docsvc` command; returns each one's code and signed file."""
    from tests.pdfs import make_pdf, sample_paragraphs
    from tests.signing.helpers import seal_png

    shared.docsvc_cli(env, "db", "upgrade")
    shared.docsvc_cli(env, "pki", "init")
    seal = workdir / "con-dau.png"
    seal.write_bytes(seal_png())
    from docsvc.config import load_settings

    pki_dir = load_settings(env).pki_dir
    shared.docsvc_cli(env, "key", "add", "--agency", AGENCY, "--pkcs12", f"{pki_dir}/agency.p12", "--image", str(seal))
    issued = []
    for n in range(count):
        source = make_pdf(workdir / f"giay-to-{n}.pdf", f"Giấy xác nhận số {n + 1}/2026",
                          sample_paragraphs(SAMPLES[n % len(SAMPLES)]))
        started = time.perf_counter()
        out = shared.docsvc_cli(env, "ecopy", "issue", str(source), "--citizen", f"0012030045{n:02d}",
                                "--title", f"Bản sao giấy xác nhận {n + 1}", "--json",
                                extra_env={"DOCSVC_SIGNING_PASSPHRASE": PASSPHRASE})
        data = json.loads(out.strip().splitlines()[-1])
        signed = workdir / f"ban-sao-{n}.pdf"
        shared.docsvc_cli(env, "ecopy", "download", data["code"], str(signed))
        issued.append({"code": data["code"], "path": str(signed), "size": signed.stat().st_size,
                       "sha256": data["sha256"], "issue_seconds": time.perf_counter() - started})
        print(f"  e-copy {data['code']}: {signed.stat().st_size / 1024:.0f} KiB, issued in "
              f"{issued[-1]['issue_seconds']:.1f} s (CLI start, ingest, stamp, B-LTA signature)", flush=True)
    return issued


def stop_server(server) -> float:
    """SIGTERM to the server's process group; SIGKILL after a few seconds. The
    gunicorn worker of `docsvc serve` logs "Worker exiting" at once but then
    stays until the master kills it at its 30 s graceful timeout (idle or not),
    which would cost the bench a minute; a throwaway installation loses nothing
    to SIGKILL once the measurements are done. Returns how long it took."""
    started = time.perf_counter()
    if server.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=5)
        with contextlib.suppress(ProcessLookupError):  # the worker, and anything else left in the group
            os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    return time.perf_counter() - started


# --- the HTTP load ---------------------------------------------------------------


class Client:
    """One keep-alive connection; reconnects after an error."""

    def __init__(self, url: str) -> None:
        self.host, port = url.split("://", 1)[1].rstrip("/").rsplit(":", 1)
        self.port = int(port)
        self.conn: http.client.HTTPConnection | None = None

    def send(self, method: str, target: str, body: bytes | None, headers: dict) -> tuple[int, bytes]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        try:
            self.conn.request(method, target, body=body, headers=headers)
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        if response.getheader("Connection", "").lower() == "close":
            self.close()
        return response.status, data

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def request_for(variant: str, ecopies: list[dict], files: list[bytes], n: int) -> tuple[str, str, bytes | None, dict]:
    """The n-th request of a variant: the e-copies are taken in turn."""
    if variant == "health":
        return "GET", "/api/v1/health", None, {}
    if variant == "code":
        return "GET", f"/api/v1/ecopies/{ecopies[n % len(ecopies)]['code']}", None, {}
    body = files[n % len(files)]
    return "POST", "/api/v1/verify?filename=ban-sao.pdf", body, {"Content-Type": "application/pdf",
                                                                 "Content-Length": str(len(body))}


def check_body(variant: str, status: int, data: bytes) -> bool:
    """Is a 200 answer what verification should say of these e-copies?"""
    if status != 200:
        return False
    try:
        body = json.loads(data)
    except ValueError:
        return False
    if variant == "health":
        return body.get("status") == "ok"
    if variant == "code":
        return body.get("status") == "active" and body.get("signatures", {}).get("verdict") == "valid"
    return body.get("verdict") == "valid" and (body.get("ecopy") or {}).get("matches_registered_file") is True


def process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def load(url: str, variant: str, threads: int, seconds: float, ecopies: list[dict], files: list[bytes],
         server_pid: int | None) -> dict:
    """`threads` clients send requests back to back for `seconds`; what was
    started before the deadline is finished and counted."""
    latencies: list[list[float]] = [[] for _ in range(threads)]
    statuses: list[dict[int, int]] = [{} for _ in range(threads)]
    wrong: list[int] = [0] * threads
    errors: list[list[str]] = [[] for _ in range(threads)]
    by_status_latency: list[dict[int, list[float]]] = [{} for _ in range(threads)]
    barrier = threading.Barrier(threads + 1)
    deadline = [0.0]

    def worker(i: int) -> None:
        client = Client(url)
        n = i
        barrier.wait()
        while time.perf_counter() < deadline[0]:
            method, target, body, headers = request_for(variant, ecopies, files, n)
            n += threads
            started = time.perf_counter()
            try:
                status, data = client.send(method, target, body, headers)
            except (OSError, http.client.HTTPException) as exc:
                errors[i].append(f"{type(exc).__name__}: {exc}")
                continue
            took = time.perf_counter() - started
            statuses[i][status] = statuses[i].get(status, 0) + 1
            by_status_latency[i].setdefault(status, []).append(took)
            if status == 200:
                latencies[i].append(took)
                if not check_body(variant, status, data):
                    wrong[i] += 1
        client.close()

    workers = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for w in workers:
        w.start()
    server_cpu, client_cpu = shared.tree_cpu(server_pid), process_cpu()
    started = time.perf_counter()
    deadline[0] = started + seconds
    barrier.wait()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    server_cpu, client_cpu = shared.tree_cpu(server_pid) - server_cpu, process_cpu() - client_cpu
    ok = sorted(x for xs in latencies for x in xs)
    counts: dict[int, int] = {}
    for s in statuses:
        for k, v in s.items():
            counts[k] = counts.get(k, 0) + v
    others = {}
    for status in counts:
        if status != 200:
            values = sorted(x for d in by_status_latency for x in d.get(status, []))
            others[str(status)] = {"count": counts[status], "p50_ms": percentile(values, 50) * 1000}
    total = sum(counts.values())
    return {
        "variant": variant,
        "threads": threads,
        "seconds": elapsed,
        "requests": total,
        "ok": len(ok),
        "ok_per_s": len(ok) / elapsed,
        "p50_ms": percentile(ok, 50) * 1000 if ok else None,
        "p95_ms": percentile(ok, 95) * 1000 if ok else None,
        "max_ms": ok[-1] * 1000 if ok else None,
        "mean_ms": statistics.fmean(ok) * 1000 if ok else None,
        "latencies_ms": [round(x * 1000, 3) for x in ok],
        "statuses": {str(k): v for k, v in sorted(counts.items())},
        "other_statuses": others,
        "wrong_answers": sum(wrong),
        "connection_errors": sum(len(e) for e in errors),
        "first_errors": [e for es in errors for e in es][:5],
        "server_cpu_s": server_cpu,
        "server_cpu_ms_per_request": server_cpu / total * 1000 if total else None,
        "client_cpu_s": client_cpu,
        "client_cpu_ms_per_request": client_cpu / total * 1000 if total else None,
    }


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest rank: the smallest value with at least q % of the values at or below it."""
    if not sorted_values:
        return float("nan")
    return sorted_values[max(0, math.ceil(q / 100 * len(sorted_values)) - 1)]


# --- in-process baselines --------------------------------------------------------


def inproc_functions(env: dict[str, str], ecopies: list[dict], files: list[bytes]) -> tuple[dict, object]:
    from docsvc.config import load_settings
    from docsvc.ecopies import service as ecopy_module
    from docsvc.runtime import Runtime
    from docsvc.signatures import verification as signatures
    from signing import verify_pdf

    settings = load_settings(env)
    trust = signatures.trust_config(settings)  # built once, as a caller of the library would
    rt = Runtime(settings)

    def raw(n: int) -> str:
        return verify_pdf(io.BytesIO(files[n % len(files)]), trust).verdict

    def docsvc_verify(n: int) -> str:
        return signatures.verify(settings, io.BytesIO(files[n % len(files)])).verdict

    def lookup(n: int) -> str:
        return ecopy_module.lookup(rt, ecopies[n % len(ecopies)]["code"], client="bench")["signatures"]["verdict"]

    return {"verify_pdf": raw, "signatures": docsvc_verify, "lookup": lookup}, rt


def inproc(fn, seconds: float) -> dict:
    """One thread, back to back, for `seconds`: a rate per core."""
    verdicts: dict[str, int] = {}
    times = []
    cpu_before, started = time.thread_time(), time.perf_counter()
    deadline = started + seconds
    n = 0
    while time.perf_counter() < deadline:
        t = time.perf_counter()
        verdict = fn(n)
        times.append(time.perf_counter() - t)
        verdicts[verdict] = verdicts.get(verdict, 0) + 1
        n += 1
    elapsed = time.perf_counter() - started
    cpu = time.thread_time() - cpu_before
    times.sort()
    return {"docs": n, "seconds": elapsed, "latencies_ms": [round(x * 1000, 3) for x in times],
            "docs_per_s": n / elapsed, "docs_per_cpu_s": n / cpu if cpu else None,
            "cpu_ms_per_doc": cpu / n * 1000, "p50_ms": percentile(times, 50) * 1000,
            "p95_ms": percentile(times, 95) * 1000, "verdicts": verdicts}


# --- summary and report -----------------------------------------------------------


def med(runs: list[dict], key: str) -> float | None:
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def summarize(runs: dict[str, list[dict]]) -> dict:
    summary = {}
    for name, rs in runs.items():
        if name.startswith("inproc/"):
            keys = ("docs_per_s", "docs_per_cpu_s", "cpu_ms_per_doc", "p50_ms", "p95_ms")
            rate = "docs_per_s"
        else:
            keys = ("ok_per_s", "p50_ms", "p95_ms", "server_cpu_ms_per_request", "client_cpu_ms_per_request")
            rate = "ok_per_s"
        s = {k: med(rs, k) for k in keys}
        # Latency percentiles over every request of every repetition: a verification
        # run of a few seconds has only tens of requests.
        pooled = sorted(x for r in rs for x in r["latencies_ms"])
        s["p50_ms"], s["p95_ms"] = percentile(pooled, 50), percentile(pooled, 95)
        s["latency_samples"] = len(pooled)
        s["min"], s["max"] = min(r[rate] for r in rs), max(r[rate] for r in rs)
        s["repetitions"] = len(rs)
        if not name.startswith("inproc/"):
            s["non_200"] = sum(r["requests"] - r["ok"] for r in rs)
            s["wrong_answers"] = sum(r["wrong_answers"] for r in rs)
            s["connection_errors"] = sum(r["connection_errors"] for r in rs)
            s["requests"] = sum(r["requests"] for r in rs)
        summary[name] = s
    return summary


def ratios(summary: dict, concurrency: list[int]) -> dict:
    """How much of each HTTP verification is the signature validation."""
    raw = summary["inproc/verify_pdf"]
    out = {}
    for n in concurrency:
        for variant in ("code", "file"):
            s = summary[f"{variant}/{n}"]
            out[f"{variant}/{n}"] = {
                "rate_vs_verify_pdf": s["ok_per_s"] / raw["docs_per_s"],
                "verify_pdf_share_of_server_cpu": raw["cpu_ms_per_doc"] / s["server_cpu_ms_per_request"]
                if s["server_cpu_ms_per_request"] else None,
                "verify_pdf_share_of_p50": raw["p50_ms"] / s["p50_ms"] if s["p50_ms"] else None,
                "rate_vs_health": s["ok_per_s"] / summary[f"health/{n}"]["ok_per_s"],
            }
    return out


def fmt(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def report(summary: dict, rat: dict, concurrency: list[int], repeat: int, limiter: dict | None) -> None:
    print(f"\nreq/s and CPU per request: medians of {repeat} runs (server = the whole `docsvc serve` process "
          f"tree); p50/p95: over every successful request of the {repeat} runs (n)\n")
    print("| what | clients | req/s | (min – max) | p50 ms | p95 ms | n | server CPU ms/req | client CPU ms/req "
          "| non-200 |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    labels = {"health": "(c) GET /api/v1/health", "code": "(a) GET /api/v1/ecopies/<code>",
              "file": "(b) POST /api/v1/verify (raw body)"}
    for variant in HTTP_VARIANTS:
        for n in concurrency:
            s = summary[f"{variant}/{n}"]
            print(f"| {labels[variant]} | {n} | **{fmt(s['ok_per_s'])}** | {fmt(s['min'])} – {fmt(s['max'])} | "
                  f"{fmt(s['p50_ms'])} | {fmt(s['p95_ms'])} | {s['latency_samples']} | "
                  f"{fmt(s['server_cpu_ms_per_request'])} | "
                  f"{fmt(s['client_cpu_ms_per_request'], 2)} | {s['non_200']} |")
    print("\n| in-process, one thread | docs/s | (min – max) | p50 ms | p95 ms | n | CPU ms/doc |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    inlabels = {"verify_pdf": "(d) signing.verify_pdf", "signatures": "docsvc.signatures.verification.verify",
                "lookup": "docsvc.ecopies.service.lookup (no HTTP)"}
    for variant in INPROC_VARIANTS:
        s = summary.get(f"inproc/{variant}")
        if s:
            print(f"| {inlabels[variant]} | **{fmt(s['docs_per_s'])}** | {fmt(s['min'])} – {fmt(s['max'])} | "
                  f"{fmt(s['p50_ms'])} | {fmt(s['p95_ms'])} | {s['latency_samples']} | {fmt(s['cpu_ms_per_doc'])} |")
    print("\n| HTTP verification | clients | req/s ÷ verify_pdf docs/s | verify_pdf CPU ÷ server CPU per req "
          "| verify_pdf p50 ÷ HTTP p50 | req/s ÷ health req/s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for variant in ("code", "file"):
        for n in concurrency:
            r = rat[f"{variant}/{n}"]
            print(f"| {labels[variant]} | {n} | {r['rate_vs_verify_pdf']:.2f} | "
                  f"{fmt(r['verify_pdf_share_of_server_cpu'] and r['verify_pdf_share_of_server_cpu'] * 100, 0)} % | "
                  f"{fmt(r['verify_pdf_share_of_p50'] and r['verify_pdf_share_of_p50'] * 100, 0)} % | "
                  f"{r['rate_vs_health']:.3f} |")
    if limiter:
        r = limiter["run"]
        print(f"\nDefault limiter ({limiter['rate_per_minute']}/min, burst {limiter['burst']}), "
              f"{r['threads']} clients on GET /api/v1/ecopies/<code> for {r['seconds']:.1f} s: "
              f"statuses {r['statuses']}; allowed {r['ok']} of {r['requests']} "
              f"(the bucket allows at most {limiter['expected_allowed']:.0f}: burst + rate × time; "
              f"after the burst {max(0, r['ok'] - limiter['burst']) / r['seconds'] * 60:.0f}/min); "
              + "; ".join(f"{k}: p50 {v['p50_ms']:.1f} ms" for k, v in r["other_statuses"].items()))


# --- main ------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", choices=("embedded", "scaled"), default="embedded")
    ap.add_argument("--ecopies", type=int, default=4, help="e-copies issued and taken in turn (default 4)")
    ap.add_argument("--concurrency", default="1,4,8", help="client threads per run (default 1,4,8)")
    ap.add_argument("--seconds", type=float, default=5.0, help="length of each timed run (default 5)")
    ap.add_argument("--repeat", type=int, default=3, help="repetitions, interleaved; medians reported (default 3)")
    ap.add_argument("--limiter-seconds", type=float, default=10.0,
                    help="the run against the default limiter (0: skip it; default 10)")
    args = ap.parse_args()
    concurrency = [int(n) for n in args.concurrency.split(",") if n]
    if not concurrency or min(concurrency) < 1 or args.ecopies < 1 or args.repeat < 1:
        ap.error("--concurrency, --ecopies and --repeat take positive numbers")
    for name in ("pyhanko", "pyhanko_certvalidator", "signing", "fontTools"):
        logging.getLogger(name).setLevel(logging.CRITICAL)

    started = datetime.now(UTC)
    clock = time.perf_counter()

    def phase(text: str) -> None:
        print(f"[{time.perf_counter() - clock:5.0f} s] {text}", flush=True)

    stamp = f"{started:%Y%m%dT%H%M%SZ}"
    info = shared.machine_info()
    print(f"{info['cpu']}, {info['cpus']} cores, load {info['load_average_1_5_15']}, commit {info['git_commit']}, "
          f"profile {args.profile}", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="docsvc-bench-verify-"))
    suffix = uuid.uuid4().hex[:10]
    env: dict[str, str] = {}
    server = None
    rt = None
    server_log = RESULTS / f"verify-{stamp}-server.log"
    limiter_log = RESULTS / f"verify-{stamp}-server-limiter.log"
    try:
        env = installation_env(args.profile, workdir, suffix)
        setup_started = time.perf_counter()
        phase(f"installation in {workdir}; issuing {args.ecopies} e-copies...")
        ecopies = issue_ecopies(env, workdir, args.ecopies)
        files = [Path(e["path"]).read_bytes() for e in ecopies]
        print(f"  setup took {time.perf_counter() - setup_started:.0f} s", flush=True)

        bench_env = {**env, **LIMITS_LIFTED}
        phase("starting docsvc serve")
        server, url = shared.start_server(bench_env, server_log)
        phase(f"docsvc serve --no-worker at {url} (gunicorn, 1 process, gthread 8 threads), "
              f"verify_rate_per_minute={BENCH_RATE_PER_MINUTE}, verify_burst={BENCH_BURST}")
        fns, rt = inproc_functions(env, ecopies, files)

        # Warm-up, untimed: imports and first-use caches, on both sides.
        for variant in HTTP_VARIANTS:
            w = load(url, variant, max(concurrency), 1.0, ecopies, files, server.pid)
            if w["ok"] == 0 or w["wrong_answers"] or w["requests"] != w["ok"]:
                raise SystemExit(f"warm-up of {variant} went wrong: {json.dumps(w)}")
        for variant in INPROC_VARIANTS:
            if fns[variant](0) != "valid":
                raise SystemExit(f"{variant} does not say valid")

        phase("warmed up")
        runs: dict[str, list[dict]] = {}
        for rep in range(1, args.repeat + 1):
            for variant in INPROC_VARIANTS:
                r = inproc(fns[variant], args.seconds)
                runs.setdefault(f"inproc/{variant}", []).append(r)
                print(f"[{rep}/{args.repeat}] in-process {variant:11s}   {r['docs_per_s']:7.1f} docs/s  "
                      f"p50 {r['p50_ms']:6.1f} ms  CPU {r['cpu_ms_per_doc']:.1f} ms/doc  {r['verdicts']}", flush=True)
            for n in concurrency:
                for variant in HTTP_VARIANTS:
                    r = load(url, variant, n, args.seconds, ecopies, files, server.pid)
                    runs.setdefault(f"{variant}/{n}", []).append(r)
                    print(f"[{rep}/{args.repeat}] {variant:6s} {n} clients: {r['ok_per_s']:7.1f} req/s  "
                          f"p50 {fmt(r['p50_ms'])} p95 {fmt(r['p95_ms'])} ms  "
                          f"server CPU {fmt(r['server_cpu_ms_per_request'])} ms/req  statuses {r['statuses']}"
                          + (f"  WRONG {r['wrong_answers']}" if r["wrong_answers"] else "")
                          + (f"  errors {r['first_errors']}" if r["connection_errors"] else ""), flush=True)
        stop_server(server)
        server = None

        limiter = None
        if args.limiter_seconds > 0:
            from docsvc.config import Settings

            defaults = Settings()
            phase("restarting docsvc serve with the default limiter")
            server, url = shared.start_server(env, limiter_log)
            threads = 4
            r = load(url, "code", threads, args.limiter_seconds, ecopies, files, server.pid)
            limiter = {"rate_per_minute": defaults.verify_rate_per_minute, "burst": defaults.verify_burst,
                       "expected_allowed": defaults.verify_burst + defaults.verify_rate_per_minute / 60 * r["seconds"],
                       "run": r}
            phase(f"default limiter, {threads} clients, {r['seconds']:.1f} s: {r['statuses']}")
            stop_server(server)
            server = None

        info["load_average_end"] = os.getloadavg()
        summary = summarize(runs)
        rat = ratios(summary, concurrency)
        report(summary, rat, concurrency, args.repeat, limiter)
        out = RESULTS / f"verify-{stamp}.json"
        out.write_text(json.dumps({
            "command": " ".join([os.path.relpath(sys.executable, ROOT), *sys.argv]),
            "started": started.isoformat(),
            "machine": info,
            "settings": {"profile": args.profile, "concurrency": concurrency, "seconds": args.seconds,
                         "repeat": args.repeat, "verify_rate_per_minute": BENCH_RATE_PER_MINUTE,
                         "verify_burst": BENCH_BURST, "server": "docsvc serve --no-worker (gunicorn gthread, "
                         "1 worker process, 8 threads)", "client": "Python http.client, one keep-alive "
                         "connection per thread, in the bench process"},
            "ecopies": [{k: v for k, v in e.items() if k != "path"} for e in ecopies],
            "runs": runs,
            "summary": summary,
            "ratios": rat,
            "limiter": limiter,
            "server_logs": [str(p.relative_to(ROOT)) for p in (server_log, limiter_log) if p.exists()],
        }, indent=2, ensure_ascii=False, default=str))
        phase(f"{out.relative_to(ROOT)}")
    finally:
        if server is not None:
            stop_server(server)
        if rt is not None:
            rt.close()
        if env:
            cleanup(args.profile, env)
        shutil.rmtree(workdir, ignore_errors=True)
        phase("cleaned up")


if __name__ == "__main__":
    main()
