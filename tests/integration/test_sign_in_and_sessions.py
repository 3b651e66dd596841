"""Signing in and staying signed in, on both profiles: guessing is throttled
per account and per client, unknown usernames cost the same argon2 check as
known ones, signing out ends the session on the server (a copied cookie is
worth nothing), sessions and API tokens expire, tokens can be revoked, and an
administrator disables users and resets passwords from the command line."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta

import pytest
from argon2 import PasswordHasher, extract_parameters
from sqlalchemy import select, update

from docsvc import accounts
from docsvc.app import create_app
from docsvc.cli import prepare
from docsvc.config import load_settings
from docsvc.errors import Unauthorized
from docsvc.models import ApiToken, User, UserSession, utcnow
from docsvc.runtime import Runtime
from tests.integration.conftest import PASSWORD

SESSION_COOKIE = "session"


def make_app(backend, **settings):
    runtime = Runtime(load_settings(backend.env, **settings))
    prepare(runtime)
    application = create_app(runtime=runtime)
    application.config.update(TESTING=True, WTF_CSRF_ENABLED=False)  # the form's token: tests/browser
    return runtime, application


@pytest.fixture
def tight(backend):
    """An installation whose sign-in buckets hold 3 attempts per account and
    4 per client, refilling one an hour (nothing refills during a test)."""
    runtime, application = make_app(backend, sign_in_account_burst=3, sign_in_account_per_hour=1,
                                    sign_in_client_burst=4, sign_in_client_per_hour=1)
    yield runtime, application
    runtime.close()


def add_user(rt, username: str, role: str = "clerk", agency: str | None = "UBND-XA") -> None:
    with rt.write() as session:
        accounts.add_user(session, username, PASSWORD, role, agency_code=agency)


def api_sign_in(client, username: str, password: str, address: str):
    return client.post("/api/v1/tokens", json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def page_sign_in(client, username: str, password: str, address: str = "127.0.0.1", query: str = ""):
    return client.post("/login" + query, data={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def assert_throttled_json(response) -> None:
    assert response.status_code == 429
    assert response.get_json()["code"] == "too_many_sign_ins"
    assert set(response.get_json()) == {"code", "message"}
    assert int(response.headers["Retry-After"]) > 0


# --- throttling -------------------------------------------------------------------------


def test_one_account_guessed_from_many_addresses_is_throttled_on_the_page_and_the_api(tight):
    rt, app = tight
    add_user(rt, "van-thu")
    client = app.test_client()
    assert api_sign_in(client, "van-thu", "doan-sai-1", "203.0.113.1").status_code == 401
    assert page_sign_in(client, "van-thu", "doan-sai-2", "203.0.113.2").status_code == 401
    assert api_sign_in(client, " VAN-THU ", "doan-sai-3", "203.0.113.3").status_code == 401  # same account, folded

    # The bucket is empty: even the right password waits, from a fresh address.
    assert_throttled_json(api_sign_in(client, "van-thu", PASSWORD, "198.51.100.9"))
    page = page_sign_in(client, "van-thu", PASSWORD, "198.51.100.10")
    assert page.status_code == 429 and int(page.headers["Retry-After"]) > 0
    text = page.get_data(as_text=True)
    assert "Quá nhiều lần đăng nhập" in text and "Có thể thử lại sau" in text
    english = client.post("/login?lang=en", data={"username": "van-thu", "password": PASSWORD},
                          environ_base={"REMOTE_ADDR": "198.51.100.11"})
    assert english.status_code == 429 and "Too many sign-in attempts" in english.get_data(as_text=True)

    # Other accounts are not affected.
    add_user(rt, "lanh-dao", role="official")
    assert api_sign_in(client, "lanh-dao", PASSWORD, "198.51.100.9").status_code == 201


def test_an_unknown_username_is_throttled_like_a_real_one(tight):
    """A 429 for real accounts only would tell which usernames exist."""
    rt, app = tight
    client = app.test_client()
    for n in range(3):
        assert api_sign_in(client, "khong-ton-tai", "doan", f"203.0.113.{n + 1}").status_code == 401
    assert_throttled_json(api_sign_in(client, "khong-ton-tai", "doan", "203.0.113.50"))


def test_one_address_trying_many_accounts_is_throttled(tight):
    rt, app = tight
    for name in ("a1", "a2", "a3", "a4", "a5"):
        add_user(rt, f"can-bo-{name}")
    client = app.test_client()
    attacker = "192.0.2.66"
    assert api_sign_in(client, "can-bo-a1", "doan", attacker).status_code == 401
    assert page_sign_in(client, "can-bo-a2", "doan", attacker).status_code == 401
    assert api_sign_in(client, "can-bo-a3", "doan", attacker).status_code == 401
    assert api_sign_in(client, "khong-co-ai", "doan", attacker).status_code == 401
    assert_throttled_json(api_sign_in(client, "can-bo-a4", PASSWORD, attacker))
    assert page_sign_in(client, "can-bo-a4", PASSWORD, attacker).status_code == 429
    # Someone else, and that same account from another address, still get in.
    assert api_sign_in(client, "can-bo-a4", PASSWORD, "192.0.2.67").status_code == 201
    assert page_sign_in(client, "can-bo-a5", PASSWORD, "192.0.2.68").status_code == 302


class CountingHasher(PasswordHasher):
    """The real argon2 verification, counted."""

    verifications = 0

    def verify(self, hash, password):
        CountingHasher.verifications += 1
        return super().verify(hash, password)


def test_unknown_and_disabled_users_cost_one_argon2_verification_like_known_ones(rt, monkeypatch):
    add_user(rt, "co-that")
    add_user(rt, "da-khoa")
    with rt.write() as session:
        accounts.set_active(session, "da-khoa", False)
    monkeypatch.setattr(accounts, "_hasher", CountingHasher())
    for username, password in (("co-that", PASSWORD), ("co-that", "sai"), ("khong-co", "sai"), ("da-khoa", PASSWORD)):
        CountingHasher.verifications = 0
        with rt.read() as session:
            if (username, password) == ("co-that", PASSWORD):
                accounts.authenticate(session, username, password)
            else:
                with pytest.raises(Unauthorized):
                    accounts.authenticate(session, username, password)
        assert CountingHasher.verifications == 1, username
    # The dummy hash costs what a real one costs: the same argon2 parameters.
    with rt.read() as session:
        real = session.scalar(select(User.password_hash).where(User.username == "co-that"))
    assert extract_parameters(accounts._dummy_hash()) == extract_parameters(real)


# --- where the browser goes after signing in ------------------------------------------------


@pytest.mark.parametrize(("query", "location"), [
    ("?next=/%09/evil.example", "/"),
    ("?next=/%5Cevil.example", "/"),
    ("?next=%20//evil.example", "/"),
    ("?next=https://evil.example/", "/"),
    ("?next=/queue%3Fdone%3D1", "/queue?done=1"),
])
def test_the_login_page_sends_the_browser_only_to_local_pages(rt, app, query, location):
    add_user(rt, "van-thu")
    app.config["WTF_CSRF_ENABLED"] = False
    response = page_sign_in(app.test_client(), "van-thu", PASSWORD, query=query)
    assert response.status_code == 302 and response.headers["Location"] == location


# --- sessions ---------------------------------------------------------------------------


def signed_in_browser(app, username: str = "van-thu"):
    browser = app.test_client()
    assert page_sign_in(browser, username, PASSWORD).status_code == 302
    assert browser.get("/queue").status_code == 200
    return browser


def copy_of(app, browser):
    """A second browser holding a copy of the first one's session cookie."""
    thief = app.test_client()
    thief.set_cookie(SESSION_COOKIE, browser.get_cookie(SESSION_COOKIE).value)
    return thief


