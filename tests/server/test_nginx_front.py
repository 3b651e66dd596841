"""The production front's nginx config (config/nginx/docsvc.conf), run for real.

Debian's nginx (scripts/services/tools.sh) runs this very file, with only
its two addresses replaced, inside an `http {}` block like the official
image's, as the current user with its own prefix, pid and temporary paths,
in front of a real `docsvc serve` with trusted_proxies = 1 (as docker-compose
sets it). Clients connect from other loopback addresses (127.0.0.5, …) than
nginx's own 127.0.0.1, so the address the app counts is visibly the client's.
"""
from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.upload import write_pdf
from tests.server.conftest import CLIENT_TIMEOUT, ROOT_CONFIG, Server, free_port

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
HEADER_TIMEOUT = 10  # client_header_timeout in docsvc.conf
VERIFY_BURST = 3
MIB = 1024 * 1024


@dataclass
class Front:
    url: str
    port: int
    prefix: Path
    app: Server

    def error_log(self) -> str:
        return (self.prefix / "error.log").read_text(errors="replace")

    def request(self, method: str, path: str, body=None, headers: dict | None = None,
                client_ip: str = "127.0.0.5") -> tuple[int, dict, bytes]:
        """One request through nginx, from the loopback address `client_ip`."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=CLIENT_TIMEOUT, source_address=(client_ip, 0))
        try:
            conn.request(method, path, body=body, headers=dict(headers or {}))
            response = conn.getresponse()
            return response.status, dict(response.headers), response.read()
        finally:
            conn.close()


def render_config(prefix: Path, listen_port: int, app_port: int) -> Path:
    """docsvc.conf with its two addresses replaced, inside a main config of this prefix."""
    site = ROOT_CONFIG.joinpath("nginx", "docsvc.conf").read_text()
    for pattern, replacement in ((r"^(\s*)listen 80;$", rf"\1listen 127.0.0.1:{listen_port};"),
                                 (r"^(\s*)server web:8080;$", rf"\1server 127.0.0.1:{app_port};")):
        site, count = re.subn(pattern, replacement, site, flags=re.M)
        assert count == 1, f"config/nginx/docsvc.conf should have exactly one line matching {pattern}"
    (prefix / "docsvc.conf").write_text(site)
    temp_paths = "\n".join(f"    {kind}_temp_path {prefix / kind};" for kind in
                           ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    main = f"""
{"user root;" if os.geteuid() == 0 else ""}
worker_processes 1;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} info;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {prefix / "access.log"};
{temp_paths}
    include {prefix / "docsvc.conf"};
}}
"""
    path = prefix / "nginx.conf"
    path.write_text(main)
    return path


@pytest.fixture(scope="module")
def front(start_server, tmp_path_factory) -> Iterator[Front]:
    if not Path(NGINX).exists():
        pytest.fail("nginx is missing: scripts/services/tools.sh install")
    app = start_server(trusted_proxies=1, verify_burst=VERIFY_BURST, verify_rate_per_minute=1)
    prefix = tmp_path_factory.mktemp("nginx")
    port = free_port()
    config = render_config(prefix, port, app.port)
    check = subprocess.run([NGINX, "-t", "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(config)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen(
        [NGINX, "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(config), "-g", "daemon off;"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        front = Front(f"http://127.0.0.1:{port}", port, prefix, app)
        deadline = time.monotonic() + 30
        while True:
            try:
                if front.request("GET", "/api/v1/health")[0] == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"nginx did not answer:\n{front.error_log()[-3000:]}")
            time.sleep(0.2)
        yield front
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        except ProcessLookupError:
            pass


def test_a_slowloris_connection_is_cut_by_nginx(front):
    sock = socket.create_connection(("127.0.0.1", front.port), timeout=HEADER_TIMEOUT + 10,
                                    source_address=("127.0.0.5", 0))
    try:
        sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: docsvc\r\nUser-Agent: slow")
        assert front.request("GET", "/api/v1/health")[0] == 200
        try:
            assert sock.recv(65536) == b""  # nginx closes without answering
        except ConnectionResetError:
            pass
        except TimeoutError:
            pytest.fail("nginx kept a half-sent request head open past client_header_timeout")
    finally:
        sock.close()
    assert "client timed out" in front.error_log()


def test_a_body_over_the_verification_limit_gets_413_in_the_one_error_shape(front):
    for path in ("/api/v1/verify", "/verify"):
        sock = socket.create_connection(("127.0.0.1", front.port), timeout=CLIENT_TIMEOUT)
        try:
            sock.sendall(f"POST {path} HTTP/1.1\r\nHost: docsvc\r\nContent-Type: application/pdf\r\n"
                         f"Content-Length: {40 * MIB}\r\n\r\n%PDF-1.7\n".encode())
            answer = sock.recv(65536)
        finally:
            sock.close()
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 413 "), answer[:300]
        assert json.loads(body)["code"] == "upload_too_large"


def test_json_and_page_forms_have_small_limits(front):
    status, _, body = front.request("POST", "/api/v1/tokens", b"{" + b" " * (2 * MIB) + b"}",
                                    {"Content-Type": "application/json"})
    assert status == 413 and json.loads(body)["code"] == "upload_too_large"
    status, _, _ = front.request("POST", "/login", b"username=" + b"a" * MIB,
                                 {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 413


def test_an_upload_over_the_verification_limit_streams_through_to_the_documents_api(front, tmp_path):
    pdf = tmp_path / "so-tay-luu-tru.pdf"
    write_pdf(pdf, 40)
    token = front.app.token(base=front.url)
    with open(pdf, "rb") as body:
        status, _, answer = front.request(
            "POST", "/api/v1/documents?filename=so-tay-luu-tru.pdf", body,
            {"Authorization": f"Bearer {token}", "Content-Type": "application/pdf",
             "Content-Length": str(pdf.stat().st_size)},
        )
    assert status == 202, answer[:500]
    assert json.loads(answer)["files"][0]["size"] == pdf.stat().st_size
    # Streamed as it arrived: nginx wrote no copy of it to its own disk. A file
    # to verify, on the contrary, is received whole by nginx first, so a slow
    # anonymous client costs gunicorn nothing (and this log line is real).
    small = tmp_path / "to-verify.pdf"
    write_pdf(small, 1)
    assert front.request("POST", "/api/v1/verify", small.read_bytes(), {"Content-Type": "application/pdf"})[0] == 200
    log = front.error_log()
    assert re.search(r"buffered to a temporary file.*/api/v1/verify", log)
    assert not re.search(r"buffered to a temporary file.*/api/v1/documents", log)


def test_the_client_address_reaching_the_app_is_the_real_one(front):
    """Verification by code is limited per client: a client that used its burst is
    refused, another client behind the same nginx is not, and a forged
    X-Forwarded-For does not make the first one someone else."""
    code = "/api/v1/ecopies/ABCD-EFGH-JKMN-PQRS-T"
    for _ in range(VERIFY_BURST):
        assert front.request("GET", code, client_ip="127.0.0.6")[0] != 429
    assert front.request("GET", code, client_ip="127.0.0.6")[0] == 429
    assert front.request("GET", code, client_ip="127.0.0.7")[0] != 429
    forged = {"X-Forwarded-For": "127.0.0.8", "X-Real-IP": "127.0.0.8"}
    assert front.request("GET", code, headers=forged, client_ip="127.0.0.6")[0] == 429
