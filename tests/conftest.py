"""Fixtures shared by the whole suite.

`backend` runs a test twice: on the embedded profile (SQLite, a data folder,
SQLite FTS5, the filesystem broker) and on the scaled one (PostgreSQL, MinIO,
Elasticsearch, Redis), each installation fresh and private to the test. The
real services are started by scripts/services/up, which writes their
addresses to .cache/services.env; a missing or dead service FAILS the test.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import processes

ROOT = Path(__file__).resolve().parent.parent
SERVICES_ENV = Path(os.environ.get("DOCSVC_SERVICES_ENV", ROOT / ".cache" / "services.env"))
REQUIRED = (
    "DOCSVC_TEST_DATABASE_URL",
    "DOCSVC_TEST_PG_ADMIN_URL",
    "DOCSVC_TEST_REDIS_URL",
    "DOCSVC_TEST_MINIO_ENDPOINT",
    "DOCSVC_TEST_MINIO_ACCESS_KEY",
    "DOCSVC_TEST_MINIO_SECRET_KEY",
    "DOCSVC_TEST_ELASTICSEARCH_URL",
)


def _load_services_env() -> None:
    """Let `pytest` alone work after scripts/services/up, as the test command does."""
    if not SERVICES_ENV.exists():
        return
    for line in SERVICES_ENV.read_text().splitlines():
        line = line.strip().removeprefix("export ").strip()
        if "=" in line and not line.startswith("#"):
            name, value = line.split("=", 1)
            os.environ.setdefault(name, value.strip().strip("'\""))


_load_services_env()

# Test files of many minutes each, run first. scripts/test runs the suite on
# two processes with each file whole on one (pytest-xdist's loadfile), which
# hands files out in collection order: one of these handed out late would
# run alone while the other process has nothing left to do.
LONG_FILES = (  # longest first, from the slowest tests of a full run
    "bench/test_bench_smoke.py",
    "integration/test_faults_under_load.py",
    "integration/test_worker_recovery.py",
    "integration/test_search_lifecycle.py",
    "integration/test_incoming.py",
    "browser/test_exchange_pages.py",
)


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # the controller, before xdist starts its processes
        os.environ[processes.HUNG_STOPS_VARIABLE] = tempfile.mkdtemp(prefix="docsvc-hung-stops-")


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    # A worker that needed SIGKILL to stop did not fail its test: say so here,
    # with its log, where the end of a CI run's output shows it.
    for report in processes.hung_stops():
        terminalreporter.section("worker stop needed SIGKILL", sep="=")
        terminalreporter.write_line(report)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.path.relative_to(ROOT / "tests").as_posix() if item.path.is_relative_to(ROOT / "tests") else ""
        return LONG_FILES.index(path) if path in LONG_FILES else len(LONG_FILES)

    items.sort(key=rank)  # stable: every other test keeps its place


def service_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: start the services with scripts/services/up (CI never skips them)")
    return value


@dataclass
class Installation:
    """One fresh docsvc installation: its settings, as environment variables too."""

    profile: str
    env: dict[str, str]

    def settings(self):
        from docsvc.config import load_settings

        return load_settings(self.env)

    def run(self, *args: str, check: bool = False, timeout: float = 600, extra_env: dict | None = None):
        """Run the real `docsvc` command against this installation."""
        env = {**os.environ, **self.env, **(extra_env or {})}
        env.pop("DOCSVC_CONFIG", None)
        result = subprocess.run(
            [sys.executable, "-m", "docsvc.cli", *args],
            env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"docsvc {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result


def _embedded_env(tmp_path: Path) -> dict[str, str]:
    return {"DOCSVC_DATA_DIR": str(tmp_path / "var")}


def _fresh_postgres_database(suffix: str) -> str:
    import psycopg

    admin_url = service_env("DOCSVC_TEST_PG_ADMIN_URL").replace("postgresql+psycopg://", "postgresql://")
    name = f"docsvc_t_{suffix}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = service_env("DOCSVC_TEST_DATABASE_URL")
    return base.rsplit("/", 1)[0] + "/" + name


def _drop_postgres_database(url: str) -> None:
    import psycopg

    admin_url = service_env("DOCSVC_TEST_PG_ADMIN_URL").replace("postgresql+psycopg://", "postgresql://")
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _scaled_env(tmp_path: Path, suffix: str) -> dict[str, str]:
    return {
        "DOCSVC_DATA_DIR": str(tmp_path / "var"),
        "DOCSVC_DATABASE_URL": _fresh_postgres_database(suffix),
        "DOCSVC_STORAGE_BACKEND": "minio",
        "DOCSVC_MINIO_ENDPOINT": service_env("DOCSVC_TEST_MINIO_ENDPOINT"),
        "DOCSVC_MINIO_ACCESS_KEY": service_env("DOCSVC_TEST_MINIO_ACCESS_KEY"),
        "DOCSVC_MINIO_SECRET_KEY": service_env("DOCSVC_TEST_MINIO_SECRET_KEY"),
        "DOCSVC_MINIO_BUCKET": f"docsvc-t-{suffix}",
        "DOCSVC_SEARCH_BACKEND": "elasticsearch",
        "DOCSVC_ELASTICSEARCH_URL": service_env("DOCSVC_TEST_ELASTICSEARCH_URL"),
        "DOCSVC_ELASTICSEARCH_INDEX": f"docsvc-t-{suffix}",
        "DOCSVC_BROKER_URL": service_env("DOCSVC_TEST_REDIS_URL"),
        # One Redis serves every test (and any server a developer left running).
        "DOCSVC_TASK_QUEUE": f"docsvc-t-{suffix}",
        # MinIO's compliance lock cannot be lifted by anyone, so a test bucket
        # holding locked records could never be removed. tests/integration/
        # test_retention.py shows MinIO refusing deletes with short locks.
        "DOCSVC_RECORD_RETENTION": "0",
    }


def _cleanup_scaled(env: dict[str, str]) -> None:
    import redis
    from elasticsearch import Elasticsearch
    from minio import Minio

    _drop_postgres_database(env["DOCSVC_DATABASE_URL"])
    # Leave no queue behind in the shared Redis.
    client = redis.Redis.from_url(env["DOCSVC_BROKER_URL"])
    client.delete(env["DOCSVC_TASK_QUEUE"])
    client.close()
    es = Elasticsearch(env["DOCSVC_ELASTICSEARCH_URL"])
    es.indices.delete(index=env["DOCSVC_ELASTICSEARCH_INDEX"] + "*", ignore_unavailable=True, allow_no_indices=True)
    es.options(ignore_status=404).indices.delete_index_template(name=env["DOCSVC_ELASTICSEARCH_INDEX"] + "-template")
    es.close()
    client = Minio(env["DOCSVC_MINIO_ENDPOINT"], env["DOCSVC_MINIO_ACCESS_KEY"], env["DOCSVC_MINIO_SECRET_KEY"], secure=False)
    bucket = env["DOCSVC_MINIO_BUCKET"]
    if client.bucket_exists(bucket):
        for obj in client.list_objects(bucket, recursive=True, include_version=True):
            client.remove_object(bucket, obj.object_name, version_id=obj.version_id)
        client.remove_bucket(bucket)


def make_installation(profile: str, tmp_path: Path) -> Iterator[Installation]:
    suffix = uuid.uuid4().hex[:10]
    env = _embedded_env(tmp_path) if profile == "embedded" else _scaled_env(tmp_path, suffix)
    installation = Installation(profile, env)
    try:
        yield installation
    finally:
        if profile == "scaled":
            _cleanup_scaled(env)


fresh_installation = contextmanager(make_installation)  # the same, for a `with`
PROFILES = ["embedded", "scaled"]


@pytest.fixture(params=PROFILES)
def backend(request, tmp_path) -> Iterator[Installation]:
    """A fresh, empty installation on each profile."""
    yield from make_installation(request.param, tmp_path)


@contextmanager
def prepared_runtime(installation: Installation):
    """The installation's Runtime, migrated, with its bucket, index, default agency and admin."""
    from docsvc.cli import prepare
    from docsvc.runtime import Runtime

    runtime = Runtime(installation.settings())
    try:
        prepare(runtime)
        yield runtime
    finally:
        runtime.close()


@pytest.fixture
def rt(backend):
    with prepared_runtime(backend) as runtime:
        yield runtime
