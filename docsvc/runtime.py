"""Wiring: the backends chosen from settings, once, for a process.

The web app, the CLI and the worker each build one Runtime; everything below
it receives the Runtime (or a Session) and never looks at settings to decide
which backend it talks to.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property, partial
from pathlib import Path

import redis
from celery import Celery
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from docsvc import outbox
from docsvc.celery_config import RUN_ENTRY, make_celery
from docsvc.config import Settings, load_settings
from docsvc.ratelimit import Limiter, RateLimiter, RedisRateLimiter
from docsvc.report_cache import LocalReportCache, RedisReportCache, ReportCache
from search import SearchIndex, open_index
from storage import ObjectStore, open_store

# A Redis that stops answering must not hold a request thread for long: the
# limiter and the report cache then carry on without it (see their modules).
SHARED_STATE_TIMEOUT_SECONDS = 2.0


def make_engine(url: str, connect_seconds: int = 5) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            # Take transaction control from pysqlite so BEGIN IMMEDIATE works.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=60000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection):
            # Writers take SQLite's write lock up front: two transactions that
            # both read a counter and then write it would otherwise deadlock or
            # fail with SQLITE_BUSY instead of waiting their turn.
            mode = "IMMEDIATE" if connection.get_execution_options().get("docsvc_write") else "DEFERRED"
            connection.exec_driver_sql(f"BEGIN {mode}")

        return engine
    # A database that does not answer costs a request connect_seconds (the
    # setting database_connect_timeout_seconds), then a 503 (docsvc/outages.py);
    # a pool that is all in use, as long.
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20,
                         pool_timeout=connect_seconds, connect_args={"connect_timeout": connect_seconds})


class Runtime:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or load_settings()
        Path(self.settings.data_dir).mkdir(parents=True, exist_ok=True)
        self.engine = make_engine(self.settings.database_url, self.settings.database_connect_timeout_seconds)
        # Sessions know the settings so that audit.record finds the log's key,
        # and whom the outbox entries they commit are handed to.
        info = {"settings": self.settings, outbox.PUBLISHER: partial(outbox.publish, self)}
        self._readers = sessionmaker(self.engine, expire_on_commit=False, info=info)
        self._writers = sessionmaker(self.engine.execution_options(docsvc_write=True), expire_on_commit=False, info=info)
        self._limiters: dict[tuple[str, float, int], Limiter] = {}
        self._limiters_lock = threading.Lock()

    @cached_property
    def store(self) -> ObjectStore:
        return open_store(self.settings.as_mapping())

    @cached_property
    def index(self) -> SearchIndex:
        index = open_index(self.settings.as_mapping())
        # Cheap when it exists (CREATE IF NOT EXISTS / one HEAD request), and
        # it spares every caller from remembering to do it first.
        index.ensure_ready()
        return index

    @cached_property
    def celery(self) -> Celery:
        """A Celery client for publishing work to this runtime's broker."""
        return make_celery(self.settings)

    def send_to_workers(self, entry_ids: list[int]) -> None:
        """The broker's part of outbox.publish: Celery on both profiles (Redis
        on the scaled one, the embedded worker's folder under data_dir)."""
        for entry_id in entry_ids:
            # retry=False: a request must not hang on a dead broker.
            self.celery.send_task(RUN_ENTRY, args=[entry_id], retry=False)

    @cached_property
    def shared_state(self) -> redis.Redis | None:
        """The Redis that the processes of a scaled installation share rate
        limits and cached reports through (`shared_state_url`); None on the
        embedded profile, whose one web process keeps them itself."""
        if not self.settings.shared_state_url:
            return None
        return redis.Redis.from_url(self.settings.shared_state_url, socket_timeout=SHARED_STATE_TIMEOUT_SECONDS,
                                    socket_connect_timeout=SHARED_STATE_TIMEOUT_SECONDS)

    def _shared_prefix(self, what: str) -> str:
        # Installations sharing one Redis keep apart by their queue name, as tasks do.
        return f"{self.settings.task_queue}:{what}:"

    def limiter(self, name: str, rate: float, burst: int) -> Limiter:
        """The per-client token bucket called `name` (`rate` requests a second,
        `burst` at once), the same object for every call with these arguments:
        in this process, or in the shared Redis so that all the installation's
        processes count together."""
        key = (name, float(rate), int(burst))
        with self._limiters_lock:
            limiter = self._limiters.get(key)
            if limiter is None:
                shared = self.shared_state
                limiter = (RateLimiter(rate, burst) if shared is None
                           else RedisRateLimiter(shared, self._shared_prefix(f"limit:{name}"), rate, burst))
                self._limiters[key] = limiter
            return limiter

    @cached_property
    def report_cache(self) -> ReportCache:
        """Signature reports of registered e-copy files, for verify_cache_seconds."""
        ttl = self.settings.verify_cache_seconds
        shared = self.shared_state
        # "report2": reports whose reasons are {code, params, message}; a process
        # of the release before (reasons as sentences) keeps to its own keys.
        return LocalReportCache(ttl) if shared is None else RedisReportCache(shared, self._shared_prefix("report2"), ttl)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A read-write transaction: committed on success, rolled back on error."""
        with self._writers() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def read(self) -> Iterator[Session]:
        # Closing (not rolling back) keeps loaded attributes readable on the
        # detached objects, so callers may use what they read after the block.
        with self._readers() as session:
            yield session

    def ensure_backends(self) -> None:
        """Create the bucket/folder and the search index if missing."""
        self.store.ensure_ready()
        self.index.ensure_ready()

    def close(self) -> None:
        if "index" in self.__dict__:  # only if it was ever opened
            self.index.close()
        if self.__dict__.get("shared_state") is not None:
            self.shared_state.close()
        self.engine.dispose()
