#!/usr/bin/env python3
"""Upload throughput and peak memory: docsvc against a raw MinIO client put.

    scripts/services/up
    .venv/bin/python bench/upload.py [--size-mb 1024] [--repeat 3] [--profile]

Every variant uploads the same large PDF in the same run, to the same MinIO
bucket (the installation's own: object lock and versioning on, as docsvc
makes it), each repetition in a fresh child process whose memory is sampled:

  raw        minio client put_object(file, length=size, part_size=PART_SIZE)
  raw_fput   minio client fput_object(path, part_size=PART_SIZE)
  service    docsvc in-process: documents.spool() + documents.ingest()
  ingest     docsvc in-process, as `docsvc ingest FILE`: documents.local_file() + documents.ingest()
  http       the real server (docsvc serve --no-worker): POST the raw body
  http_digest  the same with its SHA-256 in a Repr-Digest header: the server
             stores the body as it arrives instead of after spooling it

The stored object is removed (all versions) after every repetition, so each
one uploads for real instead of hitting content-addressed deduplication.
Benchmarks report; they assert nothing about time.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import json
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
# The repository before bench/ (where Python puts a script's folder first):
# bench/search.py would otherwise stand for the search package.
sys.path.insert(0, str(ROOT))
from signing.pki import free_port  # noqa: E402  (one port helper for benches and tests)

RESULTS = ROOT / "bench" / "results"
SERVICES_ENV = Path(os.environ.get("DOCSVC_SERVICES_ENV", ROOT / ".cache" / "services.env"))
MIB = 1024 * 1024
VARIANTS = ("raw", "raw_fput", "service", "ingest", "http", "http_digest")
HTTP_VARIANTS = ("http", "http_digest")
SAMPLE_SECONDS = 0.05
# The bench's Celery messages (the http variant dispatches one per upload,
# and no worker runs) go to a queue of the run's own in a Redis database of
# the benches, removed at the end, so that no concurrently running test,
# worker or other bench run (a second pytest process, a colleague's run on
# the same services) ever sees them or loses its own.
BENCH_REDIS_DB = 14
WRITE_CHUNK = 8 * MIB


# --- the large PDF --------------------------------------------------------------


def write_pdf(path: Path, size_mb: int) -> str:
    """Write a valid one-page PDF whose image stream is size_mb MiB of random
    bytes, chunk by chunk (memory stays flat); return its SHA-256."""
    image_length = size_mb * MIB
    width = 1024  # DeviceGray, 8 bits: one byte per pixel
    height = image_length // width
    content = b"q 612 0 0 792 0 0 cm /Im0 Do Q\n"
    digest = hashlib.sha256()
    offsets: dict[int, int] = {}
    position = 0
    tmp = path.with_suffix(".part")
    with open(tmp, "wb") as out:

        def emit(data: bytes) -> None:
            nonlocal position
            out.write(data)
            digest.update(data)
            position += len(data)

        def begin(number: int) -> None:
            offsets[number] = position
            emit(f"{number} 0 obj\n".encode())

        emit(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        begin(1)
        emit(b"<< /Type /Catalog /Pages 2 0 R >>\nendobj\n")
        begin(2)
        emit(b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n")
        begin(3)
        emit(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792]"
            b" /Resources << /XObject << /Im0 5 0 R >> >> /Contents 4 0 R >>\nendobj\n"
        )
        begin(4)
        emit(f"<< /Length {len(content)} >>\nstream\n".encode() + content + b"\nendstream\nendobj\n")
        begin(5)
        # No /Filter: the stream is the raw samples, incompressible.
        emit(
            f"<< /Type /XObject /Subtype /Image /Width {width} /Height {height}"
            f" /ColorSpace /DeviceGray /BitsPerComponent 8 /Length {image_length} >>\nstream\n".encode()
        )
        left = image_length
        while left:
            chunk = os.urandom(min(WRITE_CHUNK, left))
            emit(chunk)
            left -= len(chunk)
        emit(b"\nendstream\nendobj\n")
        xref_at = position
        count = len(offsets) + 1
        lines = [f"xref\n0 {count}\n", "0000000000 65535 f\r\n"]
        lines += [f"{offsets[n]:010d} 00000 n\r\n" for n in range(1, count)]
        lines.append(f"trailer\n<< /Size {count} /Root 1 0 R >>\nstartxref\n{xref_at}\n%%EOF\n")
        emit("".join(lines).encode())
    os.replace(tmp, path)
    return digest.hexdigest()


def verify_pdf(path: Path) -> dict:
    """pikepdf must open it without repairing anything, and docsvc must accept it."""
    import pikepdf

    from docsvc.pdf import inspect_pdf

    # attempt_recovery=False: a wrong xref offset or /Length raises instead of
    # being silently repaired by a scan of the whole file.
    with pikepdf.open(path, attempt_recovery=False) as pdf:
        image = pdf.pages[0].Resources.XObject["/Im0"]
        checked = {"pages": len(pdf.pages), "image_length": int(image.Length), "version": pdf.pdf_version}
        # qpdf reads stream data lazily; check by hand that /Length ends the
        # stream exactly at "endstream" (reading the data would cost 1 GiB of RAM).
        start = _stream_data_offset(path, image)
        with open(path, "rb") as handle:
            handle.seek(start + checked["image_length"])
            if not handle.read(16).lstrip(b"\r\n").startswith(b"endstream"):
                raise SystemExit(f"{path}: the image's /Length does not end at 'endstream'")
    info = inspect_pdf(path)
    checked["inspect_pdf"] = {"page_count": info.page_count, "pdf_version": info.pdf_version}
    return checked


def _stream_data_offset(path: Path, stream) -> int:
    """Where a stream's data starts: after 'stream' and its end of line."""
    number = stream.objgen[0]
    with open(path, "rb") as handle:
        handle.seek(-1024, os.SEEK_END)
        tail = handle.read()
        xref_at = int(tail.rsplit(b"startxref", 1)[1].split()[0])
        handle.seek(xref_at)
        table = handle.read(64 + 20 * (number + 1))
        body = table.split(b"\n", 2)[2]  # after "xref" and "0 N"
        offset = int(body[20 * number:20 * number + 10])
        handle.seek(offset)
        head = handle.read(4096)
    at = head.index(b"stream", head.index(b">>")) + len(b"stream")
    at += 2 if head[at:at + 2] == b"\r\n" else 1
    return offset + at


