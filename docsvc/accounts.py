"""Agencies, users, passwords, API tokens and who may see what."""
from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from docsvc import audit, validation
from docsvc.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from docsvc.models import Agency, AgencyLevel, ApiToken, Role, User, UserSession, utcnow
from docsvc.permissions import STAFF_ROLES, can_see_agency, is_admin, require_staff

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 8
DEFAULT_TOKEN_DAYS = 90  # Settings.token_days; callers without settings (tests, scripts) get the same


class CitizenIdTaken(Conflict):
    """One citizen, one account: the ID is what their e-copies are matched on."""

    code = "citizen_id_taken"
    default_message = "Another account already has this citizen ID."


def add_agency(
    session: Session, code: str, name: str, *, level: AgencyLevel | str = AgencyLevel.OTHER,
    parent_code: str | None = None, actor: User | None = None, symbol: str = "", org_code: str | None = None,
    contact: dict[str, str] | None = None,
) -> Agency:
    code = validation.text(code, "code", validation.AGENCY_CODE)
    org_code = validation.org_code(org_code) if org_code else None
    name = validation.text(name, "name", validation.AGENCY_NAME)
    symbol = validation.text(symbol, "symbol", validation.AGENCY_SYMBOL)
    if not code or not name:
        raise InvalidInput("An agency needs a code and a name.")
    level = validation.one_of(level, AgencyLevel, "Agency level")
    if session.scalar(select(Agency).where(Agency.code == code)):
        raise Conflict(f"Agency {code} already exists.")
    if org_code and session.scalar(select(Agency).where(Agency.org_code == org_code)):
        raise Conflict(f"Another agency already has the organization code {org_code}.")
    parent = agency_by_code(session, parent_code) if parent_code else None
    # The symbol in its documents' numbers ("UBND" in 15/QĐ-UBND); by default the code's first part.
    agency = Agency(code=code, name=name, level=level, parent=parent, symbol=symbol or code.split("-")[0],
                    org_code=org_code, **agency_contact(contact or {}))
    session.add(agency)
    session.flush()
    audit.record(session, actor, "agency.add", "agency", code,
                 {"name": agency.name, "parent": parent_code, "org_code": org_code})
    return agency


def set_org_code(session: Session, code: str, org_code: str, *, actor: User | None = None) -> Agency:
    """Give an existing agency its organization code (as the national directory publishes it)."""
    org_code = validation.org_code(org_code)
    agency = agency_by_code(session, code)
    other = session.scalar(select(Agency).where(Agency.org_code == org_code, Agency.id != agency.id))
    if other is not None:
        raise Conflict(f"Agency {other.code} already has the organization code {org_code}.")
    agency.org_code = org_code
    audit.record(session, actor, "agency.org_code", "agency", agency.code, {"org_code": org_code})
    return agency


def agency_by_org_code(session: Session, org_code: str) -> Agency:
    agency = session.scalar(select(Agency).where(Agency.org_code == org_code))
    if agency is None:
        raise NotFound(f"No agency here has the organization code {org_code}.")
    return agency


def agency_json(agency: Agency) -> dict:
    return {"code": agency.code, "name": agency.name, "level": agency.level, "symbol": agency.symbol,
            "org_code": agency.org_code, "parent": agency.parent.code if agency.parent else None,
            **{name: getattr(agency, name) for name in CONTACT_FIELDS}}


def list_agencies(session: Session) -> list[Agency]:
    return list(session.scalars(select(Agency).order_by(Agency.code)))


def reported_agency(session: Session, user: User, agency_id: int | None) -> Agency:
    """The agency a staff member's report or register book is about: the
    one asked for, else their own. Another agency's is "not found" unless
    the user may see it (administrators see all), as for documents."""
    require_staff(user)
    agency_id = agency_id if agency_id is not None else user.agency_id
    if agency_id is None:
        raise InvalidInput("Choose an agency.")
    agency = session.get(Agency, agency_id)
    if agency is None or not can_see_agency(user, agency_id):
        raise NotFound("No such agency.")
    return agency


# What an agency's edXML packages say of it beside its name and code, and each one's column size.
CONTACT_FIELDS = {"address": 255, "email": 128, "telephone": 64, "place": 128}


def agency_contact(contact: dict) -> dict[str, str]:
    unknown = set(contact) - set(CONTACT_FIELDS)
    if unknown:
        raise InvalidInput(f"An agency has no field {sorted(unknown)[0]}.")
    return {name: validation.text(contact.get(name), name, limit) for name, limit in CONTACT_FIELDS.items()}


def agency_by_code(session: Session, code: str) -> Agency:
    agency = session.scalar(select(Agency).where(Agency.code == code))
    if agency is None:
        raise NotFound(f"No agency with code {code}.")
    return agency


