"""The folder a network scanner writes to.

Each round (Celery beat, or `docsvc watch`) takes every file that has
stopped growing, moves it into `.processing/` (an atomic rename, so two
watchers never take the same file), ingests it as a scan of the configured
agency, and moves it on:

    done/YYYY-MM-DD/<name>      stored; the clerk registers it from the page
    rejected/<name>             refused, with <name>.txt saying why

A file is never deleted and never left half-way: a watcher that dies between
two moves leaves the file in `.processing/`, which the next round resumes;
the same bytes already stored are not stored twice.
"""
from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from docsvc.accounts import agency_by_code
from docsvc.documents import records
from docsvc.errors import DocsvcError, InvalidInput
from docsvc.models import Document, DocumentFile, DocumentKind, FileRole, User
from docsvc.runtime import Runtime

log = logging.getLogger(__name__)
PROCESSING, DONE, REJECTED = ".processing", "done", "rejected"
# A file modified more recently than this may still be being written.
SETTLE_SECONDS = 3.0


@dataclass(frozen=True)
class Outcome:
    name: str
    state: str  # "stored", "already_stored" or "rejected"
    document_id: str | None = None
    reason: str = ""


def scan_once(rt: Runtime, *, settle_seconds: float = SETTLE_SECONDS) -> list[Outcome]:
    """One round over the folder; returns what happened to each file taken."""
    folder = Path(rt.settings.watch_dir)
    if not rt.settings.watch_dir:
        raise InvalidInput("No watched folder is configured (setting watch_dir).")
    if not folder.is_dir():
        raise InvalidInput(f"The watched folder {folder} does not exist.")
    actor, agency_id = _operator(rt)
    processing = folder / PROCESSING
    processing.mkdir(exist_ok=True)
    # First what a dead watcher left half-way, then what arrived.
    claimed = sorted(processing.iterdir())
    for path in sorted(folder.iterdir()):
        if _ready(path, settle_seconds):
            target = processing / path.name
            try:
                os.rename(path, target)
            except FileNotFoundError:
                continue  # another watcher took it
            claimed.append(target)
    outcomes = []
    for path in claimed:
        if path.is_file():
            outcomes.append(_take(rt, actor, agency_id, folder, path))
    return outcomes


def _ready(path: Path, settle_seconds: float) -> bool:
    if path.name.startswith(".") or not path.is_file():
        return False
    try:
        return time.time() - path.stat().st_mtime >= settle_seconds
    except FileNotFoundError:
        return False


def _operator(rt: Runtime) -> tuple[User, int]:
    settings = rt.settings
    if not settings.watch_user or not settings.watch_agency:
        raise InvalidInput("Set watch_user and watch_agency: whose scans these are.")
    with rt.read() as session:
        agency = agency_by_code(session, settings.watch_agency)
        user = session.scalar(select(User).where(User.username == settings.watch_user, User.active.is_(True)))
        if user is None:
            raise InvalidInput(f"The watched folder's user {settings.watch_user} does not exist.")
        session.expunge(user)
        return user, agency.id


def _take(rt: Runtime, actor: User, agency_id: int, folder: Path, path: Path) -> Outcome:
    try:
        upload = records.local_file(path, rt)
        existing = _stored_copy(rt, agency_id, upload.sha256)
        if existing is not None:
            # Sent twice by the scanner, or taken again after a crash that
            # came after the ingest: the document is there, the file is done.
            move_into(path, done_dir(folder), note=f"Đã tiếp nhận trước đó / already received: document {existing}")
            return Outcome(path.name, "already_stored", existing)
        document_id, _ = records.ingest(rt, actor, upload, kind=DocumentKind.INCOMING, agency_id=agency_id)
    except DocsvcError as exc:
        move_into(path, folder / REJECTED, note=f"{exc.message} ({exc.code})")
        log.warning("watched folder: %s rejected: %s", path.name, exc.message)
        return Outcome(path.name, "rejected", reason=exc.code)
    move_into(path, done_dir(folder))
    return Outcome(path.name, "stored", document_id)


def _stored_copy(rt: Runtime, agency_id: int, sha256: str) -> str | None:
    with rt.read() as session:
        return session.scalar(
            select(Document.id)
            .join(DocumentFile, DocumentFile.document_id == Document.id)
            .where(Document.agency_id == agency_id, DocumentFile.role == FileRole.ORIGINAL, DocumentFile.sha256 == sha256)
            .limit(1)
        )


def done_dir(folder: Path) -> Path:
    return folder / DONE / datetime.now().strftime("%Y-%m-%d")


def move_into(path: Path, directory: Path, note: str = "", name: str | None = None) -> Path:
    """Move (as `name`, else its own) without overwriting: a second "scan.pdf"
    becomes "scan (2).pdf"; `note` is written beside it (the drop folder of
    docsvc.exchange files its packages so too)."""
    directory.mkdir(parents=True, exist_ok=True)
    wanted = Path(name or path.name)
    target = directory / wanted.name
    counter = 2
    while target.exists():
        target = directory / f"{wanted.stem} ({counter}){wanted.suffix}"
        counter += 1
    if note:
        target.with_name(target.name + ".txt").write_text(note + "\n", encoding="utf-8")
    shutil.move(str(path), target)
    return target


def watch(rt: Runtime, interval: float) -> None:
    """Scan forever (the `docsvc watch` command)."""
    while True:
        try:
            for outcome in scan_once(rt):
                log.info("watched folder: %s %s %s", outcome.name, outcome.state, outcome.document_id or outcome.reason)
        except DocsvcError:
            raise
        except Exception:
            log.exception("watched folder round failed; trying again")
        time.sleep(interval)
