"""Signature reports of registered e-copy files, reused for a while.

A registered file never changes (a new version has a new hash), and
validating a B-LTA file costs ~150 ms of CPU, so its report is kept for
`verify_cache_seconds`; the time is short so that a root added to or removed
from the trust store shows soon. Keyed by the file's SHA-256.

`LocalReportCache` lives in one process (the embedded profile);
`RedisReportCache` is shared by every process and server using the same
Redis (the scaled profile), so a report made by one is reused by all.
`Runtime.report_cache` picks one.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

import redis

log = logging.getLogger(__name__)


class ReportCache(Protocol):
    def get(self, sha256: str) -> dict | None:
        """The report kept for this file, or None."""

    def put(self, sha256: str, report: dict) -> None:
        """Keep this file's report for the cache's time."""


class LocalReportCache:
    """At most `max_entries` reports in this process; the oldest goes first."""

    def __init__(self, ttl_seconds: float, *, max_entries: int = 1000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._clock = clock
        self._reports: dict[str, tuple[float, dict]] = {}
        self._lock = threading.Lock()

    def get(self, sha256: str) -> dict | None:
        with self._lock:
            cached = self._reports.get(sha256)
        if cached is None or self._clock() - cached[0] >= self.ttl_seconds:
            return None
        return cached[1]

    def put(self, sha256: str, report: dict) -> None:
        if self.ttl_seconds <= 0:
            return
        with self._lock:
            if sha256 not in self._reports and len(self._reports) >= self.max_entries:
                self._reports.pop(min(self._reports, key=lambda k: self._reports[k][0]))
            self._reports[sha256] = (self._clock(), report)


class RedisReportCache:
    """Reports as JSON under `prefix` + SHA-256, expiring after the TTL in
    Redis itself. A Redis that cannot be reached is a cache miss (logged):
    the report is then made again, never refused."""

    def __init__(self, client: redis.Redis, prefix: str, ttl_seconds: int) -> None:
        self._client = client
        self.prefix = prefix
        self.ttl_seconds = int(ttl_seconds)

    def get(self, sha256: str) -> dict | None:
        try:
            raw = self._client.get(self.prefix + sha256)
        except redis.RedisError as exc:
            log.warning("report cache: Redis unavailable (%s); validating again", exc)
            return None
        return None if raw is None else json.loads(raw)

    def put(self, sha256: str, report: dict) -> None:
        if self.ttl_seconds <= 0:
            return
        try:
            self._client.set(self.prefix + sha256, json.dumps(report), ex=self.ttl_seconds)
        except redis.RedisError as exc:
            log.warning("report cache: Redis unavailable (%s); report not kept", exc)
