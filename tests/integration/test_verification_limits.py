"""Public verification by file is limited per client, on both profiles: a
stranger's script gets the burst and then 429 with Retry-After, a refused
request leaves no audit row and no spooled file, and on the scaled profile
two web processes (two Runtimes) count one client's requests together and
reuse each other's signature reports through Redis."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from sqlalchemy import func, select

from docsvc.models import AuditEvent
from docsvc.runtime import Runtime
from tests.integration.test_ecopies import birth_certificate_scan, issued  # noqa: F401  (fixtures)

STRANGER = "203.0.113.50"
NEIGHBOUR = "198.51.100.7"


@pytest.fixture
def ecopy_file(backend, issued, tmp_path) -> bytes:  # noqa: F811
    """The registered file of an issued e-copy, as its citizen received it."""
    out = tmp_path / "ban-sao.pdf"
    backend.run("ecopy", "download", issued["code"], str(out), check=True)
    return out.read_bytes()


def _app(settings):
    from docsvc.app import create_app

    runtime = Runtime(settings)
    app = create_app(runtime=runtime)
    app.config["WTF_CSRF_ENABLED"] = False  # the /verify form's token is exercised in the browser suite
    return app, runtime


def _verify_file(client, data: bytes, client_address: str = STRANGER):
    return client.post("/api/v1/verify?filename=ban-sao.pdf", data=data, content_type="application/pdf",
                       environ_base={"REMOTE_ADDR": client_address})


def _file_verifications(runtime: Runtime) -> int:
    with runtime.read() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "ecopy.verify"))


def test_verification_by_file_is_limited_per_client_and_audited_within_the_limit(backend, issued, ecopy_file):  # noqa: F811
    settings = dataclasses.replace(backend.settings(), verify_file_rate_per_minute=1, verify_file_burst=3)
    app, runtime = _app(settings)
    client = app.test_client()
    before = _file_verifications(runtime)

    answers = [_verify_file(client, ecopy_file) for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    assert all(a.get_json()["ecopy"]["matches_registered_file"] for a in answers[:3])
    refused = answers[3]
    assert refused.get_json()["code"] == "too_many_requests"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60  # one token a minute
    # The page shares the budget, and says so in Vietnamese.
    page = client.post("/verify", data={"file": (ecopy_file, "ban-sao.pdf")}, content_type="multipart/form-data",
                       environ_base={"REMOTE_ADDR": STRANGER})
    assert page.status_code == 429 and "Retry-After" in page.headers
    assert "Quá nhiều lượt kiểm tra từ địa chỉ này" in page.get_data(as_text=True)
    # Another client has its own budget.
    assert _verify_file(client, ecopy_file, NEIGHBOUR).status_code == 200

    # One audit row per verification let through (3 + the neighbour's), none for the refused ones.
    assert _file_verifications(runtime) - before == 4
    spool = Path(settings.data_dir) / "tmp"
    assert not list(spool.glob("*"))
    runtime.close()


def test_processes_of_a_scaled_installation_share_budgets_and_reports(backend, issued, ecopy_file, tmp_path):  # noqa: F811
    """Two Runtimes are two web processes (or servers) of one installation."""
    settings = dataclasses.replace(backend.settings(), verify_file_rate_per_minute=1, verify_file_burst=4)
    first, first_rt = _app(settings)
    # The second process trusts no root: a report it made itself would not say "valid".
    untrusting = dataclasses.replace(settings, pki_dir=str(tmp_path / "no-pki"), trust_store_dir=str(tmp_path / "no-roots"))
    second, second_rt = _app(untrusting)
    a, b = first.test_client(), second.test_client()

    by_code = a.get(f"/api/v1/ecopies/{issued['code']}").get_json()
    assert by_code["signatures"]["verdict"] == "valid"
    seen_by_second = b.get(f"/api/v1/ecopies/{issued['code']}").get_json()["signatures"]["verdict"]

    statuses = [_verify_file(client, ecopy_file).status_code for client in (a, b) * 3]
    if backend.profile == "scaled":
        # One budget of 4 for the client, wherever its requests land; the
        # second process reused the first one's report through Redis.
        assert statuses == [200, 200, 200, 200, 429, 429]
        assert seen_by_second == "valid"
    else:
        # The embedded profile has one web process: each Runtime keeps its own.
        assert statuses == [200] * 6
        assert seen_by_second != "valid"
    first_rt.close()
    second_rt.close()
