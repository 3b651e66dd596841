"""The Flask application factory."""
from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from docsvc import accounts, models
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
        WTF_CSRF_TIME_LIMIT=None,
    )
    app.extensions["docsvc"] = runtime
    if settings.trusted_proxies:
        # The client's address (rate limits, audit) and scheme as the proxies
        # saw them; never the Host: public addresses come from public_url.
        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=0, x_prefix=0)

    from docsvc import metrics
    from docsvc.web import blueprints, errors, i18n, request_limits, security_headers

    metrics.init_app(app)  # the clock starts before anything else runs
    request_limits.init_app(app)  # first: the CSRF check below reads the form, within the limit
    csrf.init_app(app)

    security_headers.init_app(app, settings)
    accounts.prepare_sign_in()
    i18n.init_app(app, settings.default_language)
    errors.init_app(app)
    blueprints.register(app, csrf)
    app.jinja_env.globals.update(models.TEMPLATE_VOCABULARIES, STAFF_ROLES=models.STAFF_ROLES)
    return app
