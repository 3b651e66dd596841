"""Per-request access to the runtime and the signed-in user."""
from __future__ import annotations

from flask import current_app, g, request, session
from flask_wtf.csrf import CSRFError, validate_csrf
from sqlalchemy.orm import Session
from wtforms import ValidationError

from docsvc import accounts
from docsvc.errors import Unauthorized
from docsvc.models import User
from docsvc.runtime import Runtime


def runtime() -> Runtime:
    return current_app.extensions["docsvc"]


def session_user() -> User | None:
    """The user of the browser session, if any (pages and the page's own API calls).

    The cookie holds only the session's random id; whether it is still
    signed in (not signed out, expired, or its user disabled) is asked of
    the database on every request.
    """
    if "user" not in g:
        g.user = None
        session_id = session.get("sid")
        if isinstance(session_id, str):
            with runtime().read() as db:
                user = accounts.user_for_session(db, session_id)
                if user is not None:
                    db.expunge(user)
                    g.user = user
    return g.user


def begin_session(db: Session, user: User) -> None:
    """Sign the browser in as `user`: a fresh cookie session (no id an attacker
    planted before survives), keeping the language chosen on the sign-in page."""
    _fresh_cookie_session()
    session["sid"] = accounts.start_session(db, user, runtime().settings.session_hours)


def end_session() -> None:
    """Sign the browser out, on the server: a copy of the cookie is worth nothing after."""
    session_id = session.get("sid")
    _fresh_cookie_session()
    if isinstance(session_id, str):
        with runtime().write() as db:
            accounts.end_session(db, session_id)


def _fresh_cookie_session() -> None:
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language


def api_user() -> User:
    """The caller of an API request: a bearer token, or a browser session with its CSRF token."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        with runtime().read() as db:
            user = accounts.user_for_token(db, header[7:].strip(), token_days=runtime().settings.token_days)
            db.expunge(user)
            return user
    user = session_user()
    if user is None:
        raise Unauthorized()
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        try:
            validate_csrf(request.headers.get("X-CSRFToken", ""))
        except (ValidationError, CSRFError):
            raise Unauthorized("The page's security token is missing or expired; reload the page.") from None
    return user
