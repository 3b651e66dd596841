"""The production web server (gunicorn) run in-process by `docsvc serve`.

docker-compose runs gunicorn directly with `docsvc.wsgi:app`; this is the same
server for the one-command embedded start.
"""
from __future__ import annotations

from gunicorn.app.base import BaseApplication

from docsvc.runtime import Runtime


class _Gunicorn(BaseApplication):
    def __init__(self, rt: Runtime, options: dict) -> None:
        self._rt = rt
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self):
        from docsvc.app import create_app

        return create_app(runtime=Runtime(self._rt.settings))


def run_web(rt: Runtime, host: str, port: int) -> None:
    _Gunicorn(
        rt,
        {
            "bind": f"{host}:{port}",
            # Threads, not processes: uploads stream to disk and most time is I/O;
            # one process keeps the embedded SQLite writers in one place.
            "workers": 1,
            "worker_class": "gthread",
            "threads": 8,
            "timeout": 600,
            "accesslog": "-",
        },
    ).run()
