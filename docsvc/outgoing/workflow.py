"""Outgoing documents (văn bản đi): draft → approver signs → văn thư numbers,
dates and seals → issued to the recipients' inboxes.

    draft ──submit──▶ submitted ──sign──▶ signed ──issue──▶ issued
                          │
                          └──return (with a comment)──▶ returned ──submit──▶ …

Each step is one transaction with its audit event. Signing happens outside
the database except at issue: the outgoing number is taken, the number and
date filled in and the agency's seal applied while the counter row is
locked, so a failed seal gives its number back (no gap, no repeat).
"""
from __future__ import annotations

import io
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from docsvc import audit, exchange, registers, signatures, validation
from docsvc.accounts import agency_by_code
from docsvc.documents import get_document, note_reindex, refresh_entries
from docsvc.errors import Conflict, DocsvcError, Forbidden, InvalidInput, NotFound, http_status
from docsvc.localtime import today
from docsvc.models import (
    Agency,
    CredentialOwner,
    Document,
    DocumentFile,
    DocumentKind,
    DocumentStatus,
    FileRole,
    ProgressStep,
    RegisterBook,
    SigningJob,
    SigningJobStatus,
    User,
    Workflow,
    utcnow,
)
from docsvc.permissions import may_be_signer, may_sign, may_submit, require_issuer, require_staff
from docsvc.runtime import Runtime
from docsvc.signatures import retain_version
from docsvc.stored import store_then_record
from signing import AgencySeal, Box, PersonSignature, SigningBatch, SigningError, SignJob, sign_pdf, sign_pdfs
from signing.fields import TextField, add_text_fields, fill_text_fields
from storage import read_object

log = logging.getLogger(__name__)
BOOK = RegisterBook.OUTGOING
PERSON_FIELD, SEAL_FIELD = "nguoi_ky", "co_quan"
NUMBER_FIELD, DATE_FIELD = "docsvc_so_ky_hieu", "docsvc_ngay_ban_hanh"
# Document types and their abbreviations (Decree 30, Appendix III); a letter
# (công văn) has no type part: 123/UBND.
TYPES = {
    "QĐ": "Quyết định", "KH": "Kế hoạch", "TB": "Thông báo", "BC": "Báo cáo", "TTr": "Tờ trình",
    "GM": "Giấy mời", "CT": "Chỉ thị", "HD": "Hướng dẫn", "NQ": "Nghị quyết", "": "Công văn",
}
# Where the number and date go on page one (the header's "Số:" line, left and
# right columns of a Decree 30 layout on A4), and the person's signature by
# default (bottom right of the last page), in PDF points.
NUMBER_RECT = (56.0, 684.0, 276.0, 704.0)
DATE_RECT = (300.0, 684.0, 560.0, 704.0)
DEFAULT_SIGNATURE = {"page": -1, "x": 340.0, "y": 110.0, "width": 170.0, "height": 68.0}
PERSON_LEVEL, SEAL_LEVEL = "B-T", "B-LTA"
JOB_STALE_AFTER = timedelta(minutes=10)
# More recipients than there are agencies in a province would be a mistake;
# the bound keeps one request's agency lookups few.
MAX_RECIPIENTS = 200
MAX_PAGE_POINTS = 14_400.0


class WrongStep(Conflict):
    """The document is not at the step this action belongs to."""

    code = "wrong_workflow_step"


class NotTheDrafter(Forbidden):
    code = "not_the_drafter"
    default_message = "Only the person who drafted this document can submit it."


class CommentRequired(InvalidInput):
    code = "comment_required"
    default_message = "Say why the draft goes back (the comment is required)."


def _locked(session: Session, actor: User, document_id: str) -> Document:
    """The outgoing document, its row locked for this step."""
    document = get_document(session, actor, document_id, for_update=True)
    if document.workflow_status is None:
        raise WrongStep("This is not an outgoing document.")
    return document


def start_draft(session: Session, actor: User, document_id: str) -> None:
    """Mark a freshly uploaded PDF as an outgoing draft (called right after ingest)."""
    document = get_document(session, actor, document_id)
    original = document.file(FileRole.ORIGINAL)
    if original.media_type != "application/pdf":
        raise InvalidInput("An outgoing draft must be a PDF.")
    document.kind = DocumentKind.OUTGOING
    document.workflow_status = Workflow.DRAFT
    audit.record(session, actor, "outgoing.draft", "document", document_id, {"title": document.title})


