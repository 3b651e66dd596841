"""The storage contract and the streaming helpers both backends share."""
from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO, Protocol

CHUNK_SIZE = 1024 * 1024
_KEY_RE = re.compile(r"^sha256/([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{64})$")


class IntegrityError(Exception):
    """A stored object's bytes no longer match the hash in its key."""


class ObjectMissing(KeyError):
    """No object is stored under that key."""


class RetentionError(Exception):
    """The object is under retention (a signed record): it cannot be deleted yet."""

    def __init__(self, key: str, until: datetime) -> None:
        self.key = key
        self.until = until
        super().__init__(
            f"stored object {key} is retained until {until:%Y-%m-%d %H:%M:%S} UTC and cannot be deleted before then"
        )


def retention_date(until: datetime) -> datetime:
    """A retention date as stores keep it: aware, UTC, whole seconds (rounded
    up, so normalising never shortens it), and in the future."""
    if until.tzinfo is None:
        raise ValueError("a retention date must carry its time zone")
    until = until.astimezone(UTC)
    if until.microsecond:
        until = until.replace(microsecond=0) + timedelta(seconds=1)
    if until <= datetime.now(UTC):
        raise ValueError(f"a retention date must be in the future, not {until:%Y-%m-%d %H:%M:%S} UTC")
    return until


@dataclass(frozen=True)
class StoredObject:
    key: str
    sha256: str
    size: int
    media_type: str
    # False when identical content was already stored: callers that roll back
    # must only delete objects they created.
    created: bool


def content_key(sha256: str) -> str:
    """The key of a blob: its hash, fanned out so no folder grows huge."""
    sha256 = sha256.lower()
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
    return f"sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def is_content_key(key: str) -> bool:
    return _KEY_RE.match(key) is not None


def sha256_of_key(key: str) -> str:
    match = _KEY_RE.match(key)
    if not match:
        raise ValueError(f"not a content key: {key!r}")
    return match.group(3)


