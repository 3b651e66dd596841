"""What every response tells the browser about itself, and how the cookies are marked.

The pages run no inline script and no inline style (their texts travel as
JSON data blocks, their handlers live in docsvc/static/), so the policy
allows scripts, styles and images from this site only; an injected
<script> or onclick does nothing. Nobody may frame the pages (clickjacking
a signing form). Share links carry their token in the address, so the
address never leaves the site in a Referer; within the site it is sent,
because Flask-WTF's CSRF check over https requires a same-origin Referer.
"""
from __future__ import annotations

from flask import Flask, Response

from docsvc.config import Settings

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def init_app(app: Flask, settings: Settings) -> None:
    app.config.update(
        # The session cookie carries the session's random id and the CSRF
        # secret: never readable by scripts, never sent on cross-site posts.
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
    )
    if settings.secure_cookies:
        # The __Host- prefix makes browsers refuse the cookie unless it is
        # Secure, for this host only and for the whole site: a neighbouring
        # subdomain cannot plant one.
        app.config.update(SESSION_COOKIE_NAME="__Host-docsvc_session", PREFERRED_URL_SCHEME="https")

    @app.after_request
    def _security_headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response