def submit(
    rt: Runtime, actor: User, document_id: str, *, approver: str, recipients: list[str] | None = None,
    position: dict | None = None,
) -> None:
    """Send the draft to the person who must sign it."""
    require_staff(actor)
    approver = validation.text(approver, "approver", validation.USERNAME)
    recipients = _recipient_codes(recipients or [])
    with rt.read() as session:
        document = get_document(session, actor, document_id)
        _check_can_submit(actor, document)
        draft_key = document.file(FileRole.ORIGINAL).storage_key
        prepared = document.latest(FileRole.PREPARED)
    position = _position(position) if position else None
    draft = read_object(rt.store, draft_key)
    with store_then_record(rt) as store:
        stored = None
        if prepared is None:
            try:
                fields = [TextField(NUMBER_FIELD, 0, NUMBER_RECT), TextField(DATE_FIELD, 0, DATE_RECT)]
                prepared_pdf = add_text_fields(draft, fields)
            except SigningError as exc:
                raise InvalidInput(exc.message) from None
            stored = store.put(io.BytesIO(prepared_pdf), "application/pdf")
        with rt.write() as session:
            document = _locked(session, actor, document_id)
            _check_can_submit(actor, document)
            signer = session.scalar(select(User).where(User.username == approver, User.active.is_(True)))
            if not may_be_signer(signer, document):
                raise InvalidInput("Choose a leader (official) of this agency to sign the document.")
            codes = _recipients(session, document, recipients)
            if stored is not None and document.latest(FileRole.PREPARED) is None:
                document.files.append(_file_row(FileRole.PREPARED, stored, "du-thao.pdf", document.file(FileRole.ORIGINAL).id))
            document.approver_id = signer.id
            document.recipients = codes
            document.signature_position = position
            document.workflow_status = Workflow.SUBMITTED
            document.workflow_note = ""
            audit.record(session, actor, "outgoing.submit", "document", document_id,
                         {"approver": approver, "recipients": codes})


def _check_can_submit(actor: User, document: Document) -> None:
    if document.workflow_status not in (Workflow.DRAFT, Workflow.RETURNED):
        raise WrongStep("Only a draft, or one sent back, can be submitted.")
    if not may_submit(actor, document):
        raise NotTheDrafter()


def _recipient_codes(raw: list) -> list[str]:
    """The agency codes as typed, checked and without repeats or blanks."""
    if len(raw) > MAX_RECIPIENTS:
        raise InvalidInput(f"A document goes to at most {MAX_RECIPIENTS} agencies.")
    codes = []
    for code in raw:
        code = validation.text(code, "recipient", validation.AGENCY_CODE)
        if code and code not in codes:
            codes.append(code)
    return codes


def _recipients(session: Session, document: Document, codes: list[str]) -> list[str]:
    """Agencies of this installation by their code, and peers (other
    installations) by their organization code: those get an edXML package."""
    outside = exchange.peer_codes(session, codes)
    for code in codes:
        if code in outside:
            continue
        agency = agency_by_code(session, code)  # NotFound names the unknown code
        if agency.id == document.agency_id:
            raise InvalidInput("The issuing agency is not one of its own recipients.")
    return codes


def _position(raw: dict) -> dict:
    try:
        position = {k: float(raw[k]) for k in ("x", "y", "width", "height")}
        position["page"] = int(raw.get("page", -1))
    except (KeyError, TypeError, ValueError):
        raise InvalidInput("A signature position needs page, x, y, width and height (PDF points).") from None
    # NaN passes every comparison and JSON may carry it (Python's parser takes
    # NaN and Infinity); no PDF page is larger than 14 400 points (ISO 32000).
    if not all(0 <= position[k] <= MAX_PAGE_POINTS for k in ("x", "y", "width", "height")):
        raise InvalidInput("The signature box is off the page.")
    if position["width"] < 40 or position["height"] < 20:
        raise InvalidInput("The signature box is too small or off the page.")
    validation.in_range(position["page"], "page", -validation.MAX_PAGE, validation.MAX_PAGE)
    return position


