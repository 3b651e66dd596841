"""gunicorn's configuration for docsvc's web processes, in one place.

docker-compose and the image run `gunicorn -c python:docsvc.gunicorn_config
--workers N docsvc.wsgi:app`; `docsvc serve` (docsvc/server.py) passes the
same `OPTIONS` to its in-process gunicorn. Besides the worker class and its
timings, two things only a master process can do:

- **Metrics of every web process.** prometheus_client adds up request
  metrics across processes from files in `PROMETHEUS_MULTIPROC_DIR`, which
  must be set (and emptied of the last run's files) before a worker imports
  the app, and told when a worker dies, or a killed worker's gauges stay.
  Without it each scrape would see the one process that happened to answer.
- **Log lines in one shape.** gunicorn's own lines (booting, a worker killed
  on timeout) are JSON lines like the service's (docsvc/logs.py), so one
  collector reads the whole server.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

METRICS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
TEMPORARY_PREFIX = "docsvc-metrics-"

LOGCONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "docsvc.logs.JsonLines"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "root": {"level": "INFO", "handlers": ["stderr"]},
    # Not propagated: the root handler would write each line a second time.
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
    },
}


def prepare_metrics_dir(directory: Path | None = None) -> Path:
    """An empty folder for this server's metric files, named in the
    environment the workers inherit. An operator's `PROMETHEUS_MULTIPROC_DIR`
    is used when set; files left by a previous server would be added to this
    one's counts, so the folder is emptied either way."""
    chosen = directory or Path(os.environ.get(METRICS_DIR_VARIABLE) or tempfile.mkdtemp(prefix=TEMPORARY_PREFIX))
    shutil.rmtree(chosen, ignore_errors=True)
    chosen.mkdir(parents=True)
    os.environ[METRICS_DIR_VARIABLE] = str(chosen)
    return chosen


def on_starting(server) -> None:
    """Master, before any worker: the metric folder (docsvc serve has set
    and emptied its own already)."""
    if not os.environ.get(METRICS_DIR_VARIABLE):
        prepare_metrics_dir()


def on_exit(server) -> None:
    """Master, last: a folder `on_starting` made for this server alone goes with it."""
    directory = os.environ.get(METRICS_DIR_VARIABLE, "")
    if Path(directory).name.startswith(TEMPORARY_PREFIX):
        shutil.rmtree(directory, ignore_errors=True)


def child_exit(server, worker) -> None:
    """A worker ended (stopped, killed, replaced): drop its live gauges."""
    if os.environ.get(METRICS_DIR_VARIABLE):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


OPTIONS = {
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
    "logconfig_dict": LOGCONFIG,
    "on_starting": on_starting,
    "on_exit": on_exit,
    "child_exit": child_exit,
}

# gunicorn reads a `python:` configuration module's top-level names that
# are its settings.
globals().update(OPTIONS)
