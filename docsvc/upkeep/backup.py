"""Backing up an installation, and restoring it into an empty one.

A backup is a folder anyone can read with a text editor and a hash tool:

    manifest.json        what is in it: format, schema revision, profile, the
                         row count and SHA-256 of every table file, the objects
    database/<table>.jsonl
                         every row, one JSON object a line, read in one
                         snapshot (REPEATABLE READ on PostgreSQL, one read
                         transaction on SQLite), so the rows agree with each other
    objects.jsonl        every stored object the rows name: key, hash, size,
                         media type, retention date
    objects/<key>        the objects themselves (content-addressed, so a copy
                         checks itself), unless --objects manifest (MinIO-side
                         replication keeps them; the restore checks they are there)
    anchors/<name>       the audit log's checkpoints
    secrets/             the session key and the audit log's key (0600): without
                         the audit key a restored log can never be checked again
    trust/, pki/         the trust store and the development PKI
    settings.json        the installation's settings, secrets left out, for reference

The search index is not in it: it is derived, and the restore rebuilds it.
Signing keys (PKCS#12 files, tokens) are not either: they belong to their
holders, who keep them. The backup is written to DEST.partial and renamed
when whole, so a folder named DEST is always a complete backup.

A restore goes into an empty installation (migrated, nothing in it): the
backup is checked first (every table file against its hash), then the
objects are stored (each one checked against its key) and their retention
locks put back, then every row is inserted in one transaction, so a restore
that fails leaves no row without its file and can simply be run again.
"""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import Column, Connection, Date, LargeBinary, Table, func, select, text
from sqlalchemy.engine import Engine

from docsvc import audit, documents, migrate
from docsvc.audit_anchor import PREFIX as CHECKPOINT_PREFIX
from docsvc.column_types import UtcDateTime
from docsvc.errors import Conflict, DocsvcError, InvalidInput
from docsvc.models import Base, DocumentFile, SigningCredential, utcnow
from docsvc.runtime import Runtime
from storage.base import IntegrityError, ObjectMissing, hash_file, sha256_of_key

FORMAT = 1
MANIFEST = "manifest.json"
ROWS_PER_BATCH = 1_000
# Settings a backup must not carry in clear beside the data (the keys it
# needs are in secrets/, on purpose and named so).
SECRET_SETTINGS = frozenset({"secret_key", "audit_key", "minio_secret_key", "database_url", "broker_url",
                             "shared_state_url", "elasticsearch_url"})

# Tables a migration gives their one row (the audit chain's genesis head):
# a new installation has it, and the restore replaces it with the backup's.
SEEDED_BY_MIGRATIONS = frozenset({"audit_head"})

Progress = Callable[[str], None]


class BackupRefused(Conflict):
    code = "backup_refused"


class DamagedBackup(InvalidInput):
    code = "damaged_backup"


@dataclass
class Summary:
    """What a backup holds, or what a restore put back."""

    path: str
    tables: dict[str, int] = field(default_factory=dict)
    objects: int = 0
    object_bytes: int = 0
    objects_copied: bool = True
    anchors: int = 0
    reindexed: int | None = None

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


# --- rows as JSON ------------------------------------------------------------------


