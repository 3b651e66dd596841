"""The object store keeps originals byte for byte, streams them in both
directions with flat memory, and notices when stored bytes were changed."""
from __future__ import annotations

import hashlib
import io
import os
import tracemalloc

import pytest

from storage import IntegrityError, ObjectMissing, content_key, read_object


class PatternStream:
    """A large pseudo-file made on the fly, so the test itself holds no big buffer."""

    def __init__(self, size: int) -> None:
        self.remaining = size
        self.block = hashlib.sha256(b"docsvc").digest() * 32768  # 1 MiB

    def read(self, n: int = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        n = self.remaining if n < 0 else min(n, self.remaining)
        n = min(n, len(self.block))
        self.remaining -= n
        return self.block[:n]


def corrupt(store, key: str) -> None:
    if hasattr(store, "client"):
        # Someone with the storage credentials overwrites the object.
        store.client.put_object(store.bucket, key, io.BytesIO(b"forged"), 6)
    else:
        path = store.root / key
        os.chmod(path, 0o644)
        path.write_bytes(b"forged")


def test_put_and_read_back_untouched(rt):
    data = "Quyết định số 15/QĐ-UBND".encode() * 1000
    stored = rt.store.put(io.BytesIO(data), "application/pdf")
    assert stored.key == content_key(hashlib.sha256(data).hexdigest())
    assert (stored.size, stored.created) == (len(data), True)
    with rt.store.open(stored.key) as reader:
        assert b"".join(reader.iter_chunks()) == data
    assert read_object(rt.store, stored.key) == data
    with rt.store.local_path(stored.key) as path:
        assert path.read_bytes() == data
    # Same bytes, same key: storing twice keeps one object.
    again = rt.store.put(io.BytesIO(data), "application/pdf", sha256=stored.sha256)
    assert again.key == stored.key and again.created is False


def test_a_wrong_hash_claim_stores_nothing(rt):
    with pytest.raises(IntegrityError):
        rt.store.put(io.BytesIO(b"real bytes"), "application/pdf", sha256=hashlib.sha256(b"other").hexdigest())
    assert not rt.store.exists(content_key(hashlib.sha256(b"other").hexdigest()))


def test_changed_bytes_are_detected_on_read(rt):
    stored = rt.store.put(io.BytesIO(b"%PDF-1.7 original scan"), "application/pdf")
    corrupt(rt.store, stored.key)
    with pytest.raises(IntegrityError), rt.store.open(stored.key) as reader:
        b"".join(reader.iter_chunks())
    with pytest.raises(IntegrityError):
        read_object(rt.store, stored.key)
    with pytest.raises(IntegrityError), rt.store.local_path(stored.key):
        pass


def test_missing_and_deleted_objects(rt):
    stored = rt.store.put(io.BytesIO(b"temporary"), "text/plain")
    rt.store.delete(stored.key)
    assert not rt.store.exists(stored.key)
    with pytest.raises(ObjectMissing):
        rt.store.open(stored.key)


def test_the_store_lists_its_content_keys_in_order_and_nothing_else(rt):
    assert list(rt.store.iter_keys()) == []
    keys = {rt.store.put(io.BytesIO(f"công văn số {n}".encode()), "application/pdf").key for n in range(5)}
    # Anchors and an upload cut short are in the store but are not content.
    rt.store.put_anchor("audit/checkpoint-test.json", b"{}", None)
    rt.store.put(io.BytesIO(b"gone again"), "text/plain")
    rt.store.delete(content_key(hashlib.sha256(b"gone again").hexdigest()))
    if hasattr(rt.store, "client"):
        rt.store.client.put_object(rt.store.bucket, "incoming/half-done", io.BytesIO(b"part"), 4)
    else:
        (rt.store.root / ".incoming" / "tmp-half-done").write_bytes(b"part")

    listed = list(rt.store.iter_keys())
    assert listed == sorted(keys)


def _peak_memory_of_round_trip(rt, size: int) -> int:
    tracemalloc.start()
    try:
        stored = rt.store.put(PatternStream(size), "application/pdf")
        with rt.store.open(stored.key) as reader:
            read_back = sum(len(chunk) for chunk in reader.iter_chunks())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert stored.size == read_back == size
    rt.store.delete(stored.key)
    return peak


def test_large_streams_use_flat_memory(rt):
    small = _peak_memory_of_round_trip(rt, 40 * 1024 * 1024)
    large = _peak_memory_of_round_trip(rt, 400 * 1024 * 1024)
    # Ten times the bytes, the same buffers: memory does not grow with the file.
    assert large < small * 1.25 + 1024 * 1024, f"{small / 2**20:.0f} MiB vs {large / 2**20:.0f} MiB"
    assert large < 64 * 1024 * 1024, f"peak Python memory {large / 2**20:.0f} MiB"


@pytest.mark.parametrize("backend", ["scaled"], indirect=True)
def test_minio_bucket_has_versioning_and_object_lock(backend, rt):
    assert rt.store.client.get_bucket_versioning(rt.store.bucket).status == "Enabled"
    assert rt.store.client.get_object_lock_config(rt.store.bucket) is not None
