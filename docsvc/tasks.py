"""Celery: the app and its tasks (outbox entries publish themselves: docsvc.outbox).

Tasks are thin: they call docsvc.documents.pipeline with the worker's Runtime. The
broker is Redis in the scaled profile and Kombu's filesystem transport
(a folder under data_dir) in the embedded one; the outbox, not the broker,
is what guarantees that accepted work is done.
"""
from __future__ import annotations

import logging

from celery.signals import beat_embedded_init, setup_logging, worker_process_init, worker_ready

# exchange names its outbox handlers (sending packages and statuses) when imported.
from docsvc import documents, exchange, logs, outbox
from docsvc.celery_config import (
    AUDIT_CHECKPOINT,
    EXCHANGE_DROP,
    RELAY,
    RENEW_ARCHIVES,
    RUN_ENTRY,
    SEARCH_CHECK,
    SEARCH_FILL,
    SWEEP_ORPHANS,
    WATCH_FOLDER,
    make_celery,
)
from docsvc.config import load_settings
from docsvc.runtime import Runtime
from docsvc.supervisor import write_stacks_on_signal

log = logging.getLogger(__name__)
_runtime: Runtime | None = None


def worker_runtime() -> Runtime:
    global _runtime
    if _runtime is None:
        _runtime = Runtime(load_settings())
    return _runtime


celery_app = make_celery(load_settings())


@setup_logging.connect
def _json_logs(**_kwargs) -> None:
    # Connected, this replaces Celery's own logging set-up: the worker and
    # beat write the same JSON lines as the web server (docsvc/logs.py).
    logs.configure()


@worker_process_init.connect
def _fresh_runtime_per_process(**_kwargs) -> None:
    # Forked pool processes must not share the parent's database connections.
    global _runtime
    _runtime = None
    write_stacks_on_signal()


@beat_embedded_init.connect
def _beat_stacks(**_kwargs) -> None:
    write_stacks_on_signal()


@celery_app.task(name=RUN_ENTRY)
def run_entry(entry_id: int) -> bool:
    return documents.run_entry(worker_runtime(), entry_id)


@celery_app.task(name=RELAY)
def relay_outbox() -> int:
    return outbox.relay(worker_runtime())


@celery_app.task(name=WATCH_FOLDER)
def watch_folder() -> int:
    from docsvc import documents

    return len(documents.scan_once(worker_runtime()))


@celery_app.task(name=EXCHANGE_DROP)
def exchange_drop_folder() -> int:
    """Receive the edXML packages that arrived in the drop folder; how many were taken."""
    return len(exchange.take_drop_folder(worker_runtime()))


@celery_app.task(name=RENEW_ARCHIVES)
def renew_archive_timestamps() -> int:
    from docsvc import signatures

    return len(signatures.renew_due(worker_runtime()))


@celery_app.task(name=AUDIT_CHECKPOINT)
def audit_checkpoint() -> int:
    """Anchor the audit chain's head in WORM storage; the sequence number anchored (0: nothing new)."""
    from docsvc import audit_anchor

    checkpoint = audit_anchor.write_checkpoint(worker_runtime())
    return checkpoint.seq if checkpoint else 0


@celery_app.task(name=SEARCH_CHECK)
def search_check() -> dict:
    """Make the search index true to the database again (what `docsvc search
    check --repair` does); the findings, as that command's JSON."""
    from docsvc import documents

    report = documents.check_index(worker_runtime(), repair=True)
    if not report.ok:
        log.warning("search index repaired: %s", report.to_json())
    return report.to_json()


@celery_app.task(name=SWEEP_ORPHANS)
def sweep_orphans() -> dict:
    """Remove stored objects no row refers to, once past their grace
    (what `docsvc sweep` does); the report, as that command's JSON."""
    from docsvc import upkeep

    return upkeep.sweep_orphans(worker_runtime()).to_json()


@celery_app.task(name=SEARCH_FILL)
def fill_empty_index() -> bool:
    """Fill an index that is empty while documents are ready (a new index
    layout after an upgrade, a lost disk); whether it had to."""
    from docsvc import documents

    rt = worker_runtime()
    if rt.index.count() or not documents.ready_count(rt):
        return False
    log.warning("the search index is empty while documents are ready: filling it")
    search_check()
    return True


@worker_ready.connect
def _relay_on_start(**_kwargs) -> None:
    # Work left behind by a worker that died is picked up as soon as one starts.
    try:
        outbox.relay(worker_runtime())
    except Exception:
        log.exception("outbox relay at worker start failed")
    # Asked of a pool process: this one forks the pool, and the embedded
    # search engine must not be opened in a process that forks.
    try:
        fill_empty_index.delay()
    except Exception:
        log.exception("could not ask for the search index check at worker start")
    documents.sweep_work_dirs(worker_runtime())

