"""The database: the single source of truth. Storage holds bytes, the search
index is derived from these rows."""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from docsvc.column_types import UtcDateTime, Vocabulary


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


class Base(DeclarativeBase):
    pass


class AgencyLevel(StrEnum):
    COMMUNE = "commune"
    DISTRICT = "district"
    PROVINCE = "province"
    OTHER = "other"


class Role(StrEnum):
    CLERK = "clerk"
    OFFICIAL = "official"
    SIGNER = "signer"
    CITIZEN = "citizen"
    ADMIN = "admin"


STAFF_ROLES = (Role.CLERK, Role.OFFICIAL, Role.SIGNER, Role.ADMIN)


class DocumentKind(StrEnum):
    UPLOAD = "upload"
    INCOMING = "incoming"
    OUTGOING = "outgoing"
    ECOPY = "ecopy"  # the signed e-copy's own document (docsvc/ecopies/service.py)


class DocumentStatus(StrEnum):
    RECEIVED = "received"      # original stored, waiting for a worker
    PROCESSING = "processing"  # a worker holds it
    READY = "ready"            # text extracted and indexed
    FAILED = "failed"          # processing gave up; the original is kept


class ProgressStep(StrEnum):
    """What the worker is doing to a document, for its progress bar."""

    NOT_STARTED = ""
    CONVERTING = "converting"  # a scanned image becomes a PDF
    OCR = "ocr"
    EXTRACTING_TEXT = "extracting_text"
    INDEXING = "indexing"
    DONE = "done"
    FAILED = "failed"


class RegisterBook(StrEnum):
    """The books numbers are given in (docsvc/registers.py)."""

    INCOMING = "incoming"            # số đến
    OUTGOING = "outgoing"            # số đi
    CERTIFICATION = "certification"  # số chứng thực


class Handling(StrEnum):
    """Where an incoming document is in its handling (xử lý văn bản đến)."""

    RECEIVED = "received"        # registered, nobody assigned yet
    ASSIGNED = "assigned"        # given to a person or department with a deadline
    IN_PROGRESS = "in_progress"  # the handler has taken it up
    DONE = "done"
    # Its sender recalled it and the văn thư agreed (edXML status 15): kept
    # in the book with its number, no longer handled. Nothing follows it.
    RECALLED = "recalled"


OPEN_HANDLING = (Handling.RECEIVED, Handling.ASSIGNED, Handling.IN_PROGRESS)


class FileRole(StrEnum):
    ORIGINAL = "original"
    TEXT = "text"
    DERIVED = "derived"
    # Each signing of an outgoing document adds one: the person's signature,
    # then the number filled in and the agency's seal. The latest is current.
    SIGNED = "signed"
    # The draft with the fields the văn thư fills in later (number, date).
    PREPARED = "prepared"
    # The first page drawn small for search results (docsvc/documents/thumbnails.py).
    THUMBNAIL = "thumbnail"
    # The edXML package a document arrived in from another agency, kept as received.
    PACKAGE = "package"


class Workflow(StrEnum):
    """An outgoing document (văn bản đi) from draft to issue."""

    DRAFT = "draft"            # uploaded by the drafter
    SUBMITTED = "submitted"    # waiting for the approver's signature
    RETURNED = "returned"      # the approver sent it back with a comment
    SIGNED = "signed"          # signed by the competent person; the văn thư numbers and seals it
    ISSUED = "issued"          # numbered, sealed, sent to its recipients


class EcopyKind(StrEnum):
    CERTIFIED_COPY = "certified_copy"      # bản sao điện tử chứng thực
    PROCEDURE_RESULT = "procedure_result"  # kết quả giải quyết thủ tục hành chính


class EcopyStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"


class ShareState(StrEnum):
    """What opening a share link gives: granted, or why not."""

    GRANTED = "granted"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"
    USED_UP = "used_up"
    REVOKED = "revoked"  # the e-copy behind it was revoked or superseded


class CredentialOwner(StrEnum):
    USER = "user"      # a person's signature
    AGENCY = "agency"  # the agency's seal


class CredentialSource(StrEnum):
    PKCS12 = "pkcs12"  # a .p12 file
    PKCS11 = "pkcs11"  # a token or HSM through its PKCS#11 module


