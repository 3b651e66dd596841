"""The folder a network scanner writes to: an intake of docsvc.folder_intake.

Each round (Celery beat, or `docsvc watch`) takes every file that has
stood still, claims it in `.processing/`, ingests it as a scan of the
configured agency, and files it:

    done/YYYY-MM-DD/<name>      stored; the clerk registers it from the page
    rejected/<name>             refused, with <name>.txt saying why

A file is never deleted and never left half-way: a claim whose watcher
died goes back (folder_intake), and the same bytes already stored are not
stored twice.
"""
from __future__ import annotations

import logging
import time
from functools import partial

from sqlalchemy import select

from docsvc.accounts import agency_by_code
from docsvc.documents import records
from docsvc.errors import DocsvcError, InvalidInput
from docsvc.folder_intake import SETTLE_SECONDS, Arrived, Done, Intake, Outcome, configured_folder, take_round
from docsvc.models import Document, DocumentFile, DocumentKind, FileRole, User
from docsvc.runtime import Runtime

log = logging.getLogger(__name__)
PROCESSING, REJECTED = ".processing", "rejected"


def scan_once(rt: Runtime, *, settle_seconds: float = SETTLE_SECONDS) -> list[Outcome]:
    """One round over the folder; returns what happened to each file taken."""
    folder = configured_folder("watched folder", "watch_dir", rt.settings.watch_dir)
    actor, agency_id = _operator(rt)
    intake = Intake(
        label="watched folder", folder=folder, claims_dir=PROCESSING, refused_dir=REJECTED, refused_state="rejected",
        wants=lambda name: True, take=partial(_take, rt, actor, agency_id),
        max_bytes=rt.settings.max_upload_bytes, too_large=partial(records.too_large, rt),
    )
    return take_round(intake, settle_seconds=settle_seconds)


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


def _take(rt: Runtime, actor: User, agency_id: int, arrived: Arrived) -> Done:
    """"stored", or "already_stored"; Outcome.state is these or "rejected"."""
    upload = records.local_file(arrived.path, rt)
    existing = _stored_copy(rt, agency_id, upload.sha256)
    if existing is not None:
        # Sent twice by the scanner, or taken again after a crash that
        # came after the ingest: the document is there, the file is done.
        return Done("already_stored", existing, note=f"Đã tiếp nhận trước đó / already received: document {existing}")
    document_id, _ = records.ingest(rt, actor, upload, kind=DocumentKind.INCOMING, agency_id=agency_id)
    return Done("stored", document_id)


def _stored_copy(rt: Runtime, agency_id: int, sha256: str) -> str | None:
    with rt.read() as session:
        return session.scalar(
            select(Document.id)
            .join(DocumentFile, DocumentFile.document_id == Document.id)
            .where(Document.agency_id == agency_id, DocumentFile.role == FileRole.ORIGINAL, DocumentFile.sha256 == sha256)
            .limit(1)
        )


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
