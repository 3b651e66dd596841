"""Certified e-copies and e-results for citizens: issue, look up, share,
revoke or supersede, and say whether a file is the registered one.

Issue (one transaction, with the certification number taken from the
agency's certification book, so a failed signature gives it back):

    scan or PDF ─▶ (OCR: the pipeline) ─▶ first page stamped: certification
    text, number, date, certifier, QR code and the short verification code
    ─▶ signed with the agency's key at B-LTA ─▶ stored, retained, registered
    with the file's SHA-256 ─▶ the citizen's portal lists it

Each e-copy records the certification book's entry (`particulars`: who
asked, what the original is, the book, the certifier, pages, copies, the
procedure's dossier code, the fee). Public verification reveals the issuer,
the date, the status, whether the signatures hold and the entry's fields
that do not identify the citizen (particulars.PUBLIC); never the citizen,
the original's title or the content.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pikepdf
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from docsvc import audit, registers, sandbox, signatures, validation
from docsvc.documents import get_document, note_reindex, refresh_entry
from docsvc.ecopies import particulars
from docsvc.ecopies.codes import InvalidCode, format_code, new_code, normalize
from docsvc.errors import Conflict, CorruptPdf, DocsvcError, FileTooComplex, Forbidden, InvalidInput, NotFound
from docsvc.incoming import WrongRegister
from docsvc.localtime import today
from docsvc.models import (
    Agency,
    CredentialOwner,
    Document,
    DocumentFile,
    DocumentKind,
    DocumentStatus,
    Ecopy,
    EcopyKind,
    EcopyStatus,
    FileRole,
    ProgressStep,
    RegisterBook,
    Role,
    ShareAccess,
    ShareLink,
    ShareState,
    User,
    Workflow,
    utcnow,
)
from docsvc.pdf import check_declared_sizes, first_page_grey, iter_page_texts
from docsvc.permissions import is_admin, require_ecopy_issuer, require_staff
from docsvc.runtime import Runtime
from docsvc.signatures import retain_version
from docsvc.stored import store_then_record
from signing import sign_pdf
from signing.ecopy_stamp import StampText, stamp_first_page
from storage import read_object

# Anything that looks like a printed code, for files that claim to be an e-copy.
PRINTED_CODE = re.compile(r"\b[0-9A-Za-z]{4}-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}-[0-9A-Za-z]\b")
MAX_SHARE_DAYS, MAX_SHARE_USES = 90, 100


class ShareRefused(DocsvcError):
    code = "share_refused"
    http_status = 410


class InvalidReplacement(Conflict):
    """Superseding names an e-copy that cannot take the old one's place."""

    code = "invalid_replacement"


def base_url(rt: Runtime) -> str:
    """Where people reach this installation: the public_url setting, never the
    Host header of a request (anyone can send any Host, and the address ends
    up printed on paper and in links given to other agencies)."""
    return (rt.settings.public_url or default_public_url(rt.settings.host, rt.settings.port)).rstrip("/")


def default_public_url(host: str, port: int) -> str:
    """The address served when public_url is not set: a wildcard bind is
    reached on this machine at 127.0.0.1."""
    if host in ("", "0.0.0.0", "::", "[::]"):
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def public_url(rt: Runtime, code: str) -> str:
    """The verification address of an e-copy (its QR code)."""
    return f"{base_url(rt)}/v/{format_code(code)}"


def share_url(rt: Runtime, token: str) -> str:
    return f"{base_url(rt)}/s/{token}"


