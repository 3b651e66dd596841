"""Every answer, page or API, tells the browser to run only this site's
scripts and styles, never to be framed, never to guess content types, and
to keep addresses (share links carry tokens) inside the site; behind TLS the
session cookie is Secure, HttpOnly and SameSite=Lax."""
from __future__ import annotations

import pytest

from docsvc import accounts
from docsvc.app import create_app
from docsvc.cli import prepare
from docsvc.config import load_settings
from docsvc.runtime import Runtime
from docsvc.web.security_headers import CONTENT_SECURITY_POLICY
from tests.integration.conftest import PASSWORD


def directives(policy: str) -> dict[str, str]:
    return dict((part.strip().split(" ", 1) + [""])[:2] for part in policy.split(";") if part.strip())


def assert_protected(response) -> None:
    policy = directives(response.headers["Content-Security-Policy"])
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_pages_api_static_files_and_errors_carry_the_headers(app, clerk):
    browser = app.test_client()
    for response in (
        browser.get("/login"),
        browser.get("/verify"),
        browser.get("/"),                       # a redirect to the login page
        browser.get("/no-such-page"),           # the error page
        browser.get("/static/upload.js"),
        browser.get("/api/v1/health"),
        browser.get("/api/v1/documents"),       # an API error
        clerk.get("/api/v1/documents"),
    ):
        assert_protected(response)


def test_the_policy_is_the_one_the_module_states():
    assert directives(CONTENT_SECURITY_POLICY)["default-src"] == "'self'"


def set_cookie_of_sign_in(backend, secure: bool) -> str:
    runtime = Runtime(load_settings(backend.env, secure_cookies=secure))
    prepare(runtime)
    try:
        with runtime.write() as session:
            accounts.add_user(session, "van-thu", PASSWORD, "clerk", agency_code="UBND-XA")
        app = create_app(runtime=runtime)
        app.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
        response = app.test_client().post("/login", data={"username": "van-thu", "password": PASSWORD},
                                          base_url="https://docsvc.example" if secure else "http://localhost")
        assert response.status_code == 302
        return response.headers["Set-Cookie"]
    finally:
        runtime.close()


@pytest.mark.parametrize("secure", [True, False])
def test_secure_cookies_marks_the_session_cookie_for_https_only(backend, secure):
    cookie = set_cookie_of_sign_in(backend, secure)
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "samesite"} <= attributes and "SameSite=Lax" in cookie
    if secure:
        assert cookie.startswith("__Host-docsvc_session=") and "secure" in attributes
        assert "domain" not in attributes and "Path=/" in cookie
    else:
        assert cookie.startswith("session=") and "secure" not in attributes
