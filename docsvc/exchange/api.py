"""The exchange's JSON API: peers send packages (their own token, not a
user's); administrators configure peers; the văn thư builds the package of
an issued document; anyone staff reads a package's header."""
from __future__ import annotations

from flask import Response, jsonify, request

from docsvc import documents, exchange, validation
from docsvc.errors import Forbidden, InvalidInput, Unauthorized
from docsvc.permissions import is_admin, require_staff
from docsvc.web.blueprints import api
from docsvc.web.context import api_user, runtime
from docsvc.web.requests import json_body, secret


def _peer_org() -> str:
    """The organization the calling peer speaks for, from its bearer token."""
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        raise Unauthorized("Send the peer token this installation gave you (Authorization: Bearer …).")
    with runtime().read() as db:
        return exchange.peer_for_token(db, header[7:].strip()).org_code


def _body() -> bytes:
    # request_limits bounds the body (edxml_max_bytes) before this reads it.
    return request.get_data(cache=False)


@api.post("/exchange/packages")
def receive_package():
    org_code = _peer_org()
    received = exchange.receive(runtime(), _body(), peer_org=org_code)
    return jsonify(received.as_dict()), 201


@api.post("/exchange/statuses")
def receive_status():
    """A peer reports the status of a package (or, as its sender, asks for a recall)."""
    org_code = _peer_org()
    return jsonify(exchange.record(runtime(), _body(), peer_org=org_code)), 201


@api.post("/exchange/inspect")
def inspect_package():
    """`docsvc edxml show`'s twin: the header, attachments and signature verdict of a package."""
    require_staff(api_user())
    return jsonify(exchange.inspect(runtime(), _body()))


@api.get("/exchange/peers")
def list_peers():
    if not is_admin(api_user()):
        raise Forbidden("Only an administrator sees the peers.")
    with runtime().read() as db:
        return jsonify({"peers": exchange.list_peers(db)})


@api.post("/exchange/peers")
def add_peer():
    user = api_user()
    body = json_body()
    values = [body.get(name, "") for name in ("org_code", "url", "name", "send_token")]
    if not all(isinstance(v, str) for v in values):
        raise InvalidInput("org_code, url, name and send_token are text.")
    with runtime().write() as db:
        token = exchange.add_peer(db, user, *values[:3])
        if values[3]:
            exchange.set_send_token(db, runtime().settings, user, values[0], values[3])
    return jsonify({"org_code": values[0], "token": token}), 201


@api.put("/exchange/peers/<org_code>/send-token")
def set_send_token(org_code: str):
    """The token the peer gave this installation, presented when sending to it."""
    token = json_body().get("token")
    if not isinstance(token, str):
        raise InvalidInput("token is the text the peer's administrator gave you.")
    with runtime().write() as db:
        exchange.set_send_token(db, runtime().settings, api_user(), org_code, token)
    return jsonify({"org_code": org_code, "can_send": True})


@api.post("/documents/<document_id>/edxml")
def build_package(document_id: str):
    """`docsvc edxml build`'s twin: the signed package, as a file."""
    body = json_body()
    to_org = body.get("to")
    if not isinstance(to_org, str):
        raise InvalidInput("Say which organization the package is for: to, its organization code.")
    business = str(body.get("business") or "new").upper()
    if business not in exchange.BusinessType.__members__:
        raise InvalidInput("business is new, revocation, update or replacement.")
    options = exchange.SendOptions(
        business=exchange.BusinessType[business],
        reason=validation.text(body.get("reason"), "reason", validation.REASON),
        competence=validation.text(body.get("competence"), "competence", validation.LABEL),
        position=validation.text(body.get("position"), "position", validation.LABEL),
        due_date=validation.parse_date(body.get("due_date"), "due_date"),
    )
    data = exchange.build(runtime(), api_user(), document_id, to_org, secret(body), options)
    return Response(data, mimetype="application/xml",
                    headers={"Content-Disposition": f'attachment; filename="{document_id}.edxml"'})


@api.get("/documents/<document_id>/exchange")
def sent_statuses(document_id: str):
    """Each organization the document was sent to, and the latest status it reported."""
    user = api_user()
    with runtime().read() as db:
        documents.get_document(db, user, document_id)  # only who may see the document
        return jsonify({"recipients": exchange.sent_statuses(db, document_id)})


@api.post("/documents/<document_id>/exchange/recall")
def request_recall(document_id: str):
    """The sender asks a recipient peer to give the document back (status 13)."""
    user, body = api_user(), json_body()
    to_org, reason = body.get("to"), body.get("reason", "")
    if not isinstance(to_org, str) or not isinstance(reason, str):
        raise InvalidInput("Say which organization (to) and why (reason).")
    with runtime().write() as db:
        documents.get_document(db, user, document_id)
        exchange.request_recall(db, user, document_id, to_org, reason)
        return jsonify({"recipients": exchange.sent_statuses(db, document_id)}), 202


@api.post("/documents/<document_id>/exchange/recall-answer")
def answer_recall(document_id: str):
    """The receiver agrees to give a document back (15) or refuses (16)."""
    user, body = api_user(), json_body()
    agree, reason = body.get("agree"), body.get("reason", "")
    if not isinstance(agree, bool) or not isinstance(reason, str):
        raise InvalidInput("agree is true or false; reason is text.")
    with runtime().write() as db:
        documents.get_document(db, user, document_id)
        exchange.answer_recall(db, user, document_id, agree, reason)
    return jsonify({"document_id": document_id, "agreed": agree}), 202