def test_signing_out_ends_the_session_on_the_server_so_a_copied_cookie_stops_working(rt, app):
    add_user(rt, "van-thu")
    app.config["WTF_CSRF_ENABLED"] = False
    browser = signed_in_browser(app)
    thief = copy_of(app, browser)
    assert thief.get("/queue").status_code == 200  # a copied cookie works while the session lives

    assert browser.post("/logout").status_code == 302
    for client in (browser, thief):
        response = client.get("/queue")
        assert response.status_code == 302 and "/login" in response.headers["Location"]
        assert client.get("/api/v1/queue").status_code == 401
    with rt.read() as session:
        assert session.scalar(select(UserSession).limit(1)) is None


def test_the_cookie_carries_a_random_id_and_no_user_id(rt, app):
    add_user(rt, "van-thu")
    app.config["WTF_CSRF_ENABLED"] = False
    browser = signed_in_browser(app)
    from flask.sessions import SecureCookieSessionInterface

    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    data = serializer.loads(browser.get_cookie(SESSION_COOKIE).value)
    assert "user_id" not in data and len(data["sid"]) >= 40
    with rt.read() as session:
        row = session.scalar(select(UserSession))
        assert row.id_hash != data["sid"]  # only its hash is stored
        assert row.expires_at - row.created_at == timedelta(hours=12)


