#!/usr/bin/env python3
"""A province's working day over real HTTP on the scaled profile, with real
processes, optionally with faults, then a reconciliation of everything.

    .venv/bin/python bench/load.py [--seconds 60] [--clerks 2] [--citizens 2] [--staff 1]
                                   [--pdf-mb 2] [--scan-every 4] [--web-workers 2] [--workers 2]
                                   [--faults] [--minio-outage 30] [--es-outage 30] [--pg-outage 10]
                                   [--fault-gap 10] [--timeout 20] [--settle-timeout 600]

A fresh scaled installation (with --faults or --private on PostgreSQL, Redis,
MinIO and Elasticsearch of its own, tests/private_services.py, since those
are stopped on purpose; else on the shared DOCSVC_TEST_* services, removed at
the end) gets the development PKI, the commune's seal, a leader's key, an
e-copy for citizens, a clerk, a drafter, a văn thư and a searching official,
all with the `docsvc` command. Then, each in its own session:

  web      docsvc serve --no-worker --workers N     (gunicorn, N processes)
  workers  docsvc worker --concurrency 1, --workers of them
  beat     docsvc beat

Virtual users, one thread and one keep-alive connection each, no think time:

  clerk     uploads born-digital PDFs of --pdf-mb (every --scan-every-th a
            one-page scan, OCR'd), waits for each to be processed, registers it
  drafter   uploads an outgoing draft, waits for it, submits it to the leader
  leader    batch-signs what was submitted (POST /signing-jobs, polls the job)
  văn thư   issues what was signed (number, date, the agency's B-LTA seal)
  citizen   verifies the e-copy by code and by file, in turn
  staff     searches
  health    GET /api/v1/health every 0.5 s

Unloaded: before the load, one round of the same calls, one at a time
(--baseline-rounds), per endpoint: the floor for the ratios.

--faults, during the load, one after the other, --fault-gap s apart: kill -9
a Celery worker (restarted 2 s later, as a supervisor would), kill -9 a
gunicorn worker process (its master starts another), restart Redis, stop
MinIO for --minio-outage s, Elasticsearch for --es-outage s, PostgreSQL for
--pg-outage s. Every answer while a fault lasts (and 2 s after) is looked at:
a 503 must be in the one error shape {code, message}; no 500; no request
reaching the client timeout (--timeout) is a hang.

After the load: the bench waits (up to --settle-timeout) until the outbox is
drained, then reconciles: every accepted upload processed, or failed with a
reason and its original kept; `docsvc check --json` exit 0 (rows, objects and
index entries one to one; each register book 1..N, no gap, no repeat; the
audit chain), tried again while the index catches up.

Results: tables, and JSON in bench/results/load-<start>.json. It exits 1 if
a check failed (after writing the JSON). Benchmarks report; they assert
nothing about time.
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

import upload as shared  # noqa: E402
import verify_ecopy  # noqa: E402
from verify_ecopy import PASSPHRASE, Client  # noqa: E402
from verify_load import latency_summary  # noqa: E402

RESULTS = ROOT / "bench" / "results"
AGENCY, DISTRICT = "UBND-XA", "UBND-HUYEN"
PASSWORD = "Mat-khau-tai-dai-2024"
USERS = {  # username: role
    "van.thu": "clerk", "chuyen.vien": "official", "pho.chu.tich": "official", "can.bo.tra.cuu": "official",
}
LEADER = "pho.chu.tich"
SEARCH_WORDS = ("cải cách", "hành chính", "quyết định", "kế hoạch", "ubnd", "giấy xác nhận", "công văn")
HEALTH_INTERVAL = 0.5
KEEPALIVE_SECONDS = 4.0  # under gunicorn's (docsvc/server.py)
OUTAGE_GRACE = 2.0  # seconds after a service is back during which answers still count as the outage's
START_TIMEOUT = 120
# The installation's clients give up on a dead service quickly (defaults: 5 s
# PostgreSQL, 30 s MinIO, 15 s a try Elasticsearch), and a killed worker's
# lease ends in a minute rather than five.
INSTALLATION_SETTINGS = {
    "DOCSVC_DATABASE_CONNECT_TIMEOUT_SECONDS": "3",
    "DOCSVC_STORAGE_TIMEOUT_SECONDS": "5",
    "DOCSVC_SEARCH_TIMEOUT_SECONDS": "5",
    "DOCSVC_TASK_LEASE_SECONDS": "60",
    "DOCSVC_OUTBOX_RELAY_SECONDS": "5",
    **verify_ecopy.LIMITS_LIFTED,
}


# --- what each request got ------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    phase: str  # baseline | load
    endpoint: str
    status: int | str  # the HTTP status, or "timeout" / "cut" (the connection failed)
    seconds: float
    started: float
    ended: float
    code: str | None = None  # the error shape's code, for a 4xx/5xx
    shaped: bool = True  # an error answer in the one {code, message} shape


class Recorder:
    def __init__(self) -> None:
        self.answers: list[Answer] = []
        self.phase = "baseline"

    def add(self, answer: Answer) -> None:
        self.answers.append(answer)  # list.append is atomic


def error_shape(data: bytes) -> tuple[str | None, bool]:
    try:
        body = json.loads(data)
    except ValueError:
        return None, False
    if not isinstance(body, dict):
        return None, False
    code, message = body.get("code"), body.get("message")
    return (code if isinstance(code, str) else None), isinstance(code, str) and isinstance(message, str)


class User:
    """One virtual user: a keep-alive connection, a token, the recorder."""

    def __init__(self, url: str, recorder: Recorder, timeout: float, token: str | None = None) -> None:
        self.client = Client(url)
        self.recorder, self.timeout, self.token = recorder, timeout, token
        self.last_used = 0.0

    def call(self, endpoint: str, method: str, target: str, body: bytes | dict | None = None,
             content_type: str = "application/json") -> tuple[int | str, dict | None]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        if isinstance(body, dict):
            body = json.dumps(body).encode()
        if body is not None:
            headers.update({"Content-Type": content_type, "Content-Length": str(len(body))})
        started = time.perf_counter()
        if started - self.last_used > KEEPALIVE_SECONDS:
            # gunicorn closes a connection idle for its keepalive (5 s); a
            # request sent as it does would be cut, as browsers know.
            self.client.close()
        status: int | str
        try:
            if self.client.conn is None:
                self.client.conn = http.client.HTTPConnection(self.client.host, self.client.port, timeout=self.timeout)
            status, data = self.client.send(method, "/api/v1" + target, body, headers)
        except TimeoutError:
            status, data = "timeout", b""
        except (OSError, http.client.HTTPException):
            status, data = "cut", b""
        ended = self.last_used = time.perf_counter()
        code, shaped, parsed = None, True, None
        if isinstance(status, int):
            with contextlib.suppress(ValueError):
                parsed = json.loads(data) if data else None
            if status >= 400 and endpoint != "GET /health":  # health answers 503 with its own report
                code, shaped = error_shape(data)
        self.recorder.add(Answer(self.recorder.phase, endpoint, status, ended - started, started, ended, code, shaped))
        return status, parsed if isinstance(parsed, dict) else None

    def close(self) -> None:
        self.client.close()


# --- files -----------------------------------------------------------------------------


def unique(pdf: bytes) -> bytes:
    """The same PDF with a comment after its end: other bytes (a document of
    its own, an object of its own), the same content to every reader."""
    return pdf + f"\n% docsvc-load {uuid.uuid4().hex}\n".encode()


def born_digital_pdf(workdir: Path, mb: float) -> bytes:
    """A text PDF with a photo (incompressible noise, JPEG) making it `mb` MiB."""
    from PIL import Image
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    from tests.pdfs import _font, draw_paragraphs, sample_paragraphs

    side = max(64, int((mb * 2**20 / 0.75) ** 0.5))  # JPEG of noise at quality 95: ~0.75 byte a pixel
    photo = workdir / "anh.jpg"
    Image.frombytes("L", (side, side), os.urandom(side * side)).save(photo, quality=95)
    path = workdir / "cong-van.pdf"
    pdf = canvas.Canvas(str(path), pagesize=A4)
    pdf.setFont(_font(), 14)
    pdf.drawString(50, A4[1] - 60, "Công văn về cải cách hành chính")
    pdf.setFont(_font(), 10)
    draw_paragraphs(pdf, sample_paragraphs(verify_ecopy.SAMPLES[0]), A4[1] - 90, bottom=260)
    pdf.drawImage(str(photo), 50, 50, width=200, height=200)
    pdf.showPage()
    pdf.save()
    return path.read_bytes()


def scan_pdf(workdir: Path) -> bytes:
    from tests.scans import make_scan

    return make_scan(workdir / "ban-scan.pdf", "pdf", pages=1).path.read_bytes()


def draft_pdf(workdir: Path) -> bytes:
    from tests.pdfs import make_pdf, sample_paragraphs

    return make_pdf(workdir / "du-thao.pdf", "Quyết định về việc kiện toàn tổ công tác",
                    sample_paragraphs(verify_ecopy.SAMPLES[1])).read_bytes()


# --- the working day -------------------------------------------------------------------------


@dataclass
class Office:
    """What the virtual users hand each other, and what the reconciliation checks."""

    files: dict[str, bytes]
    ecopy: dict
    accepted: list[str] = field(default_factory=list)  # every upload answered 202
    registered: list[str] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)
    to_sign: collections.deque = field(default_factory=collections.deque)
    to_issue: collections.deque = field(default_factory=collections.deque)
    wrong: list[str] = field(default_factory=list)  # answers that are not what a user expects


def wait_processed(user: User, document_id: str, deadline: float, pause: float = 1.0) -> str | None:
    """Poll the document until it is ready or failed; its status, or None at the deadline."""
    while time.perf_counter() < deadline:
        status, body = user.call("GET /documents/{id}", "GET", f"/documents/{document_id}")
        if status == 200 and body and body["status"] in ("ready", "failed"):
            return body["status"]
        time.sleep(pause)
    return None


def upload(user: User, office: Office, kind: str) -> str | None:
    endpoint = f"POST /documents ({kind})"
    name = "ban-scan.pdf" if kind == "scan" else "cong-van.pdf"
    status, body = user.call(endpoint, "POST", f"/documents?filename={name}", unique(office.files[kind]),
                             "application/pdf")
    if status == 202 and body:
        office.accepted.append(body["id"])
        return body["id"]
    return None


def register(user: User, office: Office, document_id: str) -> bool:
    status, body = user.call("POST /documents/{id}/register", "POST", f"/documents/{document_id}/register", {})
    if status == 409:
        # A try cut by a killed web process may have committed: then it is registered.
        _, shown = user.call("GET /documents/{id}", "GET", f"/documents/{document_id}")
        status = 200 if shown and shown.get("register") else status
    if status == 200:
        office.registered.append(document_id)
    elif status != 503 and isinstance(status, int):  # refused or cut: the clerk tries again
        office.wrong.append(f"register {document_id}: {status} {body}")
    return status == 200


def draft(user: User, office: Office, deadline: float) -> str | None:
    """Upload a draft, wait for it, submit it to the leader; its id once submitted."""
    status, body = user.call("POST /outgoing", "POST", "/outgoing?filename=du-thao.pdf&title=Quy%E1%BA%BFt%20%C4%91%E1%BB%8Bnh",
                             unique(office.files["draft"]), "application/pdf")
    if status != 202 or not body:
        return None
    document_id = body["id"]
    office.accepted.append(document_id)
    if wait_processed(user, document_id, deadline) != "ready":
        return None
    while time.perf_counter() < deadline:
        status, body = user.call("POST /documents/{id}/submit", "POST", f"/documents/{document_id}/submit",
                                 {"approver": LEADER, "recipients": [DISTRICT]})
        if status == 200:
            office.to_sign.append(document_id)
            return document_id
        if status != 503 and isinstance(status, int):
            office.wrong.append(f"submit {document_id}: {status} {body}")
            return None
        time.sleep(1)
    return None


def batch_sign(user: User, office: Office, ids: list[str], deadline: float) -> list[str]:
    """One signing job over `ids`; the ids it signed (the others go back in the pile)."""
    status, body = user.call("POST /signing-jobs", "POST", "/signing-jobs", {"document_ids": ids, "passphrase": PASSPHRASE})
    signed: list[str] = []
    if status == 202 and body:
        job = body
        while job.get("status") == "running" and time.perf_counter() < deadline:
            time.sleep(0.5)
            status, polled = user.call("GET /signing-jobs/{id}", "GET", f"/signing-jobs/{job['id']}")
            if status == 200 and polled:
                job = polled
        signed = [r["document_id"] for r in job.get("results", []) if r.get("ok")]
    elif status != 503 and isinstance(status, int):
        office.wrong.append(f"signing job: {status} {body}")
    office.to_issue.extend(signed)
    office.to_sign.extend(i for i in ids if i not in signed)
    return signed


def issue(user: User, office: Office, document_id: str) -> bool:
    status, body = user.call("POST /documents/{id}/issue", "POST", f"/documents/{document_id}/issue",
                             {"type_code": "QĐ", "passphrase": PASSPHRASE})
    if status == 409:
        # A try cut by a killed web process may have committed: then it is issued.
        _, shown = user.call("GET /documents/{id}", "GET", f"/documents/{document_id}")
        status = 200 if shown and (shown.get("workflow") or {}).get("status") == "issued" else status
    if status == 200:
        office.issued.append(document_id)
    elif status == 503 or not isinstance(status, int):
        office.to_issue.append(document_id)  # again later
    else:
        office.wrong.append(f"issue {document_id}: {status} {body}")
    return status == 200


def verify_by_code(user: User, office: Office) -> None:
    status, body = user.call("GET /ecopies/{code}", "GET", f"/ecopies/{office.ecopy['code']}")
    if status == 200 and body and body.get("status") != "active":
        office.wrong.append(f"e-copy by code: {body.get('status')}")


def verify_by_file(user: User, office: Office) -> None:
    status, body = user.call("POST /verify", "POST", "/verify?filename=ban-sao.pdf", office.files["ecopy"],
                             "application/pdf")
    if status == 200 and body and body.get("verdict") != "valid":
        office.wrong.append(f"e-copy by file: {body.get('verdict')}")


def search(user: User, n: int) -> None:
    from urllib.parse import quote

    user.call("GET /search", "GET", f"/search?q={quote(SEARCH_WORDS[n % len(SEARCH_WORDS)])}")


def baseline(users: dict[str, User], office: Office, rounds: int) -> None:
    """Each endpoint alone, one request at a time; a first round, untimed,
    warms the web processes up (imports, caches)."""
    recorder = users["health"].recorder
    for n in range(rounds + 1):
        recorder.phase = "warm-up" if n == 0 else "baseline"
        deadline = time.perf_counter() + 300
        users["health"].call("GET /health", "GET", "/health")
        search(users["staff"], n)
        verify_by_code(users["citizen"], office)
        verify_by_file(users["citizen"], office)
        document_id = upload(users["clerk"], office, "pdf")
        if document_id and wait_processed(users["clerk"], document_id, deadline) == "ready":
            register(users["clerk"], office, document_id)
        upload(users["clerk"], office, "scan")  # processed meanwhile; the reconciliation looks at it
        submitted = draft(users["drafter"], office, deadline)
        if submitted:
            office.to_sign.remove(submitted)
            for signed in batch_sign(users["leader"], office, [submitted], deadline):
                office.to_issue.remove(signed)
                issue(users["van_thu"], office, signed)


# --- the virtual users under load -------------------------------------------------------------


def clerk_loop(user: User, office: Office, stop: threading.Event, scan_every: int, seed: int) -> None:
    pending: list[str] = []
    n = seed
    while not stop.is_set():
        n += 1
        document_id = upload(user, office, "scan" if scan_every and n % scan_every == 0 else "pdf")
        if document_id:
            pending.append(document_id)
        for document_id in list(pending):
            status, body = user.call("GET /documents/{id}", "GET", f"/documents/{document_id}")
            state = body["status"] if status == 200 and body else None
            if state == "failed" or (state == "ready" and register(user, office, document_id)):
                pending.remove(document_id)
        if not document_id:
            stop.wait(1)  # refused (an outage): a clerk tries again a moment later


def drafter_loop(user: User, office: Office, stop: threading.Event) -> None:
    while not stop.is_set():
        if not draft(user, office, time.perf_counter() + 120):
            stop.wait(1)


def leader_loop(user: User, office: Office, stop: threading.Event, batch: int = 5) -> None:
    while not stop.is_set():
        ids = [office.to_sign.popleft() for _ in range(min(batch, len(office.to_sign)))]
        if ids:
            batch_sign(user, office, ids, time.perf_counter() + 120)
        else:
            stop.wait(0.5)


def van_thu_loop(user: User, office: Office, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            document_id = office.to_issue.popleft()
        except IndexError:
            stop.wait(0.5)
            continue
        if not issue(user, office, document_id):
            stop.wait(1)


def citizen_loop(user: User, office: Office, stop: threading.Event) -> None:
    n = 0
    while not stop.is_set():
        (verify_by_code if n % 2 == 0 else verify_by_file)(user, office)
        n += 1


def staff_loop(user: User, stop: threading.Event, seed: int) -> None:
    n = seed
    while not stop.is_set():
        search(user, n)
        n += 1


def health_loop(user: User, stop: threading.Event) -> None:
    while not stop.is_set():
        user.call("GET /health", "GET", "/health")
        stop.wait(HEALTH_INTERVAL)


# --- processes -------------------------------------------------------------------------------


class Processes:
    """The web server, the Celery workers and beat, each in a session of its own."""

    def __init__(self, env: dict[str, str], logs: Path, web_workers: int, workers: int) -> None:
        self.env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
        self.env.pop("DOCSVC_CONFIG", None)
        self.logs = logs
        self.port = shared.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.web = self._start("web", "serve", "--no-worker", "--workers", str(web_workers), "--host", "127.0.0.1",
                               "--port", str(self.port))
        self.workers = [self._start(f"worker-{n}", "worker", "--concurrency", "1") for n in range(workers)]
        self.beat = self._start("beat", "beat")

    def _start(self, name: str, *args: str) -> subprocess.Popen:
        with open(self.logs / f"{name}.log", "ab") as log:
            return subprocess.Popen([sys.executable, "-m", "docsvc.cli", *args], env=self.env, cwd=ROOT,
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            for proc in (self.web, *self.workers, self.beat):
                if proc.poll() is not None:
                    raise SystemExit(f"{proc.args[3:]} exited ({proc.returncode}); logs in {self.logs}")
            with contextlib.suppress(OSError, ValueError):
                status, body = shared.request_json(self.url, "GET", "/api/v1/health")
                if status == 200 and body.get("status") == "ok" and len(self.web_processes()) >= 1:
                    return
            time.sleep(0.5)
        raise SystemExit(f"the server did not answer in {START_TIMEOUT} s; logs in {self.logs}")

    def web_processes(self) -> list[psutil.Process]:
        """gunicorn's worker processes (forks of `docsvc serve`, its master)."""
        with contextlib.suppress(psutil.NoSuchProcess):
            return psutil.Process(self.web.pid).children()
        return []

    def kill_worker(self, n: int = 0, pause: float = 2.0) -> None:
        """kill -9 a Celery worker and its pool, then start it again as a supervisor would."""
        os.killpg(self.workers[n].pid, signal.SIGKILL)
        self.workers[n].wait()
        time.sleep(pause)
        self.workers[n] = self._start(f"worker-{n}", "worker", "--concurrency", "1")

    def kill_web_process(self) -> int:
        victim = self.web_processes()[0]
        victim.kill()
        return victim.pid

    def stop(self) -> None:
        for proc in (self.web, *self.workers, self.beat):
            verify_ecopy.stop_server(proc)

    def kinds(self) -> dict[str, list[int]]:
        return {"web": [self.web.pid], "celery workers": [w.pid for w in self.workers], "beat": [self.beat.pid]}


