"""When a service docsvc depends on is down: which one, told from the error
it raised, and a probe of each for the health endpoint.

A request, page or command that meets a dead database, object store, search
engine or broker answers 503 `service_unavailable` in the one error shape,
naming the service, instead of a 500 with a traceback; the clients of those
services have bounded timeouts (runtime.py, storage/minio_store.py,
search/elastic.py), so the answer comes in seconds, not minutes. Work the
outbox holds (processing, index writes, deliveries) resumes by itself.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as ProbeTimeout
from typing import TYPE_CHECKING

from docsvc.errors import DocsvcError
from storage.base import content_key

if TYPE_CHECKING:
    from docsvc.runtime import Runtime

# What each dependency is called in messages and in the health report.
DATABASE, STORAGE, SEARCH, BROKER = "database", "storage", "search", "broker"
# Without these nothing can be served; without the others work waits in the outbox.
ESSENTIAL = frozenset({DATABASE, STORAGE})
PROBE_SECONDS = 3.0
# A content key no object has (stores refuse anything that is not one):
# asking for it is a round trip to the store and nothing else.
PROBE_KEY = content_key("0" * 64)

# (module of the exception class, class names anywhere in its MRO, or None
# for every class of the module, dependency). The libraries are not imported
# to tell: a command that never touched Elasticsearch need not load it.
_SIGNS: tuple[tuple[str, frozenset[str] | None, str], ...] = (
    ("sqlalchemy.exc", frozenset({"OperationalError", "InterfaceError", "DisconnectionError", "TimeoutError"}),
     DATABASE),
    ("psycopg", frozenset({"OperationalError", "InterfaceError"}), DATABASE),
    ("elastic_transport", frozenset({"ConnectionError", "ConnectionTimeout", "SerializationError"}), SEARCH),
    ("elasticsearch", frozenset({"ConnectionError", "ConnectionTimeout"}), SEARCH),
    ("search.elastic", frozenset({"IndexUnavailable"}), SEARCH),  # a node up, its shards not (yet)
    ("redis.exceptions", frozenset({"ConnectionError", "TimeoutError", "BusyLoadingError"}), BROKER),
    ("kombu.exceptions", frozenset({"OperationalError"}), BROKER),
    ("urllib3.exceptions", None, STORAGE),  # the MinIO client's transport (Elasticsearch's wraps its own)
)


class DependencyDown(DocsvcError):
    """503 `<dependency>_unavailable` (storage_unavailable, as an upload that
    could not be stored has always said), with a minute to wait."""

    code = "service_unavailable"
    http_status = 503
    retry_after = 15

    def __init__(self, dependency: str) -> None:
        self.dependency = dependency
        self.code = f"{dependency}_unavailable"
        super().__init__(f"The {dependency} is not answering; nothing was changed. Try again in a minute.")


def dependency_of(exc: BaseException) -> str | None:
    """The dependency whose failure `exc` (or an error it was raised from) reports, if any."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 10:
        kind = type(current)
        for module, names, dependency in _SIGNS:
            if kind.__module__.startswith(module) and (
                    names is None or any(cls.__name__ in names for cls in kind.__mro__)):
                return dependency
        current = current.__cause__ or current.__context__
        seen += 1
    return None


_probes = ThreadPoolExecutor(max_workers=8, thread_name_prefix="health-probe")


def check_dependencies(rt: Runtime) -> dict[str, dict]:
    """Each dependency this installation uses, probed at once, each given
    PROBE_SECONDS: {"database": {"ok": True, "ms": 2}, "search": {"ok": False, "error": "..."}}."""
    probes: dict[str, Callable[[], object]] = {
        DATABASE: lambda: _database(rt), STORAGE: lambda: rt.store.exists(PROBE_KEY),
        SEARCH: lambda: rt.index.count(),
    }
    shared = rt.shared_state
    if shared is not None:
        probes[BROKER] = shared.ping
    started = time.monotonic()
    futures = {name: _probes.submit(_timed, probe) for name, probe in probes.items()}
    report: dict[str, dict] = {}
    for name, future in futures.items():
        left = max(0.0, PROBE_SECONDS - (time.monotonic() - started))
        try:
            report[name] = {"ok": True, "ms": future.result(timeout=left)}
        except ProbeTimeout:
            report[name] = {"ok": False, "error": f"no answer within {PROBE_SECONDS:.0f} s"}
        except Exception as exc:  # noqa: BLE001 - any failure of a probe is the dependency being down
            report[name] = {"ok": False, "error": f"{type(exc).__name__}: {str(exc)[:200]}"}
    return report


def _timed(probe: Callable[[], object]) -> int:
    started = time.monotonic()
    probe()
    return round((time.monotonic() - started) * 1000)


def _database(rt: Runtime) -> None:
    from sqlalchemy import text

    with rt.read() as session:
        session.execute(text("SELECT 1"))