def test_a_session_ends_after_session_hours(backend):
    rt, app = make_app(backend, session_hours=2)
    try:
        add_user(rt, "van-thu")
        browser = signed_in_browser(app)
        with rt.write() as session:
            row = session.scalar(select(UserSession))
            assert row.expires_at - row.created_at == timedelta(hours=2)
            row.expires_at = utcnow() - timedelta(seconds=1)  # as if two hours went by
        assert browser.get("/queue").status_code == 302
        # The next sign-in forgets the expired row.
        signed_in_browser(app)
        with rt.read() as session:
            assert len(session.scalars(select(UserSession)).all()) == 1
    finally:
        rt.close()


# --- API tokens ---------------------------------------------------------------------------


def new_token(client, username: str) -> dict:
    response = api_sign_in(client, username, PASSWORD, "127.0.0.1")
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_api_tokens_expire_after_token_days(backend):
    rt, app = make_app(backend, token_days=7)
    try:
        add_user(rt, "van-thu")
        client = app.test_client()
        issued = new_token(client, "van-thu")
        expires = datetime.fromisoformat(issued["expires_at"])
        assert timedelta(days=7) - timedelta(minutes=1) < expires - utcnow() <= timedelta(days=7)
        assert client.get("/api/v1/queue", headers=bearer(issued["token"])).status_code == 200
        with rt.write() as session:
            session.execute(update(ApiToken).where(ApiToken.id == issued["id"])
                            .values(expires_at=utcnow() - timedelta(seconds=1)))
        refused = client.get("/api/v1/queue", headers=bearer(issued["token"]))
        assert refused.status_code == 401 and "expired" in refused.get_json()["message"]

        # A token from before tokens expired (no expires_at) lives token_days from its issue.
        legacy = new_token(client, "van-thu")
        with rt.write() as session:
            session.execute(update(ApiToken).where(ApiToken.id == legacy["id"])
                            .values(expires_at=None, created_at=utcnow() - timedelta(days=6)))
        assert client.get("/api/v1/queue", headers=bearer(legacy["token"])).status_code == 200
        with rt.write() as session:
            session.execute(update(ApiToken).where(ApiToken.id == legacy["id"])
                            .values(created_at=utcnow() - timedelta(days=8)))
        assert client.get("/api/v1/queue", headers=bearer(legacy["token"])).status_code == 401
    finally:
        rt.close()


def test_owners_and_administrators_revoke_tokens_through_the_api(rt, app):
    add_user(rt, "van-thu")
    add_user(rt, "chuyen-vien")
    add_user(rt, "quan-tri", role="admin", agency=None)
    client = app.test_client()
    mine, other, admin = (new_token(client, name) for name in ("van-thu", "chuyen-vien", "quan-tri"))

    listed = client.get("/api/v1/tokens", headers=bearer(mine["token"])).get_json()["tokens"]
    assert [t["id"] for t in listed] == [mine["id"]] and "token" not in listed[0]
    assert client.get("/api/v1/tokens?username=chuyen-vien", headers=bearer(mine["token"])).status_code == 403
    # Someone else's token does not exist for a clerk.
    assert client.delete(f"/api/v1/tokens/{other['id']}", headers=bearer(mine["token"])).status_code == 404
    assert client.delete("/api/v1/tokens/abc", headers=bearer(mine["token"])).status_code == 404
    assert client.get("/api/v1/queue", headers=bearer(other["token"])).status_code == 200

    assert client.delete(f"/api/v1/tokens/{mine['id']}", headers=bearer(mine["token"])).status_code == 204
    assert client.get("/api/v1/queue", headers=bearer(mine["token"])).status_code == 401

    seen = client.get("/api/v1/tokens?username=chuyen-vien", headers=bearer(admin["token"])).get_json()["tokens"]
    assert [t["id"] for t in seen] == [other["id"]]
    assert client.delete(f"/api/v1/tokens/{other['id']}", headers=bearer(admin["token"])).status_code == 204
    assert client.get("/api/v1/queue", headers=bearer(other["token"])).status_code == 401
    assert client.get("/api/v1/tokens?username=chuyen-vien",
                      headers=bearer(admin["token"])).get_json()["tokens"][0]["revoked"] is True