def issue(
    rt: Runtime, actor: User, document_id: str, *, citizen_id: str, secret: str,
    kind: EcopyKind | str = EcopyKind.CERTIFIED_COPY, details: Mapping[str, Any] | None = None,
) -> Ecopy:
    """Make the signed e-copy of a processed document for a citizen. The
    e-copy is a record of its own (a document of kind "ecopy" numbered in
    the certification book, pointing at its source); the source document
    keeps its kind and register entry, so a registered incoming letter
    stays in the incoming book, the queue and the reports. `details` are
    the book's fields (particulars.FIELDS), all checked before anything is
    stamped or numbered; those not given come from the source document."""
    require_ecopy_issuer(actor)
    kind = validation.one_of(kind, EcopyKind, "kind")
    citizen_id = validation.citizen_id(citizen_id)
    asked = particulars.given(details or {})
    with rt.read() as session:
        document = get_document(session, actor, document_id)
        if document.workflow_status == Workflow.ISSUED:
            return _register_issued_result(rt, actor, document_id, citizen_id, asked)
        if document.workflow_status is not None:
            raise WrongRegister("An outgoing document becomes a citizen's e-result once it is issued, not before.")
        if document.status != DocumentStatus.READY:
            raise Conflict("The scan is still being processed; issue the e-copy when it is ready.")
        _refuse_second_ecopy(session, document_id)
        source = document.file(FileRole.DERIVED) or document.file(FileRole.ORIGINAL)
        if source.media_type != "application/pdf":
            raise InvalidInput("The document has no PDF to certify.")
        credential = signatures.credential_for(session, CredentialOwner.AGENCY, document.agency_id)
        agency = session.get(Agency, document.agency_id)
        certifier = _certifier(session, rt, actor)
        requester = _citizen_name(session, citizen_id)
        agency_id, agency_name, source_key = agency.id, agency.name, source.storage_key
    base = read_object(rt.store, source_key)
    trust = signatures.trust_config(rt.settings)
    code = new_code()
    with (
        signatures.open_key(credential, secret) as key,
        signatures.dev_services(rt.settings),
        store_then_record(rt) as store,
        rt.write() as session,
    ):
        on = today()
        book = RegisterBook.CERTIFICATION
        number = registers.allocate(session, agency_id, book, on)  # locks the book: the book number below is ours
        source_document = session.get(Document, document_id, with_for_update=True)
        book_number = _book_number(session, agency_id, on.year, asked.book_number) \
            if kind == EcopyKind.CERTIFIED_COPY else None
        entry = particulars.completed(asked, source_document, requester=requester,
                                      certifier=(certifier[0], certifier[1] or agency_name), book_number=book_number)
        label = certification_label(number, book_number, on.year) if book_number else f"{number}/{on.year}"
        stamped = stamp_first_page(
            base, StampText(kind, label, on, entry.certifier_name or "", entry.certifier_title or "",
                            dossier_code=entry.dossier_code or ""),
            public_url(rt, code), format_code(code), draw_first_page=first_page_grey,
        )
        stamped = _tag(stamped, code)
        signed = io.BytesIO()
        sign_pdf(io.BytesIO(stamped), signed, key, level="B-LTA", trust=trust,
                 reason="Chứng thực bản sao điện tử" if kind == EcopyKind.CERTIFIED_COPY else "Kết quả giải quyết TTHC")
        data = signed.getvalue()
        stored = store.put(io.BytesIO(data), "application/pdf")
        _refuse_second_ecopy(session, document_id)  # a racing clerk was first
        record = _ecopy_record(source_document, actor, stored, code, (book, on.year, number))
        record.archive_due_at = signatures.due_at(rt, data)
        session.add(record)
        session.flush()
        ecopy = Ecopy(
            document_id=record.id, source_document_id=document_id, code=code, kind=kind,
            citizen_id=citizen_id, agency_id=agency_id, certification_number=label,
            signed_sha256=stored.sha256, issued_by_id=actor.id, issued_at=utcnow(),
        )
        particulars.on_record(ecopy, entry)
        session.add(ecopy)
        retain_version(rt, session, record, stored.key)
        audit.record(session, actor, "ecopy.issue", "ecopy", code,
                     {"document": record.id, "source": document_id, "kind": kind, "number": label,
                      "sha256": stored.sha256, "entry": entry.to_json()})
        notes = note_reindex(session, [record.id])
        session.expunge(ecopy)
    refresh_entry(rt, ecopy.document_id, notes)
    return ecopy