def cached_pdf(size_mb: int) -> tuple[Path, str]:
    """The PDF of that size, made once and kept in bench/results/."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"pdf-{size_mb}MiB.pdf"
    meta_path = path.with_suffix(".meta.json")
    if path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("size") == path.stat().st_size and meta.get("verified"):
            print(f"using cached {path.relative_to(ROOT)} ({meta['size'] / MIB:.1f} MiB)", flush=True)
            return path, meta["sha256"]
    print(f"writing {path.relative_to(ROOT)} ({size_mb} MiB of random image data)...", flush=True)
    started = time.perf_counter()
    sha256 = write_pdf(path, size_mb)
    written = time.perf_counter() - started
    started = time.perf_counter()
    checked = run_helper({"variant": "verify", "pdf": str(path)})
    if checked["image_length"] != size_mb * MIB or checked["pages"] != 1:
        raise SystemExit(f"the generated PDF is wrong: {checked}")
    print(f"  written in {written:.1f} s, verified with pikepdf and inspect_pdf in "
          f"{time.perf_counter() - started:.1f} s: {checked}", flush=True)
    meta = {"size": path.stat().st_size, "sha256": sha256, "verified": True, "checked": checked}
    meta_path.write_text(json.dumps(meta, indent=2))
    return path, sha256


# --- services and a fresh scaled installation (as tests/conftest.py does) -------


def load_services_env() -> None:
    if SERVICES_ENV.exists():
        for line in SERVICES_ENV.read_text().splitlines():
            line = line.strip().removeprefix("export ").strip()
            if "=" in line and not line.startswith("#"):
                name, value = line.split("=", 1)
                os.environ.setdefault(name, value.strip().strip("'\""))


def service_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise SystemExit(f"{name} is not set: start the services with scripts/services/up")
    return value


def check_services() -> None:
    """Fail early, with the fix, if a service does not answer."""
    down = []
    for name in ("DOCSVC_TEST_DATABASE_URL", "DOCSVC_TEST_REDIS_URL", "DOCSVC_TEST_MINIO_ENDPOINT",
                 "DOCSVC_TEST_ELASTICSEARCH_URL"):
        value = service_env(name)
        hostport = value.split("://", 1)[-1].split("@")[-1].split("/")[0]
        host, port = hostport.rsplit(":", 1)
        try:
            socket.create_connection((host, int(port)), timeout=3).close()
        except OSError:
            down.append(f"{name}={value}")
    if down:
        raise SystemExit("services not answering: " + ", ".join(down) + "\nrun scripts/services/up and try again")


def _psycopg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def scaled_env(data_dir: Path, suffix: str, size: int) -> dict[str, str]:
    import psycopg

    name = f"docsvc_bench_{suffix}"
    with psycopg.connect(_psycopg_url(service_env("DOCSVC_TEST_PG_ADMIN_URL")), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    redis_base = service_env("DOCSVC_TEST_REDIS_URL").rsplit("/", 1)[0]
    env = {
        "DOCSVC_DATA_DIR": str(data_dir),
        "DOCSVC_DATABASE_URL": service_env("DOCSVC_TEST_DATABASE_URL").rsplit("/", 1)[0] + "/" + name,
        "DOCSVC_STORAGE_BACKEND": "minio",
        "DOCSVC_MINIO_ENDPOINT": service_env("DOCSVC_TEST_MINIO_ENDPOINT"),
        "DOCSVC_MINIO_ACCESS_KEY": service_env("DOCSVC_TEST_MINIO_ACCESS_KEY"),
        "DOCSVC_MINIO_SECRET_KEY": service_env("DOCSVC_TEST_MINIO_SECRET_KEY"),
        "DOCSVC_MINIO_BUCKET": f"docsvc-bench-{suffix}",
        "DOCSVC_SEARCH_BACKEND": "elasticsearch",
        "DOCSVC_ELASTICSEARCH_URL": service_env("DOCSVC_TEST_ELASTICSEARCH_URL"),
        "DOCSVC_ELASTICSEARCH_INDEX": f"docsvc-bench-{suffix}",
        "DOCSVC_BROKER_URL": f"{redis_base}/{BENCH_REDIS_DB}",
        "DOCSVC_TASK_QUEUE": f"docsvc-bench-{suffix}",
    }
    if size > 3 * 1024 * MIB - MIB:  # the default limit is 3 GiB
        env["DOCSVC_MAX_UPLOAD_BYTES"] = str(size + 64 * MIB)
    return env


def cleanup_scaled(env: dict[str, str]) -> None:
    """Drop the database, the bucket (every object version), the index and the
    run's queue in Redis. Each step runs even if another one failed."""
    errors = []

    def step(what, fn):
        try:
            fn()
        except Exception as exc:  # keep cleaning
            errors.append(f"{what}: {exc}")

    def drop_db():
        import psycopg

        name = env["DOCSVC_DATABASE_URL"].rsplit("/", 1)[1]
        with psycopg.connect(_psycopg_url(service_env("DOCSVC_TEST_PG_ADMIN_URL")), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def drop_queue():
        import redis

        client = redis.Redis.from_url(env["DOCSVC_BROKER_URL"])
        client.delete(env["DOCSVC_TASK_QUEUE"])
        client.close()

    def drop_index():
        from elasticsearch import Elasticsearch

        es = Elasticsearch(env["DOCSVC_ELASTICSEARCH_URL"])
        es.indices.delete(index=env["DOCSVC_ELASTICSEARCH_INDEX"] + "*", ignore_unavailable=True, allow_no_indices=True)
        es.close()

    def drop_bucket():
        client = minio_client(env)
        bucket = env["DOCSVC_MINIO_BUCKET"]
        if client.bucket_exists(bucket):
            for obj in client.list_objects(bucket, recursive=True, include_version=True):
                client.remove_object(bucket, obj.object_name, version_id=obj.version_id)
            client.remove_bucket(bucket)

    step("database", drop_db)
    step("redis", drop_queue)
    step("index", drop_index)
    step("bucket", drop_bucket)
    if errors:
        print("cleanup problems: " + "; ".join(errors), file=sys.stderr)


def minio_client(env: dict[str, str]):
    from minio import Minio

    return Minio(env["DOCSVC_MINIO_ENDPOINT"], env["DOCSVC_MINIO_ACCESS_KEY"], env["DOCSVC_MINIO_SECRET_KEY"],
                 secure=False)


def remove_all_versions(client, bucket: str, key: str) -> int:
    removed = 0
    for obj in client.list_objects(bucket, prefix=key, include_version=True):
        if obj.object_name == key:
            client.remove_object(bucket, key, version_id=obj.version_id)
            removed += 1
    return removed


def docsvc_cli(env: dict[str, str], *args: str, extra_env: dict | None = None) -> str:
    full = {**os.environ, **env, **(extra_env or {})}
    full.pop("DOCSVC_CONFIG", None)
    result = subprocess.run([sys.executable, "-m", "docsvc.cli", *args], env=full, capture_output=True, text=True,
                            timeout=600, stdin=subprocess.DEVNULL, cwd=ROOT)
    if result.returncode != 0:
        raise SystemExit(f"docsvc {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout


# --- memory sampling --------------------------------------------------------------


class TreeSampler:
    """Samples the RSS of a process and all its descendants every 50 ms.

    rss is what the kernel counts as resident; anon is rss minus file-backed
    and shared pages (psutil's `shared`), i.e. what the process itself holds
    rather than page cache it has mapped.
    """

    def __init__(self, pid: int, interval: float = SAMPLE_SECONDS) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_rss = 0
        self.peak_anon = 0
        self.peak_by_pid: dict[int, int] = {}
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def measure(pid: int) -> tuple[int, int, dict[int, int]]:
        try:
            root = psutil.Process(pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0, 0, {}
        rss = anon = 0
        each = {}
        for proc in procs:
            try:
                info = proc.memory_info()
            except psutil.NoSuchProcess:
                continue
            rss += info.rss
            anon += info.rss - info.shared
            each[proc.pid] = info.rss
        return rss, anon, each

    def _run(self) -> None:
        while not self._stop.is_set():
            rss, anon, each = self.measure(self.pid)
            if rss:
                self.samples += 1
                self.peak_rss = max(self.peak_rss, rss)
                self.peak_anon = max(self.peak_anon, anon)
                for pid, value in each.items():
                    self.peak_by_pid[pid] = max(self.peak_by_pid.get(pid, 0), value)
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def idle_rss(pid: int, seconds: float = 0.5) -> tuple[int, int]:
    """Median RSS (and anon) of a process tree over a short quiet moment."""
    values = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        rss, anon, _ = TreeSampler.measure(pid)
        values.append((rss, anon))
        time.sleep(SAMPLE_SECONDS)
    return int(statistics.median(v[0] for v in values)), int(statistics.median(v[1] for v in values))


# --- the children: one process per variant and repetition ------------------------


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def vm_hwm() -> int:
    """This process's own peak RSS (bytes) since it started its program."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def child_main(spec: dict) -> dict:
    variant = spec["variant"]
    if variant == "verify":
        return verify_pdf(Path(spec["pdf"]))
    if variant == "setup":
        return setup_installation(spec["env"], spec["username"], spec["password"])
    if variant == "profile":
        return profile_components(Path(spec["pdf"]), Path(spec["env"]["DOCSVC_DATA_DIR"]))
    path = Path(spec["pdf"])
    size = path.stat().st_size
    env = spec["env"]
    result: dict = {"variant": variant}
    if variant in ("raw", "raw_fput"):
        from storage.minio_store import PART_SIZE

        client = minio_client(env)
        bucket = env["DOCSVC_MINIO_BUCKET"]
        key = f"bench-raw/{uuid.uuid4()}"
        client.bucket_exists(bucket)  # connect before the clock starts, as the others do
        watch = Stopwatch()
        instrument_minio(watch)
        client.put_object = watch.wrap("minio_put_object", client.put_object)
        rss_before = psutil.Process().memory_info().rss
        cpu_before = cpu_seconds()
        started = time.perf_counter()
        if variant == "raw":
            with open(path, "rb") as handle:
                client.put_object(bucket, key, handle, length=size, part_size=PART_SIZE,
                                  content_type="application/pdf")
        else:
            client.fput_object(bucket, key, str(path), content_type="application/pdf", part_size=PART_SIZE)
        seconds = time.perf_counter() - started
        cpu = cpu_seconds() - cpu_before
        stored = client.stat_object(bucket, key).size
        if stored != size:
            raise RuntimeError(f"stored {stored} bytes, expected {size}")
        remove_all_versions(client, bucket, key)
        minio_breakdown(watch.seconds)
        result.update(part_size=PART_SIZE, stages=watch.seconds)
    elif variant == "service":
        result.update(service_upload(spec, path))
        seconds = result.pop("seconds")
        rss_before = result.pop("rss_before")
        cpu = result.pop("cpu")
    elif variant == "ingest":
        result.update(local_file_ingest(spec, path))
        seconds = result.pop("seconds")
        rss_before = result.pop("rss_before")
        cpu = result.pop("cpu")
    elif variant in HTTP_VARIANTS:
        rss_before = psutil.Process().memory_info().rss
        cpu_before = cpu_seconds()
        started = time.perf_counter()
        status, body = http_upload(spec["url"], spec["token"], path,
                                   spec["sha256"] if variant == "http_digest" else None)
        seconds = time.perf_counter() - started
        cpu = cpu_seconds() - cpu_before
        if status != 202:
            raise RuntimeError(f"upload answered {status}: {body[:500]!r}")
        document = json.loads(body)
        result.update(document_id=document.get("id"), status=status)
    else:
        raise ValueError(variant)
    result.update(
        seconds=seconds,
        cpu_seconds=cpu,
        rss_before=rss_before,
        # ru_maxrss as the brief asks; on Linux it also carries the high-water
        # mark of the parent this process was forked from (kept across exec),
        # so VmHWM, the same figure for this process's own memory, is reported too.
        ru_maxrss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        vm_hwm=vm_hwm(),
    )
    return result


class Stopwatch:
    """Seconds spent per named step, summed over calls (a few thousand calls of
    perf_counter per GiB: nothing measurable next to the work timed)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def add(self, name: str, started: float) -> float:
        now = time.perf_counter()
        self.seconds[name] = self.seconds.get(name, 0.0) + now - started
        return now

    def wrap(self, name: str, fn, after=None):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                value = fn(*args, **kwargs)
            finally:
                self.add(name, started)
            if after:
                after(value)
            return value

        return wrapper


def instrument_minio(watch: Stopwatch) -> None:
    """Time the minio client's pieces: reading each part from the stream, the
    SHA-256 of each part it signs (plain http: SigV4 signs the payload), and
    each part's request (that hash + sending + MinIO storing it)."""
    import minio.api

    minio.api.sha256_hash = watch.wrap("minio_sign_sha256", minio.api.sha256_hash)
    minio.api.read_part_data = watch.wrap("minio_read_part", minio.api.read_part_data)
    minio.api.Minio._upload_part = watch.wrap("minio_upload_part_requests", minio.api.Minio._upload_part)


def minio_breakdown(stages: dict[str, float]) -> None:
    """put_object's own thread reads the parts (and, for docsvc, re-hashes them)
    and hands them to 3 upload threads; what it does not spend reading, it
    waits for those threads. The threads' times overlap: summed, not wall."""
    if "minio_put_object" in stages or "minio_read_part" in stages:
        wall = stages.get("minio_put_object", stages.get("raw_put_object", 0.0))
        stages["minio_wait_for_part_uploads"] = wall - stages.get("minio_read_part", 0.0)
    if "minio_upload_part_requests" in stages:
        stages["minio_send_and_server_summed"] = (
            stages["minio_upload_part_requests"] - stages.get("minio_sign_sha256", 0.0))


def local_file_ingest(spec: dict, path: Path) -> dict:
    """What `docsvc ingest FILE` does once started: documents.local_file (hash
    the file where it is, no spool copy) + documents.ingest."""
    from sqlalchemy import select

    from docsvc import documents
    from docsvc.config import load_settings
    from docsvc.models import Document, User
    from docsvc.runtime import Runtime

    rt = Runtime(load_settings(spec["env"]))
    with rt.read() as session:
        actor = session.scalar(select(User).where(User.username == spec["username"]))
    rt.store.client.bucket_exists(rt.store.bucket)  # connect before the clock starts
    rss_before = psutil.Process().memory_info().rss
    cpu_before = cpu_seconds()
    started = time.perf_counter()
    document_id, _ = documents.ingest(rt, actor, documents.local_file(path, rt))
    seconds = time.perf_counter() - started
    cpu = cpu_seconds() - cpu_before
    with rt.read() as session:
        key = session.get(Document, document_id).files[0].storage_key
    if not rt.store.exists(key):
        raise RuntimeError("ingest did not store the object")
    remove_all_versions(rt.store.client, rt.store.bucket, key)
    rt.close()
    return {"seconds": seconds, "rss_before": rss_before, "cpu": cpu, "document_id": document_id}


def service_upload(spec: dict, path: Path) -> dict:
    """documents.spool + documents.ingest, with each stage timed by wrapping the
    functions ingest calls (the timings add nothing measurable: a few calls)."""
    from sqlalchemy import select

    import docsvc.documents.formats
    import docsvc.documents.records
    from docsvc import documents
    from docsvc.config import load_settings
    from docsvc.models import User
    from docsvc.runtime import Runtime
    from storage.minio_store import PART_SIZE

    rt = Runtime(load_settings(spec["env"]))
    with rt.read() as session:
        actor = session.scalar(select(User).where(User.username == spec["username"]))
    store = rt.store
    store.client.bucket_exists(store.bucket)  # connect before the clock starts
    created: list[bool] = []
    watch = Stopwatch()
    stages = watch.seconds

    # spool(): the source's reads, the SHA-256 and the writes to the spool file,
    # by handing it a timed stream and timed stand-ins for the two modules it
    # takes hashlib.sha256 and os.fdopen from (in this child process only).
    class TimedStream:
        def __init__(self, raw, name):
            self._raw, self._name = raw, name

        def read(self, size=-1):
            started = time.perf_counter()
            data = self._raw.read(size)
            watch.add(self._name, started)
            return data

    class TimedHash:
        def __init__(self):
            self._hash = hashlib.sha256()

        def update(self, data):
            started = time.perf_counter()
            self._hash.update(data)
            watch.add("spool_sha256", started)

        def hexdigest(self):
            return self._hash.hexdigest()

    class TimedFile:
        def __init__(self, raw):
            self._raw = raw

        def write(self, data):
            started = time.perf_counter()
            written = self._raw.write(data)
            watch.add("spool_write", started)
            return written

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            started = time.perf_counter()
            self._raw.close()
            watch.add("spool_write", started)

    class Proxy:
        def __init__(self, module, **overrides):
            self._module, self._overrides = module, overrides

        def __getattr__(self, name):
            return self._overrides.get(name) or getattr(self._module, name)

    docsvc.documents.records.hashlib = Proxy(hashlib, sha256=TimedHash)
    docsvc.documents.records.os = Proxy(os, fdopen=lambda fd, mode: TimedFile(os.fdopen(fd, mode)))

    # store.put(): reading the spooled file and hashing it again (HashingReader).
    import storage.minio_store

    class TimedHashingReader(storage.minio_store.HashingReader):
        def read(self, size=-1):
            started = time.perf_counter()
            data = self._stream.read(size)
            started = watch.add("put_file_read", started)
            if data:
                self._hash.update(data)
                self.size += len(data)
            watch.add("put_rehash_sha256", started)
            return data

    storage.minio_store.HashingReader = TimedHashingReader
    instrument_minio(watch)
    # ingest checks the upload with formats.inspect_upload, which calls inspect_pdf.
    docsvc.documents.formats.inspect_pdf = watch.wrap("inspect_pdf", docsvc.documents.formats.inspect_pdf)
    # ingest stores docsvc's own spool with put_file (trusted: no second hash).
    store.put_file = watch.wrap("store_put", store.put_file, after=lambda stored: created.append(stored.created))
    store._stat = watch.wrap("store_stat", store._stat)
    store.client.put_object = watch.wrap("minio_put_object", store.client.put_object)
    # A file of known hash and size goes in one PUT that MinIO checks (storage/minio_store.py).
    store._put_checked = watch.wrap("minio_put_checked", store._put_checked)

    rss_before = psutil.Process().memory_info().rss
    cpu_before = cpu_seconds()
    started = time.perf_counter()
    with open(path, "rb") as handle:
        spooled = documents.spool(TimedStream(handle, "spool_read"), path.name, rt)
    spooled_at = time.perf_counter()
    document_id, _entry_id = documents.ingest(rt, actor, spooled)
    seconds = time.perf_counter() - started
    cpu = cpu_seconds() - cpu_before
    stages["spool"] = spooled_at - started
    stages["ingest"] = seconds - stages["spool"]
    # What ingest did besides the PDF check and the store: its transaction.
    stages["db_and_rest"] = stages["ingest"] - stages["inspect_pdf"] - stages["store_put"]
    stages["store_put_other"] = (stages["store_put"] - stages.get("minio_put_object", 0.0)
                                 - stages.get("minio_put_checked", 0.0) - stages.get("store_stat", 0.0))
    stages["spool_other"] = stages["spool"] - stages["spool_read"] - stages["spool_sha256"] - stages["spool_write"]
    minio_breakdown(stages)
    if created != [True]:
        raise RuntimeError("the object already existed: the repetition measured deduplication, not an upload")
    from storage.base import content_key

    removed = remove_all_versions(store.client, store.bucket, content_key(spooled.sha256))
    rt.close()
    return {
        "seconds": seconds,
        "cpu": cpu,
        "rss_before": rss_before,
        "stages": stages,
        "document_id": document_id,
        "sha256": spooled.sha256,
        "versions_removed": removed,
        "part_size": PART_SIZE,
    }


def http_upload(url: str, token: str, path: Path, sha256: str | None = None) -> tuple[int, bytes]:
    """POST the file as the raw body, streamed from disk in 1 MiB blocks;
    with `sha256`, declared in a Repr-Digest header (RFC 9530)."""
    import base64

    host, port = url.split("://", 1)[1].rstrip("/").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=900, blocksize=MIB)
    size = path.stat().st_size
    with open(path, "rb") as handle:
        conn.request(
            "POST",
            f"/api/v1/documents?filename={path.name}",
            body=handle,
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/pdf",
                "Content-Length": str(size),
                **({"Repr-Digest": f"sha-256=:{base64.b64encode(bytes.fromhex(sha256)).decode()}:"} if sha256 else {}),
            },
        )
        response = conn.getresponse()
        body = response.read()
    conn.close()
    return response.status, body


def setup_installation(env: dict[str, str], username: str, password: str) -> dict:
    """docsvc.cli.prepare on the fresh installation, then a clerk for the service variant."""
    from docsvc import accounts
    from docsvc.cli import prepare
    from docsvc.config import load_settings
    from docsvc.runtime import Runtime

    rt = Runtime(load_settings(env))
    with contextlib.redirect_stdout(sys.stderr):  # prepare prints the new admin password
        prepare(rt)
    with rt.write() as session:
        accounts.add_user(session, username, password, "clerk", agency_code="UBND-XA")
    rt.close()
    return {"clerk": username}


def run_helper(spec: dict) -> dict:
    """Work that imports docsvc runs in a child too: the parent stays small, so
    that what the measured children inherit from it stays small."""
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)],
                          capture_output=True, text=True, cwd=ROOT, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise SystemExit(f"the {spec['variant']} step failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def tree_cpu(pid: int | None) -> float:
    """CPU seconds (user + system) used so far by a process and its descendants."""
    if not pid:
        return 0.0
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


def find_minio_pid(endpoint: str) -> int | None:
    """The MinIO server listening on the endpoint, to count its CPU time."""
    port = endpoint.rsplit(":", 1)[1]
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if any("minio" in part for part in cmdline[:1]) and "server" in cmdline and any(
                part.endswith(":" + port) for part in cmdline):
            return proc.info["pid"]
    return None


MINIO_PID: int | None = None


def run_child(spec: dict, extra_sampled_pid: int | None = None) -> dict:
    """Run one variant in a fresh process, sampling its RSS (and, for http, the
    server's) every 50 ms."""
    parent_rss = psutil.Process().memory_info().rss
    minio_cpu, server_cpu = tree_cpu(MINIO_PID), tree_cpu(extra_sampled_pid)
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=ROOT, text=True,
    )
    try:
        with TreeSampler(proc.pid) as client_sampler, contextlib.ExitStack() as stack:
            server_sampler = stack.enter_context(TreeSampler(extra_sampled_pid)) if extra_sampled_pid else None
            stdout, stderr = proc.communicate()
    except BaseException:  # Ctrl+C: stop the upload before the bucket is removed
        proc.kill()
        proc.wait()
        raise
    if proc.returncode != 0:
        raise SystemExit(f"the {spec['variant']} child failed ({proc.returncode}):\n{stdout}\n{stderr}")
    result = json.loads(stdout.strip().splitlines()[-1])
    result["parent_rss_at_spawn"] = parent_rss
    # The child's whole life (start-up included, while MinIO and the server idle).
    result["minio_cpu_seconds"] = tree_cpu(MINIO_PID) - minio_cpu if MINIO_PID else None
    if extra_sampled_pid:
        result["server_cpu_seconds"] = tree_cpu(extra_sampled_pid) - server_cpu
    result["sampled_peak_rss"] = client_sampler.peak_rss
    result["sampled_peak_anon"] = client_sampler.peak_anon
    if server_sampler:
        result["server_peak_rss"] = server_sampler.peak_rss
        result["server_peak_anon"] = server_sampler.peak_anon
        result["server_peak_by_pid"] = server_sampler.peak_by_pid
        result["server_samples"] = server_sampler.samples
    return result


