"""Fixtures for service-level tests: people, API clients, and what is stored."""
from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from docsvc import accounts
from docsvc.app import create_app
from docsvc.models import Document, DocumentFile, OutboxEntry
from tests.conftest import PROFILES, fresh_installation, prepared_runtime
from tests.integration import records

PASSWORD = "mat-khau-an-toan-2026"


@dataclass
class ApiUser:
    username: str
    token: str
    client: object

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, url, **kw):
        return self.client.get(url, headers=self.headers, **kw)

    def post(self, url, **kw):
        return self.client.post(url, headers=self.headers, **kw)


def testing_app(rt):
    application = create_app(runtime=rt)
    application.config["TESTING"] = True
    return application


def user_maker(rt, app):
    """make(role, agency, username) -> an ApiUser with a token and a client of `app`."""

    def make(role: str = "clerk", agency: str | None = "UBND-XA", username: str | None = None) -> ApiUser:
        username = username or f"{role}-{agency or 'none'}".lower()
        with rt.write() as session:
            user = accounts.add_user(session, username, PASSWORD, role, agency_code=agency)
            token = accounts.issue_token(session, user)
        return ApiUser(username, token, app.test_client())

    return make


@pytest.fixture
def app(rt):
    return testing_app(rt)


@pytest.fixture
def make_user(rt, app):
    """make_user("clerk", agency="UBND-XA") -> an ApiUser with a token and a client."""
    return user_maker(rt, app)


@pytest.fixture
def office(rt, backend, make_user, tmp_path) -> records.Office:
    """A commune office with keys: drafter, leader, văn thư, and a district that receives."""
    return records.build_office(rt, backend, make_user, tmp_path)


@pytest.fixture(scope="module", params=PROFILES)
def populated(request, tmp_path_factory) -> Iterator[records.Populated]:
    """One installation on each profile for the whole module, with an office,
    an incoming letter registered, a certified e-copy of it and a decision
    signed and issued. Signing makes it slow to build (half a minute under
    load), so a module's tests share it: a test that changes it puts it back."""
    folder = tmp_path_factory.mktemp(f"populated-{request.param}")
    with fresh_installation(request.param, folder) as installation, prepared_runtime(installation) as rt:
        yield records.populate(installation, rt, user_maker(rt, testing_app(rt)), folder)


@pytest.fixture
def clerk(make_user) -> ApiUser:
    return make_user("clerk")


def stored_objects(rt) -> list[str]:
    """Every object in the installation's storage (all versions, for MinIO)."""
    store = rt.store
    if hasattr(store, "client"):
        return [o.object_name for o in store.client.list_objects(store.bucket, recursive=True, include_version=True)]
    root = Path(store.root)
    # .retention/ holds the filesystem store's retention dates and lock, not objects.
    return [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.relative_to(root).parts[0] != ".retention"]


def row_counts(rt) -> dict[str, int]:
    with rt.read() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (Document, DocumentFile, OutboxEntry)
        }


def leftovers(rt) -> dict:
    """What a failed upload must not leave behind."""
    rt.index.refresh()
    spool = Path(rt.settings.data_dir) / "tmp"
    return {
        "objects": stored_objects(rt),
        "rows": {k: v for k, v in row_counts(rt).items() if v},
        "indexed": rt.index.count(),
        "spooled": [p.name for p in spool.glob("*")] if spool.exists() else [],
    }


NOTHING = {"objects": [], "rows": {}, "indexed": 0, "spooled": []}


def repr_digest(data: bytes) -> str:
    """The Repr-Digest header (RFC 9530) a client sends with a raw body it knows the SHA-256 of."""
    return f"sha-256=:{base64.b64encode(hashlib.sha256(data).digest()).decode()}:"