class CpuSampler:
    """CPU seconds per kind of process (a process and its descendants), sampled
    every second so that processes killed on the way are counted up to then."""

    def __init__(self, kinds) -> None:
        self._kinds = kinds  # () -> {kind: [root pids]}
        self._last: dict[tuple[int, float], float] = {}
        self.seconds: collections.Counter[str] = collections.Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._machine = psutil.cpu_times()
        self.started = time.perf_counter()

    def _sample(self) -> None:
        for kind, pids in self._kinds().items():
            for pid in pids:
                if pid is None:
                    continue
                with contextlib.suppress(psutil.NoSuchProcess):
                    root = psutil.Process(pid)
                    # The bench's own process only: the servers it started are its children.
                    procs = [root] if kind == "load generator" else [root, *root.children(recursive=True)]
                    for proc in procs:
                        with contextlib.suppress(psutil.NoSuchProcess):
                            times = proc.cpu_times()
                            key = (proc.pid, proc.create_time())
                            # A process started since the first sample (a restarted worker) counts from its start.
                            self.seconds[kind] += times.user + times.system - self._last.get(key, 0.0)
                            self._last[key] = times.user + times.system

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self._sample()

    def __enter__(self) -> CpuSampler:
        self._sample()
        self.seconds.clear()  # from here on
        self.started = time.perf_counter()
        self._machine = psutil.cpu_times()
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        wall = time.perf_counter() - self.started
        end = psutil.cpu_times()
        busy = sum(getattr(end, f) - getattr(self._machine, f) for f in ("user", "system", "nice", "irq", "softirq"))
        self.report = {"wall_s": wall, "machine_busy_cores": busy / wall, "cores": os.cpu_count(),
                       "by_kind_cores": {k: v / wall for k, v in self.seconds.most_common()}}


