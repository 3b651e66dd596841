"""Stored objects and the rows that point at them: store, then record, else
remove the stored object.

Storage and the database share no transaction, so every writer (an upload,
a searchable PDF, a signature, an issued e-copy, a renewed archive
time-stamp) stores the bytes first, so that no row ever points at nothing,
and removes them again if the rows never commit. Only what this call
created goes (identical bytes share one content-addressed key, and another
document may be pointing at them already), and a retained record's object
stays whatever happens.

    with store_then_record(rt) as store:
        stored = store.put(io.BytesIO(data), "application/pdf")
        with rt.write() as session:
            ...  # rows pointing at stored.key
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import func, select

from docsvc.models import DocumentFile
from docsvc.runtime import Runtime
from storage.base import RetentionError, StoredObject

log = logging.getLogger(__name__)


class UnrecordedObjects:
    """The runtime's store, remembering what it created for rows not yet committed."""

    def __init__(self, rt: Runtime) -> None:
        self._rt = rt
        self.created: list[str] = []

    def put(self, stream: BinaryIO, media_type: str, *, sha256: str | None = None,
            size: int | None = None) -> StoredObject:
        return self.track(self._rt.store.put(stream, media_type, sha256=sha256, size=size))

    def put_file(self, path: Path, media_type: str, *, sha256: str | None = None,
                 trusted: bool = False) -> StoredObject:
        return self.track(self._rt.store.put_file(path, media_type, sha256=sha256, trusted=trusted))

    def track(self, stored: StoredObject) -> StoredObject:
        """An object another function stored, to be removed like the rest."""
        if stored.created:
            self.created.append(stored.key)
        return stored


@contextmanager
def store_then_record(
    rt: Runtime, *, undo_on: type[BaseException] | tuple[type[BaseException], ...] = BaseException
) -> Iterator[UnrecordedObjects]:
    """Objects stored through the block's store are removed if the block fails
    with `undo_on` (anything, by default); the failure still propagates. A
    narrower `undo_on` keeps them for a retry that will record them after all
    (the worker's searchable PDF, whose OCR took minutes)."""
    store = UnrecordedObjects(rt)
    try:
        yield store
    except undo_on:
        for key in store.created:
            remove_if_unreferenced(rt, key)
        raise


def remove_if_unreferenced(rt: Runtime, key: str) -> None:
    with rt.read() as session:
        referenced = session.scalar(select(func.count()).select_from(DocumentFile).where(DocumentFile.storage_key == key))
    if not referenced:
        try:
            rt.store.delete(key)
        except RetentionError as exc:
            # A retained record outlives its rows; the cleanup must not fail the caller.
            log.warning("kept a retained object instead of removing it: %s", exc)