def certification_label(number: int, book_number: int, year: int) -> str:
    """How the form writes the entry: "125 quyển số 01/2026-SCT/BS"."""
    return f"{number} quyển số {book_number:02d}/{year}-SCT/BS"


def _book_number(session: Session, agency_id: int, year: int, asked: int | None) -> int:
    """The book this entry goes in: the one asked for, else the agency's book
    in use this year (the first, at the start of a year). Books are used one
    after another, numbers running on across them, so an earlier book than
    the one in use is refused. The caller holds the certification counter's
    lock (registers.allocate), so two clerks see the same book in use."""
    in_use = session.scalar(
        select(func.max(Ecopy.book_number)).join(Document, Document.id == Ecopy.document_id)
        .where(Ecopy.agency_id == agency_id, Document.register_book == RegisterBook.CERTIFICATION,
               Document.register_year == year)
    )
    if asked is None:
        return in_use or 1
    if in_use is not None and asked < in_use:
        raise InvalidInput(f"Book {asked:02d} of {year} is closed: entries now go in book {in_use:02d} or a later one.")
    return asked


def _citizen_name(session: Session, citizen_id: str) -> str | None:
    """The name on the citizen's account, who is the requester unless the clerk says otherwise."""
    return session.scalar(select(User.full_name).where(User.citizen_id == citizen_id)) or None


def issued_json(rt: Runtime, ecopy: Ecopy) -> dict:
    """What issuing answers (the API, `docsvc ecopy issue --json`): the e-copy, its file, its entry."""
    return {"document_id": ecopy.document_id, "code": format_code(ecopy.code),
            "certification_number": ecopy.certification_number, "sha256": ecopy.signed_sha256,
            "verify_url": public_url(rt, ecopy.code)} | particulars.of(ecopy).to_json()


def _refuse_second_ecopy(session: Session, document_id: str) -> None:
    made = session.scalar(select(Ecopy.code).where(
        (Ecopy.document_id == document_id) | (Ecopy.source_document_id == document_id)).limit(1))
    if made is not None:
        raise Conflict(f"An e-copy of this document was already issued ({format_code(made)}).")


def _ecopy_record(source: Document, actor: User, stored, code: str, entry: tuple[RegisterBook, int, int]) -> Document:
    """The e-copy's own document: the signed file, the source's text (so it
    is found by search), the certification book's number."""
    from_file = source.file(FileRole.DERIVED) or source.file(FileRole.ORIGINAL)
    record = Document(
        agency_id=source.agency_id, kind=DocumentKind.ECOPY, title=source.title, page_count=source.page_count,
        doc_type=source.doc_type, issuing_body=source.issuing_body, number_symbol=source.number_symbol,
        issued_date=source.issued_date, status=DocumentStatus.READY, progress_step=ProgressStep.DONE, progress_percent=100,
        source_document_id=source.id, created_by_id=actor.id, registered_at=utcnow(), registered_by_id=actor.id,
    )
    record.register_book, record.register_year, record.register_number = entry
    record.files.append(DocumentFile.of(FileRole.SIGNED, stored, f"ban-sao-{format_code(code)}.pdf",
                                        derived_from_id=from_file.id))
    text = source.file(FileRole.TEXT)
    if text is not None:
        record.files.append(DocumentFile(role=FileRole.TEXT, storage_key=text.storage_key, sha256=text.sha256,
                                         size=text.size, media_type=text.media_type, filename=text.filename,
                                         derived_from_id=text.id))
    return record