# --- faults ----------------------------------------------------------------------------------


@dataclass
class Fault:
    name: str
    started: float
    ended: float = 0.0  # when the service was back (or the process killed)
    detail: str = ""


def run_faults(args, procs: Processes, services, stop: threading.Event, faults: list[Fault], log) -> None:
    """The fault schedule, one after the other; each outage ends before the next starts."""

    def gap() -> bool:
        return stop.wait(args.fault_gap)

    def outage(name: str, service: str, seconds: float) -> None:
        fault = Fault(name, time.perf_counter())
        faults.append(fault)
        services.stop(service)
        log(f"  fault: {name} ({service} stopped for {seconds:g} s)")
        time.sleep(seconds)
        services.start(service)
        fault.ended = time.perf_counter()
        log(f"  {service} is back ({fault.ended - fault.started:.0f} s after it stopped)")

    schedule = [
        ("kill -9 a Celery worker", lambda: _instant(faults, "kill -9 a Celery worker", procs.kill_worker)),
        ("kill -9 a web process", lambda: _instant(faults, "kill -9 a web process",
                                                   lambda: f"pid {procs.kill_web_process()}")),
        ("restart Redis", lambda: _instant(faults, "restart Redis", lambda: services.restart("redis"))),
        ("stop MinIO", lambda: outage("stop MinIO", "minio", args.minio_outage)),
        ("stop Elasticsearch", lambda: outage("stop Elasticsearch", "elasticsearch", args.es_outage)),
        ("stop PostgreSQL", lambda: outage("stop PostgreSQL", "postgres", args.pg_outage)),
    ]
    if gap():
        return
    for name, do in schedule:
        log(f"  fault: {name}")
        do()
        if gap():
            return


