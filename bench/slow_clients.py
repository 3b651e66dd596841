"""Latency of GET /api/v1/health while slow clients hold connections open.

Starts `docsvc serve --no-worker` on a fresh embedded installation (a
temporary folder) on a free port, measures /api/v1/health unloaded, then
with N slow connections held open, for each N given: `--kind head` (each
sends part of a request head, `GET / HTTP/1.1\\r\\nHost: x\\r\\n`, then
nothing) or `--kind body` (a POST /api/v1/verify announcing 5 MB that sends
100 KB, then nothing).

    PYTHONPATH=$PWD .venv/bin/python bench/slow_clients.py --connections 8,32,256 [--kind body]

Each health request has a client timeout (--timeout, default 15 s); a request
that times out is counted as such, not as a latency. Half-open connections a
server closes are noticed and counted ("cut").
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from signing.pki import free_port  # noqa: E402  (a port outside the ephemeral range)

SLOW_REQUESTS = {
    "head": b"GET / HTTP/1.1\r\nHost: x\r\n",
    "body": (b"POST /api/v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/pdf\r\n"
             b"Content-Length: 5000000\r\n\r\n%PDF-1.7\n" + b"x" * 100_000),
}


def start_server(data_dir: Path, port: int, log_path: Path) -> subprocess.Popen:
    env = {**os.environ, "DOCSVC_DATA_DIR": str(data_dir), "DOCSVC_OCR_ENABLED": "false"}
    env.pop("DOCSVC_CONFIG", None)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "docsvc.cli", "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"docsvc serve exited:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=2):
                return process
        except OSError:
            time.sleep(0.25)
    raise SystemExit("docsvc serve did not answer in 120 s")


def stop_server(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


def health_latency(port: int, timeout: float) -> float | None:
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=timeout) as response:
            response.read()
    except OSError:
        return None
    return time.perf_counter() - started


def open_slow(port: int, count: int, kind: str) -> list[socket.socket]:
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(SLOW_REQUESTS[kind])
        sockets.append(sock)
    return sockets


def cut_count(sockets: list[socket.socket]) -> int:
    """How many of these connections the server has closed (EOF or reset)."""
    cut = 0
    for sock in sockets:
        sock.setblocking(False)
        try:
            data = sock.recv(4096)
            cut += 1 if data == b"" or data.startswith(b"HTTP/") else 0
        except BlockingIOError:
            pass
        except OSError:
            cut += 1
    return cut


def measure(port: int, samples: int, timeout: float) -> str:
    results = [health_latency(port, timeout) for _ in range(samples)]
    ok = [r * 1000 for r in results if r is not None]
    timed_out = len(results) - len(ok)
    if not ok:
        return f"all {samples} timed out after {timeout:g} s"
    return (f"p50 {statistics.median(ok):.1f} ms, max {max(ok):.1f} ms"
            + (f", {timed_out} of {samples} timed out after {timeout:g} s" if timed_out else ""))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", default="8,32,256")
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=15.0)
    parser.add_argument("--kind", choices=sorted(SLOW_REQUESTS), default="head")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="docsvc-slow-clients-") as tmp:
        port = free_port()
        process = start_server(Path(tmp) / "var", port, Path(tmp) / "serve.log")
        try:
            print(f"unloaded: {measure(port, args.samples, args.timeout)}")
            for count in (int(n) for n in args.connections.split(",")):
                held = open_slow(port, count, args.kind)
                try:
                    time.sleep(0.5)
                    print(f"{count} slow ({args.kind}): {measure(port, args.samples, args.timeout)}; "
                          f"cut by the server meanwhile: {cut_count(held)} of {count}", flush=True)
                finally:
                    for sock in held:
                        sock.close()
                time.sleep(1)
        finally:
            stop_server(process)


if __name__ == "__main__":
    main()