def _register_issued_result(rt: Runtime, actor: User, document_id: str, citizen_id: str,
                            asked: particulars.Particulars) -> Ecopy:
    """An issued outgoing document given to a citizen as their procedure
    result: its signed file is already final (stamping it now would break
    its signatures), so it is registered as it is, with a code the citizen
    and anyone can verify; the code is not printed on it. Its current
    signed version is retained for the longer of its two categories."""
    with rt.write() as session:
        document = session.get(Document, document_id, with_for_update=True)
        _refuse_second_ecopy(session, document_id)
        signed = document.latest(FileRole.SIGNED)
        # Whoever signed the result certified it; no certification book (it has its own number).
        signer = document.approver
        entry = particulars.completed(
            asked, document, requester=_citizen_name(session, citizen_id),
            certifier=((signer.full_name or signer.username) if signer else "", ""), book_number=None)
        ecopy = Ecopy(document_id=document_id, source_document_id=document_id, code=new_code(),
                      kind=EcopyKind.PROCEDURE_RESULT, citizen_id=citizen_id, agency_id=document.agency_id,
                      certification_number=document.number_symbol, signed_sha256=signed.sha256,
                      issued_by_id=actor.id, issued_at=utcnow())
        particulars.on_record(ecopy, entry)
        session.add(ecopy)
        retain_version(rt, session, document, signed.storage_key)
        audit.record(session, actor, "ecopy.issue", "ecopy", format_code(ecopy.code),
                     {"document": document_id, "kind": EcopyKind.PROCEDURE_RESULT, "number": document.number_symbol,
                      "sha256": signed.sha256, "from": "issued outgoing document", "entry": entry.to_json()})
        session.expunge(ecopy)
        return ecopy


def _certifier(session: Session, rt: Runtime, actor: User) -> tuple[str, str]:
    """Whose name and title the certification shows: the configured certifier, else the actor."""
    person = actor
    if rt.settings.ecopy_certifier:
        person = session.scalar(select(User).where(User.username == rt.settings.ecopy_certifier)) or actor
    return person.full_name or person.username, rt.settings.ecopy_certifier_title


def by_code(session: Session, code: str) -> Ecopy:
    canonical = normalize(code)  # InvalidCode (a user error) names what is wrong with it
    ecopy = session.scalar(select(Ecopy).options(selectinload(Ecopy.agency)).where(Ecopy.code == canonical))
    if ecopy is None:
        raise NotFound("No e-copy has this code. Check the code on the paper or scan its QR code.")
    return ecopy


def status_json(ecopy: Ecopy) -> dict:
    """What anyone may know about an e-copy (particulars.PUBLIC: nothing that names the citizen)."""
    return {
        "code": format_code(ecopy.code),
        "kind": ecopy.kind,
        "issuer": ecopy.agency.name,
        "issued_at": ecopy.issued_at.isoformat(),
        "status": ecopy.status,
        "reason": ecopy.status_reason or None,
        "superseded_by": format_code(ecopy.superseded_by) if ecopy.superseded_by else None,
        "sha256": ecopy.signed_sha256,
        "certification_number": ecopy.certification_number,
    } | particulars.public_json(ecopy)


def record_json(ecopy: Ecopy) -> dict:
    """Everything the certification entry records: for the citizen it was issued to and the agency's staff."""
    return status_json(ecopy) | particulars.of(ecopy).to_json() | {"citizen_id": ecopy.citizen_id}


def lookup(rt: Runtime, code: str, *, client: str = "", with_signatures: bool = True) -> dict:
    """Verification by code (the QR code's link, or typed): status and, for the
    registered file, the signature report."""
    with rt.read() as session:
        ecopy = by_code(session, code)
        data = status_json(ecopy)
        current = ecopy.document.latest(FileRole.SIGNED)
        key, sha256 = current.storage_key, current.sha256
    if with_signatures:
        data["signatures"] = _signature_report(rt, key, sha256)
    with rt.write() as session:
        audit.record(session, None, "ecopy.verify", "ecopy", data["code"], {"by": "code", "client": client},
                     actor_label="public")
    return data


def _signature_report(rt: Runtime, key: str, sha256: str) -> dict:
    """The signature report of a stored file, reused for verify_cache_seconds
    (docsvc/report_cache.py: in this process, or shared through Redis)."""
    report = rt.report_cache.get(sha256)
    if report is None:
        report = signatures.verify(rt.settings, io.BytesIO(read_object(rt.store, key))).to_json()
        rt.report_cache.put(sha256, report)
    return report