def _instant(faults: list[Fault], name: str, do) -> None:
    fault = Fault(name, time.perf_counter())
    faults.append(fault)
    fault.detail = str(do() or "")
    fault.ended = time.perf_counter()


def fault_windows(faults: list[Fault], answers: list[Answer], timeout: float) -> list[dict]:
    """Every answer that overlapped a fault (until OUTAGE_GRACE s after it ended)."""
    out = []
    for fault in faults:
        until = fault.ended + OUTAGE_GRACE
        during = [a for a in answers if a.phase == "load" and a.started <= until and a.ended >= fault.started]
        statuses = collections.Counter(str(a.status) for a in during)
        unavailable = [a for a in during if a.status == 503 and a.endpoint != "GET /health"]
        out.append({
            "fault": fault.name, "detail": fault.detail, "seconds": fault.ended - fault.started,
            "answers": len(during), "statuses": dict(statuses),
            "codes_503": dict(collections.Counter(a.code for a in unavailable)),
            "unshaped_errors": sorted({f"{a.endpoint} {a.status}" for a in during if not a.shaped}),
            "server_errors": sorted({f"{a.endpoint} {a.status} {a.code}" for a in during
                                     if isinstance(a.status, int) and a.status >= 500 and a.status != 503}),
            "timeouts": sorted({a.endpoint for a in during if a.status == "timeout"}),
            "max_503_ms": max((a.seconds for a in unavailable), default=0.0) * 1000,
            "max_ms": max((a.seconds for a in during), default=0.0) * 1000,
        })
    return out