class HashingReader:
    """Wraps a binary stream; hashes and counts the bytes as they pass through."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._hash = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        if data:
            self._hash.update(data)
            self.size += len(data)
        return data

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()


class RawStream(Protocol):
    """What a reader is built on: a file, or an HTTP response (urllib3's, from MinIO)."""

    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


class VerifyingReader:
    """Streams an object and raises IntegrityError at its end if the hash is wrong.

    A reader that stops early cannot be checked; callers that need the
    guarantee read to the end (``iter_chunks`` and ``copy_to`` do).
    """

    def __init__(self, raw: RawStream, expected_sha256: str, on_close: Callable[[], object] | None = None) -> None:
        self._raw = raw
        self._expected = expected_sha256
        self._hash = hashlib.sha256()
        self._checked = False
        self._on_close = on_close

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        if data:
            self._hash.update(data)
        elif size != 0 and not self._checked:
            self._checked = True
            if self._hash.hexdigest() != self._expected:
                raise IntegrityError(
                    f"stored object sha256/{self._expected[:12]}… is corrupt: its bytes do not match its hash"
                )
        return data

    def iter_chunks(self, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        while True:
            chunk = self.read(chunk_size)
            if not chunk:
                return
            yield chunk

    def close(self) -> None:
        self._raw.close()
        if self._on_close:
            self._on_close()

    def __enter__(self) -> VerifyingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_object(store: ObjectStore, key: str) -> bytes:
    """A stored object whole, checked against its hash: for the files that are
    used whole (a PDF to sign or verify, a seal image, extracted text)."""
    with store.open(key) as reader:
        return b"".join(reader.iter_chunks())


_ANCHOR_RE = re.compile(r"^[a-z0-9][a-z0-9-]*(/[a-z0-9][a-z0-9.-]*)+$")


class AnchorExists(Exception):
    """A named anchor object is written once; this name is taken."""


def check_anchor_name(name: str) -> str:
    """Anchor names are a folder and a file name of lower-case letters,
    digits, dots and dashes: never a path out of the store, never a content key."""
    if not _ANCHOR_RE.match(name) or ".." in name or name.startswith("sha256/"):
        raise ValueError(f"not an anchor name: {name!r}")
    return name


def hash_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_SIZE):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


@dataclass(frozen=True)
class Hidden:
    """An object set aside by ``hide``: invisible to every reader and writer
    (a writer that puts the same bytes now stores them anew), and either put
    back by ``reveal`` or removed for good by ``purge``. ``token`` is the
    backend's: the set-aside file, or the versions a delete marker hides."""

    key: str
    token: str


class ObjectStore(Protocol):
    """Immutable, content-addressed blobs.

    ``put`` streams a file in and returns its key; the same bytes always get
    the same key, so storing twice is harmless. ``open`` streams it back and
    verifies the hash. Objects are never modified, only deleted when the row
    that referenced them was never committed. A retained object (a signed
    record, see docsvc/signatures/retention.py) cannot be deleted before its date.
    """

    def ensure_ready(self) -> None:
        """Create the bucket or folder (and enable versioning) if needed."""

    def put(
        self, stream: BinaryIO, media_type: str, *, sha256: str | None = None, size: int | None = None
    ) -> StoredObject:
        """Store a stream. ``sha256``, when the caller already knows it, lets the
        backend write straight to the final key; it is still verified. ``size``,
        when known, spares the backend from guessing the stream's length."""

    def put_file(self, path: Path, media_type: str, *, sha256: str | None = None,
                 trusted: bool = False) -> StoredObject:
        """Store a local file: one upload, hashing it first unless the hash is
        given. `trusted`: the given hash was taken by docsvc as it wrote the
        file, which only docsvc writes (its upload spool), so a backend that
        would hash it again while storing may skip that; any other file (a
        user's, by path) may change after it was hashed and is verified."""

    def open(self, key: str) -> VerifyingReader: ...

    def local_path(self, key: str) -> AbstractContextManager[Path]:
        """A verified local file with the object's bytes, for tools that need a path."""

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int: ...

    def iter_keys(self) -> Iterator[str]:
        """Every content key stored, in key order, as the listing streams
        (never all at once): for `docsvc check`, which looks for objects no
        row refers to. Anchors and unfinished uploads are not content."""

    def iter_objects(self) -> Iterator[tuple[str, datetime]]:
        """What ``iter_keys`` lists, each with when it was last written (UTC):
        the orphan sweep (docsvc/upkeep/sweep.py) leaves young objects alone."""

    def delete(self, key: str) -> None:
        """Remove the object; raises RetentionError while it is retained."""

    # The orphan sweep's two steps: set an object aside, then, once the
    # database has had time to show any row a writer was committing for it,
    # put it back or remove it (docsvc/upkeep/sweep.py says why in two steps).

    def hide(self, key: str) -> Hidden | None:
        """Set the object aside (None if there is none); RetentionError while it is retained."""

    def reveal(self, hidden: Hidden) -> None:
        """Put a hidden object back (harmless if a writer stored the same bytes
        meanwhile, or if another sweep has already put it back or removed it)."""

    def purge(self, hidden: Hidden) -> None:
        """Remove a hidden object for good; a writer's new copy of the same bytes
        stays, and so does what is no longer hidden (put back meanwhile).
        RetentionError, removing nothing, while it is retained."""

    def iter_hidden(self) -> Iterator[tuple[Hidden, datetime]]:
        """The objects hidden and neither put back nor purged yet (a sweep at
        work, or one killed between its two steps), each with when its bytes
        were last written, streamed: the next sweep finishes them, `docsvc
        check` reports them. Only content keys."""

    def retain(self, key: str, until: datetime) -> None:
        """Keep the object undeletable until ``until`` (aware). Only ever
        extends: a date earlier than the one in force changes nothing."""

    def retained_until(self, key: str) -> datetime | None:
        """The retention date in force (UTC; possibly past), or None if the
        object was never retained or does not exist."""

    # Anchors: a few small named objects outside the content-addressed space,
    # written once and (with `until`) retained, that the database cannot
    # rewrite: the audit log's checkpoints (docsvc/audit_anchor.py).

    def put_anchor(self, name: str, data: bytes, until: datetime | None) -> None:
        """Write `data` under `name` once (AnchorExists if it is taken),
        retained until `until` when given."""

    def anchor_names(self, prefix: str) -> list[str]:
        """The anchors whose names start with `prefix`, sorted."""

    def read_anchor(self, name: str) -> bytes:
        """An anchor's bytes (ObjectMissing if there is none)."""
