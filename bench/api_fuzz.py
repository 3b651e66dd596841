#!/usr/bin/env python3
"""Schemathesis against the real server: every operation of
/api/v1/openapi.json (docsvc/openapi.yaml), signed in with a bearer token
and anonymously, checked for no server error (5xx) and for answers that
match the documented schema.

    .venv/bin/python bench/api_fuzz.py [--profile embedded|scaled] [--max-examples 50]
                                       [--seed 1] [--max-time SECONDS] [--json PATH]
                                       [--as clerk,citizen,anonymous] [--phases examples,coverage,fuzzing]
                                       [--ecopies 1]

A throwaway installation (as bench/verify_ecopy.py makes it: development
PKI, the agency's key, one issued e-copy so a real code exists) gets a
clerk and a citizen; `docsvc serve --no-worker` runs on a free port with
the verification limiter raised out of the way. Then `schemathesis run`
(phases examples, coverage and fuzzing; one worker; a fixed seed) runs
three times: with the clerk's bearer token, with the citizen's, and with
no credentials. What it found is printed and written to
bench/results/api-fuzz-<start>.json with the server's tracebacks (its log
is kept beside it); schemathesis' own reports (JUnit, and a pytest file
reproducing each failure) go to bench/results/api-fuzz-<start>/.
The exit status is 0 whatever was found: this reports, it does not judge
(tests/fuzz/test_api_schema.py does, on a few examples per operation).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
import xml.etree.ElementTree as ElementTree
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The repository before bench/: bench/search.py would otherwise stand for
# the search package.
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

import upload as shared  # noqa: E402
import verify_ecopy  # noqa: E402

RESULTS = ROOT / "bench" / "results"
CHECKS = "not_a_server_error,response_schema_conformance"
CLERK = ("lan.nguyen", "Mat-khau-van-thu-2024")
CITIZEN = ("cong.dan", "Mat-khau-cong-dan-2024")
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def prepare(env: dict[str, str], workdir: Path, ecopies: int) -> dict:
    """E-copies issued with the real CLI, then a clerk and the first e-copy's citizen."""
    issued = verify_ecopy.issue_ecopies(env, workdir, ecopies)
    shared.setup_installation(env, *CLERK)
    from docsvc import accounts
    from docsvc.config import load_settings
    from docsvc.runtime import Runtime

    rt = Runtime(load_settings(env))
    with rt.write() as session:  # issue_ecopies gives the first e-copy to citizen 001203004500
        accounts.add_user(session, *CITIZEN, "citizen", citizen_id="001203004500")
    rt.close()
    return {"ecopy_code": issued[0]["code"] if issued else None}


def token_for(url: str, username: str, password: str) -> str:
    status, body = shared.request_json(url, "POST", "/api/v1/tokens",
                                       {"username": username, "password": password, "name": "api-fuzz"})
    if status != 201:
        raise SystemExit(f"no token for {username}: {status} {body}")
    return body["token"]


def run_schemathesis(url: str, label: str, token: str | None, args, report_dir: Path) -> dict:
    """One `schemathesis run`; its output, exit status and the failures its JUnit report lists."""
    junit = report_dir / f"{label}.junit.xml"
    command = [str(SCHEMATHESIS), "run", f"{url}/api/v1/openapi.json", "--url", f"{url}/api/v1",
               "--checks", CHECKS, "--max-examples", str(args.max_examples), "--seed", str(args.seed),
               "--workers", "1", "--phases", args.phases, "--request-timeout", "120",
               "--continue-on-failure", "--suppress-health-check", "all", "--no-color",
               "--report", "junit,pytest", "--report-dir", str(report_dir), "--report-junit-path", str(junit),
               "--report-pytest-path", str(report_dir / f"test_reproduce_{label}.py")]
    if token:
        command += ["--header", f"Authorization: Bearer {token}"]
    if args.max_time:
        command += ["--max-time", str(args.max_time)]
    started = time.perf_counter()
    # Run in the report folder: schemathesis leaves its cache (.schemathesis/) where it runs.
    proc = subprocess.run(command, capture_output=True, text=True, cwd=report_dir, stdin=subprocess.DEVNULL,
                          env={**os.environ, "SCHEMATHESIS_HOOKS": ""})
    output = proc.stdout + proc.stderr
    (report_dir / f"{label}.txt").write_text(output)
    return {"label": label, "exit_status": proc.returncode, "seconds": time.perf_counter() - started,
            "failures": junit_failures(junit), "summary": summary_lines(output),
            "output": str((report_dir / f"{label}.txt").relative_to(ROOT))}


def junit_failures(path: Path) -> list[dict]:
    """Each failing operation and what schemathesis said of it."""
    if not path.exists():
        return []
    failures = []
    for case in ElementTree.parse(path).getroot().iter("testcase"):
        for problem in [*case.findall("failure"), *case.findall("error")]:
            text = (problem.get("message") or "") + "\n" + (problem.text or "")
            failures.append({"operation": case.get("name"), "kind": problem.tag,
                             "checks": sorted(set(re.findall(r"^\s*\d+\. ([^\n]+)$", text, re.M)))[:10],
                             "text": text.strip()[:4000]})
    return failures


