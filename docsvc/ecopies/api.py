"""The e-copy routes of the JSON API (under /api/v1 like the rest):
staff issue and revoke and read the certification book (JSON, CSV, XLSX),
citizens list, download and share, anyone verifies by code, a receiving
agency opens a share link."""
from __future__ import annotations

from flask import jsonify, request

from docsvc import validation
from docsvc.ecopies import book, service
from docsvc.errors import InvalidInput
from docsvc.localtime import today
from docsvc.models import EcopyKind, EcopyStatus
from docsvc.presenters import iso_utc
from docsvc.web.blueprints import api
from docsvc.web.context import api_user, runtime
from docsvc.web.request_limits import check_rate, client_key
from docsvc.web.requests import download, json_body, secret, stream_file


@api.post("/ecopies")
def issue_ecopy():
    user = api_user()
    body = json_body()
    issued = service.issue(runtime(), user, str(body.get("document_id") or ""), citizen_id=str(body.get("citizen_id") or ""),
                           secret=secret(body), kind=str(body.get("kind") or EcopyKind.CERTIFIED_COPY), details=body)
    return jsonify(service.issued_json(runtime(), issued)), 201


@api.get("/ecopies/<code>")
def ecopy_status(code: str):
    """Verification by code: no sign-in, limited per client."""
    check_rate()
    return jsonify(service.lookup(runtime(), code, client=client_key()))


@api.post("/ecopies/<code>/revoke")
def revoke_ecopy(code: str):
    body = json_body()
    return jsonify(service.change_status(runtime(), api_user(), code, EcopyStatus.REVOKED, str(body.get("reason") or "")))


@api.post("/ecopies/<code>/supersede")
def supersede_ecopy(code: str):
    body = json_body()
    return jsonify(service.change_status(runtime(), api_user(), code, EcopyStatus.SUPERSEDED, str(body.get("reason") or ""),
                                         str(body.get("superseded_by") or "")))


@api.get("/my/ecopies")
def my_ecopies():
    user = api_user()
    with runtime().read() as db:
        owned = service.citizen_ecopies(db, user)
        return jsonify({"ecopies": [service.record_json(e) | {"title": e.document.title} for e in owned]})


@api.get("/my/ecopies/<code>/file")
def my_ecopy_file(code: str):
    user = api_user()
    rt = runtime()
    with rt.read() as db:
        signed = service.signed_file_of(db, service.own_ecopy(db, user, code))
        key, name, size = signed.storage_key, signed.filename, signed.size
    service.record_download(rt, user, code)
    return stream_file(key, name or "ban-sao.pdf", size)


@api.post("/my/ecopies/<code>/shares")
def share_ecopy(code: str):
    user = api_user()
    body = json_body()
    days, uses = body.get("days", 7), body.get("max_uses", 1)
    if not isinstance(days, int) or not isinstance(uses, int):
        raise InvalidInput("days and max_uses are whole numbers.")
    share = service.create_share(runtime(), user, code, recipient=str(body.get("recipient") or ""), days=days, max_uses=uses)
    return jsonify({"id": share.id, "token": share.token, "url": service.share_url(runtime(), share.token),
                    "expires_at": iso_utc(share.expires_at)}), 201


@api.get("/my/ecopies/<code>/shares")
def list_shares(code: str):
    user = api_user()
    with runtime().read() as db:
        return jsonify({"shares": [
            {"id": link.id, "recipient": link.recipient, "expires_at": iso_utc(link.expires_at),
             "max_uses": link.max_uses, "uses": link.uses,
             "withdrawn_at": iso_utc(link.withdrawn_at) if link.withdrawn_at else None,
             "accesses": [{"at": iso_utc(a.at), "client": a.client, "outcome": a.outcome} for a in accesses]}
            for link, accesses in service.shares_of(db, user, code)
        ]})


@api.delete("/my/shares/<share_id>")
def withdraw_share(share_id: str):
    if not share_id.isdigit():
        raise InvalidInput("No such share link.")
    service.withdraw_share(runtime(), api_user(), int(share_id))
    return "", 204


@api.get("/shares/<token>/file")
def open_share(token: str):
    """What a receiving agency's link gives: the signed file, if the link still stands."""
    key, name, size = service.open_share(runtime(), token, client=client_key())
    return stream_file(key, name or "ban-sao.pdf", size)


def book_for(user) -> book.CertificationBook:
    """The book the query string names: ?year= (this year), ?book= (every book), ?agency_id= (one's own)."""
    year = validation.whole_number(request.args.get("year"), "year", validation.MIN_YEAR, validation.MAX_YEAR, today().year)
    number = validation.whole_number(request.args.get("book"), "book", 1, book.MAX_BOOK)
    agency_id = validation.whole_number(request.args.get("agency_id"), "agency_id", 1, validation.MAX_ID)
    with runtime().read() as db:
        return book.certification_book(db, user, year=year or today().year, book_number=number, agency_id=agency_id)


def book_file(entries: book.CertificationBook, extension: str):
    if extension not in book.FORMATS:
        raise InvalidInput("Download the certification book as csv or xlsx.")
    media_type, render = book.FORMATS[extension]
    return download(render(entries), book.filename(entries, extension), media_type)


@api.get("/registers/certification")
def certification_book():
    extension = request.args.get("format", "json")
    entries = book_for(api_user())
    return jsonify(entries.to_json()) if extension == "json" else book_file(entries, extension)