# --- the http server ------------------------------------------------------------


def start_server(env: dict[str, str], log_path: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    full = {**os.environ, **env}
    full.pop("DOCSVC_CONFIG", None)
    log = open(log_path, "wb")  # noqa: SIM115 (the server writes to it until it is stopped)
    proc = subprocess.Popen(
        [sys.executable, "-m", "docsvc.cli", "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(port)],
        env=full, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=ROOT, start_new_session=True,
    )
    log.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited ({proc.returncode}):\n{log_path.read_text()[-3000:]}")
        try:
            status, _ = request_json(url, "GET", "/api/v1/health")
            if status == 200:
                return proc, url
        except OSError:
            pass
        time.sleep(0.3)
    stop_server(proc)
    raise SystemExit(f"the server did not answer in 120 s:\n{log_path.read_text()[-3000:]}")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def request_json(url: str, method: str, target: str, payload: dict | None = None) -> tuple[int, dict]:
    host, port = url.split("://", 1)[1].rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    body = json.dumps(payload).encode() if payload is not None else None
    conn.request(method, target, body=body, headers={"Content-Type": "application/json"} if body else {})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, json.loads(data) if data else {}


# --- the run --------------------------------------------------------------------


def machine_info() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    import minio

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True,
                                    text=True).stdout.strip())
    except OSError:
        commit, dirty = "", False
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_mib": psutil.virtual_memory().total // MIB,
        "python": platform.python_version(),
        "minio_py": minio.__version__,
        "git_commit": commit + ("+dirty" if dirty else ""),
        # Other work on the machine shows here (the 2 cores are shared).
        "load_average_1_5_15": os.getloadavg(),
    }