# --- reconciliation -------------------------------------------------------------------------


def settle(rt, office: Office, timeout: float, log) -> dict:
    """Wait until every outbox entry is done and every accepted upload processed."""
    from sqlalchemy import func, select

    from docsvc.models import Document, OutboxEntry

    started = time.perf_counter()
    pending = waiting = -1
    while time.perf_counter() - started < timeout:
        try:
            with rt.read() as session:
                pending = session.scalar(select(func.count()).select_from(OutboxEntry).where(OutboxEntry.done_at.is_(None)))
                waiting = session.scalar(select(func.count()).select_from(Document).where(
                    Document.id.in_(office.accepted), Document.status.in_(("received", "processing"))))
        except Exception as exc:  # noqa: BLE001 - the database may still be coming back
            log(f"  settling: {type(exc).__name__}")
        if pending == 0 and waiting == 0:
            break
        time.sleep(2)
    return {"seconds": time.perf_counter() - started, "outbox_pending": pending, "uploads_waiting": waiting}


def reconcile(env: dict[str, str], rt, office: Office, timeout: float, log) -> dict:
    from sqlalchemy import func, select

    from docsvc.models import Document, DocumentFile, FileRole

    settled = settle(rt, office, timeout, log)
    with rt.read() as session:
        rows = {d.id: d for d in session.scalars(select(Document).where(Document.id.in_(office.accepted)))}
        with_original = set(session.scalars(select(DocumentFile.document_id).where(
            DocumentFile.document_id.in_(office.accepted), DocumentFile.role == FileRole.ORIGINAL)))
        books = [{"agency_id": a, "book": str(b), "year": y, "entries": n, "highest": h} for a, b, y, n, h in session.execute(
            select(Document.agency_id, Document.register_book, Document.register_year, func.count(),
                   func.max(Document.register_number)).where(Document.register_number.is_not(None))
            .group_by(Document.agency_id, Document.register_book, Document.register_year))]
    uploads = {
        "accepted": len(office.accepted),
        "ready": sum(1 for d in rows.values() if d.status == "ready"),
        "failed": sum(1 for d in rows.values() if d.status == "failed"),
        "failed_reasons": sorted({d.status_message[:120] for d in rows.values() if d.status == "failed"}),
        "missing": sorted(set(office.accepted) - set(rows)),
        "unfinished": sorted(i for i, d in rows.items() if d.status not in ("ready", "failed")),
        "failed_without_reason": sorted(i for i, d in rows.items() if d.status == "failed" and not d.status_message),
        "without_original": sorted(set(rows) - with_original),
    }
    # Objects a request stored and could not remove (it failed while the
    # database was down, or its process was killed) are the orphan sweep's:
    # the load is over, so no upload is between storing and recording and
    # grace 0 is safe; the beat task would do the same a day later.
    swept = sweep_orphans(env)
    # `docsvc check`, as an operator runs it; again while the index catches up.
    attempts, deadline = 0, time.perf_counter() + 180
    while True:
        attempts += 1
        result = subprocess.run([sys.executable, "-m", "docsvc.cli", "check", "--json"], capture_output=True, text=True,
                                env={**os.environ, **env, "PYTHONPATH": str(ROOT)}, cwd=ROOT, timeout=600)
        try:
            report = json.loads(result.stdout)
        except ValueError:
            report = {"ok": False, "error": (result.stdout + result.stderr)[-2000:]}
        if result.returncode == 0 or time.perf_counter() > deadline:
            break
        log(f"  docsvc check: {report.get('found')}; again in 10 s")
        time.sleep(10)
    ok = (settled["outbox_pending"] == 0 and not uploads["missing"] and not uploads["unfinished"]
          and not uploads["failed_without_reason"] and not uploads["without_original"] and result.returncode == 0)
    return {"ok": ok, "settle": settled, "uploads": uploads, "registered": len(office.registered),
            "issued": len(office.issued), "books": books, "swept": swept, "check_exit": result.returncode,
            "check_attempts": attempts, "check": report}