class ExchangeDirection(StrEnum):
    """An edXML package this installation sent, or one it received (docsvc/exchange)."""

    SENT = "sent"
    RECEIVED = "received"


class SigningJobStatus(StrEnum):
    RUNNING = "running"
    FINISHED = "finished"   # each document signed or its failure recorded in the results
    FAILED = "failed"       # the batch itself stopped on an error
    # Never stored: what a job still running long after it should have
    # finished is shown as (the web process holding the key stopped).
    INTERRUPTED = "interrupted"


# What templates compare a column with (`doc.status == DocumentStatus.READY`),
# so a page never spells a value of its own.
TEMPLATE_VOCABULARIES = {
    vocabulary.__name__: vocabulary
    for vocabulary in (Role, DocumentKind, DocumentStatus, Handling, Workflow, EcopyKind, EcopyStatus, ShareState)
}


class Agency(Base):
    __tablename__ = "agencies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    level: Mapped[AgencyLevel] = mapped_column(Vocabulary(AgencyLevel, 16), default=AgencyLevel.OTHER)
    # The issuing body's part of a number and symbol: "UBND" in 15/QĐ-UBND.
    symbol: Mapped[str] = mapped_column(String(32), default="")
    # Where it is and how it is reached, as the From of its edXML packages
    # says; place is the địa danh of its documents ("Quảng Trạch, ngày …").
    address: Mapped[str] = mapped_column(String(255), default="")
    email: Mapped[str] = mapped_column(String(128), default="")
    telephone: Mapped[str] = mapped_column(String(64), default="")
    place: Mapped[str] = mapped_column(String(128), default="")
    # Its electronic identification code (mã định danh, Decision 20/2020/QĐ-TTg),
    # e.g. 000.00.00.H41: what edXML packages address it by. Loaded from the
    # national directory, never made up; agencies that exchange nothing have none.
    org_code: Mapped[str | None] = mapped_column(String(35), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    parent: Mapped[Agency | None] = relationship(remote_side=[id])


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(128), unique=True)
    full_name: Mapped[str] = mapped_column(String(255), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(Vocabulary(Role, 16))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    # A citizen's CCCD, what their e-copies are matched on: one account per
    # ID (a unique index; staff have none, and NULLs never collide).
    citizen_id: Mapped[str | None] = mapped_column(String(32), unique=True, index=True)
    # Phòng ban within the agency: documents assigned to a department land in
    # the queue of every member.
    department: Mapped[str] = mapped_column(String(128), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    agency: Mapped[Agency | None] = relationship()


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Only the hash is kept: a leaked database does not leak usable tokens.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Empty only for tokens issued before tokens expired: they expire
    # token_days after created_at.
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    user: Mapped[User] = relationship()


class UserSession(Base):
    """A signed-in browser. The cookie carries a random id; only its hash is
    kept, and signing out, a password reset or disabling the user deletes the
    row, so a copied cookie stops working at once."""

    __tablename__ = "user_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)

    user: Mapped[User] = relationship()


class Document(Base):
    __tablename__ = "documents"
    # A number is given once per book, year and agency: the database refuses a
    # repeat even if the counter logic were ever bypassed.
    __table_args__ = (
        UniqueConstraint("agency_id", "register_book", "register_year", "register_number", name="uq_document_register"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    kind: Mapped[DocumentKind] = mapped_column(Vocabulary(DocumentKind, 32), default=DocumentKind.UPLOAD)
    title: Mapped[str] = mapped_column(String(500))
    number_symbol: Mapped[str | None] = mapped_column(String(128))
    issuing_body: Mapped[str | None] = mapped_column(String(255))
    issued_date: Mapped[date | None] = mapped_column(Date)
    received_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[DocumentStatus] = mapped_column(Vocabulary(DocumentStatus, 16), default=DocumentStatus.RECEIVED)
    status_message: Mapped[str] = mapped_column(Text, default="")
    # What the worker is doing now and how far it got, for progress bars.
    progress_step: Mapped[ProgressStep] = mapped_column(Vocabulary(ProgressStep, 64), default=ProgressStep.NOT_STARTED)
    progress_percent: Mapped[int] = mapped_column(Integer, default=0)
    page_count: Mapped[int | None] = mapped_column(Integer)
    doc_type: Mapped[str | None] = mapped_column(String(64))  # Quyết định, Công văn, Kế hoạch…
    # Register fields the worker read from the OCR text, for the clerk to confirm.
    suggestions: Mapped[dict | None] = mapped_column(JSON)
    # The register entry (số đến, số đi, số chứng thực) once a clerk confirms.
    register_book: Mapped[RegisterBook | None] = mapped_column(Vocabulary(RegisterBook, 32))
    register_year: Mapped[int | None] = mapped_column(Integer)
    register_number: Mapped[int | None] = mapped_column(Integer)
    registered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Handling of an incoming document: who, by when, how far.
    handling_status: Mapped[Handling | None] = mapped_column(Vocabulary(Handling, 16), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    assignee_department: Mapped[str | None] = mapped_column(String(128))
    deadline: Mapped[date | None] = mapped_column(Date)
    handled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    handling_note: Mapped[str] = mapped_column(Text, default="")
    # A received document given back to its sender (Handling.RECALLED): when,
    # by whom here, and the reason the sender gave with its request (13).
    recalled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    recalled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recall_reason: Mapped[str] = mapped_column(Text, default="")
    # Outgoing workflow: who must sign, where, to whom it goes, and its history.
    workflow_status: Mapped[Workflow | None] = mapped_column(Vocabulary(Workflow, 16), index=True)
    approver_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    signature_position: Mapped[dict | None] = mapped_column(JSON)
    recipients: Mapped[list | None] = mapped_column(JSON)  # agency codes
    workflow_note: Mapped[str] = mapped_column(Text, default="")
    signed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    issued_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # An incoming copy delivered by docsvc points at the issued document it came from.
    source_document_id: Mapped[str | None] = mapped_column(String(36))
    # When the archive time-stamp of the issued B-LTA file must be renewed
    # (its TSA certificate's expiry minus a margin); the beat task's index.
    archive_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    agency: Mapped[Agency] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    approver: Mapped[User | None] = relationship(foreign_keys=[approver_id])
    recalled_by: Mapped[User | None] = relationship(foreign_keys=[recalled_by_id])
    files: Mapped[list[DocumentFile]] = relationship(
        back_populates="document", order_by="DocumentFile.id", cascade="all, delete-orphan"
    )
    # edXML packages of this document, sent or received (docsvc/exchange).
    # Loaded with the documents of a query in one more SELECT ("selectin"):
    # every document's JSON carries them, and a list of 100 would otherwise
    # cost 100 queries.
    exchange_messages: Mapped[list[ExchangeMessage]] = relationship(
        back_populates="document", order_by="ExchangeMessage.to_org", viewonly=True, lazy="selectin"
    )

    def file(self, role: FileRole) -> DocumentFile | None:
        return next((f for f in self.files if f.role == role), None)

    def latest(self, role: FileRole) -> DocumentFile | None:
        return next((f for f in reversed(self.files) if f.role == role), None)


class DocumentFile(Base):
    __tablename__ = "document_files"
    __table_args__ = (UniqueConstraint("document_id", "role", "storage_key", name="uq_document_file"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), index=True)
    role: Mapped[FileRole] = mapped_column(Vocabulary(FileRole, 16))
    storage_key: Mapped[str] = mapped_column(String(128), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(128))
    filename: Mapped[str] = mapped_column(String(255), default="")
    derived_from_id: Mapped[int | None] = mapped_column(ForeignKey("document_files.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    document: Mapped[Document] = relationship(back_populates="files")

    @classmethod
    def of(cls, role: FileRole, stored, filename: str, *, media_type: str = "application/pdf",
           derived_from_id: int | None = None) -> DocumentFile:
        """The row for an object just stored (a storage.base.StoredObject)."""
        return cls(role=role, storage_key=stored.key, sha256=stored.sha256, size=stored.size,
                   media_type=media_type, filename=filename, derived_from_id=derived_from_id)


class SigningCredential(Base):
    """Where a person's or an agency's signing key is (a PKCS#12 file or a
    PKCS#11 token) and the image its signature shows. The key's passphrase
    or PIN is never stored: the signer types it for each signing session."""

    __tablename__ = "signing_credentials"
    __table_args__ = (UniqueConstraint("owner_type", "owner_id", name="uq_signing_credential_owner"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_type: Mapped[CredentialOwner] = mapped_column(Vocabulary(CredentialOwner, 16))
    owner_id: Mapped[int] = mapped_column(Integer)
    source: Mapped[CredentialSource] = mapped_column(Vocabulary(CredentialSource, 16))
    location: Mapped[str] = mapped_column(String(500))  # .p12 path, or the PKCS#11 module
    token_label: Mapped[str] = mapped_column(String(128), default="")
    key_label: Mapped[str] = mapped_column(String(128), default="")
    image_key: Mapped[str] = mapped_column(String(128))  # storage key of the signature or seal PNG
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Ecopy(Base):
    """A certified e-copy or an e-result issued to a citizen: the signed
    file (a document of kind "ecopy"), its public verification code, and
    whether it still stands."""

    __tablename__ = "ecopies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), unique=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  # canonical, docsvc.ecopies.codes
    kind: Mapped[EcopyKind] = mapped_column(Vocabulary(EcopyKind, 32))
    citizen_id: Mapped[str] = mapped_column(String(32), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    source_document_id: Mapped[str | None] = mapped_column(String(36))
    certification_number: Mapped[str | None] = mapped_column(String(64))
    signed_sha256: Mapped[str] = mapped_column(String(64), index=True)  # the registered file
    status: Mapped[EcopyStatus] = mapped_column(Vocabulary(EcopyStatus, 16), default=EcopyStatus.ACTIVE)
    status_reason: Mapped[str] = mapped_column(Text, default="")
    superseded_by: Mapped[str | None] = mapped_column(String(32))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The certification book's entry (Decree 23/2015, Circular 01/2020 forms;
    # Decree 45/2020 for e-results), fixed when issued: the e-copy's document
    # may have its search fields corrected later, the book keeps what was
    # certified. NULL on e-copies issued before these were recorded.
    requester_name: Mapped[str | None] = mapped_column(String(255))
    original_title: Mapped[str | None] = mapped_column(String(500))
    original_issuer: Mapped[str | None] = mapped_column(String(255))
    original_number: Mapped[str | None] = mapped_column(String(128))
    original_date: Mapped[date | None] = mapped_column(Date)
    # "quyển số 02": which book of the year; numbers run on across a year's
    # books (the register counter), so the book is not part of the number.
    book_number: Mapped[int | None] = mapped_column(Integer)
    certifier_name: Mapped[str | None] = mapped_column(String(255))
    certifier_title: Mapped[str | None] = mapped_column(String(255))
    page_count: Mapped[int | None] = mapped_column(Integer)
    copies: Mapped[int | None] = mapped_column(Integer)
    dossier_code: Mapped[str | None] = mapped_column(String(64))  # mã hồ sơ of the procedure
    fee: Mapped[int | None] = mapped_column(Integer)  # VND

    document: Mapped[Document] = relationship()
    agency: Mapped[Agency] = relationship()


class ShareLink(Base):
    """A citizen's link giving one agency one e-copy, until it expires, is
    used up or is withdrawn. Only the token's hash is stored."""

    __tablename__ = "share_links"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ecopy_id: Mapped[int] = mapped_column(ForeignKey("ecopies.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    recipient: Mapped[str] = mapped_column(String(255), default="")
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    max_uses: Mapped[int] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    ecopy: Mapped[Ecopy] = relationship()


class ShareAccess(Base):
    """Each time someone opened a share link, granted or not: the citizen sees these."""

    __tablename__ = "share_accesses"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    share_id: Mapped[int] = mapped_column(ForeignKey("share_links.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    client: Mapped[str] = mapped_column(String(64), default="")
    outcome: Mapped[ShareState] = mapped_column(Vocabulary(ShareState, 16))


class SigningJob(Base):
    """A batch signing an official started: progress for the page that polls
    it, and what happened to each document."""

    __tablename__ = "signing_jobs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    total: Mapped[int] = mapped_column(Integer)
    done: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[SigningJobStatus] = mapped_column(Vocabulary(SigningJobStatus, 16), default=SigningJobStatus.RUNNING)
    results: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class RegisterCounter(Base):
    """The last number given in one book (incoming, outgoing, certification)
    of one agency in one calendar year. Locked by the allocating transaction,
    so numbers never repeat and, because a rolled-back transaction also rolls
    back its increment, never skip."""

    __tablename__ = "register_counters"
    __table_args__ = (UniqueConstraint("agency_id", "book", "year", name="uq_register_counter"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    book: Mapped[RegisterBook] = mapped_column(Vocabulary(RegisterBook, 32))
    year: Mapped[int] = mapped_column(Integer)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class OutboxEntry(Base):
    """Work accepted but not yet finished. Written in the same transaction as
    the row it concerns, so a broker or worker outage loses nothing: the relay
    publishes entries that are due, a task claims one with a lease, and only
    a finished task marks it done."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "done_at", "available_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    available_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")


class AuditEvent(Base):
    """Append-only, hash-chained: each event's hash covers the previous one,
    so editing or deleting history breaks the chain."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_label: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64), index=True)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    # 1, 2, 3… without gaps (ids have gaps where a transaction rolled back),
    # and HMAC(key, seq, hash) with a key kept outside the database.
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True, index=True)
    mac: Mapped[str | None] = mapped_column(String(64))


class AuditHead(Base):
    """One row holding the latest chain hash; locking it serialises appends."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_hash: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    # HMAC of (seq, last_hash): deleting the newest events means rewriting
    # this, which needs the key.
    mac: Mapped[str | None] = mapped_column(String(64))


class ExchangePeer(Base):
    """Another docsvc installation (or exchange system) this one accepts
    edXML packages from: the organization it speaks for, where it answers,
    and the hash of the shared token it presents (the token is shown once)."""

    __tablename__ = "exchange_peers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_code: Mapped[str] = mapped_column(String(35), unique=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    url: Mapped[str] = mapped_column(String(500))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The token the peer gave this installation, presented when sending it
    # packages and statuses; encrypted with the secret key (docsvc/exchange/peers.py).
    send_token: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ExchangeMessage(Base):
    """One edXML package sent to, or received from, another organization:
    which document it carried, and the latest status the receiver reported."""

    __tablename__ = "exchange_messages"
    # A package is received once: the sender's DocumentId names it.
    __table_args__ = (
        UniqueConstraint("direction", "edxml_document_id", "from_org", "to_org", name="uq_exchange_message"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    direction: Mapped[ExchangeDirection] = mapped_column(Vocabulary(ExchangeDirection, 16))
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), index=True)
    edxml_document_id: Mapped[str] = mapped_column(String(255), index=True)
    from_org: Mapped[str] = mapped_column(String(35))
    to_org: Mapped[str] = mapped_column(String(35))
    business_type: Mapped[int] = mapped_column(Integer, default=0)
    status_code: Mapped[str | None] = mapped_column(String(2))
    status_description: Mapped[str] = mapped_column(Text, default="")
    status_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Sent packages: the signed package as stored, when the peer took it, and
    # why it has not (yet): what the outgoing document's page shows.
    package_key: Mapped[str | None] = mapped_column(String(255))
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    delivery_error: Mapped[str] = mapped_column(Text, default="")

    document: Mapped[Document] = relationship(back_populates="exchange_messages")
    statuses: Mapped[list[ExchangeStatus]] = relationship(
        back_populates="message", order_by="ExchangeStatus.id", cascade="all, delete-orphan", lazy="selectin"
    )


class ExchangeStatus(Base):
    """One edXML status message a recipient sent back about a package (QCVN
    102 codes: 01 arrived … 06 done, 13/15/16 recall), as it stated it."""

    __tablename__ = "exchange_statuses"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("exchange_messages.id"), index=True)
    code: Mapped[str] = mapped_column(String(2))
    description: Mapped[str] = mapped_column(Text, default="")
    staff: Mapped[str] = mapped_column(String(255), default="")
    stated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    message: Mapped[ExchangeMessage] = relationship(back_populates="statuses")
