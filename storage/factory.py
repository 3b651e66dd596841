"""The one place where configuration picks a storage backend."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from storage.base import ObjectStore


def open_store(settings: Mapping[str, Any]) -> ObjectStore:
    backend = settings["storage_backend"]
    if backend == "filesystem":
        from storage.filesystem import FilesystemStore

        return FilesystemStore(Path(settings["storage_path"]))
    if backend == "minio":
        from storage.minio_store import MinioStore

        return MinioStore(
            endpoint=settings["minio_endpoint"],
            access_key=settings["minio_access_key"],
            secret_key=settings["minio_secret_key"],
            bucket=settings["minio_bucket"],
            secure=bool(settings.get("minio_secure", False)),
            read_seconds=float(settings.get("storage_timeout_seconds") or 30),
        )
    raise ValueError(f"unknown storage_backend {backend!r} (expected 'filesystem' or 'minio')")
