"""Blobs in a local folder: the embedded profile's object store."""
from __future__ import annotations

import fcntl
import json
import os
import re
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from storage.base import (
    CHUNK_SIZE,
    AnchorExists,
    HashingReader,
    Hidden,
    IntegrityError,
    ObjectMissing,
    RetentionError,
    StoredObject,
    VerifyingReader,
    check_anchor_name,
    content_key,
    hash_file,
    is_content_key,
    retention_date,
    sha256_of_key,
)

# What hide names a set-aside file: the object's hash, a dot, a random suffix.
_HIDDEN_RE = re.compile(r"^([0-9a-f]{64})\.[0-9a-f]{32}$")


class FilesystemStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        # Temporary files live inside the root so the final rename is atomic.
        self._tmp = self.root / ".incoming"
        # Retention dates, one small JSON sidecar per retained object; the
        # application refuses the delete (anyone with shell access could
        # still remove the file: the embedded profile has no WORM storage).
        self._retention = self.root / ".retention"
        # Anchors (named, write-once objects such as audit checkpoints).
        self._anchors = self.root / ".anchors"
        # Objects the orphan sweep set aside, until it puts them back or removes them.
        self._hidden = self.root / ".hidden"

    def ensure_ready(self) -> None:
        self._tmp.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        sha256_of_key(key)  # rejects anything that is not a content key (no ../)
        return self.root / key

    def put(
        self, stream: BinaryIO, media_type: str, *, sha256: str | None = None, size: int | None = None
    ) -> StoredObject:
        self.ensure_ready()
        reader = HashingReader(stream)
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp)
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := reader.read(CHUNK_SIZE):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if sha256 is not None and sha256 != reader.sha256:
                raise IntegrityError("the stream's bytes do not match the hash given for them")
            key = content_key(reader.sha256)
            final = self._path(key)
            created = not final.exists()
            if created:
                final.parent.mkdir(parents=True, exist_ok=True)
                os.chmod(tmp_name, 0o444)
                os.replace(tmp_name, final)
            return StoredObject(key, reader.sha256, reader.size, media_type, created)
        finally:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)

    def put_file(self, path: Path, media_type: str, *, sha256: str | None = None,
                 trusted: bool = False) -> StoredObject:
        # It copies the file anyway, and hashing while copying costs little next to the fsync.
        sha256 = sha256 or hash_file(path)[0]
        with open(path, "rb") as handle:
            return self.put(handle, media_type, sha256=sha256)

    def open(self, key: str) -> VerifyingReader:
        path = self._path(key)
        try:
            raw = open(path, "rb")  # noqa: SIM115 (the returned reader owns and closes it)
        except FileNotFoundError:
            raise ObjectMissing(key) from None
        return VerifyingReader(raw, sha256_of_key(key))

    @contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        path = self._path(key)
        if not path.exists():
            raise ObjectMissing(key)
        # The file is already local: verify it in place rather than copying.
        if hash_file(path)[0] != sha256_of_key(key):
            raise IntegrityError(f"stored object {key} is corrupt: its bytes do not match its hash")
        yield path

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            raise ObjectMissing(key) from None

    def iter_keys(self) -> Iterator[str]:
        for key, _modified in self.iter_objects():
            yield key

    def iter_objects(self) -> Iterator[tuple[str, datetime]]:
        # Sorted at each level of the fan-out, so the keys come in key order
        # and only one folder's listing is held at a time.
        top = self.root / "sha256"
        for first in _sorted_folders(top):
            for second in _sorted_folders(first):
                entries = sorted((entry for entry in os.scandir(second) if entry.is_file()), key=lambda e: e.name)
                for entry in entries:
                    key = f"sha256/{first.name}/{second.name}/{entry.name}"
                    if is_content_key(key):
                        try:
                            modified = entry.stat().st_mtime
                        except FileNotFoundError:  # removed since the folder was listed
                            continue
                        yield key, datetime.fromtimestamp(modified, UTC)

    def delete(self, key: str) -> None:
        path = self._path(key)
        with self._retention_lock():
            until = self.retained_until(key)
            if until is not None and until > datetime.now(UTC):
                raise RetentionError(key, until)
            try:
                os.chmod(path, 0o644)
                path.unlink()
            except FileNotFoundError:
                pass
            if until is not None:
                self._sidecar(key).unlink(missing_ok=True)

    def hide(self, key: str) -> Hidden | None:
        # A rename is atomic: a writer either found the object before it
        # (and its row is waited for) or finds no object and stores it anew.
        path = self._path(key)
        self._hidden.mkdir(parents=True, exist_ok=True)
        # Named by its hash first, so that an operator can put back by hand what a sweep killed mid-way left.
        aside = self._hidden / f"{sha256_of_key(key)}.{uuid.uuid4().hex}"
        with self._retention_lock():
            until = self.retained_until(key)
            if until is not None and until > datetime.now(UTC):
                raise RetentionError(key, until)
            try:
                os.rename(path, aside)
            except FileNotFoundError:
                return None
        return Hidden(key, aside.name)

    def reveal(self, hidden: Hidden) -> None:
        aside, path = self._aside(hidden), self._path(hidden.key)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(aside, path)
        except FileExistsError:  # a writer stored the same bytes again meanwhile
            pass
        except FileNotFoundError:  # another sweep finished it first
            return
        aside.unlink(missing_ok=True)

    def purge(self, hidden: Hidden) -> None:
        aside = self._aside(hidden)
        with self._retention_lock():
            # hide refuses a retained object; this one was locked since (by
            # hand, a restore) and stays, whatever copy of it is at its key.
            until = self.retained_until(hidden.key)
            if until is not None and until > datetime.now(UTC):
                raise RetentionError(hidden.key, until)
            try:
                os.chmod(aside, 0o644)
                aside.unlink()
            except FileNotFoundError:  # another sweep finished it first
                pass

    def iter_hidden(self) -> Iterator[tuple[Hidden, datetime]]:
        # One flat folder, streamed; a rename keeps the time the bytes were written.
        try:
            entries = os.scandir(self._hidden)
        except FileNotFoundError:
            return
        with entries:
            for entry in entries:
                match = _HIDDEN_RE.match(entry.name)
                if not match:
                    continue
                try:
                    modified = entry.stat().st_mtime
                except FileNotFoundError:  # finished since the folder was listed
                    continue
                yield Hidden(content_key(match.group(1)), entry.name), datetime.fromtimestamp(modified, UTC)

    def _aside(self, hidden: Hidden) -> Path:
        match = _HIDDEN_RE.match(hidden.token)
        if not match or content_key(match.group(1)) != hidden.key:
            raise ValueError(f"not a hidden object of {hidden.key}: {hidden.token!r}")
        return self._hidden / hidden.token

    def _sidecar(self, key: str) -> Path:
        sha256_of_key(key)
        return self._retention / f"{key}.json"

    @contextmanager
    def _retention_lock(self) -> Iterator[None]:
        # One lock for retain and delete, so a delete cannot slip between a
        # retention check and a retain, and two retains cannot shorten each other.
        self._retention.mkdir(parents=True, exist_ok=True)
        with open(self._retention / ".lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def retain(self, key: str, until: datetime) -> None:
        until = retention_date(until)
        path = self._path(key)
        with self._retention_lock():
            if not path.exists():
                raise ObjectMissing(key)
            current = self.retained_until(key)
            if current is None or current < until:
                sidecar = self._sidecar(key)
                sidecar.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp_name = tempfile.mkstemp(dir=self._retention)
                with os.fdopen(fd, "w") as out:
                    json.dump({"key": key, "retain_until": until.isoformat()}, out)
                    out.flush()
                    os.fsync(out.fileno())
                os.chmod(tmp_name, 0o444)
                os.replace(tmp_name, sidecar)
            os.chmod(path, 0o444)

    def retained_until(self, key: str) -> datetime | None:
        try:
            data = json.loads(self._sidecar(key).read_text())
        except FileNotFoundError:
            return None
        return datetime.fromisoformat(data["retain_until"])

    def put_anchor(self, name: str, data: bytes, until: datetime | None) -> None:
        # Write-once and read-only; the retention date beside it, as for objects.
        path = self._anchors / check_anchor_name(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp_name, 0o444)
            try:
                os.link(tmp_name, path)  # never replaces an existing anchor
            except FileExistsError:
                raise AnchorExists(name) from None
        finally:
            os.unlink(tmp_name)
        if until is not None:
            sidecar = self._retention / ".anchors" / f"{name}.json"
            sidecar.parent.mkdir(parents=True, exist_ok=True)
            sidecar.write_text(json.dumps({"anchor": name, "retain_until": retention_date(until).isoformat()}))
            os.chmod(sidecar, 0o444)

    def anchor_names(self, prefix: str) -> list[str]:
        folder = self._anchors / prefix.rsplit("/", 1)[0] if "/" in prefix else self._anchors
        if not folder.is_dir():
            return []
        names = (str(p.relative_to(self._anchors)) for p in folder.rglob("*") if p.is_file())
        return sorted(n for n in names if n.startswith(prefix) and not Path(n).name.startswith("."))

    def read_anchor(self, name: str) -> bytes:
        try:
            return (self._anchors / check_anchor_name(name)).read_bytes()
        except FileNotFoundError:
            raise ObjectMissing(name) from None

    def usage(self) -> int:
        """Bytes stored, for tests and the admin page."""
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())



def _sorted_folders(folder: Path) -> list[Path]:
    try:
        return sorted(Path(entry.path) for entry in os.scandir(folder) if entry.is_dir())
    except FileNotFoundError:
        return []
