"""Prometheus metrics: `GET /metrics`.

Two kinds, so that every figure is true for the whole installation:

- Request latency per route is measured where requests are served. Under
  `docsvc serve` the gunicorn workers share it through prometheus_client's
  multiprocess files (PROMETHEUS_MULTIPROC_DIR, set by docsvc/server.py), so
  one scrape of a server sees all its processes.
- What the work looks like (outbox backlog and the age of its oldest entry,
  OCR pages a minute, signing jobs, failed documents) is read from the
  database at scrape time, so it is the same whichever web process or
  server answers, and counts the work of workers on other machines too.
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from datetime import timedelta

from flask import Flask, g, request
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from docsvc import logs
from docsvc.models import (
    AuditEvent,
    Document,
    DocumentFile,
    DocumentStatus,
    FileRole,
    OutboxEntry,
    SigningJob,
    SigningJobStatus,
    utcnow,
)

log = logging.getLogger(__name__)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OCR_WINDOW = timedelta(minutes=10)  # OCR pages a minute: the mean over this window
ORPHAN_SWEPT = "object.swept"  # the audit action of docsvc/upkeep/sweep.py, one event per object

REQUEST_SECONDS = Histogram(
    "docsvc_http_request_duration_seconds",
    "Time to answer a request, by route (the URL rule, not the address), method and status.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)


def init_app(app: Flask) -> None:
    """Every request is timed and logged as one line with its id (docsvc/logs.py)."""

    @app.before_request
    def _start_clock() -> None:
        g.metrics_started = time.perf_counter()
        g.request_id_token = logs.REQUEST_ID.set(logs.request_id_from(request.headers.get("X-Request-Id")))

    @app.after_request
    def _observe(response):
        started = g.pop("metrics_started", None)
        if started is not None:
            seconds = time.perf_counter() - started
            route = request.url_rule.rule if request.url_rule is not None else "unmatched"
            REQUEST_SECONDS.labels(route, request.method, str(response.status_code)).observe(seconds)
            log.info("request", extra={"method": request.method, "path": route, "status": response.status_code,
                                       "ms": round(seconds * 1000, 1)})
        response.headers["X-Request-Id"] = logs.current_request_id()
        return response

    @app.teardown_request
    def _forget_id(_exc) -> None:
        token = g.pop("request_id_token", None)
        if token is not None:
            logs.REQUEST_ID.reset(token)


class InstallationCollector(Collector):
    """The figures read from the database at each scrape."""

    def __init__(self, rt) -> None:
        self.rt = rt

    def collect(self) -> Iterator:
        now = utcnow()
        with self.rt.read() as session:
            waiting = select(OutboxEntry).where(OutboxEntry.done_at.is_(None)).subquery()
            backlog = session.scalar(select(func.count()).select_from(waiting)) or 0
            oldest = session.scalar(select(func.min(waiting.c.created_at)))
            failed = session.scalar(select(func.count()).where(Document.status == DocumentStatus.FAILED)) or 0
            pages = session.scalar(
                select(func.coalesce(func.sum(Document.page_count), 0))
                .join(DocumentFile, DocumentFile.document_id == Document.id)
                .where(DocumentFile.role == FileRole.DERIVED, DocumentFile.created_at >= now - OCR_WINDOW)
            ) or 0
            jobs = dict(session.execute(select(SigningJob.status, func.count()).group_by(SigningJob.status)).all())
            signed = session.scalar(select(func.coalesce(func.sum(SigningJob.done), 0))) or 0
            swept = session.scalar(select(func.count()).where(AuditEvent.action == ORPHAN_SWEPT)) or 0
        yield GaugeMetricFamily("docsvc_outbox_backlog", "Outbox entries not yet done (processing, index writes, deliveries).",
                                value=backlog)
        age = (now - oldest).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily("docsvc_outbox_oldest_age_seconds", "Age of the oldest outbox entry not yet done.",
                                value=age)
        yield GaugeMetricFamily("docsvc_ocr_pages_per_minute",
                                f"Pages OCRed a minute, over the last {OCR_WINDOW.seconds // 60} minutes.",
                                value=pages / (OCR_WINDOW.total_seconds() / 60))
        yield GaugeMetricFamily("docsvc_failed_documents", "Documents whose processing failed (original kept).",
                                value=failed)
        by_status = GaugeMetricFamily("docsvc_signing_jobs", "Batch signing jobs, by status.", labels=["status"])
        for status in SigningJobStatus:
            by_status.add_metric([status.value], jobs.get(status, 0))
        yield by_status
        yield CounterMetricFamily("docsvc_signing_job_documents", "Documents signed by batch signing jobs.",
                                  value=signed)
        yield CounterMetricFamily("docsvc_orphan_objects_swept",
                                  "Stored objects no row referred to, removed by the orphan sweep.", value=swept)


def exposition(rt) -> bytes:
    """The text a scrape gets: request latency (of every process of this
    server, under gunicorn) and the installation's figures."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(_ProcessLocal())
    registry.register(InstallationCollector(rt))
    return generate_latest(registry)


class _ProcessLocal(Collector):
    """This process's own request metrics (the development server, tests)."""

    def collect(self) -> Iterator:
        yield from REQUEST_SECONDS.collect()
