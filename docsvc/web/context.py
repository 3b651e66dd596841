"""Per-request access to the runtime and the signed-in user."""
from __future__ import annotations

from flask import current_app, g, request, session
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError

from docsvc import accounts
from docsvc.errors import Unauthorized
from docsvc.models import User
from docsvc.runtime import Runtime


def runtime() -> Runtime:
    return current_app.extensions["docsvc"]


def session_user() -> User | None:
    """The user of the browser session, if any (pages and the page's own API calls)."""
    if "user" not in g:
        g.user = None
        user_id = session.get("user_id")
        if user_id is not None:
            with runtime().read() as db:
                user = db.get(User, user_id)
                if user is not None and user.active:
                    db.expunge(user)
                    g.user = user
    return g.user


def api_user() -> User:
    """The caller of an API request: a bearer token, or a browser session with its CSRF token."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        with runtime().read() as db:
            user = accounts.user_for_token(db, header[7:].strip())
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
