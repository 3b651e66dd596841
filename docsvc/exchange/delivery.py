"""Sending to peers: packages of issued documents and status messages, each
an outbox entry (written in the transaction that caused it, published after
it commits, retried with a growing pause by docsvc.documents.pipeline).

Requests go to the peer's configured URL and nowhere else: no redirect is
followed, no proxy from the environment is used, the answer read is
bounded. What happened is kept on the exchange message for the pages:
delivered, refused by the peer (recorded as its status 02 with the reason),
or the last error of an attempt that will be retried (and, after the last
attempt, that docsvc gave up).
"""
from __future__ import annotations

import io
import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from docsvc import audit, documents, outbox, signatures
from docsvc.errors import DocsvcError
from docsvc.exchange import edxml, peers, service, statuses, xmlsig
from docsvc.exchange.status import Status, StatusCode, answering, message_tree
from docsvc.localtime import VIETNAM
from docsvc.models import Agency, Document, ExchangeDirection, ExchangeMessage, OutboxEntry, utcnow
from docsvc.runtime import Runtime
from signing import Pkcs12Key
from storage import read_object

log = logging.getLogger(__name__)
SEND_PACKAGE = "exchange.send_package"
PACKAGES_PATH, STATUSES_PATH = "/api/v1/exchange/packages", "/api/v1/exchange/statuses"
ANSWER_LIMIT = 64 * 1024  # a peer's answer is a small JSON object


class PeerUnavailable(Exception):
    """The peer could not take it now (no answer, 5xx): tried again later.
    Not a DocsvcError: the outbox retries only what is not the input's fault."""


@dataclass(frozen=True)
class Answer:
    status: int
    code: str = ""
    message: str = ""

    @property
    def refused(self) -> bool:
        return 400 <= self.status < 500


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect would send the package to an address the peer names


_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)


def post(rt: Runtime, url: str, token: str, data: bytes) -> Answer:
    """POST an edXML message to a peer; its answer, or PeerUnavailable."""
    request = urllib.request.Request(url, data=data, method="POST", headers={
        "Content-Type": "application/xml", "Authorization": f"Bearer {token}"})
    try:
        with _opener.open(request, timeout=rt.settings.exchange_timeout_seconds) as response:
            return _answer(response.status, response.read(ANSWER_LIMIT))
    except urllib.error.HTTPError as exc:
        answer = _answer(exc.code, exc.read(ANSWER_LIMIT))
    except (OSError, ValueError) as exc:
        raise PeerUnavailable(f"{url} did not answer ({exc})") from None
    if not answer.refused and answer.status >= 300:
        raise PeerUnavailable(f"{url} answered {answer.status} {answer.message}".strip())
    return answer


def _answer(status: int, body: bytes) -> Answer:
    try:
        data = json.loads(body)
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    return Answer(status, str(data.get("code") or "")[:64], str(data.get("message") or "")[:1000])


# --- packages ----------------------------------------------------------------------


def send_on_issue(session: Session, store, key, document: Document, pdf: bytes) -> list[str]:
    """In the issue's transaction, with the agency's key open: the signed
    package for each recipient that is a peer, stored and queued. The organizations it goes to."""
    sent = sorted(peers.peer_codes(session, list(document.recipients or [])))
    for org_code in sent:
        header = service.package_header(session, document, org_code)
        data = service.signed_package(header, pdf, key)
        stored = store.put(io.BytesIO(data), service.PACKAGE_MEDIA_TYPE)
        message = service.record_message(session, ExchangeDirection.SENT, document.id, header, org_code)
        message.package_key, message.delivered_at, message.delivery_error = stored.key, None, ""
        outbox.enqueue(session, SEND_PACKAGE, {"message_id": message.id})
        audit.record(session, None, "exchange.send", "document", document.id,
                     {"to": org_code, "document_id": header.document_id, "sha256": stored.sha256}, actor_label="docsvc")
    return sent