def mib(value: float) -> float:
    return value / MIB


def summarize(size: int, runs: list[dict], variants: list[str]) -> dict:
    summary = {}
    for variant in variants:
        mine = [r for r in runs if r["variant"] == variant]
        if not mine:
            continue
        seconds = statistics.median(r["seconds"] for r in mine)
        entry = {
            "repetitions": len(mine),
            "seconds_median": seconds,
            "client_cpu_s_median": statistics.median(r["cpu_seconds"] for r in mine),
            "minio_cpu_s_median": (statistics.median(r["minio_cpu_seconds"] for r in mine)
                                   if mine[0].get("minio_cpu_seconds") is not None else None),
            "seconds_all": [r["seconds"] for r in mine],
            "mib_per_s_median": mib(size) / seconds,
            "peak_rss_mib": mib(max(r["vm_hwm"] for r in mine)),
            "rss_before_mib": mib(statistics.median(r["rss_before"] for r in mine)),
            "peak_over_before_mib": mib(max(r["vm_hwm"] - r["rss_before"] for r in mine)),
            "ru_maxrss_mib": mib(max(r["ru_maxrss"] for r in mine)),
            "parent_rss_at_spawn_mib": mib(max(r["parent_rss_at_spawn"] for r in mine)),
            "sampled_peak_rss_mib": mib(max(r["sampled_peak_rss"] for r in mine)),
            "sampled_peak_anon_mib": mib(max(r["sampled_peak_anon"] for r in mine)),
        }
        if "stages" in mine[0]:
            names = mine[0]["stages"].keys()
            entry["stages_median_s"] = {n: statistics.median(r["stages"][n] for r in mine) for n in names}
        if variant in HTTP_VARIANTS:
            entry["server_cpu_s_median"] = statistics.median(r["server_cpu_seconds"] for r in mine)
            entry["server_idle_rss_mib"] = mib(statistics.median(r["server_idle_rss"] for r in mine))
            entry["server_peak_rss_mib"] = mib(max(r["server_peak_rss"] for r in mine))
            entry["server_peak_over_idle_mib"] = mib(max(r["server_peak_rss"] - r["server_idle_rss"] for r in mine))
            entry["server_idle_anon_mib"] = mib(statistics.median(r["server_idle_anon"] for r in mine))
            entry["server_peak_anon_mib"] = mib(max(r["server_peak_anon"] for r in mine))
            entry["server_peak_anon_over_idle_mib"] = mib(
                max(r["server_peak_anon"] - r["server_idle_anon"] for r in mine))
        summary[variant] = entry
    if "raw" in summary:
        base = summary["raw"]["mib_per_s_median"]
        summary["ratios_vs_raw"] = {
            v: summary[v]["mib_per_s_median"] / base for v in variants if v in summary and v != "raw"
        }
    return summary


