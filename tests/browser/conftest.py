"""Browser fixtures: the real service started as a user starts it, and Chromium.

`server` runs `python -m docsvc.cli serve` (migrations, bootstrap, gunicorn and
a Celery worker child) on a free port of a fresh installation, once per module
and profile, with a clerk of the default agency UBND-XA made beforehand by
`docsvc user add`. At the end the server's process group gets SIGTERM (then
SIGKILL); any process it started that is still alive afterwards (the worker
runs in its own session) is killed and reported as an error.

The scaled profile needs the services of scripts/services/up (their addresses
in .cache/services.env); without them its tests fail, as CI never skips them.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import pytest

from signing.pki import free_port

TESTS = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

DEFAULT_AGENCY = "UBND-XA"
CLERK_USERNAME = "lan.nguyen"
CLERK_FULL_NAME = "Nguyễn Thị Lan"
CLERK_PASSWORD = "Mat-khau-van-thu-2024"
ACCESS_LOG = re.compile(r'^\S+ - \S+ \[[^]]+\] "[A-Z]+ ')
START_TIMEOUT = 120
STOP_TIMEOUT = 60  # `docsvc serve` itself waits up to 30 s for its worker


def _root_conftest(config: pytest.Config):
    """tests/conftest.py as pytest loaded it (its `backend` fixture's installation maker)."""
    module = config.pluginmanager.get_plugin(str(TESTS / "conftest.py"))
    assert module is not None, "tests/conftest.py was not loaded"
    return module


@dataclass
class Server:
    """A running `docsvc serve`: its address, its log and the clerk who may sign in."""

    profile: str
    url: str
    log_path: Path
    installation: object
    process: subprocess.Popen
    username: str = CLERK_USERNAME
    password: str = CLERK_PASSWORD
    full_name: str = CLERK_FULL_NAME

    def log_tail(self, chars: int = 4000) -> str:
        """The end of the server's output, without gunicorn's access log."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(line for line in lines if not ACCESS_LOG.match(line))[-chars:]

    def api(self, method: str, path: str, body: bytes | None = None, token: str | None = None,
            headers: dict | None = None):
        """One HTTP request to the API, outside the browser: (status, JSON body)."""
        request = urllib.request.Request(self.url + path, data=body, method=method, headers=dict(headers or {}))
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                return exc.code, json.loads(raw)
            except ValueError:
                return exc.code, raw.decode(errors="replace")

    def token(self) -> str:
        status, body = self.api(
            "POST", "/api/v1/tokens",
            json.dumps({"username": self.username, "password": self.password, "name": "browser-tests"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        assert status == 201, (status, body)
        return body["token"]


@pytest.fixture(scope="module", params=["embedded", "scaled"])
def installation(request, tmp_path_factory) -> Iterator[object]:
    """A fresh installation on one profile, made as the `backend` fixture makes it
    (tests/conftest.py's make_installation), but once per module: starting and
    stopping `docsvc serve` is the slow part."""
    root = _root_conftest(request.config)
    yield from root.make_installation(request.param, tmp_path_factory.mktemp(f"browser-{request.param}"))


def _stop(process: subprocess.Popen) -> list[str]:
    """SIGTERM the server's group, then SIGKILL; kill and name what it left behind."""
    try:
        started = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        started = []
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):  # the gunicorn worker and anything else left in the group
        os.killpg(process.pid, signal.SIGKILL)
    _, alive = psutil.wait_procs(started, timeout=10)
    leftovers = []
    for child in alive:
        try:
            if _alive(child):
                leftovers.append(f"{child.pid} {' '.join(child.cmdline())}")
                child.kill()
        except psutil.NoSuchProcess:
            pass
    return leftovers


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _worker_processes(process: subprocess.Popen) -> list[psutil.Process]:
    try:
        children = psutil.Process(process.pid).children()
    except psutil.NoSuchProcess:
        return []
    found = []
    for child in children:
        try:
            if "worker" in child.cmdline():
                found.append(child)
        except psutil.NoSuchProcess:
            pass
    return found


def _wait_for_worker(srv: Server, timeout: float = 30) -> None:
    """Fail at once, with its log, if the worker `docsvc serve` started dies on start
    (documents would otherwise wait for it forever); go on once Celery says it is ready."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        workers = [w for w in _worker_processes(srv.process) if _alive(w)]
        if not workers:
            pytest.fail(f"the worker started by `docsvc serve` is not running:\n{srv.log_tail(8000)}")
        if re.search(r"celery@\S+ ready\.", srv.log_tail(1_000_000)):
            time.sleep(1)  # a crash right after "ready." (e.g. the broker connection) shows up here
            if any(_alive(w) for w in workers):
                return
        time.sleep(0.25)


@pytest.fixture(scope="module")
def server(installation, tmp_path_factory) -> Iterator[Server]:
    with serve(installation, tmp_path_factory) as srv:
        yield srv


@contextlib.contextmanager
def serve(installation, tmp_path_factory) -> Iterator[Server]:
    """`docsvc serve` of `installation` (with its worker), as the `server`
    fixture starts it; a second one for tests of two installations."""
    installation.run("db", "upgrade", check=True)
    # Both profiles sign with the development PKI in these tests.
    installation.run("pki", "init", check=True)
    installation.run(
        "user", "add", CLERK_USERNAME, "--role", "clerk", "--agency", DEFAULT_AGENCY,
        "--full-name", CLERK_FULL_NAME, "--password-env", "DOCSVC_TEST_CLERK_PASSWORD",
        check=True, extra_env={"DOCSVC_TEST_CLERK_PASSWORD": CLERK_PASSWORD},
    )
    port = free_port()
    log_path = tmp_path_factory.mktemp("server-log") / "serve.log"
    env = {**os.environ, **installation.env}
    env.pop("DOCSVC_CONFIG", None)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "docsvc.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    srv = Server(installation.profile, f"http://127.0.0.1:{port}", log_path, installation, process)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"docsvc serve exited with {process.returncode} before answering:\n{srv.log_tail()}")
            try:
                status, body = srv.api("GET", "/api/v1/health")
                if status == 200 and isinstance(body, dict) and body.get("status") == "ok":
                    assert body["profile"] == installation.profile
                    break
            except (OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"docsvc serve did not answer /api/v1/health in {START_TIMEOUT} s:\n{srv.log_tail()}")
            time.sleep(0.25)
        _wait_for_worker(srv)
        yield srv
    finally:
        leftovers = _stop(process)
    if leftovers:
        pytest.fail(
            "processes started by `docsvc serve` were still running after it stopped:\n"
            + "\n".join(leftovers) + "\n" + srv.log_tail()
        )


# --- Chromium --------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    # Per module, not per session: Playwright's sync API runs an asyncio loop
    # in this thread while it is open, and later suites (pyHanko's synchronous
    # helpers) must find no loop running.
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium fonts-dejavu-core")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class PageProblems:
    errors: list[str] = field(default_factory=list)  # uncaught JavaScript exceptions
    outside: list[str] = field(default_factory=list)  # requests to anywhere but the server


@pytest.fixture
def page_problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
def context(browser, server, page_problems):
    """A fresh browser profile (no cookies) pointed at the server; offline apart from it."""
    ctx = browser.new_context(base_url=server.url, locale="vi-VN", viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(15_000)
    server_host = urlsplit(server.url).netloc

    def only_the_server(route):
        url = route.request.url
        if url.startswith(("data:", "blob:")) or urlsplit(url).netloc == server_host:
            route.continue_()
        else:
            page_problems.outside.append(url)
            route.abort()

    ctx.route("**/*", only_the_server)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context, page_problems):
    pg = context.new_page()
    pg.on("pageerror", lambda exc: page_problems.errors.append(str(exc)))
    yield pg
    assert not page_problems.errors, f"JavaScript errors on the pages: {page_problems.errors}"
    assert not page_problems.outside, f"the pages tried to load from elsewhere: {page_problems.outside}"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failure, show the end of the server's log beside the test's report."""
    report = yield
    server = getattr(item, "funcargs", {}).get("server")
    if report.failed and isinstance(server, Server):
        report.sections.append((f"docsvc serve log ({server.profile}, last lines)", server.log_tail(8000)))
    return report