def sweep_orphans(env: dict[str, str]) -> dict:
    """`docsvc sweep --grace-hours 0`: its JSON report (or the error)."""
    result = subprocess.run([sys.executable, "-m", "docsvc.cli", "sweep", "--grace-hours", "0", "--json"],
                            capture_output=True, text=True, env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
                            cwd=ROOT, timeout=600)
    try:
        return json.loads(result.stdout)
    except ValueError:
        return {"error": (result.stdout + result.stderr)[-2000:]}


# --- report ---------------------------------------------------------------------------------


def endpoint_table(answers: list[Answer], load_seconds: float) -> dict:
    out: dict[str, dict] = {}
    for endpoint in sorted({a.endpoint for a in answers}):
        row: dict = {}
        for phase in ("baseline", "load"):
            mine = [a for a in answers if a.endpoint == endpoint and a.phase == phase]
            errors = [a for a in mine if not isinstance(a.status, int) or a.status >= 500]
            row[phase] = {"requests": len(mine), "errors": len(errors), "error_rate": len(errors) / len(mine) if mine else None,
                          "statuses": dict(collections.Counter(str(a.status) for a in mine)),
                          **latency_summary(sorted(a.seconds for a in mine if isinstance(a.status, int)))}
        row["load"]["per_s"] = row["load"]["requests"] / load_seconds if load_seconds else None
        base, load = row["baseline"]["p50_ms"], row["load"]["p50_ms"]
        row["p50_ratio"] = load / base if base and load else None
        out[endpoint] = row
    return out