def registered_report(rt: Runtime, sha256: str) -> dict | None:
    """The (cached) signature report of a registered e-copy file with these
    exact bytes; None for any other file."""
    with rt.read() as session:
        key = session.scalar(
            select(DocumentFile.storage_key).join(Ecopy, Ecopy.document_id == DocumentFile.document_id)
            .where(DocumentFile.role == FileRole.SIGNED, DocumentFile.sha256 == sha256).limit(1)
        )
    return None if key is None else _signature_report(rt, key, sha256)


def match_file(rt: Runtime, path: Path, sha256: str, *, client: str = "") -> dict | None:
    """Is this file a registered e-copy, or does it claim to be one? None if neither.

    Only those two outcomes are audited (someone checked, or forged, this
    e-copy): any other anonymous file leaves no row. Callers let a client
    through the verification limit first, so rows stay within that limit."""
    with rt.read() as session:
        # The registered file, or a later version of it (its archive time-stamp renewed).
        ecopy = session.scalar(select(Ecopy).options(selectinload(Ecopy.agency)).where(Ecopy.signed_sha256 == sha256))
        if ecopy is None:
            ecopy = session.scalar(
                select(Ecopy).options(selectinload(Ecopy.agency))
                .join(DocumentFile, DocumentFile.document_id == Ecopy.document_id)
                .where(DocumentFile.role == FileRole.SIGNED, DocumentFile.sha256 == sha256).limit(1)
            )
        matches = ecopy is not None
        if ecopy is None:
            claimed = _claimed_code(path)
            if claimed is None:
                return None
            ecopy = session.scalar(select(Ecopy).options(selectinload(Ecopy.agency)).where(Ecopy.code == claimed))
            if ecopy is None:
                return {"code": format_code(claimed), "status": "unknown", "matches_registered_file": False}
        data = status_json(ecopy) | {"matches_registered_file": matches}
    with rt.write() as session:
        audit.record(session, None, "ecopy.verify", "ecopy", data["code"],
                     {"by": "file", "matches": matches, "client": client}, actor_label="public")
    return data


INFO_KEY = "/DocsvcEcopy"


def _tag(pdf: bytes, code: str) -> bytes:
    """Name the code in the document information too (before signing), so a
    copy whose page was replaced or damaged still says which e-copy it claims to be."""
    with pikepdf.open(io.BytesIO(pdf)) as document:
        document.docinfo[INFO_KEY] = format_code(code)
        out = io.BytesIO()
        document.save(out)
        return out.getvalue()


def _claimed_code(path: Path) -> str | None:
    """The code a file names: in its document information, else printed on page one.
    Read in a parse child (docsvc/sandbox.py): a file too complex to read claims nothing."""
    try:
        check_declared_sizes(path)
        candidates = sandbox.call(_code_candidates, path)
    except (FileTooComplex, CorruptPdf):
        return None
    for candidate in candidates:
        try:
            return normalize(candidate)
        except InvalidCode:
            continue
    return None


def _code_candidates(path: Path) -> list[str]:
    candidates = []
    try:
        with pikepdf.open(path) as document:
            # The oldest revision's value is what was signed; an update may add another.
            candidates.append(str(document.docinfo.get(INFO_KEY, "")))
    except (pikepdf.PdfError, OSError, RecursionError):
        pass
    with contextlib.suppress(DocsvcError):
        candidates += PRINTED_CODE.findall(next(iter_page_texts(path), ""))
    return candidates