def return_to_drafter(rt: Runtime, actor: User, document_id: str, comment: str) -> None:
    comment = validation.text(comment, "comment", validation.NOTE, multiline=True)
    if not comment:
        raise CommentRequired()
    with rt.write() as session:
        document = _locked(session, actor, document_id)
        if document.workflow_status != Workflow.SUBMITTED:
            raise WrongStep("Only a submitted draft can be sent back.")
        if document.approver_id != actor.id:
            raise Forbidden("Only the leader it was submitted to can send it back.")
        document.workflow_status = Workflow.RETURNED
        document.workflow_note = comment
        audit.record(session, actor, "outgoing.return", "document", document_id, {"comment": comment})


@dataclass(frozen=True)
class SignOutcome:
    document_id: str
    ok: bool
    message: str = ""
    code: str = ""
    http_status: int = 200  # what an API answering for this one document says

    def as_dict(self) -> dict:
        return {"document_id": self.document_id, "ok": self.ok, "message": self.message, "code": self.code}


# Documents signed together (their time-stamp round trips overlap, see
# signing.sign_pdfs): a handful at a time, so a batch of hundreds holds only
# a chunk's PDFs in memory and reports progress as it goes.
SIGN_CHUNK = 8


def sign_as_approver(
    rt: Runtime, actor: User, document_ids: list[str], secret: str, *, position: dict | None = None,
    progress: Callable[[SignOutcome], None] | None = None,
) -> list[SignOutcome]:
    """Sign each document with the approver's personal signature; the key is
    unlocked once for the whole batch, and the certificate checks and the
    TSA's are shared by its documents (signing.SigningBatch). Documents are
    signed a chunk at a time with their time-stamp requests in flight
    together. A document that cannot be signed is reported and the others go
    on."""
    require_staff(actor)
    if not document_ids:
        raise InvalidInput("Choose at least one document to sign.")
    position = _position(position) if position else None
    with rt.read() as session:
        credential = signatures.credential_for(session, CredentialOwner.USER, actor.id)
    image = signatures.image_bytes(rt, credential)
    batch = SigningBatch(signatures.trust_config(rt.settings))
    outcomes = []
    with signatures.open_key(credential, secret) as key, signatures.dev_services(rt.settings):
        for at in range(0, len(document_ids), SIGN_CHUNK):
            for outcome in _sign_chunk(rt, actor, document_ids[at:at + SIGN_CHUNK], key, image, batch, position):
                outcomes.append(outcome)
                if progress:
                    progress(outcome)
    return outcomes


@dataclass(frozen=True)
class _ToSign:
    source_id: int
    data: bytes
    box: dict


def _sign_chunk(rt, actor, document_ids: list[str], key, image, batch: SigningBatch, position) -> list[SignOutcome]:
    """Read and check each document, sign those that passed together, store
    each signed one: an error at any step is that document's outcome only."""
    ready: dict[str, _ToSign] = {}
    failed: dict[str, SignOutcome] = {}
    for document_id in document_ids:
        try:
            ready[document_id] = _prepared(rt, actor, document_id, position)
        except DocsvcError as exc:
            failed[document_id] = _failed(document_id, exc)
    jobs = [SignJob(item.data, appearance=PersonSignature(image, Box(**item.box)), field_name=PERSON_FIELD)
            for item in ready.values()]
    signed = dict(zip(ready, sign_pdfs(jobs, key, level=PERSON_LEVEL, batch=batch), strict=True))
    outcomes = []
    for document_id in document_ids:
        outcome = failed.get(document_id)
        if outcome is None:
            result = signed[document_id]
            try:
                if isinstance(result, SigningError):
                    raise result
                _record_signed(rt, actor, document_id, ready[document_id].source_id, result.data)
                outcome = SignOutcome(document_id, True)
            except (DocsvcError, SigningError) as exc:
                outcome = _failed(document_id, exc)
        outcomes.append(outcome)
    return outcomes


def _failed(document_id: str, exc: DocsvcError | SigningError) -> SignOutcome:
    return SignOutcome(document_id, False, exc.message, exc.code, http_status(exc))


def _prepared(rt, actor, document_id: str, position) -> _ToSign:
    with rt.read() as session:
        document = get_document(session, actor, document_id)
        _check_can_sign(actor, document)
        source = document.latest(FileRole.PREPARED)
        box = position or document.signature_position or DEFAULT_SIGNATURE
    return _ToSign(source.id, read_object(rt.store, source.storage_key), box)


