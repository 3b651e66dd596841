"""Keeping issued documents verifiable for decades (PAdES B-LTA).

A B-LTA file ends with a document time-stamp whose TSA certificate expires
some day; before it does, a new time-stamp (over everything, with the old
one's validation data) must be added. `schedule` records when that is due
for a stored file; `renew_due`, run by Celery beat, renews what is due and
keeps every version: the renewed file is a new signed version of the same
document, the earlier one stays in storage.
"""
from __future__ import annotations

import io
import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from docsvc import audit
from docsvc.models import Document, DocumentFile, FileRole, utcnow
from docsvc.runtime import Runtime
from docsvc.signatures import verification
from docsvc.signatures.retention import retain_version
from docsvc.stored import store_then_record
from signing import SigningError
from signing.archive import archive_status, renew_archive_timestamp
from storage import read_object

log = logging.getLogger(__name__)
BATCH = 50


def due_at(rt: Runtime, pdf: bytes) -> datetime | None:
    """When this file's archive time-stamp must be renewed; None if it is not B-LTA."""
    status = archive_status(pdf, verification.trust_config(rt.settings))
    if not status.is_lta or status.tsa_expires_at is None:
        return None
    return status.tsa_expires_at - timedelta(days=rt.settings.archive_renewal_margin_days)


def renew_due(rt: Runtime, now: datetime | None = None) -> list[str]:
    """Renew every document whose archive time-stamp is due; the ids renewed."""
    now = now or utcnow()
    with rt.read() as session:
        ids = list(session.scalars(
            select(Document.id).where(Document.archive_due_at.is_not(None), Document.archive_due_at <= now)
            .order_by(Document.archive_due_at).limit(BATCH)
        ))
    renewed = []
    with verification.dev_services(rt.settings):
        for document_id in ids:
            try:
                if _renew(rt, document_id, now):
                    renewed.append(document_id)
            except SigningError as exc:
                # Left due: it is tried again next round, and the log says why.
                log.error("archive time-stamp of %s not renewed: %s", document_id, exc.message)
    return renewed


def _renew(rt: Runtime, document_id: str, now: datetime) -> bool:
    with rt.read() as session:
        document = session.get(Document, document_id)
        current = document.latest(FileRole.SIGNED)
        key, current_id = current.storage_key, current.id
    pdf = read_object(rt.store, key)
    out = io.BytesIO()
    status = renew_archive_timestamp(pdf, out, verification.trust_config(rt.settings))
    with store_then_record(rt) as store:
        stored = store.put(io.BytesIO(out.getvalue()), "application/pdf")
        with rt.write() as session:
            document = session.get(Document, document_id, with_for_update=True)
            if document.latest(FileRole.SIGNED).id != current_id:
                return False  # renewed meanwhile by another worker
            document.files.append(DocumentFile.of(FileRole.SIGNED, stored, f"luu-tru-{utcnow():%Y%m%d}.pdf",
                                                  derived_from_id=current_id))
            # A TSA whose own certificate is about to expire would make the
            # document due again at once: try again tomorrow, not every round.
            document.archive_due_at = max(
                status.tsa_expires_at - timedelta(days=rt.settings.archive_renewal_margin_days), now + timedelta(days=1)
            )
            # The renewed file becomes the record's current version: kept as long as the record.
            retain_version(rt, session, document, stored.key)
            audit.record(session, None, "archive.renew", "document", document_id,
                         {"sha256": stored.sha256, "timestamp": status.timestamp_time.isoformat()},
                         actor_label="docsvc")
        return True
