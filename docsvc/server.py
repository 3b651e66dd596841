"""The production web server (gunicorn) run in-process by `docsvc serve`.

docker-compose runs gunicorn directly with `docsvc.wsgi:app` and the same
worker class and threads (tests/unit/test_compose.py holds them to
`GUNICORN_OPTIONS`); this is the same server for the one-command start.

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

import os
import shutil
from pathlib import Path

from gunicorn.app.base import BaseApplication

from docsvc.runtime import Runtime

GUNICORN_OPTIONS = {
    "worker_class": "docsvc.gunicorn_worker.HeadFirstWorker",
    # Threads, not processes: uploads stream to disk and most time is I/O;
    # one process keeps the embedded SQLite writers in one place.
    "threads": 8,
    # gunicorn kills a worker whose loop is silent this long; the loop never
    # waits for a request, so this only catches a wedged process.
    "timeout": 600,
    # Seconds a kept-alive connection may idle (held by the event loop, not a
    # thread); longer than nginx's upstream keepalive_timeout (4 s), so nginx
    # never reuses a connection gunicorn is closing (a POST would get a 502).
    "keepalive": 5,
    # gunicorn 25+ opens a control socket at one path per user
    # (~/.gunicorn/gunicorn.ctl), which every `docsvc serve` of that user would
    # take from the previous one; docsvc is run and stopped by its signals.
    "control_socket_disable": True,
}


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
    metrics_dir = Path(rt.settings.data_dir) / "metrics"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))
    _Gunicorn(rt, {**GUNICORN_OPTIONS, "bind": f"{host}:{port}", "workers": workers}).run()
