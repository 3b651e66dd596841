"""WSGI entry point for gunicorn: `gunicorn docsvc.wsgi:app`."""
from docsvc.app import create_app

app = create_app()
