"""A real `docsvc serve --port N` (embedded, no public_url set): the e-copy's
QR address and a citizen's share link name http://127.0.0.1:N, whatever Host
header a client forges; the folder and the keys it made are its account's
alone. And on both profiles, through the app, a configured public_url wins
over any Host header, on the API and on the citizen's page."""
from __future__ import annotations

import dataclasses
import http.client
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from docsvc import accounts
from docsvc.app import create_app
from docsvc.runtime import Runtime
from signing.pki import free_port
from tests.integration.test_api_and_permissions import process_all
from tests.pdfs import make_pdf, sample_paragraphs
from tests.signing.helpers import seal_png

CITIZEN, CITIZEN_PASSWORD = "001203004567", "mat-khau-cong-dan-2026"
CLERK_PASSWORD = "mat-khau-van-thu-2026"
FORGED_HOST = "evil.example"


def _request(port: int, method: str, path: str, body: dict | bytes | None = None, token: str | None = None,
             content_type: str = "application/json") -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Host": FORGED_HOST}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    if data is not None:
        headers["Content-Type"] = content_type
    try:
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        connection.close()


def _token(port: int, username: str, password: str) -> str:
    status, body = _request(port, "POST", "/api/v1/tokens", {"username": username, "password": password})
    assert status == 201, body
    return body["token"]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from tests.conftest import make_installation

    folder = tmp_path_factory.mktemp("served")
    installations = make_installation("embedded", folder)
    installation = next(installations)
    data_dir = Path(installation.env["DOCSVC_DATA_DIR"])
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)  # made earlier, by hand, readable by everyone
    port = free_port()
    env = {**os.environ, **installation.env}
    env.pop("DOCSVC_CONFIG", None)
    env.pop("DOCSVC_PUBLIC_URL", None)
    log = open(folder / "serve.log", "wb")  # noqa: SIM115 (the server writes to it until it is stopped)
    process = subprocess.Popen([sys.executable, "-m", "docsvc.cli", "serve", "--port", str(port), "--no-worker"],
                               env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, (folder / "serve.log").read_text()
            try:
                if _request(port, "GET", "/api/v1/health")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, (folder / "serve.log").read_text()
            time.sleep(0.25)
        yield installation, port, data_dir
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()
        next(installations, None)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_data_folder_and_the_keys_are_the_service_accounts_alone(served):
    _, _, data_dir = served
    assert _mode(data_dir) == 0o700
    for secret in ("secret_key", "admin-password.txt"):
        assert _mode(data_dir / secret) == 0o600, secret
    keys = sorted((data_dir / "pki").glob("*.p12"))
    assert keys and all(_mode(key) == 0o600 for key in keys), {k.name: oct(_mode(k)) for k in keys}
    assert _mode(data_dir / "pki") == 0o700
    # What the process wrote under its umask: the database, nothing for group or others.
    assert _mode(data_dir / "docsvc.sqlite3") & 0o077 == 0


def test_qr_and_share_addresses_name_the_port_served_not_the_host_header(served, tmp_path):
    installation, port, _ = served
    (tmp_path / "con-dau.png").write_bytes(seal_png())
    settings = installation.settings()
    installation.run("key", "add", "--agency", "UBND-XA", "--pkcs12", f"{settings.pki_dir}/agency.p12",
                     "--image", str(tmp_path / "con-dau.png"), check=True)
    installation.run("user", "add", "van-thu", "--role", "clerk", "--agency", "UBND-XA", "--password-env", "PW",
                     check=True, extra_env={"PW": CLERK_PASSWORD})
    installation.run("user", "add", "cong-dan", "--role", "citizen", "--citizen-id", CITIZEN, "--password-env", "PW",
                     check=True, extra_env={"PW": CITIZEN_PASSWORD})
    clerk = _token(port, "van-thu", CLERK_PASSWORD)
    pdf = make_pdf(tmp_path / "xac-nhan.pdf", "Giấy xác nhận", sample_paragraphs("binh-duong-cchc-2020.txt")[:1])
    status, document = _request(port, "POST", "/api/v1/documents?filename=xac-nhan.pdf&title=Xac+nhan",
                                pdf.read_bytes(), clerk, "application/pdf")
    assert status == 202, document
    rt = Runtime(settings)
    try:
        process_all(rt)  # the worker's job; this server runs without one
    finally:
        rt.close()
    status, issued = _request(port, "POST", "/api/v1/ecopies", {"document_id": document["id"], "citizen_id": CITIZEN,
                                                                 "passphrase": "docsvc-dev"}, clerk)
    assert status == 201, issued
    assert issued["verify_url"] == f"http://127.0.0.1:{port}/v/{issued['code']}"

    citizen = _token(port, "cong-dan", CITIZEN_PASSWORD)
    status, share = _request(port, "POST", f"/api/v1/my/ecopies/{issued['code']}/shares",
                             {"recipient": "Sở Tư pháp", "days": 3}, citizen)
    assert status == 201, share
    assert share["url"] == f"http://127.0.0.1:{port}/s/{share['token']}"


@pytest.fixture
def citizen_with_an_ecopy(rt, backend, make_user, tmp_path):
    from docsvc.signatures.verification import create_dev_pki

    create_dev_pki(rt.settings)
    (tmp_path / "con-dau.png").write_bytes(seal_png())
    backend.run("key", "add", "--agency", "UBND-XA", "--pkcs12", f"{rt.settings.pki_dir}/agency.p12",
                "--image", str(tmp_path / "con-dau.png"), check=True)
    with rt.write() as session:
        accounts.add_user(session, "cong-dan", CITIZEN_PASSWORD, "citizen", citizen_id=CITIZEN)
    public = Runtime(dataclasses.replace(rt.settings, public_url="https://dichvucong.example.gov.vn/"))
    app = create_app(runtime=public)
    app.config["WTF_CSRF_ENABLED"] = False
    clerk = make_user("clerk")
    pdf = make_pdf(tmp_path / "xac-nhan.pdf", "Giấy xác nhận", sample_paragraphs("binh-duong-cchc-2020.txt")[:1])
    clerk.client = app.test_client()
    document = clerk.post("/api/v1/documents", data={"file": (pdf.open("rb"), "xac-nhan.pdf"), "title": "Xác nhận"},
                          content_type="multipart/form-data").get_json()
    process_all(rt)
    issued = clerk.client.post("/api/v1/ecopies", json={"document_id": document["id"], "citizen_id": CITIZEN,
                                                         "passphrase": "docsvc-dev"},
                               headers=clerk.headers | {"Host": FORGED_HOST})
    assert issued.status_code == 201, issued.get_json()
    yield app, issued.get_json()
    public.close()


def test_a_configured_public_url_wins_over_any_host_header(citizen_with_an_ecopy):
    app, issued = citizen_with_an_ecopy
    base = "https://dichvucong.example.gov.vn"
    assert issued["verify_url"] == f"{base}/v/{issued['code']}"
    client = app.test_client()
    token = client.post("/api/v1/tokens", json={"username": "cong-dan", "password": CITIZEN_PASSWORD}).get_json()["token"]
    shared = client.post(f"/api/v1/my/ecopies/{issued['code']}/shares", json={"days": 2},
                         headers={"Authorization": f"Bearer {token}", "Host": FORGED_HOST}).get_json()
    assert shared["url"] == f"{base}/s/{shared['token']}"

    browser = app.test_client()
    # Signed in under the forged name too, so that the browser sends its cookie there.
    assert browser.post("/login", data={"username": "cong-dan", "password": CITIZEN_PASSWORD},
                        headers={"Host": FORGED_HOST}).status_code == 302
    page = browser.post(f"/cong-dan/{issued['code']}/chia-se", data={"days": "2", "max_uses": "1"},
                        headers={"Host": FORGED_HOST}).get_data(as_text=True)
    assert f"{base}/s/" in page and FORGED_HOST not in page