def fmt(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def print_report(result: dict) -> None:
    print("\n| endpoint | unloaded n | unloaded p50 / p95 ms | load n | load req/s | load p50 / p95 / max ms "
          "| p50 × unloaded | errors (5xx, cut, timeout) | statuses under load |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for endpoint, row in result["endpoints"].items():
        b, lo = row["baseline"], row["load"]
        rate = f"{100 * lo['error_rate']:.1f} %" if lo["error_rate"] is not None else "–"
        print(f"| {endpoint} | {b['requests']} | {fmt(b['p50_ms'])} / {fmt(b['p95_ms'])} | {lo['requests']} | "
              f"{fmt(lo['per_s'], 2)} | {fmt(lo['p50_ms'])} / {fmt(lo['p95_ms'])} / {fmt(lo['max_ms'])} | "
              f"{fmt(row['p50_ratio'], 1)} | {lo['errors']} ({rate}) | {lo['statuses']} |")
    cpu = result["cpu"]
    print(f"\nCPU during the load ({cpu['wall_s']:.0f} s): machine {cpu['machine_busy_cores']:.2f} of {cpu['cores']} "
          "cores busy; by kind (cores): " + ", ".join(f"{k} {v:.2f}" for k, v in cpu["by_kind_cores"].items()))
    if result["faults"]:
        print("\n| fault | lasted s | answers | statuses | 503 codes | max 503 ms | max ms | 500s | unshaped | timeouts |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for w in result["faults"]:
            print(f"| {w['fault']} | {w['seconds']:.0f} | {w['answers']} | {w['statuses']} | {w['codes_503']} | "
                  f"{w['max_503_ms']:.0f} | {w['max_ms']:.0f} | {w['server_errors'] or '–'} | "
                  f"{w['unshaped_errors'] or '–'} | {w['timeouts'] or '–'} |")
    r = result["reconciliation"]
    u = r["uploads"]
    print(f"\nreconciliation: {'ok' if r['ok'] else 'FAILED'}; settled in {r['settle']['seconds']:.0f} s "
          f"(outbox pending {r['settle']['outbox_pending']}); uploads accepted {u['accepted']}, ready {u['ready']}, "
          f"failed {u['failed']} {u['failed_reasons']}; registered {r['registered']}, issued {r['issued']}; "
          f"books {[(str(b['book']), b['entries'], b['highest']) for b in r['books']]}; "
          f"orphan objects swept {r['swept'].get('removed', r['swept'])}; docsvc check exit {r['check_exit']} "
          f"after {r['check_attempts']} attempt(s), found {r['check'].get('found')}")


def checks(result: dict) -> list[str]:
    """What this run promises, whatever its speed."""
    problems = []
    if not result["reconciliation"]["ok"]:
        problems.append("the reconciliation failed")
    for endpoint, row in result["endpoints"].items():
        for phase in ("baseline", "load"):
            statuses = row[phase]["statuses"]
            if "timeout" in statuses:
                problems.append(f"{endpoint} ({phase}): {statuses['timeout']} request(s) hung until the client timeout")
            bad = {s: n for s, n in statuses.items() if s.isdigit() and int(s) >= 500 and s != "503"}
            if bad:
                problems.append(f"{endpoint} ({phase}): server errors {bad}")
            if not result["faults"] and ("503" in statuses or "cut" in statuses):
                problems.append(f"{endpoint} ({phase}): {statuses} without a fault")
    for w in result["faults"]:
        if w["unshaped_errors"]:
            problems.append(f"{w['fault']}: errors not in the one shape: {w['unshaped_errors']}")
    if result["wrong_answers"]:
        problems.append(f"wrong answers: {result['wrong_answers'][:5]}")
    return problems


# --- main -------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0, help="the load (with --faults: at least the schedule)")
    ap.add_argument("--clerks", type=int, default=2)
    ap.add_argument("--citizens", type=int, default=2)
    ap.add_argument("--staff", type=int, default=1)
    ap.add_argument("--pdf-mb", type=float, default=2.0)
    ap.add_argument("--scan-every", type=int, default=4, help="every n-th clerk upload is a scan (0: none)")
    ap.add_argument("--web-workers", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--baseline-rounds", type=int, default=2)
    ap.add_argument("--faults", action="store_true")
    ap.add_argument("--private", action="store_true", help="private services even without --faults")
    ap.add_argument("--minio-outage", type=float, default=30.0)
    ap.add_argument("--es-outage", type=float, default=30.0)
    ap.add_argument("--pg-outage", type=float, default=10.0)
    ap.add_argument("--fault-gap", type=float, default=10.0, help="seconds between faults (and before the first)")
    ap.add_argument("--timeout", type=float, default=20.0, help="client timeout per request: longer is a hang")
    ap.add_argument("--settle-timeout", type=float, default=600.0)
    ap.add_argument("--exit-zero", action="store_true", help="exit 0 when a check fails (the JSON lists them)")
    args = ap.parse_args()
    if args.workers < 1 or args.web_workers < 1 or args.clerks < 1:
        ap.error("--workers, --web-workers and --clerks take positive numbers")

    started = datetime.now(UTC)
    stamp = f"{started:%Y%m%dT%H%M%SZ}"
    clock = time.perf_counter()

    def log(text: str) -> None:
        print(f"[{time.perf_counter() - clock:5.0f} s] {text}", flush=True)

    info = shared.machine_info()
    print(f"{info['cpu']}, {info['cpus']} cores, load {info['load_average_1_5_15']}, commit {info['git_commit']}",
          flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="docsvc-bench-load-"))
    logs = RESULTS / f"load-{stamp}-logs"
    logs.mkdir()
    private = args.faults or args.private
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, workdir, True)
        if private:
            from tests.private_services import private_services

            log("starting private services (PostgreSQL, Redis, MinIO, Elasticsearch)...")
            services = stack.enter_context(private_services())
            env = services.installation_env(workdir / "var")
        else:
            services = None
            env = verify_ecopy.installation_env("scaled", workdir, uuid.uuid4().hex[:10])
            stack.callback(verify_ecopy.cleanup, "scaled", env)
        env.update(INSTALLATION_SETTINGS)
        result = run(args, env, workdir, logs, services, log, stack)
        result.update(command=" ".join([os.path.relpath(sys.executable, ROOT), *sys.argv]), started=started.isoformat(),
                      machine={**info, "load_average_end": os.getloadavg()}, settings=vars(args),
                      services="private" if private else "shared", logs=str(logs.relative_to(ROOT)))
        print_report(result)
        result["problems"] = checks(result)
        out = RESULTS / f"load-{stamp}.json"
        out.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str))
        log(f"{out.relative_to(ROOT)}")
    if result["problems"]:
        print("CHECKS FAILED:\n  " + "\n  ".join(result["problems"]))
        sys.exit(0 if args.exit_zero else 1)
    print("all checks passed")


