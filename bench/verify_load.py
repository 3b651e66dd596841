#!/usr/bin/env python3
"""Public verification under concurrent load, honest and hostile files
mixed, over real HTTP, with /api/v1/health latency measured during it.

    .venv/bin/python bench/verify_load.py [--profile embedded|scaled] [--concurrency 1,4,8,16]
                                          [--seconds 15] [--hostile-every 5] [--timeout 60]
                                          [--server-memory-mib 3072]

A throwaway installation (bench/verify_ecopy.py's: development PKI, the
agency's key, e-copies issued with `docsvc ecopy issue`) also gets two
signed outgoing-style documents (an official's B-T signature under the
agency's B-LTA, tests/fuzz/corpus.py). The honest files are those e-copies
and documents; the hostile ones are built in code (tests/fuzz/hostile.py):
an xref stream claiming 4 000 000 entries, a 256 MiB deflate bomb, a cyclic
page tree, 100 000 nested arrays, a signed file cut in half.

For each concurrency N, a fresh `docsvc serve --no-worker` (verification
limiter raised out of the way) gets:

  unloaded   one client on GET /api/v1/health for --seconds (the floor)
  load       N clients POST /api/v1/verify back to back for --seconds, each
             sending the files in turn: every --hostile-every-th request a
             hostile file (the kinds in turn), the others honest; meanwhile
             one more client sends GET /api/v1/health every 20 ms

Requests not answered within --timeout s count as timeouts (the client
hangs up; the server may still be working). The server restarts between
levels so that one level's leftover work does not weigh on the next. Its
worker process gets an address-space limit (--server-memory-mib) so that
memory bombs cannot take the shared machine down; a bomb then ends in the
server's own MemoryError, which shows in the statuses.

In the bench process, one thread: signing.verify_pdf of the honest files
(the raw validation), the baseline for the ratio of the HTTP rate.
Results: a table, and JSON in bench/results/verify-load-<start>.json.
Benchmarks report; they assert nothing about time.
"""
from __future__ import annotations

import argparse
import contextlib
import http.client
import io
import json
import logging
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
# The repository before bench/: bench/search.py would otherwise stand for
# the search package.
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

import upload as shared  # noqa: E402
import verify_ecopy  # noqa: E402
from verify_ecopy import Client, percentile  # noqa: E402

RESULTS = ROOT / "bench" / "results"
HEALTH_INTERVAL = 0.02


# --- files ---------------------------------------------------------------------------


def honest_files(env: dict[str, str], workdir: Path, ecopies: int) -> dict[str, bytes]:
    """E-copies as citizens get them, and signed documents as agencies issue them."""
    from docsvc.config import load_settings
    from signing.devservices import DevServices
    from signing.pki import load_pki
    from tests.fuzz.corpus import signed_pdfs, unsigned_pdfs

    files = {f"ecopy-{n}": Path(e["path"]).read_bytes()
             for n, e in enumerate(verify_ecopy.issue_ecopies(env, workdir, ecopies))}
    pki = load_pki(load_settings(env).pki_dir)
    pdfs = unsigned_pdfs(workdir / "outgoing")
    with DevServices(pki):  # the TSA, for the B-T and B-LTA signatures
        for name in ("born-digital.pdf", "born-digital-3-pages.pdf"):
            files[f"signed-{name}"] = signed_pdfs(pdfs[name], pki)["signed-b-t-then-b-lta.pdf"]
    return files