def _record_signed(rt, actor, document_id: str, source_id: int, signed: bytes) -> None:
    with store_then_record(rt) as store:
        stored = store.put(io.BytesIO(signed), "application/pdf")
        with rt.write() as session:
            document = _locked(session, actor, document_id)
            _check_can_sign(actor, document)  # it may have changed while it was signed
            document.files.append(_file_row(FileRole.SIGNED, stored, "da-ky.pdf", source_id))
            document.workflow_status = Workflow.SIGNED
            document.signed_at = utcnow()
            audit.record(session, actor, "outgoing.sign", "document", document_id, {"sha256": stored.sha256})


def _check_can_sign(actor: User, document: Document) -> None:
    if document.workflow_status != Workflow.SUBMITTED:
        raise WrongStep("This document is not waiting for a signature.")
    if not may_sign(actor, document):
        raise Forbidden("This document was submitted to another leader.")


def _file_row(role: str, stored, filename: str, derived_from: int | None) -> DocumentFile:
    return DocumentFile.of(role, stored, filename, derived_from_id=derived_from)


def issue(rt: Runtime, actor: User, document_id: str, *, type_code: str, secret: str, issued: date | None = None) -> Document:
    """Number and date the signed document, apply the agency's seal, and send
    it to the recipients' inboxes."""
    require_issuer(actor)
    if type_code not in TYPES:
        raise InvalidInput(f"Unknown document type; use one of {', '.join(repr(t) for t in TYPES)}.")
    issued = issued or today()
    if issued > today():
        raise InvalidInput("The issue date cannot be in the future.")
    with rt.read() as session:
        document = get_document(session, actor, document_id)
        if document.workflow_status != Workflow.SIGNED:
            raise WrongStep("Only a document signed by its leader can be issued.")
        credential = signatures.credential_for(session, CredentialOwner.AGENCY, document.agency_id)
        agency = session.get(Agency, document.agency_id)
        agency_name, symbol = agency.name, agency.symbol or agency.code.split("-")[0]
    image = signatures.image_bytes(rt, credential)
    trust = signatures.trust_config(rt.settings)
    with (
        signatures.open_key(credential, secret) as key,
        signatures.dev_services(rt.settings),
        store_then_record(rt) as store,
        rt.write() as session,
    ):
        document = _locked(session, actor, document_id)
        if document.workflow_status != Workflow.SIGNED:
            raise WrongStep("Only a document signed by its leader can be issued.")
        number = registers.allocate(session, document.agency_id, BOOK, issued)
        number_symbol = f"{number:02d}/{type_code}-{symbol}" if type_code else f"{number:02d}/{symbol}"
        signed = document.latest(FileRole.SIGNED)
        personal = read_object(rt.store, signed.storage_key)
        filled = fill_text_fields(personal, {
            NUMBER_FIELD: f"Số: {number_symbol}",
            DATE_FIELD: f"ngày {issued.day} tháng {issued.month} năm {issued.year}",
        })
        sealed = io.BytesIO()
        sign_pdf(io.BytesIO(filled), sealed, key, level=SEAL_LEVEL,
                 appearance=AgencySeal(image, agency_name, over=PERSON_FIELD), field_name=SEAL_FIELD, trust=trust)
        stored = store.put(io.BytesIO(sealed.getvalue()), "application/pdf")
        document.files.append(_file_row(FileRole.SIGNED, stored, "ban-hanh.pdf", signed.id))
        document.number_symbol = number_symbol
        document.doc_type = TYPES[type_code]
        document.issuing_body = agency_name
        document.issued_date = issued
        document.register_book, document.register_year, document.register_number = BOOK, issued.year, number
        document.registered_at = document.issued_at = utcnow()
        document.registered_by_id = actor.id
        document.workflow_status = Workflow.ISSUED
        document.archive_due_at = signatures.due_at(rt, sealed.getvalue())
        retain_version(rt, session, document, stored.key)
        delivered = _deliver(session, document, stored)
        # Recipients outside this installation: their packages are signed now,
        # while the văn thư's key is open, and sent by the worker after commit.
        exchange.send_on_issue(session, store, key, document, sealed.getvalue())
        audit.record(session, actor, "outgoing.issue", "document", document_id,
                     {"number_symbol": number_symbol, "recipients": document.recipients or [],
                      "sha256": stored.sha256})
        notes = note_reindex(session, [document_id, *delivered])
    refresh_entries(rt, [document_id, *delivered], notes)
    with rt.read() as session:
        return get_document(session, actor, document_id)