def run(args, env: dict[str, str], workdir: Path, logs: Path, services, log, stack: contextlib.ExitStack) -> dict:
    from docsvc.config import load_settings
    from docsvc.runtime import Runtime
    from tests.signing.helpers import handwritten_signature_png

    log("installation: development PKI, the seal, an e-copy (docsvc ecopy issue)...")
    (ecopy,) = verify_ecopy.issue_ecopies(env, workdir, 1)
    shared.docsvc_cli(env, "agency", "add", DISTRICT, "UBND huyện", "--level", "district")
    for username, role in USERS.items():
        shared.docsvc_cli(env, "user", "add", username, "--role", role, "--agency", AGENCY, "--password-env", "PW",
                          extra_env={"PW": PASSWORD})
    (workdir / "chu-ky.png").write_bytes(handwritten_signature_png())
    shared.docsvc_cli(env, "key", "add", "--user", LEADER, "--pkcs12", f"{load_settings(env).pki_dir}/official.p12",
                      "--image", str(workdir / "chu-ky.png"))
    files = {"pdf": born_digital_pdf(workdir, args.pdf_mb), "scan": scan_pdf(workdir), "draft": draft_pdf(workdir),
             "ecopy": Path(ecopy["path"]).read_bytes()}
    log("files: " + ", ".join(f"{k} {len(v) / 2**20:.2f} MiB" for k, v in files.items()))
    office = Office(files, ecopy)

    procs = Processes(env, logs, args.web_workers, args.workers)
    stack.callback(procs.stop)
    procs.wait_ready()
    log(f"web {procs.url} ({len(procs.web_processes())} gunicorn processes), {args.workers} Celery workers, beat")
    recorder = Recorder()

    def user(username: str | None) -> User:
        token = None
        if username:
            status, body = shared.request_json(procs.url, "POST", "/api/v1/tokens",
                                               {"username": username, "password": PASSWORD, "name": "load"})
            if status != 201:
                raise SystemExit(f"no token for {username}: {status} {body}")
            token = body["token"]
        made = User(procs.url, recorder, args.timeout, token)
        stack.callback(made.close)
        return made

    roles = {"clerk": "van.thu", "drafter": "chuyen.vien", "leader": LEADER, "van_thu": "van.thu",
             "staff": "can.bo.tra.cuu", "citizen": None, "health": None}
    users = {role: user(name) for role, name in roles.items()}
    log(f"unloaded: {args.baseline_rounds} round(s) of every endpoint, one request at a time")
    baseline(users, office, args.baseline_rounds)

    recorder.phase = "load"
    stop = threading.Event()
    threads = [threading.Thread(target=clerk_loop, args=(user("van.thu"), office, stop, args.scan_every, n * 7),
                                daemon=True) for n in range(args.clerks)]
    threads += [threading.Thread(target=drafter_loop, args=(users["drafter"], office, stop), daemon=True),
                threading.Thread(target=leader_loop, args=(users["leader"], office, stop), daemon=True),
                threading.Thread(target=van_thu_loop, args=(users["van_thu"], office, stop), daemon=True),
                threading.Thread(target=health_loop, args=(users["health"], stop), daemon=True)]
    threads += [threading.Thread(target=citizen_loop, args=(user(None), office, stop), daemon=True)
                for _ in range(args.citizens)]
    threads += [threading.Thread(target=staff_loop, args=(user("can.bo.tra.cuu"), stop, n), daemon=True)
                for n in range(args.staff)]
    faults: list[Fault] = []

    def kinds() -> dict[str, list]:
        found = procs.kinds()
        if services is not None:
            found.update({name: [services.pid(name)] for name in ("postgres", "redis", "minio", "elasticsearch")})
        found["load generator"] = [os.getpid()]
        return found

    log(f"load: {args.clerks} clerks, a drafter, a leader, a văn thư, {args.citizens} citizens, {args.staff} staff"
        + (", with the fault schedule" if args.faults else f", {args.seconds:g} s"))
    with CpuSampler(kinds) as cpu:
        load_started = time.perf_counter()
        for t in threads:
            t.start()
        if args.faults:
            schedule = threading.Thread(target=run_faults, args=(args, procs, services, stop, faults, log), daemon=True)
            schedule.start()
            schedule.join()
        remaining = args.seconds - (time.perf_counter() - load_started)
        if remaining > 0:
            stop.wait(remaining)
        stop.set()
        for t in threads:
            t.join(timeout=args.timeout * 3 + 150)
        load_seconds = time.perf_counter() - load_started
    log(f"load done after {load_seconds:.0f} s: {len(office.accepted)} uploads accepted, {len(office.registered)} "
        f"registered, {len(office.issued)} issued; reconciling (waiting for the outbox to drain)...")
    rt = Runtime(load_settings(env))
    stack.callback(rt.close)
    reconciliation = reconcile(env, rt, office, args.settle_timeout, log)
    answers = recorder.answers
    return {"files": {k: len(v) for k, v in files.items()}, "load_seconds": load_seconds,
            "requests": {"baseline": sum(1 for a in answers if a.phase == "baseline"),
                         "load": sum(1 for a in answers if a.phase == "load")},
            "endpoints": endpoint_table(answers, load_seconds), "cpu": cpu.report,
            "faults": fault_windows(faults, answers, args.timeout), "reconciliation": reconciliation,
            "wrong_answers": office.wrong[:50], "web_processes_end": len(procs.web_processes())}


if __name__ == "__main__":
    main()
