"""Settings: defaults here, then a TOML file (DOCSVC_CONFIG), then DOCSVC_* variables.

Every setting is one flat name so that the same word appears in the TOML
files, in the environment (upper-cased, prefixed DOCSVC_) and in
docker-compose.yml; a test checks those stay in step.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ENV_PREFIX = "DOCSVC_"

log = logging.getLogger(__name__)

# Settings of earlier versions still read from existing files and variables.
# The SQLite FTS5 search index became Tantivy: both are derived data, so the
# new index starts empty and the next `docsvc reindex` (or search check)
# fills it; the old file's path has no use any more.
_RETIRED_SETTINGS = frozenset({"search_sqlite_path"})
_RETIRED_BACKENDS = {"sqlite": "tantivy"}


class ConfigError(Exception):
    """A configuration file or variable is wrong; the message says which."""


@dataclass(frozen=True)
class Settings:
    data_dir: str = "./var"
    # Empty means "derive from data_dir" (the embedded profile's files).
    database_url: str = ""
    storage_backend: str = "filesystem"
    storage_path: str = ""
    minio_endpoint: str = ""
    minio_access_key: str = ""
    minio_secret_key: str = ""
    minio_bucket: str = "docsvc"
    minio_secure: bool = False
    search_backend: str = "tantivy"
    search_tantivy_path: str = ""  # a directory
    elasticsearch_url: str = ""
    elasticsearch_index: str = "docsvc-documents"
    broker_url: str = ""
    # Installations sharing one Redis keep apart by queue name.
    task_queue: str = "docsvc"
    secret_key: str = ""
    # Signing: the development PKI (`docsvc pki init`) and the trust store, a
    # folder of PEM/DER root certificates an administrator adds national roots to.
    pki_dir: str = ""
    trust_store_dir: str = ""
    # A time-stamping authority; empty means the development PKI's, if any.
    tsa_url: str = ""
    # Slow clients (docsvc/gunicorn_worker.py): a request head must arrive
    # whole within header_timeout_seconds, and a body may pause at most
    # body_timeout_seconds between two reads (nginx's client_header_timeout
    # and client_body_timeout), or the connection is closed; each web process
    # keeps at most max_connections open (at the limit, one that is waiting
    # for its head or idle is closed to let a new one in).
    header_timeout_seconds: int = 10
    body_timeout_seconds: int = 30
    max_connections: int = 1000
    # Reverse proxies in front of the app whose X-Forwarded-For and
    # X-Forwarded-Proto are believed (0: the peer is the client; 1 behind
    # docker-compose's nginx). Rate limits count the address this yields: a
    # value higher than the real number of hops lets clients choose theirs.
    trusted_proxies: int = 0
    # Public verification fetches revocation data (OCSP, CRL) only for
    # certificates that chain to the trust store, only from public addresses
    # over http(s), never following redirects, and for at most this long per
    # verification in total (a URL that never answers held a request thread
    # 10 s per time-stamp before). An in-house CA on a private network: list
    # its origins (comma-separated "http://ca.internal:80") or allow all
    # private addresses. The development PKI's own origin is always allowed.
    fetch_budget_seconds: int = 5
    fetch_allow_private: bool = False
    fetch_allowed_origins: str = ""
    host: str = "127.0.0.1"
    port: int = 8080
    max_upload_bytes: int = 3 * 1024 * 1024 * 1024
    # What other requests may send (docsvc/web/request_limits.py): public
    # verification takes a signed PDF, not a 3 GiB scan; an API call's JSON
    # and a page's form are small. Over the limit: 413, refused while the
    # body streams (a 100 MB JSON body on /api/v1/tokens cost +260 MiB).
    verify_max_bytes: int = 32 * 1024 * 1024
    # An edXML package from a peer (docsvc/exchange): parsed whole in memory,
    # so bounded well below max_upload_bytes; its PDF in base64 is 4/3 larger.
    edxml_max_bytes: int = 64 * 1024 * 1024
    json_max_bytes: int = 1024 * 1024
    form_max_bytes: int = 256 * 1024
    # Scans: more pages than this are refused at upload (a clear message, not
    # a worker busy for hours); an image declaring more pixels than this is a
    # decompression bomb and refused before it is decoded.
    max_pages: int = 1000
    max_image_pixels: int = 250_000_000
    # Every parse of a file from outside (verification, upload check, text
    # extraction, previews, the e-copy stamp's thumbnail) runs in a child
    # process (docsvc/sandbox.py) with this much address space above its
    # start and this long per step (text extraction: per page); over either
    # it ends in file_too_complex, or an "indeterminate" verification.
    # parse_workers such children per process parse at once; a request waits
    # at most parse_wait_seconds for one, then answers 503 busy.
    parse_memory_mib: int = 256
    parse_timeout_seconds: int = 10
    parse_workers: int = 2
    parse_wait_seconds: int = 20
    # OCR (OCRmyPDF + Tesseract). ocr_jobs 0 = one per core; a page taking
    # longer than the timeout is left without text and named on the document.
    ocr_enabled: bool = True
    ocr_languages: str = "vie+eng"
    ocr_jobs: int = 0
    ocr_page_timeout_seconds: int = 180
    # A folder a network scanner writes to: files that stop growing are
    # ingested as incoming scans of watch_agency by watch_user, then moved to
    # its "done" (or "rejected", with the reason beside them) subfolder.
    watch_dir: str = ""
    watch_agency: str = ""
    watch_user: str = ""
    watch_interval_seconds: int = 10
    # edXML exchange (docsvc/exchange). Statuses (arrived, registered, …) are
    # answered by the worker with no person there to unlock the agency's seal,
    # so they are signed with this PKCS#12 key and passphrase (empty: the
    # development PKI's agency key, if there is one). Packages that arrive as
    # files go in exchange_drop_dir (empty: none), taken every
    # exchange_drop_interval_seconds; a request to a peer may take
    # exchange_timeout_seconds.
    exchange_key_file: str = ""
    exchange_key_passphrase: str = ""
    exchange_drop_dir: str = ""
    exchange_drop_interval_seconds: int = 30
    exchange_timeout_seconds: int = 30
    # Issued B-LTA documents get a fresh archive time-stamp this many days
    # before their last time-stamp's TSA certificate expires; the beat task
    # looks for due ones every archive_check_hours.
    archive_renewal_margin_days: int = 180
    # Signed records (issued outgoing documents, e-copies) are locked against
    # deletion for their category's period (docsvc/signatures/retention.py): MinIO object
    # lock in compliance mode, or a refusal in the application. Off only for
    # throwaway installations (test suites must be able to clean up).
    record_retention: bool = True
    # The audit log's key (HMAC of every event; docsvc/audit.py), never kept
    # in the database: this value, else the file audit_key_file (default
    # data_dir/audit.key, made on first use). Every process of an
    # installation (web, worker, beat) must use the same key.
    audit_key: str = ""
    audit_key_file: str = ""
    # The audit chain's head is written to object storage this often, WORM
    # (MinIO compliance lock when record_retention is on) for this long, so
    # that even someone holding the key cannot cut the log's end unseen.
    audit_checkpoint_minutes: int = 60
    audit_checkpoint_retention_days: int = 3660
    # The worker compares the search index with the database this often and
    # repairs it (`docsvc search check --repair`); 0 turns it off. It also does
    # so when it starts and finds the index empty while documents are ready
    # (a new index layout, a lost disk), so search comes back by itself.
    search_check_hours: float = 24.0
    # Stored objects no row refers to (a request that failed between storing
    # and recording, with the database down or its process killed) are
    # removed every orphan_sweep_hours (0: never) once older than
    # orphan_grace_hours (docsvc/upkeep/sweep.py): a writer commits its row
    # seconds after storing, so a day never catches one at work, and an
    # orphan costs only its bytes meanwhile.
    orphan_sweep_hours: int = 6
    orphan_grace_hours: int = 24
    # The sweep hides an orphan, waits this long for a writer that was handed
    # it just before to commit its row (its transaction follows its store at
    # once and waits at most database_connect_timeout_seconds for a
    # connection), then asks the database again; what a sweep killed in
    # between left hidden, the next one finishes.
    orphan_settle_seconds: float = 30.0
    # How long docsvc waits for a dependency that stopped answering before a
    # request gives up with 503 (docsvc/outages.py): PostgreSQL to connect,
    # MinIO for the next bytes of an answer, Elasticsearch per try (two tries).
    database_connect_timeout_seconds: int = 5
    storage_timeout_seconds: int = 30
    search_timeout_seconds: int = 15
    # GET /metrics (Prometheus) answers clients on this machine (127.0.0.1,
    # ::1), and others that send "Authorization: Bearer <metrics_token>".
    metrics_token: str = ""
    # The address printed in e-copies' QR codes (default http://host:port).
    public_url: str = ""
    # Whose name and title an e-copy's certification shows (default: who issues it).
    ecopy_certifier: str = ""
    ecopy_certifier_title: str = ""
    # Public verification by code: requests per minute per client, and burst.
    verify_rate_per_minute: int = 30
    verify_burst: int = 10
    # Public verification by file, per client: a file costs a full validation
    # (~150 ms of CPU, up to verify_max_bytes received), a code a cached lookup
    # (~4 ms), so files have their own, lower budget.
    verify_file_rate_per_minute: int = 10
    verify_file_burst: int = 10
    # How long an e-copy's signature report is reused for verification.
    verify_cache_seconds: int = 600
    # The Redis through which a scaled installation's web processes share
    # rate limits and cached reports (else each process gives a client the
    # full rate). Default: broker_url when that is Redis; empty otherwise,
    # and then each process keeps its own (right for the embedded profile).
    shared_state_url: str = ""
    archive_check_hours: int = 24
    # Sign-in (the /login page and POST /api/v1/tokens) is a token bucket per
    # account and one per client address; every attempt takes a token, so a
    # throttled answer (429) tells nothing about whether the account exists.
    # Per account: 10 at once, then one every 3 minutes: a person who mistypes
    # never meets it, a guesser gets 10 + 480 a day. Per client: 30 at once,
    # then 5 a minute: an office behind one NAT address signs in at 8:00, and
    # an address cannot keep the argon2 checks busy (64 MiB and 0.22 s each,
    # measured on the 2-core development machine).
    sign_in_account_per_hour: int = 20
    sign_in_account_burst: int = 10
    sign_in_client_per_hour: int = 300
    sign_in_client_burst: int = 30
    # A browser session ends after this long even if the user never signs out.
    session_hours: int = 12
    # An API token stops working this many days after it was issued.
    token_days: int = 90
    # Behind TLS (a proxy terminating https): cookies are sent only over https.
    secure_cookies: bool = False
    # How long a task may hold a piece of work before the outbox relay hands
    # it to another worker (the first one is presumed dead).
    task_lease_seconds: int = 300
    # How many times one piece of work is started before its document is
    # marked failed. Counted when a worker takes the work, so a file that
    # kills its worker (out of memory, a crash in a parser) is given up on
    # too, not only one whose processing raised.
    task_max_attempts: int = 8
    outbox_relay_seconds: int = 15
    worker_concurrency: int = 2
    default_language: str = "vi"

    def as_mapping(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def embedded(self) -> bool:
        return self.database_url.startswith("sqlite")


SETTING_NAMES = frozenset(f.name for f in fields(Settings))


def _coerce(name: str, raw: Any, kind: type | str) -> Any:
    kind_name = kind if isinstance(kind, str) else kind.__name__
    try:
        if kind_name == "bool":
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(raw)
        if kind_name == "int":
            return int(raw)
        if kind_name == "float":
            return float(raw)
        return str(raw)
    except ValueError:
        raise ConfigError(f"setting {name}: {raw!r} is not a valid {kind_name}") from None


def read_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"configuration file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"configuration file {path} is not valid TOML: {exc}") from None
    unknown = set(data) - SETTING_NAMES - _RETIRED_SETTINGS
    if unknown:
        raise ConfigError(f"configuration file {path} has unknown settings: {', '.join(sorted(unknown))}")
    return data


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    config_file = environ.get(ENV_PREFIX + "CONFIG")
    if config_file:
        values.update(read_toml(Path(config_file)))
    for f in fields(Settings):
        env_name = ENV_PREFIX + f.name.upper()
        if env_name in environ:
            values[f.name] = environ[env_name]
    values.update(overrides)
    _read_retired(values)
    typed = {f.name: _coerce(f.name, values[f.name], f.type) for f in fields(Settings) if f.name in values}
    return _derive(Settings(**typed))


def _read_retired(values: dict[str, Any]) -> None:
    """Turn settings of earlier versions into today's, saying so once in the log."""
    for name in _RETIRED_SETTINGS & set(values):
        log.warning("setting %s is no longer used; remove it from the configuration", name)
        del values[name]
    backend = values.get("search_backend")
    if backend in _RETIRED_BACKENDS:
        replacement = _RETIRED_BACKENDS[backend]
        log.warning(
            "search_backend %r is now %r; its index starts empty until `docsvc reindex` fills it",
            backend,
            replacement,
        )
        values["search_backend"] = replacement


