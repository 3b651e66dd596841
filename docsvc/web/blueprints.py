"""The application's two blueprints, and the modules whose routes attach to them.

Every domain package keeps its routes beside its service: JSON API routes in
its `api.py` (on `api`, under /api/v1), HTML pages in its `pages.py` (on
`pages`). So an endpoint is named `api.<view>` or `pages.<view>` whichever
domain it belongs to, and `register` is the one place that lists them.
A domain's templates are in its own `templates/<domain>/` folder (the
shared ones, `base.html` and the document page, in `docsvc/templates`).
Shared request helpers are in `docsvc.web.requests`; the document page, which
every domain adds a part to, in `docsvc.web.document_page`.
"""
from __future__ import annotations

import importlib
from pathlib import Path

from flask import Blueprint, Flask
from flask_wtf.csrf import CSRFProtect
from jinja2 import ChoiceLoader, FileSystemLoader

api = Blueprint("api", __name__, url_prefix="/api/v1")
pages = Blueprint("pages", __name__)

ROUTE_MODULES = (
    "docsvc.web.platform_routes",
    "docsvc.documents.api",
    "docsvc.documents.pages",
    "docsvc.incoming.api",
    "docsvc.incoming.pages",
    "docsvc.reform.api", "docsvc.reform.pages",
    "docsvc.outgoing.api",
    "docsvc.outgoing.pages",
    "docsvc.ecopies.api",
    "docsvc.ecopies.pages",
    "docsvc.signatures.api",
    "docsvc.signatures.pages",
    "docsvc.exchange.api",
    "docsvc.exchange.pages",
)


PACKAGE = Path(__file__).resolve().parent.parent
DOMAINS = ("documents", "incoming", "outgoing", "ecopies", "signatures", "exchange", "reform")


def register(app: Flask, csrf: CSRFProtect) -> None:
    app.jinja_loader = ChoiceLoader([
        FileSystemLoader(PACKAGE / "templates"),
        *(FileSystemLoader(PACKAGE / domain / "templates") for domain in DOMAINS),
    ])
    # Importing a route module attaches its views; it happens once per process,
    # before the first app registers the blueprints (Flask refuses a route
    # added to a blueprint after that).
    for name in ROUTE_MODULES:
        importlib.import_module(name)
    csrf.exempt(api)  # the API checks tokens, or CSRF headers for cookie sessions, itself
    app.register_blueprint(api)
    app.register_blueprint(pages)