# --- the administrator's commands -------------------------------------------------------------


def docsvc(backend, *args: str, stdin: str | None = None, env: dict | None = None):
    """The real `docsvc` command, with something on stdin if given."""
    full_env = {**os.environ, **backend.env, **(env or {})}
    full_env.pop("DOCSVC_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "docsvc.cli", *args], env=full_env, input=stdin or "",
                          capture_output=True, text=True, timeout=300)


def test_a_disabled_user_cannot_sign_in_or_use_sessions_and_tokens_until_enabled(rt, app, backend):
    add_user(rt, "van-thu")
    app.config["WTF_CSRF_ENABLED"] = False
    browser = signed_in_browser(app)
    token = new_token(app.test_client(), "van-thu")["token"]

    result = backend.run("user", "disable", "van-thu")
    assert result.returncode == 0 and "van-thu disabled" in result.stdout
    assert browser.get("/queue").status_code == 302
    assert app.test_client().get("/api/v1/queue", headers=bearer(token)).status_code == 401
    assert page_sign_in(app.test_client(), "van-thu", PASSWORD).status_code == 401
    assert api_sign_in(app.test_client(), "van-thu", PASSWORD, "127.0.0.1").status_code == 401

    assert backend.run("user", "enable", "van-thu").returncode == 0
    assert app.test_client().get("/api/v1/queue", headers=bearer(token)).status_code == 200
    assert browser.get("/queue").status_code == 302  # the ended session stays ended
    signed_in_browser(app)

    unknown = backend.run("user", "disable", "khong-co")
    assert unknown.returncode == 2 and unknown.stderr.startswith("docsvc: error:") and "(not_found)" in unknown.stderr


def test_a_password_reset_ends_sessions_and_revokes_tokens(rt, app, backend):
    add_user(rt, "van-thu")
    app.config["WTF_CSRF_ENABLED"] = False
    browser = signed_in_browser(app)
    token = new_token(app.test_client(), "van-thu")["token"]

    result = docsvc(backend, "user", "password", "van-thu", "--password-env", "MAT_KHAU_MOI",
                    env={"MAT_KHAU_MOI": "mat-khau-moi-2026"})
    assert result.returncode == 0, result.stderr
    assert browser.get("/queue").status_code == 302
    assert app.test_client().get("/api/v1/queue", headers=bearer(token)).status_code == 401
    assert page_sign_in(app.test_client(), "van-thu", PASSWORD).status_code == 401
    assert page_sign_in(app.test_client(), "van-thu", "mat-khau-moi-2026").status_code == 302

    from_stdin = docsvc(backend, "user", "password", "van-thu", "--password-stdin", stdin="tu-stdin-2026\n")
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert page_sign_in(app.test_client(), "van-thu", "tu-stdin-2026").status_code == 302

    short = docsvc(backend, "user", "password", "van-thu", "--password-stdin", stdin="ngan\n")
    assert short.returncode == 2 and "(invalid_input)" in short.stderr
    no_terminal = docsvc(backend, "user", "password", "van-thu")
    assert no_terminal.returncode == 2 and "--password-env" in no_terminal.stderr
    assert page_sign_in(app.test_client(), "van-thu", "tu-stdin-2026").status_code == 302


def test_docsvc_token_list_and_revoke(rt, app, backend):
    add_user(rt, "van-thu")
    add_user(rt, "chuyen-vien")
    client = app.test_client()
    first, second, theirs = new_token(client, "van-thu"), new_token(client, "van-thu"), new_token(client, "chuyen-vien")

    listed = backend.run("token", "list", "--user", "van-thu", check=True).stdout
    assert str(first["id"]) in listed and str(second["id"]) in listed and "chuyen-vien" not in listed
    assert first["token"] not in listed

    assert "1 API token(s) revoked" in backend.run("token", "revoke", str(first["id"]), check=True).stdout
    assert client.get("/api/v1/queue", headers=bearer(first["token"])).status_code == 401
    assert client.get("/api/v1/queue", headers=bearer(second["token"])).status_code == 200

    assert "1 API token(s) revoked" in backend.run("token", "revoke", "--user", "van-thu", check=True).stdout
    assert client.get("/api/v1/queue", headers=bearer(second["token"])).status_code == 401
    assert client.get("/api/v1/queue", headers=bearer(theirs["token"])).status_code == 200

    missing = backend.run("token", "revoke", "999999")
    assert missing.returncode == 2 and "(not_found)" in missing.stderr