def change_status(rt: Runtime, actor: User, code: str, status: EcopyStatus | str, reason: str,
                  superseded_by: str | None = None) -> dict:
    """Revoke or supersede; the file stays stored and verification shows why."""
    require_staff(actor)
    reason = validation.text(reason, "reason", validation.REASON, multiline=True)
    if not reason:
        raise InvalidInput("Give the reason (it is shown to whoever verifies the e-copy).")
    if status not in (EcopyStatus.REVOKED, EcopyStatus.SUPERSEDED):
        raise InvalidInput("status must be revoked or superseded.")
    status = EcopyStatus(status)
    with rt.write() as session:
        ecopy = by_code(session, code)
        if not is_admin(actor) and actor.agency_id != ecopy.agency_id:
            raise NotFound("No e-copy has this code.")
        if ecopy.status != EcopyStatus.ACTIVE:
            raise Conflict(f"This e-copy is already {ecopy.status}.")
        replacement = _replacement(session, ecopy, superseded_by) if status == EcopyStatus.SUPERSEDED else None
        ecopy.status, ecopy.status_reason, ecopy.status_changed_at = status, reason, utcnow()
        ecopy.superseded_by = replacement.code if replacement else None
        audit.record(session, actor, f"ecopy.{'revoke' if status == EcopyStatus.REVOKED else 'supersede'}", "ecopy",
                     format_code(ecopy.code), {"reason": reason, "by": format_code(replacement.code) if replacement else None})
        return status_json(ecopy)


def _replacement(session: Session, ecopy: Ecopy, code: str | None) -> Ecopy:
    """The e-copy that takes this one's place: another one, active, of the same agency
    (what verification then points to must itself be valid and the issuer's own)."""
    replacement = by_code(session, code or "")
    if replacement.id == ecopy.id:
        raise InvalidReplacement("An e-copy cannot supersede itself.")
    if replacement.agency_id != ecopy.agency_id:
        raise InvalidReplacement("The replacing e-copy must be one issued by the same agency.")
    if replacement.status != EcopyStatus.ACTIVE:
        raise InvalidReplacement(f"The replacing e-copy is {replacement.status}; only an active e-copy can replace another.")
    return replacement


# --- the citizen's side ------------------------------------------------------------


def _require_citizen(user: User) -> str:
    if user.role != Role.CITIZEN or not user.citizen_id:
        raise Forbidden("Only a signed-in citizen sees their e-copies.")
    return user.citizen_id


def citizen_ecopies(session: Session, user: User) -> list[Ecopy]:
    citizen_id = _require_citizen(user)
    return list(session.scalars(
        select(Ecopy).options(selectinload(Ecopy.agency), selectinload(Ecopy.document))
        .where(Ecopy.citizen_id == citizen_id).order_by(Ecopy.issued_at.desc())
    ))


def own_ecopy(session: Session, user: User, code: str) -> Ecopy:
    citizen_id = _require_citizen(user)
    ecopy = by_code(session, code)
    if ecopy.citizen_id != citizen_id:
        raise NotFound("No e-copy has this code.")  # another citizen's: not even its existence
    return ecopy


def signed_file_of(session: Session, ecopy: Ecopy) -> DocumentFile:
    return ecopy.document.latest(FileRole.SIGNED)


def record_download(rt: Runtime, user: User, code: str) -> None:
    with rt.write() as session:
        audit.record(session, user, "ecopy.download", "ecopy", format_code(normalize(code)), {})


@dataclass(frozen=True)
class NewShare:
    id: int
    token: str  # shown once; only its hash is kept
    expires_at: datetime


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_share(rt: Runtime, user: User, code: str, *, recipient: str, days: int, max_uses: int) -> NewShare:
    if not 1 <= days <= MAX_SHARE_DAYS:
        raise InvalidInput(f"A share link lasts 1 to {MAX_SHARE_DAYS} days.")
    if not 1 <= max_uses <= MAX_SHARE_USES:
        raise InvalidInput(f"A share link may be used 1 to {MAX_SHARE_USES} times.")
    recipient = validation.text(recipient, "recipient", validation.RECIPIENT)
    token = secrets.token_urlsafe(24)
    with rt.write() as session:
        ecopy = own_ecopy(session, user, code)
        if ecopy.status != EcopyStatus.ACTIVE:
            raise Conflict(f"This e-copy is {ecopy.status}; it cannot be shared.")
        share = ShareLink(ecopy_id=ecopy.id, token_hash=_token_hash(token), recipient=recipient,
                          expires_at=utcnow() + timedelta(days=days), max_uses=max_uses, created_by_id=user.id)
        session.add(share)
        session.flush()
        audit.record(session, user, "ecopy.share", "ecopy", format_code(ecopy.code),
                     {"share": share.id, "recipient": share.recipient, "days": days, "max_uses": max_uses})
        return NewShare(share.id, token, share.expires_at)