def mixed_sequence(honest: dict[str, bytes], hostile: dict[str, bytes], every: int) -> list[tuple[str, str]]:
    """(class, name) in the order each client sends them: every `every`-th is hostile."""
    honest_names, hostile_names = sorted(honest), sorted(hostile)
    sequence = []
    for n in range(every * len(hostile_names) * len(honest_names)):
        if (n + 1) % every == 0:
            sequence.append(("hostile", hostile_names[(n // every) % len(hostile_names)]))
        else:
            sequence.append(("honest", honest_names[n % len(honest_names)]))
    return sequence


# --- the server ------------------------------------------------------------------------


def limit_server_memory(server_pid: int, mib: int) -> list[int]:
    """RLIMIT_AS on the server's processes (gunicorn's master and worker)."""
    limited = []
    limit = mib * 1024 * 1024
    with contextlib.suppress(psutil.NoSuchProcess):
        for proc in [psutil.Process(server_pid), *psutil.Process(server_pid).children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess, PermissionError, OSError):
                resource.prlimit(proc.pid, resource.RLIMIT_AS, (limit, limit))
                limited.append(proc.pid)
    return limited


# --- the load ---------------------------------------------------------------------------


def health_probe(url: str, stop: threading.Event, interval: float, timeout: float) -> dict:
    """GET /api/v1/health every `interval` s until `stop`; latencies of the answers."""
    client = Client(url)
    latencies, failures = [], []
    while not stop.is_set():
        started = time.perf_counter()
        try:
            client.conn = client.conn or http.client.HTTPConnection(client.host, client.port, timeout=timeout)
            status, _ = client.send("GET", "/api/v1/health", None, {})
            took = time.perf_counter() - started
            if status == 200:
                latencies.append(took)
            else:
                failures.append(f"status {status}")
        except (OSError, http.client.HTTPException) as exc:
            failures.append(f"{type(exc).__name__}: {exc}"[:120])
            client.close()
        stop.wait(max(0.0, interval - (time.perf_counter() - started)))
    client.close()
    latencies.sort()
    return {"requests": len(latencies) + len(failures), "ok": len(latencies), "failures": len(failures),
            "first_failures": failures[:5], **latency_summary(latencies)}


def latency_summary(sorted_seconds: list[float]) -> dict:
    if not sorted_seconds:
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None, "max_ms": None}
    return {"p50_ms": percentile(sorted_seconds, 50) * 1000, "p95_ms": percentile(sorted_seconds, 95) * 1000,
            "p99_ms": percentile(sorted_seconds, 99) * 1000, "max_ms": sorted_seconds[-1] * 1000}


def verify_client(url: str, files: dict[str, bytes], sequence: list[tuple[str, str]], offset: int,
                  deadline: list[float], timeout: float, barrier: threading.Barrier, out: list) -> None:
    """Sends the sequence from `offset` until the deadline; records (class, name, status, verdict, seconds,
    when it ended)."""
    client = Client(url)
    barrier.wait()
    n = offset
    while time.perf_counter() < deadline[0]:
        kind, name = sequence[n % len(sequence)]
        n += 1
        body = files[name]
        started = time.perf_counter()
        try:
            client.conn = client.conn or http.client.HTTPConnection(client.host, client.port, timeout=timeout)
            status, data = client.send("POST", f"/api/v1/verify?filename={name}.pdf", body,
                                       {"Content-Type": "application/pdf", "Content-Length": str(len(body))})
        except TimeoutError:
            out.append((kind, name, "timeout", None, time.perf_counter() - started, time.perf_counter()))
            client.close()
            continue
        except (OSError, http.client.HTTPException) as exc:
            out.append((kind, name, f"error {type(exc).__name__}", None, time.perf_counter() - started,
                        time.perf_counter()))
            client.close()
            continue
        verdict = None
        with contextlib.suppress(ValueError, AttributeError):
            verdict = json.loads(data).get("verdict") if status == 200 else json.loads(data).get("code")
        out.append((kind, name, status, verdict, time.perf_counter() - started, time.perf_counter()))
    client.close()


def offset(client: int, every: int) -> int:
    """Where client i starts in the sequence: its first hostile file is kind i
    (in turn), and it comes after every - 1 - (i mod every) honest ones, so the
    clients' hostile files are spread over the first requests and even a short
    level (16 clients queueing for 8 server threads get a few answers each)
    sends each kind once it has as many clients as kinds."""
    return client * every + client % every


def run_level(url: str, server_pid: int, files: dict[str, bytes], sequence: list[tuple[str, str]], clients: int,
              seconds: float, timeout: float, every: int) -> dict:
    records: list = []
    barrier = threading.Barrier(clients + 1)
    deadline = [float("inf")]
    threads = [threading.Thread(target=verify_client, daemon=True,
                                args=(url, files, sequence, offset(i, every), deadline, timeout, barrier, records))
               for i in range(clients)]
    for t in threads:
        t.start()
    stop = threading.Event()
    health: dict = {}
    probe = threading.Thread(target=lambda: health.update(health_probe(url, stop, HEALTH_INTERVAL, timeout)),
                             daemon=True)
    server_cpu = shared.tree_cpu(server_pid)
    with shared.TreeSampler(server_pid) as sampler:
        probe.start()
        started = time.perf_counter()
        deadline[0] = started + seconds
        barrier.wait()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        stop.set()
        probe.join()
    return {"clients": clients, "seconds": seconds, "seconds_until_all_answered": elapsed,
            "server_cpu_s": shared.tree_cpu(server_pid) - server_cpu, "server_peak_rss_mib": sampler.peak_rss / 2**20,
            "health": health, "verify": summarize_records(records, deadline[0], seconds),
            "server_alive": psutil.pid_exists(server_pid)}


def summarize_records(records: list, deadline: float, seconds: float) -> dict:
    """Per class: rates over the load window (answers that came before its end),
    latencies over every answer, and what each file got."""
    out = {}
    for kind in ("honest", "hostile"):
        mine = [r for r in records if r[0] == kind]
        ok = sorted(r[4] for r in mine if r[2] == 200)
        by_name: dict[str, dict] = {}
        for _, name, status, verdict, took, _ in mine:
            entry = by_name.setdefault(name, {"answers": {}, "seconds": []})
            key = f"{status} {verdict}" if verdict else str(status)
            entry["answers"][key] = entry["answers"].get(key, 0) + 1
            entry["seconds"].append(took)
        for entry in by_name.values():
            s = sorted(entry.pop("seconds"))
            entry.update(count=len(s), p50_ms=percentile(s, 50) * 1000, max_ms=s[-1] * 1000)
        in_window = [r for r in mine if r[5] <= deadline]
        out[kind] = {"requests": len(mine), "answered_200": len(ok),
                     "valid": sum(1 for r in mine if r[3] == "valid"),
                     "valid_per_s_in_window": sum(1 for r in in_window if r[3] == "valid") / seconds,
                     **latency_summary(sorted(r[4] for r in mine)), "by_file": by_name}
    return out


def unloaded_health(url: str, seconds: float, timeout: float) -> dict:
    stop = threading.Event()
    timer = threading.Timer(seconds, stop.set)
    timer.start()
    result = health_probe(url, stop, HEALTH_INTERVAL, timeout)
    timer.cancel()
    return result


def inproc_verify_pdf(env: dict[str, str], honest: dict[str, bytes], seconds: float) -> dict:
    """signing.verify_pdf of the honest files, one thread, the installation's trust built once."""
    from docsvc.config import load_settings
    from docsvc.signatures import verification as signatures
    from signing import verify_pdf

    settings = load_settings(env)
    trust = signatures.trust_config(settings)
    names = sorted(honest)
    times, verdicts = [], {}
    with signatures.dev_services(settings):
        deadline = time.perf_counter() + seconds
        n = 0
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            verdict = verify_pdf(io.BytesIO(honest[names[n % len(names)]]), trust).verdict
            times.append(time.perf_counter() - started)
            verdicts[verdict] = verdicts.get(verdict, 0) + 1
            n += 1
    times.sort()
    return {"docs": n, "docs_per_s": n / sum(times), "verdicts": verdicts, **latency_summary(times)}


# --- report ------------------------------------------------------------------------------


def fmt(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def report(levels: list[dict], baseline: dict) -> None:
    raw = baseline["verify_pdf"]
    print(f"\nin-process signing.verify_pdf of the honest files (one thread): {raw['docs_per_s']:.1f} docs/s, "
          f"p50 {fmt(raw['p50_ms'])} ms, p95 {fmt(raw['p95_ms'])} ms; verdicts {raw['verdicts']}")
    print("\nhonest valid/s: valid answers that came within the load window, per second of it; latencies: "
          "every answer, including those after the window\n")
    print("| clients | honest valid/s | honest valid | honest p50 / p95 / max ms | hostile sent | hostile p50 / max ms "
          "| health unloaded p50 / p99 ms | health loaded p50 / p95 / p99 / max ms | health × unloaded p50 "
          "| health failures | server peak RSS MiB | honest valid/s ÷ verify_pdf docs/s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for level in levels:
        h, v, u = level["health"], level["verify"], level["unloaded_health"]
        honest, hostile = v["honest"], v["hostile"]
        ratio = (h["p50_ms"] / u["p50_ms"]) if h["p50_ms"] and u["p50_ms"] else None
        print(f"| {level['clients']} | {honest['valid_per_s_in_window']:.2f} | {honest['valid']}/{honest['requests']} | "
              f"{fmt(honest['p50_ms'])} / {fmt(honest['p95_ms'])} / {fmt(honest['max_ms'])} | {hostile['requests']} | "
              f"{fmt(hostile['p50_ms'])} / {fmt(hostile['max_ms'])} | {fmt(u['p50_ms'], 1)} / {fmt(u['p99_ms'], 1)} | "
              f"{fmt(h['p50_ms'], 1)} / {fmt(h['p95_ms'])} / {fmt(h['p99_ms'])} / {fmt(h['max_ms'])} | "
              f"{fmt(ratio, 1)} | {h['failures']} | {level['server_peak_rss_mib']:.0f} | "
              f"{honest['valid_per_s_in_window'] / raw['docs_per_s']:.2f} |")
    print("\nhostile files (all levels): answers, p50 / max ms")
    merged: dict[str, dict] = {}
    for level in levels:
        for name, entry in level["verify"]["hostile"]["by_file"].items():
            m = merged.setdefault(name, {"answers": {}, "p50": [], "max": 0.0})
            for k, n in entry["answers"].items():
                m["answers"][k] = m["answers"].get(k, 0) + n
            m["p50"].append(entry["p50_ms"])
            m["max"] = max(m["max"], entry["max_ms"])
    for name, m in sorted(merged.items()):
        print(f"  {name}: {m['answers']}; p50 {fmt(sorted(m['p50'])[len(m['p50']) // 2])} ms (median of levels), "
              f"max {m['max']:.0f} ms")


# --- main ----------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", choices=("embedded", "scaled"), default="embedded")
    ap.add_argument("--concurrency", default="1,4,8,16")
    ap.add_argument("--seconds", type=float, default=15.0, help="per level, for the load and the unloaded floor")
    ap.add_argument("--ecopies", type=int, default=2)
    ap.add_argument("--hostile-every", type=int, default=5, help="every n-th request is hostile (default 5)")
    ap.add_argument("--timeout", type=float, default=60.0, help="client timeout per request (default 60 s)")
    ap.add_argument("--server-memory-mib", type=int, default=3072, help="address-space limit of the server")
    args = ap.parse_args()
    concurrency = [int(n) for n in args.concurrency.split(",") if n]
    if not concurrency or min(concurrency) < 1 or args.hostile_every < 1:
        ap.error("--concurrency and --hostile-every take positive numbers")
    for name in ("pyhanko", "pyhanko_certvalidator", "signing", "fontTools"):
        logging.getLogger(name).setLevel(logging.CRITICAL)

    from tests.fuzz import hostile as hostile_files

    started = datetime.now(UTC)
    stamp = f"{started:%Y%m%dT%H%M%SZ}"
    clock = time.perf_counter()

    def phase(text: str) -> None:
        print(f"[{time.perf_counter() - clock:5.0f} s] {text}", flush=True)

    info = shared.machine_info()
    print(f"{info['cpu']}, {info['cpus']} cores, load {info['load_average_1_5_15']}, commit {info['git_commit']}, "
          f"profile {args.profile}", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="docsvc-bench-verify-load-"))
    env: dict[str, str] = {}
    server = None
    levels = []
    try:
        env = verify_ecopy.installation_env(args.profile, workdir, uuid.uuid4().hex[:10])
        phase("issuing e-copies and signing documents...")
        honest = honest_files(env, workdir, args.ecopies)
        hostile = hostile_files.corpus(honest[sorted(honest)[0]])
        files = {**honest, **hostile}
        sequence = mixed_sequence(honest, hostile, args.hostile_every)
        print("  honest: " + ", ".join(f"{n} {len(b) // 1024} KiB" for n, b in sorted(honest.items())))
        print("  hostile: " + ", ".join(f"{n} {len(b) / 1024:.1f} KiB" for n, b in sorted(hostile.items())))
        phase("in-process verify_pdf baseline")
        baseline = {"verify_pdf": inproc_verify_pdf(env, honest, args.seconds)}
        bench_env = {**env, **verify_ecopy.LIMITS_LIFTED}
        for clients in concurrency:
            log = RESULTS / f"verify-load-{stamp}-server-{clients}.log"
            server, url = shared.start_server(bench_env, log)
            limited = limit_server_memory(server.pid, args.server_memory_mib)
            # Warm-up, untimed: imports and first-use caches of every honest file.
            warm: list = []
            verify_client(url, honest, [("honest", n) for n in sorted(honest)], 0, [time.perf_counter() + 3],
                          args.timeout, threading.Barrier(1), warm)
            unloaded = unloaded_health(url, args.seconds, args.timeout)
            phase(f"{clients} clients (server {url}, memory limit on {len(limited)} processes); unloaded health "
                  f"p50 {fmt(unloaded['p50_ms'], 1)} ms")
            level = run_level(url, server.pid, files, sequence, clients, args.seconds, args.timeout, args.hostile_every)
            level["unloaded_health"] = unloaded
            level["server_log"] = str(log.relative_to(ROOT))
            levels.append(level)
            v, h = level["verify"], level["health"]
            phase(f"  honest {v['honest']['valid']}/{v['honest']['requests']} valid, hostile "
                  f"{v['hostile']['requests']}, health p50 {fmt(h['p50_ms'], 1)} p99 {fmt(h['p99_ms'])} "
                  f"max {fmt(h['max_ms'])} ms, {h['failures']} health failures, server alive {level['server_alive']}")
            verify_ecopy.stop_server(server)
            server = None
        info["load_average_end"] = os.getloadavg()
        report(levels, baseline)
        out = RESULTS / f"verify-load-{stamp}.json"
        out.write_text(json.dumps({
            "command": " ".join([os.path.relpath(sys.executable, ROOT), *sys.argv]), "started": started.isoformat(),
            "machine": info, "settings": vars(args), "health_interval_s": HEALTH_INTERVAL,
            "files": {n: len(b) for n, b in files.items()}, "baseline": baseline, "levels": levels,
        }, indent=2, ensure_ascii=False, default=str))
        phase(f"{out.relative_to(ROOT)}")
    finally:
        if server is not None:
            verify_ecopy.stop_server(server)
        if env:
            verify_ecopy.cleanup(args.profile, env)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
