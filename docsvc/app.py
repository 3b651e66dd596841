"""The Flask application factory."""
from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from docsvc.config import Settings, ensure_secret_key, load_settings
from docsvc.runtime import Runtime

csrf = CSRFProtect()


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Flask:
    runtime = runtime or Runtime(settings or load_settings())
    settings = runtime.settings
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=ensure_secret_key(settings),
        # The largest body of any endpoint; each request gets its own, smaller
        # limit from docsvc/web/request_limits.py.
        MAX_CONTENT_LENGTH=settings.max_upload_bytes + 1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,
    )
    app.extensions["docsvc"] = runtime

    from docsvc.web import api, ecopy_api, ecopy_views, errors, i18n, pages, request_limits

    request_limits.init_app(app)  # first: the CSRF check below reads the form, within the limit
    csrf.init_app(app)

    i18n.init_app(app, settings.default_language)
    errors.init_app(app)
    csrf.exempt(api.blueprint)  # the API checks tokens, or CSRF headers for cookie sessions, itself
    csrf.exempt(ecopy_api.blueprint)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(ecopy_api.blueprint)
    app.register_blueprint(pages.blueprint)
    app.register_blueprint(ecopy_views.blueprint)
    from docsvc.web.reports import blueprint as reports_blueprint
    app.register_blueprint(reports_blueprint)
    return app