def _derive(settings: Settings) -> Settings:
    """Fill the settings that default to places inside the data folder."""
    data_dir = Path(settings.data_dir).expanduser().resolve()
    derived: dict[str, Any] = {"data_dir": str(data_dir)}
    if not settings.database_url:
        derived["database_url"] = f"sqlite:///{data_dir / 'docsvc.sqlite3'}"
    if not settings.storage_path:
        derived["storage_path"] = str(data_dir / "objects")
    if not settings.search_tantivy_path:
        derived["search_tantivy_path"] = str(data_dir / "search-index")
    if not settings.pki_dir:
        derived["pki_dir"] = str(data_dir / "pki")
    if not settings.trust_store_dir:
        derived["trust_store_dir"] = str(data_dir / "trust")
    if not settings.broker_url:
        derived["broker_url"] = "filesystem://"
    if not settings.shared_state_url and settings.broker_url.startswith(("redis://", "rediss://")):
        derived["shared_state_url"] = settings.broker_url
    if settings.storage_backend not in {"filesystem", "minio"}:
        raise ConfigError(f"storage_backend must be 'filesystem' or 'minio', not {settings.storage_backend!r}")
    if settings.search_backend not in {"tantivy", "elasticsearch"}:
        raise ConfigError(f"search_backend must be 'tantivy' or 'elasticsearch', not {settings.search_backend!r}")
    for origin in filter(None, (o.strip() for o in settings.fetch_allowed_origins.split(","))):
        if not _is_origin(origin):
            raise ConfigError(f"fetch_allowed_origins: {origin!r} is not an origin like http://ca.internal:8080")
    if settings.fetch_budget_seconds < 0:
        raise ConfigError("fetch_budget_seconds cannot be negative")
    if not 0 <= settings.orphan_settle_seconds <= 86400:  # also refuses nan and inf
        raise ConfigError(f"orphan_settle_seconds must be 0..86400, not {settings.orphan_settle_seconds}")
    if settings.storage_backend == "minio" and not settings.minio_endpoint:
        raise ConfigError("storage_backend is 'minio' but minio_endpoint is not set")
    if settings.search_backend == "elasticsearch" and not settings.elasticsearch_url:
        raise ConfigError("search_backend is 'elasticsearch' but elasticsearch_url is not set")
    return dataclasses.replace(settings, **derived)


def _is_origin(text: str) -> bool:
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return False
    return parts.scheme in {"http", "https"} and bool(parts.hostname) and parts.path in {"", "/"} and not parts.query


def ensure_secret_key(settings: Settings) -> str:
    """The configured key, or one made once and kept in the data folder.

    A key that changed at every start would log everyone out and break CSRF
    tokens of open forms, so the embedded profile persists the one it makes.
    """
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.data_dir) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
