"""The real web server, started as a user starts it: `python -m docsvc.cli serve`.

`start_server` makes a fresh embedded installation (the web server is the
same code on both profiles; what it stores is tested elsewhere), a clerk who
may upload, and runs `docsvc serve --no-worker` on a free port with the
settings a test asks for. At the end its process group gets SIGTERM, then
SIGKILL.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from signing.pki import free_port  # noqa: F401  (tests of this folder import it from here)

TESTS = Path(__file__).resolve().parent.parent
ROOT_CONFIG = TESTS.parent / "config"
CLERK = ("lan.nguyen", "Mat-khau-van-thu-2024")
START_TIMEOUT = 120
# Every request a test makes has this client timeout: a server that hangs
# fails the test instead of hanging it. Never a performance check.
CLIENT_TIMEOUT = 20


@dataclass
class Server:
    url: str
    port: int
    log_path: Path
    process: subprocess.Popen

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
                base: str | None = None) -> tuple[int, dict, bytes]:
        """One request on a new connection: (status, headers, body)."""
        req = urllib.request.Request((base or self.url) + path, data=body, method=method, headers=dict(headers or {}))
        try:
            with urllib.request.urlopen(req, timeout=CLIENT_TIMEOUT) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    def token(self, base: str | None = None) -> str:
        status, _, body = self.request(
            "POST", "/api/v1/tokens", json.dumps({"username": CLERK[0], "password": CLERK[1]}).encode(),
            {"Content-Type": "application/json"}, base=base,
        )
        assert status == 201, (status, body)
        return json.loads(body)["token"]


def _root_conftest(config: pytest.Config):
    module = config.pluginmanager.get_plugin(str(TESTS / "conftest.py"))
    assert module is not None, "tests/conftest.py was not loaded"
    return module


def _wait_until_healthy(srv: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if srv.process.poll() is not None:
            pytest.fail(f"docsvc serve exited with {srv.process.returncode}:\n{srv.log()}")
        try:
            if srv.request("GET", "/api/v1/health")[0] == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"docsvc serve did not answer /api/v1/health in {START_TIMEOUT} s:\n{srv.log()}")
        time.sleep(0.25)


def _stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def start_server(request, tmp_path_factory) -> Iterator[Callable[..., Server]]:
    """start_server(**settings) → a running `docsvc serve` with those settings (DOCSVC_<NAME>)."""
    root = _root_conftest(request.config)
    started: list[subprocess.Popen] = []
    installations = []

    def start(command: list[str] | None = None, **settings) -> Server:
        """`command` replaces `docsvc serve` (e.g. docker-compose's gunicorn
        line); `{port}` in it is the free port chosen."""
        tmp = tmp_path_factory.mktemp("serve")
        maker = root.make_installation("embedded", tmp)
        installation = next(maker)
        installations.append(maker)
        env = {**installation.env, "DOCSVC_OCR_ENABLED": "0",
               **{f"DOCSVC_{name.upper()}": str(value) for name, value in settings.items()}}
        installation.env = env
        installation.run("db", "upgrade", check=True)
        installation.run("user", "add", CLERK[0], "--role", "clerk", "--agency", "UBND-XA",
                         "--password-env", "DOCSVC_TEST_CLERK_PASSWORD", check=True,
                         extra_env={"DOCSVC_TEST_CLERK_PASSWORD": CLERK[1]})
        port = free_port()
        log_path = tmp / "serve.log"
        process_env = {**os.environ, **env}
        process_env.pop("DOCSVC_CONFIG", None)
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [part.format(port=port) for part in command] if command else
                [sys.executable, "-m", "docsvc.cli", "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(port)],
                env=process_env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started.append(process)
        srv = Server(f"http://127.0.0.1:{port}", port, log_path, process)
        _wait_until_healthy(srv)
        return srv

    try:
        yield start
    finally:
        for process in started:
            _stop(process)
        for maker in installations:
            maker.close()