def _deliver(session: Session, document: Document, stored) -> list[str]:
    """An incoming copy in each recipient agency, ready for its văn thư to register."""
    text_file = document.file(FileRole.TEXT)
    made = []
    outside = exchange.peer_codes(session, list(document.recipients or []))
    for code in document.recipients or []:
        if code in outside:
            continue
        recipient = agency_by_code(session, code)
        copy = Document(
            agency_id=recipient.id, kind=DocumentKind.INCOMING, title=document.title, number_symbol=document.number_symbol,
            issuing_body=document.issuing_body, issued_date=document.issued_date, doc_type=document.doc_type,
            page_count=document.page_count, status=DocumentStatus.READY, progress_step=ProgressStep.DONE, progress_percent=100,
            source_document_id=document.id,
        )
        copy.files.append(_file_row(FileRole.ORIGINAL, stored, f"{document.number_symbol.replace('/', '-')}.pdf", None))
        if text_file is not None:
            copy.files.append(DocumentFile(role=FileRole.TEXT, storage_key=text_file.storage_key, sha256=text_file.sha256,
                                           size=text_file.size, media_type=text_file.media_type, filename="text.txt"))
        session.add(copy)
        session.flush()
        audit.record(session, None, "outgoing.deliver", "document", copy.id, {"from": document.id, "to": code},
                     actor_label="docsvc")
        made.append(copy.id)
    return made


def awaiting_signature(session: Session, user: User) -> list[Document]:
    return list(session.scalars(
        select(Document).where(Document.approver_id == user.id, Document.workflow_status == Workflow.SUBMITTED)
        .order_by(Document.created_at)
    ))


def awaiting_issue(session: Session, user: User) -> list[Document]:
    require_staff(user)
    return list(session.scalars(
        select(Document).where(Document.agency_id == user.agency_id, Document.workflow_status == Workflow.SIGNED)
        .order_by(Document.signed_at)
    ))


# --- batch signing in the background of the web process -----------------------
# The key is unlocked in the request's process and never leaves it (a broker
# would carry the passphrase), so the batch runs in a thread there and writes
# its progress to the database for the page to poll.


def start_batch(rt: Runtime, actor: User, document_ids: list[str], secret: str) -> str:
    if not document_ids:
        raise InvalidInput("Choose at least one document to sign.")
    with rt.read() as session:
        credential = signatures.credential_for(session, CredentialOwner.USER, actor.id)
    # Unlock once now, so a wrong passphrase is an answer to this request.
    signatures.open_key(credential, secret).close()
    with rt.write() as session:
        job = SigningJob(user_id=actor.id, total=len(document_ids), results=[])
        session.add(job)
        session.flush()
        job_id = job.id
        audit.record(session, actor, "outgoing.batch_sign", "signing_job", job_id, {"documents": document_ids})

    def record(outcome: SignOutcome) -> None:
        with rt.write() as session:
            job = session.get(SigningJob, job_id)
            job.done += 1
            job.failed += 0 if outcome.ok else 1
            job.results = [*job.results, outcome.as_dict()]

    def run() -> None:
        try:
            sign_as_approver(rt, actor, list(document_ids), secret, progress=record)
            status = SigningJobStatus.FINISHED
        except Exception:
            log.exception("batch signing %s failed", job_id)
            status = SigningJobStatus.FAILED
        with rt.write() as session:
            job = session.get(SigningJob, job_id)
            job.status, job.finished_at = status, utcnow()

    threading.Thread(target=run, name=f"sign-{job_id[:8]}", daemon=True).start()
    return job_id


def job_json(session: Session, user: User, job_id: str) -> dict:
    job = session.get(SigningJob, job_id) if len(job_id) <= 36 and validation.is_storable(job_id) else None
    if job is None or job.user_id != user.id:
        raise NotFound("No such signing job.")
    status = job.status
    if status == SigningJobStatus.RUNNING and utcnow() - job.created_at > JOB_STALE_AFTER + timedelta(seconds=30 * job.total):
        # The web process that held the key stopped mid-batch: the documents not
        # signed are still waiting for a signature; say so rather than spin forever.
        status = SigningJobStatus.INTERRUPTED
    return {"id": job.id, "total": job.total, "done": job.done, "failed": job.failed, "status": status,
            "results": job.results}