def print_table(size: int, summary: dict, variants: list[str]) -> None:
    repetitions = max(summary[v]["repetitions"] for v in variants if v in summary)
    print()
    print(f"file: {mib(size):.0f} MiB; medians of {repetitions} repetitions. RSS in MiB: the variant's own process "
          f"(peak = VmHWM, before = just before the upload);")
    print("for http also the server's process tree (sampled every 50 ms; before = idle). CPU: seconds of CPU time "
          "(user+system) of the uploading process, of MinIO, of the server.")
    header = (f"{'variant':<9} {'MiB/s':>7} {'seconds':>8} {'peak RSS':>9} {'before':>7} {'peak-before':>11}"
              f" {'CPU':>6} {'MinIO CPU':>9} {'server CPU':>10}")
    print(header)
    print("-" * len(header))
    for variant in variants:
        s = summary.get(variant)
        if not s:
            continue
        minio_cpu = f"{s['minio_cpu_s_median']:>9.2f}" if s.get("minio_cpu_s_median") is not None else f"{'':>9}"
        server_cpu = f"{s['server_cpu_s_median']:>10.2f}" if "server_cpu_s_median" in s else ""
        print(f"{variant:<9} {s['mib_per_s_median']:>7.1f} {s['seconds_median']:>8.2f} {s['peak_rss_mib']:>9.1f} "
              f"{s['rss_before_mib']:>7.1f} {s['peak_over_before_mib']:>11.1f} {s['client_cpu_s_median']:>6.2f} "
              f"{minio_cpu} {server_cpu}")
    for variant in (v for v in HTTP_VARIANTS if v in summary):
        s = summary[variant]
        print(f"{'  server':<9} {'':>7} {'':>8} {s['server_peak_rss_mib']:>9.1f} {s['server_idle_rss_mib']:>7.1f} "
              f"{s['server_peak_over_idle_mib']:>11.1f}   (anonymous memory only: peak {s['server_peak_anon_mib']:.1f}"
              f", idle {s['server_idle_anon_mib']:.1f}, peak-idle {s['server_peak_anon_over_idle_mib']:.1f})")
    if "ratios_vs_raw" in summary:
        print()
        print("throughput / raw: " + ", ".join(f"{v} {r:.2f}" for v, r in summary["ratios_vs_raw"].items()))
    with_stages = [v for v in variants if "stages_median_s" in summary.get(v, {})]
    if with_stages:
        print()
        print("where the time goes (median seconds per upload; indented rows are parts of the row above;")
        print("[threads] rows are summed over put_object's 3 parallel part uploads, so they overlap):")
        print(f"{'':<28}" + "".join(f"{v:>10}" for v in with_stages))
        for key, label in STAGE_ROWS:
            cells = [summary[v]["stages_median_s"].get(key) for v in with_stages]
            if any(c is not None for c in cells):
                print(f"{label:<28}" + "".join(f"{c:>10.2f}" if c is not None else f"{'':>10}" for c in cells))
        print(f"{'total':<28}" + "".join(f"{summary[v]['seconds_median']:>10.2f}" for v in with_stages))