def add_user(
    session: Session,
    username: str,
    password: str,
    role: Role | str,
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
    role = validation.one_of(role, Role, "Role")
    check_password(password)
    if role in STAFF_ROLES and role != Role.ADMIN and not agency_code:
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


def _citizen_id_for(session: Session, role: Role, citizen_id: str | None) -> str | None:
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
def check_password(password: str) -> None:
    """Refuse a password too weak to be set."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"Passwords must have at least {MIN_PASSWORD_LENGTH} characters.")


@functools.cache
def _dummy_hash() -> str:
    """A hash no password matches, made with the same parameters as real ones."""
    return _hasher.hash(secrets.token_urlsafe(32))


def prepare_sign_in() -> None:
    """Make the dummy hash now (0.2 s), not during the first unknown user's sign-in."""
    _dummy_hash()


def authenticate(session: Session, username: str, password: str) -> User:
    """The user with this username and password, or Unauthorized.

    An unknown or disabled user costs one argon2 verification too (against a
    dummy hash): the answer's time does not tell which usernames exist.
    """
    user = session.scalar(select(User).where(User.username == username.strip()))
    usable = user is not None and user.active
    try:
        _hasher.verify(user.password_hash if usable else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        usable = False
    if not usable:
        raise Unauthorized("Wrong username or password.")
    return user


def user_by_username(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        raise NotFound(f"No user named {username}.")
    return user


def set_password(session: Session, username: str, password: str, *, actor: User | None = None) -> User:
    """An administrator's reset: the new password, and every browser session
    and API token of the user ended (whoever knew the old one is out)."""
    check_password(password)
    user = user_by_username(session, username)
    user.password_hash = _hasher.hash(password)
    end_sessions(session, user)
    revoked = revoke_tokens(session, user)
    audit.record(session, actor, "user.password", "user", user.username, {"tokens_revoked": revoked})
    return user


def set_active(session: Session, username: str, active: bool, *, actor: User | None = None) -> User:
    """Disable (or enable again) a user. A disabled user cannot sign in, their
    sessions end, and their tokens are refused while they stay disabled."""
    user = user_by_username(session, username)
    user.active = active
    if not active:
        end_sessions(session, user)
    audit.record(session, actor, "user.enable" if active else "user.disable", "user", user.username)
    return user


# --- browser sessions -------------------------------------------------------------


def _secret_hash(secret: str) -> str:
    # The secrets are 256 random bits: a fast hash is enough, and a leaked
    # database does not leak usable sessions or tokens.
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def start_session(session: Session, user: User, hours: int) -> str:
    """A new browser session for a signed-in user: the random id its cookie carries."""
    now = utcnow()
    # Expired sessions are nobody's: forgetting them here keeps the table
    # as small as the number of people signed in.
    session.execute(delete(UserSession).where(UserSession.expires_at < now))
    session_id = secrets.token_urlsafe(32)
    session.add(UserSession(user_id=user.id, id_hash=_secret_hash(session_id), created_at=now,
                            expires_at=now + timedelta(hours=hours)))
    return session_id


def user_for_session(session: Session, session_id: str) -> User | None:
    """The user of a live session, or None (unknown, ended, expired or disabled)."""
    row = session.scalar(select(UserSession).where(UserSession.id_hash == _secret_hash(session_id)))
    if row is None or row.expires_at <= utcnow() or not row.user.active:
        return None
    return row.user


def end_session(session: Session, session_id: str) -> None:
    session.execute(delete(UserSession).where(UserSession.id_hash == _secret_hash(session_id)))


def end_sessions(session: Session, user: User) -> int:
    """End every browser session of a user; how many there were."""
    return session.execute(delete(UserSession).where(UserSession.user_id == user.id)).rowcount


# --- API tokens -------------------------------------------------------------------


def issue_token_record(session: Session, user: User, name: str = "", *, days: int = DEFAULT_TOKEN_DAYS) -> tuple[str, ApiToken]:
    """A new API token (shown once) and its row (id, expiry)."""
    token = "dsv_" + secrets.token_urlsafe(32)
    now = utcnow()
    row = ApiToken(user_id=user.id, token_hash=_secret_hash(token), name=name, created_at=now,
                   expires_at=now + timedelta(days=days))
    session.add(row)
    session.flush()
    audit.record(session, user, "token.issue", "user", user.username, {"name": name, "token_id": row.id})
    return token, row


def issue_token(session: Session, user: User, name: str = "", *, days: int = DEFAULT_TOKEN_DAYS) -> str:
    return issue_token_record(session, user, name, days=days)[0]


def token_expiry(row: ApiToken, token_days: int) -> datetime:
    return row.expires_at or row.created_at + timedelta(days=token_days)


def user_for_token(session: Session, token: str, *, token_days: int = DEFAULT_TOKEN_DAYS) -> User:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _secret_hash(token)))
    if (row is None or row.revoked_at is not None or token_expiry(row, token_days) <= utcnow()
            or not row.user.active):
        raise Unauthorized("The API token is not valid (unknown, expired or revoked).")
    return row.user


def list_tokens(session: Session, actor: User, username: str | None = None) -> list[ApiToken]:
    """The API tokens of the actor, or of any user for an administrator."""
    owner = actor
    if username is not None and username != actor.username:
        if not is_admin(actor):
            raise Forbidden("Only an administrator can see another user's tokens.")
        owner = user_by_username(session, username)
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == owner.id).order_by(ApiToken.id)))


def revoke_token_id(session: Session, actor: User, token_id: int) -> ApiToken:
    """Revoke one token: its owner or an administrator may (the CLI operator is one)."""
    row = session.get(ApiToken, token_id)
    if row is None or (not is_admin(actor) and row.user_id != actor.id):
        raise NotFound(f"No API token {token_id} of yours.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(session, actor, "token.revoke", "user", row.user.username, {"token_id": row.id})
    return row


def revoke_tokens(session: Session, user: User) -> int:
    """Revoke every live token of a user; how many there were."""
    rows = list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))))
    for row in rows:
        row.revoked_at = utcnow()
    return len(rows)


