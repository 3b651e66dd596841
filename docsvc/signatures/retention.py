"""How long signed records are kept, and the one place that keeps them.

The object stores enforce the dates computed here (``store.retain``): MinIO
object lock in compliance mode in the scaled profile, a refusal in the
application in the embedded one. What a record is decides its category
(`record_terms`, from the record's rows, never from a caller's word), and
every stored signed version of a record is retained through
`retain_version`: the issued outgoing document, an e-copy, an issued
document registered as a citizen's result, each archive renewal.
`signed_records` and `record_versions` name them again for `docsvc check`,
which finds a lock that is missing or shorter than the record's date.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, aliased

from docsvc.localtime import VIETNAM, day_of
from docsvc.models import Document, DocumentFile, Ecopy, EcopyKind, FileRole, Workflow

if TYPE_CHECKING:
    from docsvc.runtime import Runtime


class RetentionCategory(StrEnum):
    # Outgoing documents the agency signed and issued (decisions, official letters).
    OUTGOING = "outgoing"
    # Results of administrative procedures (licences, certificates).
    PROCEDURE_RESULT = "procedure_result"
    # Signed e-copies issued to citizens (bản sao điện tử).
    ECOPY = "ecopy"


# Each kind of e-copy names its category. No fallback: a kind missing here
# is an error, never the shortest period (when categories were strings a
# caller passed, procedure results were kept 5 years instead of 20).
ECOPY_CATEGORY: dict[EcopyKind, RetentionCategory] = {
    EcopyKind.CERTIFIED_COPY: RetentionCategory.ECOPY,
    EcopyKind.PROCEDURE_RESULT: RetentionCategory.PROCEDURE_RESULT,
}

# Retention policy, in years from the day of issue. CONFIGURABLE POLICY, not
# law: the values are this project's reading of the Vietnamese archive rules
# (thời hạn bảo quản hồ sơ, tài liệu, as listed by the Ministry of Home
# Affairs' circular on retention periods) and each agency's archivist must
# confirm them for its own records before production use. A setting may
# override this table later; nothing reads one yet.
RETENTION_YEARS: dict[RetentionCategory, int] = {
    # Kept permanently ("vĩnh viễn"). Object lock needs a date, so permanent
    # is 70 years, which retain() can extend before it runs out.
    RetentionCategory.OUTGOING: 70,
    RetentionCategory.PROCEDURE_RESULT: 20,
    RetentionCategory.ECOPY: 5,
}


def retention_until(category: RetentionCategory, issued: date) -> datetime:
    """The end of a record's retention: the end of the anniversary day of its
    issue, in Vietnam time, as an aware UTC datetime."""
    years = RETENTION_YEARS[_category(category)]
    year = issued.year + years
    try:
        anniversary = issued.replace(year=year)
    except ValueError:  # 29 February in a year that has none: keep it a day longer
        anniversary = date(year, 3, 1)
    end = datetime.combine(anniversary + timedelta(days=1), time(0), tzinfo=VIETNAM)
    return end.astimezone(UTC)


def _category(value: str) -> RetentionCategory:
    try:
        return RetentionCategory(value)
    except ValueError:
        known = ", ".join(sorted(RetentionCategory))
        raise ValueError(f"no retention period for category {value!r} (known: {known})") from None


@dataclass(frozen=True)
class RecordTerms:
    category: RetentionCategory
    issued: date  # the Vietnam day the record was issued; retention counts from it
    until: datetime


def record_terms(document: Document, ecopy: Ecopy | None) -> RecordTerms:
    """What this signed record is and until when it is kept. A record that
    is two things (an issued decision given to a citizen as their result)
    is kept for the longer of the two."""
    terms = []
    if document.workflow_status == Workflow.ISSUED and document.issued_date is not None:
        terms.append((RetentionCategory.OUTGOING, document.issued_date))
    if ecopy is not None:
        terms.append((ECOPY_CATEGORY[EcopyKind(ecopy.kind)], day_of(ecopy.issued_at)))
    if not terms:
        raise ValueError(f"document {document.id} is not a signed record (neither issued nor an e-copy)")
    return max((RecordTerms(category, issued, retention_until(category, issued)) for category, issued in terms),
               key=lambda t: t.until)


def retain_version(rt: Runtime, session: Session, document: Document, key: str) -> RecordTerms | None:
    """Lock one stored signed version of `document` (flushed, with its
    e-copy row if it has one) until its record's date. None when the
    installation keeps no retention (record_retention off)."""
    if not rt.settings.record_retention:
        return None
    session.flush()
    ecopy = session.scalar(select(Ecopy).where(Ecopy.document_id == document.id))
    terms = record_terms(document, ecopy)
    rt.store.retain(key, terms.until)
    return terms


def signed_records(session: Session, *, after: str = "", limit: int) -> list[tuple[Document, Ecopy | None]]:
    """The signed records (what `record_terms` accepts: issued outgoing
    documents and e-copies) with their e-copy rows, in id order: the
    `limit` first after the id `after`."""
    issued = and_(Document.workflow_status == Workflow.ISSUED, Document.issued_date.is_not(None))
    query = (select(Document, Ecopy).outerjoin(Ecopy, Ecopy.document_id == Document.id)
             .where(or_(issued, Ecopy.id.is_not(None)), Document.id > after)
             .order_by(Document.id).limit(limit))
    return [(document, ecopy) for document, ecopy in session.execute(query).tuples()]


def record_versions(session: Session, document_ids: list[str]) -> list[DocumentFile]:
    """The stored versions these records are kept as, the ones `retain_version`
    locks: every signed version except the leader's signature awaiting the
    seal (signed from the prepared draft), a step of the workflow that is
    not yet the record."""
    parent = aliased(DocumentFile)
    query = (select(DocumentFile).outerjoin(parent, DocumentFile.derived_from_id == parent.id)
             .where(DocumentFile.document_id.in_(document_ids), DocumentFile.role == FileRole.SIGNED,
                    or_(parent.id.is_(None), parent.role != FileRole.PREPARED))
             .order_by(DocumentFile.document_id, DocumentFile.id))
    return list(session.scalars(query))