def deliver_package(rt: Runtime, payload: dict, entry_id: int | None) -> None:
    """The outbox handler: hand the stored package to the peer."""
    with rt.read() as session:
        message = session.get(ExchangeMessage, payload["message_id"])
        if message is None or message.delivered_at is not None or not message.package_key:
            return
        key, message_id = message.package_key, message.id
        url, token = _target(rt, session, message.to_org, PACKAGES_PATH, entry_id, message_id)
    answer = _post_or_note(rt, url, token, read_object(rt.store, key), entry_id, message_id=message_id)
    with rt.write() as session:
        message = session.get(ExchangeMessage, message_id)
        if message is None:
            return
        if answer.refused and answer.code != "edxml_already_received":
            reason = f"{answer.message} ({answer.code or answer.status})"
            message.delivery_error = reason
            statuses.add_status(message, StatusCode.REFUSED, reason, datetime.now(VIETNAM))
        else:  # taken (already taken: a retry after an answer that was lost)
            message.delivered_at, message.delivery_error = utcnow(), ""


def _target(rt: Runtime, session: Session, org_code: str, path: str, entry_id: int | None,
            message_id: int | None) -> tuple[str, str]:
    """The peer's URL for `path` and the token to present; a missing token is
    noted and retried (the administrator may set it meanwhile)."""
    peer = peers.peer_by_org(session, org_code)
    try:
        return peer.url + path, peers.send_token(rt.settings, peer)
    except DocsvcError as exc:
        _note_retry(rt, entry_id, message_id, exc.message)
        raise PeerUnavailable(exc.message) from None


def _post_or_note(rt: Runtime, url: str, token: str, data: bytes, entry_id: int | None, *,
                  message_id: int | None) -> Answer:
    try:
        return post(rt, url, token, data)
    except PeerUnavailable as exc:
        _note_retry(rt, entry_id, message_id, str(exc))
        raise


def _note_retry(rt: Runtime, entry_id: int | None, message_id: int | None, reason: str) -> None:
    """Say on the message why it is not delivered yet, and whether docsvc will try again."""
    if message_id is None:
        log.warning("exchange: %s", reason)
        return
    with rt.write() as session:
        attempts = session.scalar(select(OutboxEntry.attempts).where(OutboxEntry.id == entry_id)) if entry_id else 0
        last = bool(entry_id) and (attempts or 0) >= rt.settings.task_max_attempts
        message = session.get(ExchangeMessage, message_id)
        if message is not None:
            message.delivery_error = (f"Gave up after {attempts} attempts: {reason}" if last
                                      else f"Attempt {attempts}: {reason}; trying again")[:2000]


# --- status messages -----------------------------------------------------------------


def deliver_status(rt: Runtime, payload: dict, entry_id: int | None) -> None:
    """The outbox handler: sign the status with the installation's exchange key and send it."""
    status = _status_of(rt, payload)
    with rt.read() as session:
        url, token = _target(rt, session, payload["peer"], STATUSES_PATH, entry_id, payload.get("message_id"))
    with exchange_key(rt) as key:
        data = edxml.to_bytes(xmlsig.sign(message_tree(status), key))
    answer = _post_or_note(rt, url, token, data, entry_id, message_id=payload.get("message_id"))
    if answer.refused:
        log.warning("exchange: %s refused status %s of %s: %s (%s)", payload["peer"], status.code,
                    status.response_for.document_id, answer.message, answer.code)
    if payload.get("message_id"):
        with rt.write() as session:
            message = session.get(ExchangeMessage, payload["message_id"])
            if message is not None:
                message.delivery_error = (f"{payload['peer']} refused status {status.code}: {answer.message}"
                                          if answer.refused else "")


def _status_of(rt: Runtime, payload: dict) -> Status:
    with rt.read() as session:
        agency = session.scalar(select(Agency).where(Agency.org_code == payload["from"]))
        sender = service.organization(agency) if agency is not None else edxml.Organization(payload["from"], payload["from"])
    return Status(
        response_for=answering(payload["document_id"]),
        sender=sender, code=StatusCode(payload["code"]), description=payload.get("description", ""),
        timestamp=datetime.strptime(payload["at"], edxml.TIME_FORMAT), staff=payload.get("staff", ""))


def exchange_key(rt: Runtime):
    """The key statuses are signed with: exchange_key_file, else the development PKI's agency key."""
    settings = rt.settings
    if settings.exchange_key_file:
        return Pkcs12Key(settings.exchange_key_file, settings.exchange_key_passphrase)
    pki = signatures.dev_pki(settings)
    if pki is None:
        raise PeerUnavailable("No exchange key is configured (exchange_key_file): statuses cannot be signed.")
    return Pkcs12Key(str(pki.p12_path("agency")), pki.passphrase)


documents.register_handler(SEND_PACKAGE, deliver_package)
documents.register_handler(statuses.SEND_STATUS, deliver_status)
