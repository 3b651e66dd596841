"""Object storage for docsvc: immutable blobs addressed by their SHA-256.

One protocol (`ObjectStore`), two implementations (`FilesystemStore` for the
embedded profile, `MinioStore` for the scaled one) and one factory
(`open_store`). Everything streams; nothing holds a whole file in memory.
"""
from storage.base import (
    AnchorExists,
    IntegrityError,
    ObjectMissing,
    ObjectStore,
    RetentionError,
    StoredObject,
    content_key,
    read_object,
)
from storage.factory import open_store

__all__ = [
    "AnchorExists",
    "IntegrityError",
    "ObjectMissing",
    "ObjectStore",
    "RetentionError",
    "StoredObject",
    "content_key",
    "read_object",
    "open_store",
]
