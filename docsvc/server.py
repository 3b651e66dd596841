"""The production web server (gunicorn) run in-process by `docsvc serve`.

docker-compose runs gunicorn directly, `gunicorn -c python:docsvc.gunicorn_config
docsvc.wsgi:app`, with the same settings (`GUNICORN_OPTIONS`, from that
module); this is the same server for the one-command start.

The worker (docsvc/gunicorn_worker.py) receives request heads and small
bodies in its event loop, so slow or idle clients hold no thread. GET
/api/v1/health while N half-open connections (half a request head, then
silence) are held open, 2-core machine shared with other work, embedded
profile (bench/slow_clients.py: p50 / max of 10 requests, 10 s client timeout):

    N       gthread, 8 threads (before)    HeadFirstWorker, 8 threads
    0       3.7 ms                         2.0 / 2.6 ms
    8       every request timed out        2.1 / 3.2 ms
    32      every request timed out        1.7 / 3.3 ms
    256     every request timed out        2.9 / 4.1 ms
    1200    -                              13.7 / 27.7 ms (load 14; 1000 = max_connections:
                                           the oldest half-open ones make room)
    3000    -                              6.9 / 1332 ms (the accept burst)

The same with N slow POSTs (`--kind body`: 5 MB announced to /api/v1/verify,
100 KB sent, then silence): gthread, 32: every request timed out;
HeadFirstWorker, 32: 3.7 / 21 ms, 256: 5.3 / 333 ms (load 14 on 2 cores; up
to 200 ms p50 while the 250 queued bodies of a previous batch, closed by
their clients, are being failed 6 threads at a time).
"""
from __future__ import annotations

from pathlib import Path

from gunicorn.app.base import BaseApplication

from docsvc import gunicorn_config
from docsvc.runtime import Runtime

# The worker class, timings, log shape and metric hooks (docsvc/gunicorn_config.py),
# the same for docker-compose's gunicorn.
GUNICORN_OPTIONS = gunicorn_config.OPTIONS


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


def run_web(rt: Runtime, host: str, port: int, workers: int = 1) -> None:
    # Request metrics of every worker process of this server, in files one
    # scrape adds up (docsvc/metrics.py); set before a worker imports the app.
    gunicorn_config.prepare_metrics_dir(Path(rt.settings.data_dir) / "metrics")
    _Gunicorn(rt, {**GUNICORN_OPTIONS, "bind": f"{host}:{port}", "workers": workers}).run()
