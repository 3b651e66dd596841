"""The e-copy routes of the JSON API (under /api/v1 like the rest):
staff issue and revoke, citizens list, download and share, anyone verifies
by code, a receiving agency opens a share link."""
from __future__ import annotations

from flask import jsonify

from docsvc.ecopies import service
from docsvc.errors import InvalidInput
from docsvc.models import EcopyKind, EcopyStatus
from docsvc.presenters import iso_utc
from docsvc.web.blueprints import api
from docsvc.web.context import api_user, runtime
from docsvc.web.request_limits import check_rate, client_key
from docsvc.web.requests import json_body, secret, stream_file


@api.post("/ecopies")
def issue_ecopy():
    user = api_user()
    body = json_body()
    issued = service.issue(runtime(), user, str(body.get("document_id") or ""), citizen_id=str(body.get("citizen_id") or ""),
                           secret=secret(body), kind=str(body.get("kind") or EcopyKind.CERTIFIED_COPY))
    return jsonify({"document_id": issued.document_id, "code": service.format_code(issued.code),
                    "certification_number": issued.certification_number, "sha256": issued.signed_sha256,
                    "verify_url": service.public_url(runtime(), issued.code)}), 201


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
        return jsonify({"ecopies": [service.status_json(e) | {"title": e.document.title} for e in owned]})


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