STAGE_ROWS = [
    ("spool", "spool (read+sha256+write)"),
    ("spool_read", "  read the source"),
    ("spool_sha256", "  sha256"),
    ("spool_write", "  write (page cache)"),
    ("spool_other", "  other"),
    ("inspect_pdf", "inspect_pdf (pikepdf)"),
    ("store_stat", "store: stat (exists?)"),
    ("minio_put_checked", "one PUT MinIO checks (wall)"),
    ("minio_put_object", "minio put_object (wall)"),
    ("minio_read_part", "  reading parts (wall)"),
    ("put_file_read", "    file read"),
    ("put_rehash_sha256", "    re-hash (HashingReader)"),
    ("minio_wait_for_part_uploads", "  waiting for part uploads"),
    ("minio_sign_sha256", "  [threads] sign sha256"),
    ("minio_send_and_server_summed", "  [threads] send+MinIO"),
    ("db_and_rest", "db transaction + rest"),
]


def profile_components(path: Path, data_dir: Path) -> dict:
    """Each piece of the service path alone, on the same (page-cached) file."""
    from docsvc.pdf import inspect_pdf

    size = path.stat().st_size
    tmp = data_dir / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    out: dict[str, float] = {}

    def clock(name, fn):
        started = time.perf_counter()
        fn()
        out[name] = time.perf_counter() - started

    def read(chunk):
        with open(path, "rb") as handle:
            while handle.read(chunk):
                pass

    def sha256(chunk):
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            while data := handle.read(chunk):
                digest.update(data)

    def copy(hash_it: bool, sync: bool):
        target = tmp / f"profile-{uuid.uuid4().hex}"
        digest = hashlib.sha256()
        with open(path, "rb") as src, open(target, "wb") as dst:
            while data := src.read(MIB):
                if hash_it:
                    digest.update(data)
                dst.write(data)
            if sync:
                dst.flush()
                os.fsync(dst.fileno())
        target.unlink()

    def touch_fresh_memory():
        # What the first write to new memory costs (page faults): on a VM whose
        # freed memory goes back to the host this is far from free, and a
        # spool's writes to new page-cache pages pay the same.
        import mmap

        block = b"\1" * MIB
        area = mmap.mmap(-1, size)
        for at in range(0, size - MIB + 1, MIB):
            area[at:at + MIB] = block
        area.close()

    read(MIB)  # make sure the file is in the page cache
    clock("read (page cache)", lambda: read(MIB))
    clock("sha256, 1 MiB chunks", lambda: sha256(MIB))
    clock("sha256, 8 MiB chunks", lambda: sha256(8 * MIB))
    clock("first touch of as much fresh memory", touch_fresh_memory)
    clock("copy to data_dir/tmp", lambda: copy(False, False))
    clock("copy + sha256 (what spool does)", lambda: copy(True, False))
    clock("copy + sha256 + fsync", lambda: copy(True, True))
    clock("inspect_pdf", lambda: inspect_pdf(path))
    return {name: {"seconds": s, "mib_per_s": mib(size) / s} for name, s in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=1024, help="size of the PDF's image stream in MiB (1024)")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of each variant; medians reported (3)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated subset of {','.join(VARIANTS)}")
    parser.add_argument("--profile", action="store_true",
                        help="also time the service path's pieces alone (read, sha256, copy, inspect_pdf)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child_main(json.loads(args.child))))
        return
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = set(variants) - set(VARIANTS)
    if unknown or not variants:
        parser.error(f"unknown variants: {', '.join(sorted(unknown))}")
    if not 1 <= args.size_mb <= 8 * 1024:
        parser.error("--size-mb must be between 1 and 8192 (xref offsets have 10 digits)")

    load_at_start = os.getloadavg()
    load_services_env()
    check_services()
    pdf, sha256 = cached_pdf(args.size_mb)
    size = pdf.stat().st_size
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    suffix = uuid.uuid4().hex[:10]
    work = RESULTS / f"run-{stamp}-{suffix}"
    work.mkdir(parents=True)
    env = scaled_env(work / "var", suffix, size)
    server = None
    runs: list[dict] = []
    profile = None
    try:
        from storage.base import content_key
        from storage.minio_store import PART_SIZE

        clerk = "bench-clerk"
        run_helper({"variant": "setup", "env": env, "username": clerk, "password": uuid.uuid4().hex})
        spec_base = {"pdf": str(pdf), "env": env}
        token = url = None
        if set(HTTP_VARIANTS) & set(variants):
            docsvc_cli(env, "db", "upgrade")
            http_user, http_password = "bench-http", uuid.uuid4().hex
            docsvc_cli(env, "user", "add", http_user, "--role", "clerk", "--agency", "UBND-XA",
                       "--password-env", "BENCH_PASSWORD", extra_env={"BENCH_PASSWORD": http_password})
            server, url = start_server(env, work / "server.log")
            status, answer = request_json(url, "POST", "/api/v1/tokens",
                                          {"username": http_user, "password": http_password, "name": "bench"})
            if status != 201:
                raise SystemExit(f"token request answered {status}: {answer}")
            token = answer["token"]
        print(f"installation: database {env['DOCSVC_DATABASE_URL'].rsplit('/', 1)[1]}, bucket "
              f"{env['DOCSVC_MINIO_BUCKET']}, part size {PART_SIZE // MIB} MiB"
              + (f", server {url} (pid {server.pid})" if server else ""), flush=True)
        client = minio_client(env)
        key = content_key(sha256)
        global MINIO_PID
        MINIO_PID = find_minio_pid(env["DOCSVC_MINIO_ENDPOINT"])
        for repetition in range(1, args.repeat + 1):
            for variant in variants:  # interleaved, so drift hits every variant alike
                remove_all_versions(client, env["DOCSVC_MINIO_BUCKET"], key)
                spec = {**spec_base, "variant": variant}
                if variant in ("service", "ingest"):
                    spec["username"] = clerk
                if variant in HTTP_VARIANTS:
                    spec.update(url=url, token=token, sha256=sha256)
                    server_idle, server_idle_anon = idle_rss(server.pid)
                    result = run_child(spec, extra_sampled_pid=server.pid)
                    result["server_idle_rss"], result["server_idle_anon"] = server_idle, server_idle_anon
                    result["versions_removed"] = remove_all_versions(client, env["DOCSVC_MINIO_BUCKET"], key)
                else:
                    result = run_child(spec)
                result["repetition"] = repetition
                runs.append(result)
                line = (f"  #{repetition} {variant:<9} {mib(size) / result['seconds']:7.1f} MiB/s "
                        f"{result['seconds']:7.2f} s  peak RSS {mib(result['vm_hwm']):6.1f} MiB "
                        f"(+{mib(result['vm_hwm'] - result['rss_before']):.1f} over before; "
                        f"ru_maxrss {mib(result['ru_maxrss']):.1f})")
                if variant in HTTP_VARIANTS:
                    line += (f"  server {mib(result['server_idle_rss']):.1f} -> {mib(result['server_peak_rss']):.1f}"
                             f" MiB")
                print(line, flush=True)
        if args.profile:
            print("profiling the service path's pieces...", flush=True)
            profile = run_helper({"variant": "profile", "pdf": str(pdf), "env": env})
    finally:
        if server is not None:
            stop_server(server)
        cleanup_scaled(env)
        log = work / "server.log"
        if log.exists():
            shutil.copy(log, RESULTS / f"upload-{stamp}-server.log")
        shutil.rmtree(work, ignore_errors=True)

    summary = summarize(size, runs, variants)
    print_table(size, summary, variants)
    if profile:
        print()
        print("the service path's pieces alone, one after another on the same page-cached file (--profile):")
        for name, p in profile.items():
            print(f"  {name:<40} {p['seconds']:7.2f} s {p['mib_per_s']:9.0f} MiB/s")
    report = {
        "benchmark": "upload",
        "timestamp": stamp,
        "command": " ".join([Path(sys.executable).name, "bench/upload.py", *sys.argv[1:]]),
        "file": {"path": str(pdf.relative_to(ROOT)), "size": size, "sha256": sha256},
        "repeat": args.repeat,
        "variants": variants,
        "machine": {**machine_info(), "load_average_at_start": load_at_start},
        "summary": summary,
        "profile": profile,
        "runs": runs,
    }
    out = RESULTS / f"upload-{stamp}.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"\nwritten {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
