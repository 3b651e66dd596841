"""Settings: defaults here, then a TOML file (DOCSVC_CONFIG), then DOCSVC_* variables.

Every setting is one flat name so that the same word appears in the TOML
files, in the environment (upper-cased, prefixed DOCSVC_) and in
docker-compose.yml; a test checks those stay in step.
"""
from __future__ import annotations

import dataclasses
import os
import secrets
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Mapping

ENV_PREFIX = "DOCSVC_"


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
    search_backend: str = "sqlite"
    search_sqlite_path: str = ""
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
    host: str = "127.0.0.1"
    port: int = 8080
    max_upload_bytes: int = 3 * 1024 * 1024 * 1024
    # Scans: more pages than this are refused at upload (a clear message, not
    # a worker busy for hours); an image declaring more pixels than this is a
    # decompression bomb and refused before it is decoded.
    max_pages: int = 1000
    max_image_pixels: int = 250_000_000
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
    # Issued B-LTA documents get a fresh archive time-stamp this many days
    # before their last time-stamp's TSA certificate expires; the beat task
    # looks for due ones every archive_check_hours.
    archive_renewal_margin_days: int = 180
    # Signed records (issued outgoing documents, e-copies) are locked against
    # deletion for their category's period (docsvc/retention.py): MinIO object
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
    # The address printed in e-copies' QR codes (default http://host:port).
    public_url: str = ""
    # Whose name and title an e-copy's certification shows (default: who issues it).
    ecopy_certifier: str = ""
    ecopy_certifier_title: str = ""
    # Public verification by code: requests per minute per client, and burst.
    verify_rate_per_minute: int = 30
    verify_burst: int = 10
    # How long an e-copy's signature report is reused for verification by code.
    verify_cache_seconds: int = 600
    archive_check_hours: int = 24
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
    unknown = set(data) - SETTING_NAMES
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
    typed = {f.name: _coerce(f.name, values[f.name], f.type) for f in fields(Settings) if f.name in values}
    return _derive(Settings(**typed))


def _derive(settings: Settings) -> Settings:
    """Fill the settings that default to places inside the data folder."""
    data_dir = Path(settings.data_dir).expanduser().resolve()
    derived: dict[str, Any] = {"data_dir": str(data_dir)}
    if not settings.database_url:
        derived["database_url"] = f"sqlite:///{data_dir / 'docsvc.sqlite3'}"
    if not settings.storage_path:
        derived["storage_path"] = str(data_dir / "objects")
    if not settings.search_sqlite_path:
        derived["search_sqlite_path"] = str(data_dir / "search.sqlite3")
    if not settings.pki_dir:
        derived["pki_dir"] = str(data_dir / "pki")
    if not settings.trust_store_dir:
        derived["trust_store_dir"] = str(data_dir / "trust")
    if not settings.broker_url:
        derived["broker_url"] = "filesystem://"
    if settings.storage_backend not in {"filesystem", "minio"}:
        raise ConfigError(f"storage_backend must be 'filesystem' or 'minio', not {settings.storage_backend!r}")
    if settings.search_backend not in {"sqlite", "elasticsearch"}:
        raise ConfigError(f"search_backend must be 'sqlite' or 'elasticsearch', not {settings.search_backend!r}")
    if settings.storage_backend == "minio" and not settings.minio_endpoint:
        raise ConfigError("storage_backend is 'minio' but minio_endpoint is not set")
    if settings.search_backend == "elasticsearch" and not settings.elasticsearch_url:
        raise ConfigError("search_backend is 'elasticsearch' but elasticsearch_url is not set")
    return dataclasses.replace(settings, **derived)


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
