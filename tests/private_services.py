"""PostgreSQL, Redis, MinIO and Elasticsearch of one's own, to stop on purpose.

The shared services of scripts/services/up serve everybody's tests and are
never stopped. A fault test or bench (tests/integration/test_faults_under_load.py,
bench/load.py) starts this private set instead: the same scripts, on free
ports, with a run folder of its own (data, logs, pid files), so that stopping
one of them harms nobody else. The binaries are cached, so a start takes
seconds (Elasticsearch about 15). `close()` stops them all and removes the
folder; `with private_services(...)` always does.

    with private_services(tmp) as services:
        env = services.installation_env(tmp / "var")   # a scaled installation on them
        services.stop("minio"); ...; services.start("minio")
"""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts" / "services"
SERVICES = ("postgres", "redis", "minio", "elasticsearch")
SCRIPT_NAMES = {"postgres": "postgres.sh", "redis": "redis.sh", "minio": "minio.sh", "elasticsearch": "elasticsearch.sh"}
# Each script's own port settings (scripts/services/README.md, "Overrides").
SERVICE_PORTS = {"postgres": ("DOCSVC_PG_PORT",), "redis": ("DOCSVC_REDIS_PORT",),
                 "minio": ("DOCSVC_MINIO_PORT", "DOCSVC_MINIO_CONSOLE_PORT"),
                 "elasticsearch": ("DOCSVC_ES_PORT", "DOCSVC_ES_TRANSPORT_PORT")}
PORTS = tuple(port for ports in SERVICE_PORTS.values() for port in ports)
SCRIPT_TIMEOUT = 180


def _hold(port: int = 0) -> socket.socket:
    """A port on 127.0.0.1 bound and never listening, with SO_REUSEADDR: the
    kernel hands it to no other process (another pytest worker's free port, a
    client's outgoing connection) while the service it is meant for is not
    running, and the service, whose listener sets SO_REUSEADDR too
    (PostgreSQL, Redis, Go's and Java's), can still bind it."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        raise
    return sock


class PrivateServices:
    def __init__(self, run_dir: Path, es_heap: str = "512m") -> None:
        self.run_dir = run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        # The cluster runs as user postgres, which must reach its folder inside.
        run_dir.chmod(0o755)
        # Held from here until the service listens, and again while it is
        # stopped on purpose, so that its start finds the port free.
        self._held = {name: _hold() for name in PORTS}
        self.ports = {name: sock.getsockname()[1] for name, sock in self._held.items()}
        self.script_env = {**os.environ, **{name: str(port) for name, port in self.ports.items()},
                           "DOCSVC_RUN_DIR": str(run_dir), "DOCSVC_ES_HEAP": es_heap,
                           "DOCSVC_SERVICES_ENV": str(run_dir / "services.env")}
        self.started: set[str] = set()
        self.addresses: dict[str, str] = {}  # DOCSVC_TEST_* as the scripts print them

    def _script(self, name: str, action: str) -> str:
        result = subprocess.run(["bash", str(SCRIPTS / SCRIPT_NAMES[name]), action], env=self.script_env,
                                capture_output=True, text=True, timeout=SCRIPT_TIMEOUT, stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            raise RuntimeError(f"{name} {action} failed ({result.returncode}):\n{result.stdout}\n{result.stderr[-3000:]}")
        return result.stdout

    def start(self, *names: str) -> None:
        """Start the named services (all four by default); each returns once it answers."""
        for name in names or SERVICES:
            self.started.add(name)
            self._script(name, "start")
            self._release(name)
            for line in self._script(name, "env").splitlines():
                key, value = line.removeprefix("export ").split("=", 1)
                self.addresses[key] = value.strip("'\"")

    def stop(self, name: str) -> None:
        self._script(name, "stop")
        for port_name in SERVICE_PORTS[name]:
            # Taken meanwhile (rare): the next start says so.
            with contextlib.suppress(OSError):
                self._held[port_name] = _hold(self.ports[port_name])

    def _release(self, name: str) -> None:
        for port_name in SERVICE_PORTS[name]:
            if (sock := self._held.pop(port_name, None)) is not None:
                sock.close()

    def restart(self, name: str) -> None:
        self._script(name, "restart")

    def pid(self, name: str) -> int | None:
        """The service's main process, for its CPU time."""
        files = {"postgres": "postgres/data/postmaster.pid", "redis": "redis/redis.pid", "minio": "minio/minio.pid",
                 "elasticsearch": "elasticsearch/elasticsearch.pid"}
        try:
            return int((self.run_dir / files[name]).read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def installation_env(self, data_dir: Path, name: str = "docsvc") -> dict[str, str]:
        """A scaled installation on these services (they are its own: no
        cleanup beyond stopping them)."""
        a = self.addresses
        return {
            "DOCSVC_DATA_DIR": str(data_dir),
            "DOCSVC_DATABASE_URL": a["DOCSVC_TEST_DATABASE_URL"],
            "DOCSVC_STORAGE_BACKEND": "minio",
            "DOCSVC_MINIO_ENDPOINT": a["DOCSVC_TEST_MINIO_ENDPOINT"],
            "DOCSVC_MINIO_ACCESS_KEY": a["DOCSVC_TEST_MINIO_ACCESS_KEY"],
            "DOCSVC_MINIO_SECRET_KEY": a["DOCSVC_TEST_MINIO_SECRET_KEY"],
            "DOCSVC_MINIO_BUCKET": name,
            "DOCSVC_SEARCH_BACKEND": "elasticsearch",
            "DOCSVC_ELASTICSEARCH_URL": a["DOCSVC_TEST_ELASTICSEARCH_URL"],
            "DOCSVC_ELASTICSEARCH_INDEX": name,
            "DOCSVC_BROKER_URL": a["DOCSVC_TEST_REDIS_URL"],
            # The compliance lock of MinIO cannot be lifted, not even to remove the folder.
            "DOCSVC_RECORD_RETENTION": "0",
        }

    def close(self) -> None:
        """Stop every service started (each even if another fails), remove the folder."""
        errors = []
        for name in reversed(SERVICES):
            if name in self.started:
                try:
                    self.stop(name)
                except (RuntimeError, subprocess.TimeoutExpired) as exc:
                    errors.append(str(exc))
            self._release(name)
        # PostgreSQL may keep its cluster elsewhere when user postgres could not reach this folder (postgres.sh).
        cluster = self.run_dir / "postgres"
        if cluster.is_symlink():
            shutil.rmtree(cluster.resolve(), ignore_errors=True)
        shutil.rmtree(self.run_dir, ignore_errors=True)
        if errors:
            raise RuntimeError("stopping the private services: " + "; ".join(errors))


@contextmanager
def private_services(parent: Path | None = None, names: tuple[str, ...] = SERVICES) -> Iterator[PrivateServices]:
    services = PrivateServices(Path(tempfile.mkdtemp(prefix="docsvc-private-", dir=parent)))
    try:
        services.start(*names)
        yield services
    finally:
        services.close()