def _encode(column: Column, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(column.type, UtcDateTime) or isinstance(value, datetime):
        return value.isoformat()
    if isinstance(column.type, Date) or isinstance(value, date):
        return value.isoformat()
    if isinstance(column.type, LargeBinary):
        return base64.b64encode(value).decode("ascii")
    return value


def _decode(column: Column, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(column.type, UtcDateTime):
        return datetime.fromisoformat(value)
    if isinstance(column.type, Date):
        return date.fromisoformat(value)
    if isinstance(column.type, LargeBinary):
        return base64.b64decode(value)
    return value


def _tables() -> list[Table]:
    return list(Base.metadata.sorted_tables)  # parents before the rows that point at them


def schema_head(engine: Engine) -> str:
    head = ScriptDirectory.from_config(migrate.alembic_config(engine)).get_current_head()
    assert head is not None
    return head


# --- backup ------------------------------------------------------------------------


def backup(rt: Runtime, dest: Path, *, copy_objects: bool = True, progress: Progress | None = None) -> Summary:
    dest = dest.resolve()
    if dest.exists():
        raise BackupRefused(f"{dest} already exists; a backup goes into a new folder.")
    partial = dest.with_name(dest.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)  # an earlier run that died half-way
    (partial / "database").mkdir(parents=True)
    say = progress or (lambda _line: None)
    summary = Summary(path=str(dest), objects_copied=copy_objects)
    manifest: dict[str, Any] = {"format": FORMAT, "created_at": utcnow().isoformat(),
                                "profile": "embedded" if rt.settings.embedded else "scaled",
                                "schema_revision": schema_head(rt.engine), "tables": {}}
    with _snapshot(rt.engine) as conn:
        for table in _tables():
            rows, digest = _dump_table(conn, table, partial / "database" / f"{table.name}.jsonl")
            manifest["tables"][table.name] = {"rows": rows, "sha256": digest}
            summary.tables[table.name] = rows
        say(f"database: {sum(summary.tables.values())} rows in {len(summary.tables)} tables")
        objects = list(_referenced_objects(conn))
    with (partial / "objects.jsonl").open("w", encoding="utf-8") as listing:
        for entry in objects:
            if entry["size"] is None:  # an image of a signing credential: no row says its size
                entry["size"] = rt.store.size(entry["key"])
            entry["retained_until"] = _iso(rt.store.retained_until(entry["key"]))
            if copy_objects:
                _copy_out(rt, entry["key"], partial / "objects" / entry["key"])
            elif not rt.store.exists(entry["key"]):
                raise DocsvcError(f"Object {entry['key']} named by the database is missing; run `docsvc check`.")
            listing.write(json.dumps(entry, ensure_ascii=False) + "\n")
            summary.objects += 1
            summary.object_bytes += entry["size"]
    say(f"objects: {summary.objects} ({summary.object_bytes} bytes){'' if copy_objects else ', listed only'}")
    summary.anchors = _save_anchors(rt, partial / "anchors")
    _save_secrets(rt, partial / "secrets")
    for name, folder in (("trust", rt.settings.trust_store_dir), ("pki", rt.settings.pki_dir)):
        if Path(folder).is_dir():
            shutil.copytree(folder, partial / name)
    settings = {k: v for k, v in rt.settings.as_mapping().items() if k not in SECRET_SETTINGS}
    (partial / "settings.json").write_text(json.dumps(settings, indent=2, ensure_ascii=False), encoding="utf-8")
    manifest |= {"objects": summary.objects, "object_bytes": summary.object_bytes, "objects_copied": copy_objects,
                 "objects_sha256": hash_file(partial / "objects.jsonl")[0], "anchors": summary.anchors}
    (partial / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    partial.rename(dest)
    say(f"backup complete: {dest}")
    return summary


class _snapshot:
    """One connection reading one consistent state of the database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __enter__(self) -> Connection:
        conn = self.engine.connect()
        if self.engine.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        self._conn = conn
        self._tx = conn.begin()
        return conn

    def __exit__(self, *exc: object) -> None:
        self._tx.rollback()  # it only read
        self._conn.close()


def _dump_table(conn: Connection, table: Table, path: Path) -> tuple[int, str]:
    columns = list(table.columns)
    digest = hashlib.sha256()
    rows = 0
    query = select(table).order_by(*table.primary_key.columns)
    with path.open("w", encoding="utf-8") as out:
        for row in conn.execution_options(yield_per=ROWS_PER_BATCH).execute(query):
            line = json.dumps({c.name: _encode(c, v) for c, v in zip(columns, row, strict=True)},
                              ensure_ascii=False) + "\n"
            out.write(line)
            digest.update(line.encode("utf-8"))
            rows += 1
    return rows, digest.hexdigest()


def _referenced_objects(conn: Connection) -> Iterator[dict]:
    """Each stored object the rows name, once: document files, and the
    signature and seal images of signing credentials."""
    seen: set[str] = set()
    files = DocumentFile.__table__
    query = select(files.c.storage_key, files.c.sha256, files.c.size, files.c.media_type).order_by(files.c.id)
    for key, sha256, size, media_type in conn.execute(query):
        if key not in seen:
            seen.add(key)
            yield {"key": key, "sha256": sha256, "size": size, "media_type": media_type}
    for (key,) in conn.execute(select(SigningCredential.__table__.c.image_key)):
        if key not in seen:
            seen.add(key)
            yield {"key": key, "sha256": sha256_of_key(key), "size": None, "media_type": "image/png"}


def _copy_out(rt: Runtime, key: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with rt.store.open(key) as reader, path.open("wb") as out:
            for chunk in reader.iter_chunks():
                out.write(chunk)
    except (ObjectMissing, IntegrityError) as exc:
        raise DocsvcError(f"Object {key} is missing or damaged ({exc}); run `docsvc check`.") from None


def _save_anchors(rt: Runtime, folder: Path) -> int:
    names = rt.store.anchor_names(CHECKPOINT_PREFIX)
    for name in names:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rt.store.read_anchor(name))
    return len(names)


def _save_secrets(rt: Runtime, folder: Path) -> None:
    from docsvc.config import ensure_secret_key

    folder.mkdir(mode=0o700)
    _write_private(folder / "secret_key", ensure_secret_key(rt.settings))
    _write_private(folder / "audit.key", audit.audit_key(rt.settings).hex())


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


# --- restore -----------------------------------------------------------------------


def restore(rt: Runtime, src: Path, *, reindex: bool = True, progress: Progress | None = None) -> Summary:
    say = progress or (lambda _line: None)
    manifest = _checked_manifest(rt, src)
    migrate.upgrade(rt.engine)
    rt.ensure_backends()
    _refuse_unless_empty(rt)
    _restore_secrets(rt, src / "secrets")
    summary = Summary(path=str(src), objects_copied=manifest["objects_copied"])
    for entry in _lines(src / "objects.jsonl"):
        _restore_object(rt, src, entry, manifest["objects_copied"])
        summary.objects += 1
        summary.object_bytes += entry["size"] or 0
    say(f"objects: {summary.objects} ({summary.object_bytes} bytes)")
    summary.anchors = _restore_anchors(rt, src / "anchors")
    for name, folder in (("trust", rt.settings.trust_store_dir), ("pki", rt.settings.pki_dir)):
        if (src / name).is_dir():
            shutil.copytree(src / name, folder, dirs_exist_ok=True)
    with rt.engine.begin() as conn:
        for table in _tables():
            if table.name in SEEDED_BY_MIGRATIONS:
                conn.execute(table.delete())
            summary.tables[table.name] = _load_table(conn, table, src / "database" / f"{table.name}.jsonl")
        _advance_sequences(conn)
    say(f"database: {sum(summary.tables.values())} rows in {len(summary.tables)} tables")
    if reindex:
        summary.reindexed = documents.reindex(rt).done
        say(f"search index rebuilt: {summary.reindexed} documents")
    return summary


def _checked_manifest(rt: Runtime, src: Path) -> dict:
    """The manifest, once every file it vouches for matches its hash."""
    try:
        manifest = json.loads((src / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DamagedBackup(f"{src} is not a docsvc backup (no {MANIFEST}).") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise DamagedBackup(f"{src / MANIFEST} is not valid JSON.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise DamagedBackup(f"{src} is a backup of an unknown format; this docsvc reads format {FORMAT}.")
    head = schema_head(rt.engine)
    if manifest.get("schema_revision") != head:
        raise BackupRefused(f"The backup's database schema is {manifest.get('schema_revision')!r}, this docsvc's is "
                            f"{head!r}: restore with the version that made it, then upgrade.")
    tables = manifest.get("tables")
    if not isinstance(tables, dict) or set(tables) != {t.name for t in _tables()}:
        raise DamagedBackup("The backup's list of tables does not match the schema.")
    for name, entry in tables.items():
        _check_hash(src / "database" / f"{name}.jsonl", entry.get("sha256"))
    _check_hash(src / "objects.jsonl", manifest.get("objects_sha256"))
    return manifest


def _check_hash(path: Path, expected: object) -> None:
    if not path.is_file() or hash_file(path)[0] != expected:
        raise DamagedBackup(f"{path} is missing or does not match the manifest; the backup is damaged.")


def _refuse_unless_empty(rt: Runtime) -> None:
    with rt.engine.connect() as conn:
        for table in _tables():
            if table.name in SEEDED_BY_MIGRATIONS:
                continue
            count = conn.scalar(select(func.count()).select_from(table))
            if count:
                raise BackupRefused(f"This installation is not empty ({table.name}: {count} rows); restore into a "
                                    "new one (a fresh database and storage, never started).")


def _restore_secrets(rt: Runtime, folder: Path) -> None:
    """The audit key the restored log was sealed with, where this
    installation reads it; a different key already in place is refused."""
    wanted = bytes.fromhex((folder / "audit.key").read_text().strip())
    if rt.settings.audit_key:
        if rt.settings.audit_key.encode("utf-8") != wanted:
            raise BackupRefused("The setting audit_key differs from the backup's audit key; the restored log "
                                "could not be checked. Remove the setting or set it to the backup's key.")
    else:
        path = audit.key_path(rt.settings)
        if path.exists():
            if bytes.fromhex(path.read_text().strip()) != wanted:
                raise BackupRefused(f"{path} holds another audit key; move it away to restore this backup.")
        else:
            _write_private(path, wanted.hex())
    secret = Path(rt.settings.data_dir) / "secret_key"
    if not rt.settings.secret_key and not secret.exists():
        _write_private(secret, (folder / "secret_key").read_text().strip())


def _write_private(path: Path, value: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)


def _lines(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            yield json.loads(line)


def _restore_object(rt: Runtime, src: Path, entry: dict, copied: bool) -> None:
    key = entry["key"]
    if copied:
        path = src / "objects" / key
        if not path.resolve().is_relative_to((src / "objects").resolve()) or not path.is_file():
            raise DamagedBackup(f"The backup lacks object {key}.")
        stored = rt.store.put_file(path, entry["media_type"] or "application/octet-stream")
        if stored.key != key:
            raise DamagedBackup(f"Object {key} in the backup holds other bytes (they hash to {stored.key}).")
    elif not rt.store.exists(key) or (entry["size"] is not None and rt.store.size(key) != entry["size"]):
        raise BackupRefused(f"Object {key} is not in this installation's storage (the backup lists objects only).")
    if entry.get("retained_until") and rt.settings.record_retention:
        rt.store.retain(key, datetime.fromisoformat(entry["retained_until"]))


def _restore_anchors(rt: Runtime, folder: Path) -> int:
    if not folder.is_dir():
        return 0
    until = utcnow() + timedelta(days=rt.settings.audit_checkpoint_retention_days) if rt.settings.record_retention else None
    existing = set(rt.store.anchor_names(CHECKPOINT_PREFIX))
    count = 0
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        if name not in existing:
            rt.store.put_anchor(name, path.read_bytes(), until)
        count += 1
    return count


def _load_table(conn: Connection, table: Table, path: Path) -> int:
    columns = {c.name: c for c in table.columns}
    batch: list[dict] = []
    rows = 0
    for row in _lines(path):
        if set(row) - set(columns):
            raise DamagedBackup(f"{path} has columns the table {table.name} does not.")
        batch.append({name: _decode(columns[name], value) for name, value in row.items()})
        if len(batch) == ROWS_PER_BATCH:
            conn.execute(table.insert(), batch)
            rows += len(batch)
            batch = []
    if batch:
        conn.execute(table.insert(), batch)
        rows += len(batch)
    return rows


def _advance_sequences(conn: Connection) -> None:
    """PostgreSQL's id sequences start after the restored ids (SQLite takes the next id from the rows)."""
    if conn.dialect.name != "postgresql":
        return
    for table in _tables():
        for column in table.primary_key.columns:
            if column.autoincrement is True or (column.autoincrement == "auto" and column.type.python_type is int):
                conn.execute(text("SELECT setval(pg_get_serial_sequence(:t, :c), "
                                  f"COALESCE((SELECT MAX({column.name}) FROM {table.name}), 0) + 1, false)"),
                             {"t": table.name, "c": column.name})
