"""Blobs in a local folder: the embedded profile's object store."""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator

from storage.base import (
    CHUNK_SIZE,
    HashingReader,
    IntegrityError,
    ObjectMissing,
    StoredObject,
    VerifyingReader,
    content_key,
    hash_file,
    sha256_of_key,
)


class FilesystemStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        # Temporary files live inside the root so the final rename is atomic.
        self._tmp = self.root / ".incoming"

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

    def put_file(self, path: Path, media_type: str, *, sha256: str | None = None) -> StoredObject:
        sha256 = sha256 or hash_file(path)[0]
        with open(path, "rb") as handle:
            return self.put(handle, media_type, sha256=sha256)

    def open(self, key: str) -> VerifyingReader:
        path = self._path(key)
        try:
            raw = open(path, "rb")
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

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            os.chmod(path, 0o644)
            path.unlink()
        except FileNotFoundError:
            pass

    def usage(self) -> int:
        """Bytes stored, for tests and the admin page."""
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())

