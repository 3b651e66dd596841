"""The peers: other installations (or exchange systems) this one exchanges
packages and statuses with.

Each side of a pair gives the other a token: `add_peer` makes the one the
peer must present here (only its hash is kept); `set_send_token` keeps the
one the peer gave us, presented when this installation sends to it. That
one must be readable again, so it is kept encrypted with the installation's
secret key (a copy of the database alone does not speak for us).
Requests go only to the URL configured here, never to an address a package
or status names.
"""
from __future__ import annotations

import base64
import hashlib
import secrets

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select
from sqlalchemy.orm import Session

from docsvc import audit, validation
from docsvc.config import Settings, ensure_secret_key
from docsvc.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from docsvc.models import Agency, ExchangePeer, User
from docsvc.permissions import is_admin

URL_LIMIT = 500
TOKEN_LIMIT = 200


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _cipher(settings: Settings) -> Fernet:
    key = hashlib.sha256(b"docsvc exchange send tokens\0" + ensure_secret_key(settings).encode("utf-8")).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def _require_admin(actor: User) -> None:
    if not is_admin(actor):
        raise Forbidden("Only an administrator configures peers.")


def add_peer(session: Session, actor: User, org_code: str, url: str, name: str = "") -> str:
    """Accept packages from the installation speaking for `org_code`; the
    token it must present, shown once (only its hash is kept)."""
    _require_admin(actor)
    org_code = validation.org_code(org_code)
    url = validation.text(url, "url", URL_LIMIT)
    name = validation.text(name, "name", validation.AGENCY_NAME)
    if not url.startswith(("https://", "http://")):
        raise InvalidInput("A peer's URL starts with https:// (or http:// on a private network).")
    if session.scalar(select(ExchangePeer).where(ExchangePeer.org_code == org_code)) is not None:
        raise Conflict(f"{org_code} is already a peer.")
    token = "dsx_" + secrets.token_urlsafe(32)
    session.add(ExchangePeer(org_code=org_code, name=name, url=url.rstrip("/"), token_hash=_token_hash(token)))
    audit.record(session, actor, "exchange.peer_add", "peer", org_code, {"url": url})
    return token


def set_send_token(session: Session, settings: Settings, actor: User, org_code: str, token: str) -> None:
    """Keep the token `org_code`'s installation gave this one (its `docsvc peer add`)."""
    _require_admin(actor)
    token = validation.text(token, "token", TOKEN_LIMIT)
    if not token:
        raise InvalidInput("Give the token the peer's administrator gave you (their docsvc peer add printed it).")
    peer = peer_by_org(session, validation.org_code(org_code))
    peer.send_token = _cipher(settings).encrypt(token.encode("utf-8")).decode("ascii")
    audit.record(session, actor, "exchange.peer_send_token", "peer", peer.org_code, {})


def send_token(settings: Settings, peer: ExchangePeer) -> str:
    """The token to present to `peer`, or InvalidInput saying how to set it."""
    if not peer.send_token:
        raise InvalidInput(f"No token to present to {peer.org_code} yet (docsvc peer set-token {peer.org_code}).")
    try:
        return _cipher(settings).decrypt(peer.send_token.encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise InvalidInput(f"The token kept for {peer.org_code} was encrypted with another secret key; "
                           f"set it again (docsvc peer set-token {peer.org_code}).") from None


def peer_for_token(session: Session, token: str) -> ExchangePeer:
    peer = session.scalar(select(ExchangePeer).where(ExchangePeer.token_hash == _token_hash(token)))
    if peer is None:
        raise Unauthorized("This token is no peer's: packages are accepted only from configured peers.")
    return peer


def peer_by_org(session: Session, org_code: str) -> ExchangePeer:
    peer = session.scalar(select(ExchangePeer).where(ExchangePeer.org_code == org_code))
    if peer is None:
        raise NotFound(f"{org_code} is not a configured peer (docsvc peer add).")
    return peer


def peer_codes(session: Session, codes: list[str]) -> set[str]:
    """Those of `codes` that name a peer and no agency of this installation
    (a recipient outside it: its document goes as an edXML package)."""
    if not codes:
        return set()
    local = set(session.scalars(select(Agency.code).where(Agency.code.in_(codes))))
    peers = set(session.scalars(select(ExchangePeer.org_code).where(ExchangePeer.org_code.in_(codes))))
    return peers - local


def list_peers(session: Session) -> list[dict]:
    return [{"org_code": p.org_code, "name": p.name, "url": p.url, "can_send": bool(p.send_token),
             "created_at": p.created_at.isoformat()}
            for p in session.scalars(select(ExchangePeer).order_by(ExchangePeer.org_code))]
