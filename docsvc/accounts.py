"""Agencies, users, passwords, API tokens and who may see what."""
from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from docsvc import audit, validation
from docsvc.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from docsvc.models import Agency, ApiToken, Role, User, utcnow

_hasher = PasswordHasher()
AGENCY_LEVELS = ("commune", "district", "province", "other")
MIN_PASSWORD_LENGTH = 8


class CitizenIdTaken(Conflict):
    """One citizen, one account: the ID is what their e-copies are matched on."""

    code = "citizen_id_taken"
    default_message = "Another account already has this citizen ID."


def add_agency(
    session: Session, code: str, name: str, *, level: str = "other", parent_code: str | None = None, actor: User | None = None,
    symbol: str = "",
) -> Agency:
    code = validation.text(code, "code", validation.AGENCY_CODE)
    name = validation.text(name, "name", validation.AGENCY_NAME)
    symbol = validation.text(symbol, "symbol", validation.AGENCY_SYMBOL)
    if not code or not name:
        raise InvalidInput("An agency needs a code and a name.")
    if level not in AGENCY_LEVELS:
        raise InvalidInput(f"Agency level must be one of {', '.join(AGENCY_LEVELS)}.")
    if session.scalar(select(Agency).where(Agency.code == code)):
        raise Conflict(f"Agency {code} already exists.")
    parent = agency_by_code(session, parent_code) if parent_code else None
    # The symbol in its documents' numbers ("UBND" in 15/QĐ-UBND); by default the code's first part.
    agency = Agency(code=code, name=name, level=level, parent=parent, symbol=symbol or code.split("-")[0])
    session.add(agency)
    session.flush()
    audit.record(session, actor, "agency.add", "agency", code, {"name": agency.name, "parent": parent_code})
    return agency


def agency_by_code(session: Session, code: str) -> Agency:
    agency = session.scalar(select(Agency).where(Agency.code == code))
    if agency is None:
        raise NotFound(f"No agency with code {code}.")
    return agency


def add_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    *,
    agency_code: str | None = None,
    full_name: str = "",
    citizen_id: str | None = None,
    actor: User | None = None,
) -> User:
    username = validation.text(username, "username", validation.USERNAME)
    full_name = validation.text(full_name, "full_name", validation.FULL_NAME)
    if not username:
        raise InvalidInput("A user needs a username.")
    if role not in Role.ALL:
        raise InvalidInput(f"Role must be one of {', '.join(Role.ALL)}.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"Passwords must have at least {MIN_PASSWORD_LENGTH} characters.")
    if role in Role.STAFF and role != Role.ADMIN and not agency_code:
        raise InvalidInput("Staff users belong to an agency: give --agency.")
    if session.scalar(select(User).where(User.username == username)):
        raise Conflict(f"User {username} already exists.")
    citizen_id = _citizen_id_for(session, role, citizen_id)
    agency = agency_by_code(session, agency_code) if agency_code else None
    user = User(
        username=username,
        full_name=full_name,
        password_hash=_hasher.hash(password),
        role=role,
        agency=agency,
        citizen_id=citizen_id,
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        # Another account took the same username or citizen ID in between (the unique indexes decide).
        raise Conflict(f"User {username} or this citizen ID already exists.") from None
    audit.record(session, actor, "user.add", "user", username, {"role": role, "agency": agency_code})
    return user


def _citizen_id_for(session: Session, role: str, citizen_id: str | None) -> str | None:
    """A citizen's account carries their ID (checked, and no other account's);
    staff accounts carry none."""
    if citizen_id in (None, ""):
        return None
    if role != Role.CITIZEN:
        raise InvalidInput("Only citizen accounts carry a citizen ID.")
    citizen_id = validation.citizen_id(citizen_id)
    if session.scalar(select(User.id).where(User.citizen_id == citizen_id)) is not None:
        raise CitizenIdTaken()
    return citizen_id


def authenticate(session: Session, username: str, password: str) -> User:
    user = session.scalar(select(User).where(User.username == username.strip()))
    try:
        if user is None or not user.active:
            raise VerificationError()
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise Unauthorized("Wrong username or password.") from None
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(session: Session, user: User, name: str = "") -> str:
    token = "dsv_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=_token_hash(token), name=name))
    audit.record(session, user, "token.issue", "user", user.username, {"name": name})
    return token


def user_for_token(session: Session, token: str) -> User:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
    if row is None or row.revoked_at is not None or not row.user.active:
        raise Unauthorized("The API token is not valid.")
    return row.user


def revoke_token(session: Session, token: str) -> None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()


def visible_agency_ids(user: User) -> frozenset[int] | None:
    """The agencies whose documents the user may see; None means all of them.

    Staff see their own agency's documents; citizens see no agency documents
    (their e-copies are granted to them one by one).
    """
    if user.role == Role.ADMIN:
        return None
    if user.role in Role.STAFF and user.agency_id is not None:
        return frozenset({user.agency_id})
    return frozenset()


def require_staff(user: User) -> None:
    if user.role not in Role.STAFF:
        raise Forbidden("Only agency staff can do this.")


def can_see_agency(user: User, agency_id: int) -> bool:
    allowed = visible_agency_ids(user)
    return allowed is None or agency_id in allowed