def withdraw_share(rt: Runtime, user: User, share_id: int) -> None:
    with rt.write() as session:
        share = session.get(ShareLink, share_id) if 1 <= share_id <= validation.MAX_ID else None
        if share is None or share.ecopy.citizen_id != _require_citizen(user):
            raise NotFound("No such share link.")
        if share.withdrawn_at is None:
            share.withdrawn_at = utcnow()
            audit.record(session, user, "ecopy.share_withdraw", "ecopy", format_code(share.ecopy.code), {"share": share_id})


def shares_of(session: Session, user: User, code: str) -> list[tuple[ShareLink, list[ShareAccess]]]:
    ecopy = own_ecopy(session, user, code)
    links = list(session.scalars(select(ShareLink).where(ShareLink.ecopy_id == ecopy.id).order_by(ShareLink.id.desc())))
    return [(link, list(session.scalars(select(ShareAccess).where(ShareAccess.share_id == link.id)
                                        .order_by(ShareAccess.id.desc())))) for link in links]


def open_share(rt: Runtime, token: str, *, client: str = "") -> tuple[str, str, int]:
    """The signed file a share link grants: (storage key, file name, size).
    Every attempt is recorded, granted or refused."""
    now = utcnow()
    with rt.write() as session:
        share = session.scalar(select(ShareLink).where(ShareLink.token_hash == _token_hash(token or "")).with_for_update())
        if share is None:
            raise NotFound("This share link does not exist.")
        ecopy = share.ecopy
        outcome = share_state(share, now)
        session.add(ShareAccess(share_id=share.id, client=client[:64], outcome=outcome))
        audit.record(session, None, "ecopy.share_access", "ecopy", format_code(ecopy.code),
                     {"share": share.id, "outcome": outcome, "client": client[:64]}, actor_label="share-link")
        if outcome == ShareState.GRANTED:
            share.uses += 1
            signed = signed_file_of(session, ecopy)
            return signed.storage_key, signed.filename, signed.size
    raise ShareRefused(SHARE_MESSAGES[outcome])


def share_state(share: ShareLink, now: datetime | None = None) -> ShareState:
    """What opening the link would give now: granted, or why not
    (withdrawn, expired, used_up, revoked)."""
    now = now or utcnow()
    return (
        ShareState.WITHDRAWN if share.withdrawn_at is not None
        else ShareState.EXPIRED if share.expires_at <= now
        else ShareState.USED_UP if share.uses >= share.max_uses
        else ShareState.REVOKED if share.ecopy.status != EcopyStatus.ACTIVE
        else ShareState.GRANTED
    )


def peek_share(rt: Runtime, token: str) -> tuple[dict, ShareState]:
    """What a share link's landing page shows, without using the link or
    recording an access: the e-copy's public status and the link's state."""
    with rt.read() as session:
        share = session.scalar(select(ShareLink).where(ShareLink.token_hash == _token_hash(token or "")))
        if share is None:
            raise NotFound("This share link does not exist.")
        return status_json(share.ecopy), share_state(share)


SHARE_MESSAGES = {
    ShareState.WITHDRAWN: "The citizen has withdrawn this share link.",
    ShareState.EXPIRED: "This share link has expired; ask the citizen for a new one.",
    ShareState.USED_UP: "This share link has been used as many times as the citizen allowed.",
    ShareState.REVOKED: "The e-copy behind this link has been revoked or superseded by its issuer.",
}