def summary_lines(output: str) -> list[str]:
    """Schemathesis' closing summary (the lines after its last '====' rule)."""
    lines = output.rstrip().splitlines()
    cut = max((i for i, line in enumerate(lines) if line.startswith("====") or "SUMMARY" in line), default=0)
    return lines[cut:][-40:]


def server_tracebacks(log: Path) -> list[dict]:
    """The distinct tracebacks of the server's log, by their last line, with a count."""
    text = log.read_text(errors="replace") if log.exists() else ""
    seen: dict[str, dict] = {}
    for block in re.findall(r"Traceback \(most recent call last\):\n(?:[ \t].*\n)+\S.*", text):
        last = block.strip().splitlines()[-1]
        frames = re.findall(r'File "([^"]+)", line (\d+), in (\S+)', block)
        ours = [f"{Path(f).relative_to(ROOT) if f.startswith(str(ROOT)) else Path(f).name}:{n} {fn}"
                for f, n, fn in frames if "/docsvc/" in f or "/signing/" in f or "/storage/" in f or "/search/" in f]
        entry = seen.setdefault(last, {"error": last, "count": 0, "our_frames": ours[-4:], "traceback": block[-3000:]})
        entry["count"] += 1
    return sorted(seen.values(), key=lambda e: -e["count"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", choices=("embedded", "scaled"), default="embedded")
    ap.add_argument("--max-examples", type=int, default=50, help="per operation and phase (default 50)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-time", type=float, default=0, help="seconds per schemathesis run (default: no limit)")
    ap.add_argument("--json", type=Path, help="also write the result here")
    ap.add_argument("--as", dest="as_", default="clerk,citizen,anonymous", help="whose credentials, in turn")
    ap.add_argument("--phases", default="examples,coverage,fuzzing", help="schemathesis phases")
    ap.add_argument("--ecopies", type=int, default=1, help="e-copies issued beforehand (default 1)")
    args = ap.parse_args()
    who = [w for w in args.as_.split(",") if w]
    if not who or set(who) - {"clerk", "citizen", "anonymous"}:
        ap.error("--as takes some of clerk, citizen, anonymous")

    started = datetime.now(UTC)
    stamp = f"{started:%Y%m%dT%H%M%SZ}"
    report_dir = RESULTS / f"api-fuzz-{stamp}"
    report_dir.mkdir(parents=True, exist_ok=True)
    server_log = report_dir / "server.log"
    workdir = Path(tempfile.mkdtemp(prefix="docsvc-api-fuzz-"))
    env: dict[str, str] = {}
    server = None
    try:
        env = verify_ecopy.installation_env(args.profile, workdir, uuid.uuid4().hex[:10])
        known = prepare(env, workdir, args.ecopies)
        server, url = shared.start_server({**env, **verify_ecopy.LIMITS_LIFTED}, server_log)
        print(f"docsvc serve --no-worker at {url} ({args.profile}); e-copy {known['ecopy_code']}", flush=True)
        credentials = {"clerk": CLERK, "citizen": CITIZEN}
        tokens = {w: token_for(url, *credentials[w]) if w in credentials else None for w in who}
        runs = []
        for label, token in tokens.items():
            print(f"schemathesis as {label}...", flush=True)
            run = run_schemathesis(url, label, token, args, report_dir)
            runs.append(run)
            print("\n".join(run["summary"][-12:]), flush=True)
        verify_ecopy.stop_server(server)
        server = None
        tracebacks = server_tracebacks(server_log)
        result = {"command": " ".join([os.path.relpath(sys.executable, ROOT), *sys.argv]),
                  "started": started.isoformat(), "machine": shared.machine_info(), "profile": args.profile,
                  "checks": CHECKS, "phases": args.phases, "max_examples": args.max_examples, "seed": args.seed,
                  "runs": runs,
                  "server_tracebacks": tracebacks, "reports": str(report_dir.relative_to(ROOT))}
        print("\n| run | exit | seconds | failing operations |\n| --- | --- | --- | --- |")
        for run in runs:
            failing = "; ".join(sorted({f["operation"] for f in run["failures"]})) or "none"
            print(f"| {run['label']} | {run['exit_status']} | {run['seconds']:.0f} | {failing} |")
        for t in tracebacks:
            print(f"\nserver: {t['count']} × {t['error']}\n  " + "\n  ".join(t["our_frames"]))
        out = RESULTS / f"api-fuzz-{stamp}.json"
        text = json.dumps(result, indent=2, ensure_ascii=False, default=str)
        out.write_text(text)
        if args.json:
            args.json.write_text(text)
        print(f"\n{out.relative_to(ROOT)}; reports in {report_dir.relative_to(ROOT)}")
    finally:
        if server is not None:
            verify_ecopy.stop_server(server)
        if env:
            with contextlib.suppress(Exception):
                verify_ecopy.cleanup(args.profile, env)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
