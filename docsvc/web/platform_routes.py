"""The service's own routes, which belong to no one story: health, the
OpenAPI document, API tokens, agencies; signing in and out, and the start page."""
from __future__ import annotations

import functools
import hmac
from pathlib import Path

import yaml
from flask import Response, jsonify, redirect, render_template, request, url_for

from docsvc import accounts, documents, outages
from docsvc import metrics as docsvc_metrics
from docsvc.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from docsvc.models import Role
from docsvc.permissions import is_admin
from docsvc.web import signin
from docsvc.web.blueprints import api, pages
from docsvc.web.context import api_user, begin_session, end_session, runtime, session_user
from docsvc.web.requests import json_body, login_required

OPENAPI_FILE = Path(__file__).resolve().parent.parent / "openapi.yaml"


@api.get("/health")
def health():
    rt = runtime()
    dependencies = outages.check_dependencies(rt)
    down = {name for name, probe in dependencies.items() if not probe["ok"]}
    status = "unavailable" if down & outages.ESSENTIAL else "degraded" if down else "ok"
    body = {"status": status, "profile": "embedded" if rt.settings.embedded else "scaled", "dependencies": dependencies}
    return jsonify(body), (503 if status == "unavailable" else 200)


LOOPBACK = frozenset({"127.0.0.1", "::1"})


@pages.get("/metrics")
def metrics():
    """Prometheus text (docsvc/metrics.py): for this machine's scrapers, or a
    scraper holding metrics_token; anyone else is told there is nothing here."""
    rt = runtime()
    token = rt.settings.metrics_token
    header = request.headers.get("Authorization", "")
    allowed = request.remote_addr in LOOPBACK or (
        bool(token) and hmac.compare_digest(header.encode(), f"Bearer {token}".encode()))
    if not allowed:
        raise NotFound()
    return Response(docsvc_metrics.exposition(rt), mimetype=docsvc_metrics.CONTENT_TYPE)


@functools.cache
def _openapi_document() -> dict:
    return yaml.safe_load(OPENAPI_FILE.read_text(encoding="utf-8"))


@api.get("/openapi.json")
def openapi():
    return jsonify(_openapi_document())


@api.post("/tokens")
def create_token():
    body = json_body()
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise InvalidInput("Send a JSON body with username and password.")
    rt = runtime()
    with rt.read() as db:  # argon2 outside the write transaction, as on /login
        user = signin.sign_in(rt, db, username, password)  # a 429 carries its Retry-After
    with rt.write() as db:
        token, row = accounts.issue_token_record(db, user, str(body.get("name", "")), days=rt.settings.token_days)
        return jsonify({"token": token, **_token_json(row), "username": user.username, "role": user.role}), 201


def _token_json(row) -> dict:
    return {"id": row.id, "name": row.name, "created_at": row.created_at.isoformat(),
            "expires_at": accounts.token_expiry(row, runtime().settings.token_days).isoformat(),
            "revoked": row.revoked_at is not None}


@api.get("/tokens")
def list_tokens():
    """The caller's API tokens (an administrator: anyone's, with ?username=); never the secrets."""
    user = api_user()
    with runtime().read() as db:
        rows = accounts.list_tokens(db, user, request.args.get("username") or None)
        return jsonify({"tokens": [_token_json(row) for row in rows]})


@api.delete("/tokens/<token_id>")
def revoke_token(token_id: str):
    """Revoke a token: its owner or an administrator."""
    user = api_user()
    if not token_id.isdigit() or len(token_id) > 18:
        raise NotFound(f"No API token {token_id} of yours.")
    with runtime().write() as db:
        accounts.revoke_token_id(db, user, int(token_id))
    return "", 204


@api.get("/agencies")
def list_agencies():
    """The agencies of this installation, with their organization codes (any signed-in user)."""
    api_user()
    with runtime().read() as db:
        return jsonify({"agencies": [accounts.agency_json(a) for a in accounts.list_agencies(db)]})


@api.post("/agencies")
def add_agency():
    """`docsvc agency add`'s twin: an administrator adds an agency."""
    user = api_user()
    if not is_admin(user):
        raise Forbidden("Only an administrator adds agencies.")
    body = json_body()
    fields = {name: body.get(name) for name in ("code", "name", "level", "parent", "symbol", "org_code",
                                                 *accounts.CONTACT_FIELDS)}
    if not all(isinstance(v, str) or v is None for v in fields.values()):
        raise InvalidInput("Each field of an agency is text.")
    with runtime().write() as db:
        agency = accounts.add_agency(db, fields["code"] or "", fields["name"] or "", level=fields["level"] or "other",
                                     parent_code=fields["parent"], actor=user, symbol=fields["symbol"] or "",
                                     org_code=fields["org_code"],
                                     contact={name: fields[name] or "" for name in accounts.CONTACT_FIELDS})
        return jsonify(accounts.agency_json(agency)), 201


@pages.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        rt = runtime()
        try:
            # The password check (argon2, 0.2 s) runs outside the write
            # transaction: on SQLite that would hold every writer back.
            with rt.read() as db:
                user = signin.sign_in(rt, db, request.form.get("username", ""), request.form.get("password", ""))
            with rt.write() as db:
                begin_session(db, user)
            # Only local paths: never bounce a fresh login to another site.
            return redirect(signin.local_path(request.args.get("next")) or url_for("pages.home"))
        except signin.SignInThrottled as exc:
            return (render_template("login.html", error=exc), exc.http_status,
                    {"Retry-After": str(exc.retry_after)})
        except Unauthorized as exc:
            error = exc
    return render_template("login.html", error=error), (401 if error else 200)


@pages.post("/logout")
def logout():
    end_session()
    return redirect(url_for("pages.login"))


@pages.get("/")
@login_required
def home():
    if session_user().role == Role.CITIZEN:  # a citizen's start page is their e-copies
        return redirect(url_for("pages.portal"))
    with runtime().read() as db:
        total, rows = documents.list_documents(db, session_user(), page=1, per_page=50)
    return render_template("home.html", documents=rows, total=total, max_upload=runtime().settings.max_upload_bytes)
