"""Who signs with which key: a person's or an agency's PKCS#12 file or
PKCS#11 token, and the image its signature shows (the handwritten signature,
or the red seal). Passphrases and PINs are never stored; the signer types
them, and the key is open only while their signing runs."""
from __future__ import annotations

import stat
from pathlib import Path

from PIL import Image, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import Session

from docsvc import audit, validation
from docsvc.errors import InvalidInput, NotFound
from docsvc.models import CredentialOwner, CredentialSource, SigningCredential, User
from docsvc.runtime import Runtime
from signing import Pkcs11Key, Pkcs12Key
from signing.keys import KeySource
from storage import read_object


class NoSigningKey(NotFound):
    code = "no_signing_key"


def add_credential(
    rt: Runtime,
    actor: User,
    *,
    owner_type: CredentialOwner,
    owner_id: int,
    source: CredentialSource,
    location: str,
    image: Path,
    token_label: str = "",
    key_label: str = "",
) -> SigningCredential:
    """Record (or replace) the key and image of a person or agency."""
    if owner_type not in tuple(CredentialOwner) or source not in tuple(CredentialSource):
        raise InvalidInput("A credential belongs to a user or an agency and is a pkcs12 file or a pkcs11 token.")
    location = validation.text(location, "location", validation.PATH)
    token_label = validation.text(token_label, "token_label", validation.LABEL)
    key_label = validation.text(key_label, "key_label", validation.LABEL)
    if not Path(location).exists():
        raise InvalidInput(f"{location} does not exist.")
    try:
        with Image.open(image) as picture:
            if picture.format != "PNG":
                raise InvalidInput("The signature or seal image must be a PNG (with a transparent background).")
    except (OSError, UnidentifiedImageError):
        raise InvalidInput(f"Cannot read the image {image}.") from None
    stored = rt.store.put_file(Path(image), "image/png")
    with rt.write() as session:
        credential = session.scalar(
            select(SigningCredential).where(SigningCredential.owner_type == owner_type, SigningCredential.owner_id == owner_id)
        ) or SigningCredential(owner_type=owner_type, owner_id=owner_id)
        credential.source = source
        credential.location = str(Path(location).resolve()) if source == CredentialSource.PKCS12 else location
        credential.token_label, credential.key_label, credential.image_key = token_label, key_label, stored.key
        session.add(credential)
        session.flush()
        audit.record(session, actor, "credential.add", owner_type, str(owner_id), {"source": source})
        session.expunge(credential)
        return credential


def readable_by_others(path: str | Path) -> bool:
    """A key file that other local users can read (group or world bits): its
    passphrase is then all that protects it."""
    try:
        return bool(Path(path).stat().st_mode & (stat.S_IRGRP | stat.S_IROTH))
    except OSError:
        return False


def credential_for(session: Session, owner_type: CredentialOwner, owner_id: int) -> SigningCredential:
    credential = session.scalar(
        select(SigningCredential).where(SigningCredential.owner_type == owner_type, SigningCredential.owner_id == owner_id)
    )
    if credential is None:
        whose = "your" if owner_type == CredentialOwner.USER else "the agency's"
        raise NoSigningKey(f"No signing key is set up for {whose} signature; ask the administrator (docsvc key add).")
    return credential


def open_key(credential: SigningCredential, secret: str) -> KeySource:
    """Unlock the key (a wrong passphrase or PIN raises signing's WrongPassphrase)."""
    if credential.source == CredentialSource.PKCS12:
        return Pkcs12Key(credential.location, secret)
    return Pkcs11Key(credential.location, secret, token_label=credential.token_label or None,
                     key_label=credential.key_label or None)


def image_bytes(rt: Runtime, credential: SigningCredential) -> bytes:
    return read_object(rt.store, credential.image_key)


def has_credential(session: Session, owner_type: CredentialOwner, owner_id: int) -> bool:
    return session.scalar(
        select(SigningCredential.id).where(SigningCredential.owner_type == owner_type, SigningCredential.owner_id == owner_id)
    ) is not None

