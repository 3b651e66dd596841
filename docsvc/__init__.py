"""docsvc: documents and digital signatures for Vietnamese public administration.

Importing the package loads nothing heavy: the CLI's error line, the
worker's tasks and the parse children (forked from a forkserver that imports
only what they need) must not pay for Flask, SQLAlchemy, Celery or pyHanko.
`docsvc.create_app` is still there for `flask --app docsvc`, loaded on first
use (tests/unit/test_import_contract.py holds this).
"""
from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from docsvc.app import create_app

        return create_app
    raise AttributeError(f"module 'docsvc' has no attribute {name!r}")
