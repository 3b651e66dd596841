"""Fixtures for service-level tests: people, API clients, and what is stored."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from docsvc import accounts
from docsvc.app import create_app
from docsvc.models import Document, DocumentFile, OutboxEntry

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


@pytest.fixture
def app(rt):
    application = create_app(runtime=rt)
    application.config["TESTING"] = True
    return application


@pytest.fixture
def make_user(rt, app):
    """make_user("clerk", agency="UBND-XA") -> an ApiUser with a token and a client."""

    def make(role: str = "clerk", agency: str | None = "UBND-XA", username: str | None = None) -> ApiUser:
        username = username or f"{role}-{agency or 'none'}".lower()
        with rt.write() as session:
            user = accounts.add_user(session, username, PASSWORD, role, agency_code=agency)
            token = accounts.issue_token(session, user)
        return ApiUser(username, token, app.test_client())

    return make


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
