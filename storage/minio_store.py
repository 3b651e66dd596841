"""Blobs in MinIO (or any S3 service): the scaled profile's object store."""
from __future__ import annotations

import io
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, cast

import certifi
import urllib3
from minio import Minio
from minio import time as s3_time
from minio.commonconfig import COMPLIANCE, ENABLED, CopySource
from minio.datatypes import Object
from minio.error import S3Error
from minio.retention import Retention
from minio.signer import sign_v4_s3
from minio.versioningconfig import VersioningConfig

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

# The client holds a few copies of one part at a time (about six), so the part
# size sets the memory an upload costs whatever the file's size; 8 MiB parts
# keep that near 50 MiB and still allow 80 GB under S3's 10,000-part limit.
PART_SIZE = 8 * 1024 * 1024
# A body of known hash and size up to this (S3's limit for one PUT) goes in
# one streamed PUT whose x-amz-content-sha256 is that hash: MinIO checks the
# bytes against it and stores nothing if they differ, so the client hashes
# nothing (no SigV4 hash per part, no HashingReader) and holds one 1 MiB
# buffer instead of part copies (bench/upload.py, bench/README.md "Issue 12").
SINGLE_PUT_BYTES = 5 * 1024 * 1024 * 1024
_NOT_FOUND = {"NoSuchKey", "NoSuchObject", "NoSuchVersion"}
# Named anchors (audit checkpoints) live beside the content keys, never among them.
ANCHORS = "anchors/"


# MinIO's client waits 5 minutes for an answer by default and retries five
# times, silences included: a MinIO that stopped answering held an upload's
# thread for half an hour. Connections are retried RETRIES times; an answer
# (or the next bytes of one) must come within read_seconds (the setting
# storage_timeout_seconds), once.
CONNECT_SECONDS, READ_SECONDS, RETRIES = 5.0, 30.0, 2


def _beneath_markers(entries: list[Object]) -> list[Object]:
    """A key's versions that a delete marker hides: all of them when the
    latest entry is a marker, else those written before its newest marker
    (a writer uploaded above it). The listing's order is not relied on."""
    markers = [obj for obj in entries if obj.is_delete_marker and obj.last_modified is not None]
    if not markers:
        return []
    versions = [obj for obj in entries if not obj.is_delete_marker and obj.last_modified is not None]
    if any(obj.is_latest == "true" for obj in markers):
        return versions
    newest = max(cast(datetime, obj.last_modified) for obj in markers)
    return [obj for obj in versions if cast(datetime, obj.last_modified) < newest]


def _http_client(secure: bool, read_seconds: float) -> urllib3.PoolManager:
    retries = urllib3.Retry(total=RETRIES, connect=RETRIES, read=0, status=RETRIES, backoff_factor=0.2,
                            status_forcelist=[500, 502, 503, 504])
    timeout = urllib3.Timeout(connect=min(CONNECT_SECONDS, read_seconds), read=read_seconds)
    if secure:
        return urllib3.PoolManager(timeout=timeout, retries=retries, maxsize=16, cert_reqs="CERT_REQUIRED",
                                   ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where())
    return urllib3.PoolManager(timeout=timeout, retries=retries, maxsize=16)


def _exactly(stream: BinaryIO, size: int) -> Iterator[memoryview]:
    """`size` bytes of `stream`, a reused buffer's worth at a time; IntegrityError if it ends first."""
    buffer = bytearray(min(CHUNK_SIZE, size))
    view = memoryview(buffer)
    readinto = getattr(stream, "readinto", None)
    left = size
    while left:
        want = view[:min(left, len(buffer))]
        if readinto is not None:
            got = readinto(want)
        else:
            data = stream.read(len(want))
            got = len(data)
            want[:got] = data
        if not got:
            raise IntegrityError(f"the stream ended {left:,} bytes before its size")
        left -= got
        yield view[:got]


class MinioStore:
    def __init__(self, endpoint: str, access_key: str, secret_key: str, bucket: str, secure: bool = False,
                 read_seconds: float = READ_SECONDS) -> None:
        self.client = Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=secure,
                            http_client=_http_client(secure, read_seconds))
        self.bucket = bucket

    def ensure_ready(self) -> None:
        if not self.client.bucket_exists(self.bucket):
            try:
                # Object lock can only be switched on at creation; retention of
                # signed records relies on it, and it implies versioning.
                self.client.make_bucket(self.bucket, object_lock=True)
            except S3Error as exc:
                if exc.code not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                    raise
        self.client.set_bucket_versioning(self.bucket, VersioningConfig(ENABLED))

    def _stat(self, key: str) -> Object | None:
        try:
            return self.client.stat_object(self.bucket, key)
        except S3Error as exc:
            if exc.code in _NOT_FOUND:
                return None
            raise

    def put(
        self, stream: BinaryIO, media_type: str, *, sha256: str | None = None, size: int | None = None
    ) -> StoredObject:
        reader = HashingReader(stream)
        # put_object only reads its data; its stub asks for a whole BinaryIO.
        data = cast(BinaryIO, reader)
        length = -1 if size is None else size
        if sha256 is not None:
            # Known hash: one upload straight to the final key, verified as it streams.
            key = content_key(sha256)
            if self._stat(key) is not None:
                return StoredObject(key, sha256, self.size(key), media_type, created=False)
            if size is not None and 0 < size <= SINGLE_PUT_BYTES:
                self._put_checked(stream, key, sha256, size, media_type)
                return StoredObject(key, sha256, size, media_type, created=True)
            self.client.put_object(self.bucket, key, data, length=length, part_size=PART_SIZE, content_type=media_type)
            if reader.sha256 != sha256:
                self._remove_all_versions(key)  # a plain remove would only hide the wrong bytes
                raise IntegrityError("the stream's bytes do not match the hash given for them")
            return StoredObject(key, sha256, reader.size, media_type, created=True)
        # Unknown hash: upload under a temporary name, then copy server-side.
        tmp_key = f"incoming/{uuid.uuid4()}"
        self.client.put_object(self.bucket, tmp_key, data, length=length, part_size=PART_SIZE, content_type=media_type)
        try:
            key = content_key(reader.sha256)
            created = self._stat(key) is None
            if created:
                self.client.copy_object(self.bucket, key, CopySource(self.bucket, tmp_key))
            return StoredObject(key, reader.sha256, reader.size, media_type, created)
        finally:
            self._remove_all_versions(tmp_key)

    def put_file(self, path: Path, media_type: str, *, sha256: str | None = None,
                 trusted: bool = False) -> StoredObject:
        # `trusted` changes nothing here: up to SINGLE_PUT_BYTES MinIO checks
        # every file's bytes against its hash, at no cost to this process.
        sha256 = sha256 or hash_file(path)[0]
        with open(path, "rb", buffering=0) as handle:
            return self.put(handle, media_type, sha256=sha256, size=os.fstat(handle.fileno()).st_size)

    def _put_checked(self, stream: BinaryIO, key: str, sha256: str, size: int, media_type: str) -> None:
        """One PUT of `size` bytes of `stream`, signed with their SHA-256, which
        MinIO verifies (IntegrityError if they differ: nothing is stored). The
        body goes out as it is read, through one reused buffer (readinto when
        the stream has it); a stream that ends early, or raises, cuts the
        request off, and MinIO stores nothing."""
        client = self.client
        region = client._get_region(self.bucket)
        url = client._base_url.build(method="PUT", region=region, bucket_name=self.bucket, object_name=key)
        date = s3_time.utcnow()
        headers: dict[str, str | list[str] | tuple[str]] = {
            "Host": url.netloc, "User-Agent": client._user_agent, "Content-Type": media_type,
            "Content-Length": str(size), "x-amz-content-sha256": sha256, "x-amz-date": s3_time.to_amz_date(date)}
        credentials = client._provider.retrieve() if client._provider else None
        if credentials is not None:
            if credentials.session_token:
                headers["X-Amz-Security-Token"] = credentials.session_token
            headers = sign_v4_s3(method="PUT", url=url, region=region, headers=headers, credentials=credentials,
                                 content_sha256=sha256, date=date)
        # No retry: the body cannot be sent twice (a client's upload streams through it).
        sent = urllib3.HTTPHeaderDict({name: str(value) for name, value in headers.items()})
        response = client._http.urlopen("PUT", url.geturl(), body=_exactly(stream, size), headers=sent,
                                        retries=False, chunked=False)
        if response.status != 200:
            error = S3Error.fromxml(response) if response.data else None
            if error is not None and error.code in ("XAmzContentSHA256Mismatch", "BadDigest"):
                raise IntegrityError("the stream's bytes do not match the hash given for them")
            raise error or S3Error(response, "PutFailed", f"MinIO answered {response.status}", key, None, None,
                                   self.bucket, key)

    def open(self, key: str) -> VerifyingReader:
        expected = sha256_of_key(key)
        try:
            response = self.client.get_object(self.bucket, key)
        except S3Error as exc:
            if exc.code in _NOT_FOUND:
                raise ObjectMissing(key) from None
            raise
        return VerifyingReader(response, expected, on_close=response.release_conn)

    @contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        fd, name = tempfile.mkstemp(prefix="docsvc-", suffix=".blob")
        try:
            with os.fdopen(fd, "wb") as out, self.open(key) as reader:
                for chunk in reader.iter_chunks(CHUNK_SIZE):
                    out.write(chunk)
            yield Path(name)
        finally:
            os.unlink(name)

    def exists(self, key: str) -> bool:
        return self._stat(key) is not None

    def size(self, key: str) -> int:
        stat = self._stat(key)
        if stat is None:
            raise ObjectMissing(key)
        assert stat.size is not None, "stat_object always reads the object's Content-Length"
        return stat.size

    def iter_keys(self) -> Iterator[str]:
        for key, _modified in self.iter_objects():
            yield key

    def iter_objects(self) -> Iterator[tuple[str, datetime]]:
        # S3 lists in key order, a page at a time; an object hidden by a
        # delete marker is not listed (it is gone to every reader;
        # iter_hidden finds it).
        for obj in self.client.list_objects(self.bucket, prefix="sha256/", recursive=True):
            if is_content_key(obj.object_name) and obj.last_modified is not None:
                yield obj.object_name, obj.last_modified.astimezone(UTC)

    def hide(self, key: str) -> Hidden | None:
        # A delete marker: every reader, and a writer's existence check, now
        # sees no object (the writer uploads a new version above it), while
        # the versions beneath are kept until purge or reveal.
        versions = self._versions(key)
        if not versions:
            return None
        for version_id in versions:
            retention = self.client.get_object_retention(self.bucket, key, version_id=version_id)
            if retention is not None and retention.retain_until_date > datetime.now(UTC):
                raise RetentionError(key, retention.retain_until_date)
        self.client.remove_object(self.bucket, key)
        return Hidden(key, ",".join(versions))

    def reveal(self, hidden: Hidden) -> None:
        for obj in self._entries(hidden.key):
            if obj.is_delete_marker:
                self.client.remove_object(self.bucket, hidden.key, version_id=obj.version_id)

    def purge(self, hidden: Hidden) -> None:
        # Only the versions hidden, and only while still beneath a delete
        # marker: one a writer uploaded since stays, and so does one put back
        # meanwhile (another sweep's reveal: a writer may have found it). The
        # markers go with the rest.
        still = {obj.version_id for obj in _beneath_markers(self._entries(hidden.key))}
        doomed = [version_id for version_id in hidden.token.split(",") if version_id in still]
        for version_id in doomed:  # MinIO would refuse a locked one halfway: none is removed
            retention = self.client.get_object_retention(self.bucket, hidden.key, version_id=version_id)
            if retention is not None and retention.retain_until_date > datetime.now(UTC):
                raise RetentionError(hidden.key, retention.retain_until_date)
        for version_id in doomed:
            self.client.remove_object(self.bucket, hidden.key, version_id=version_id)
        self.reveal(hidden)

    def iter_hidden(self) -> Iterator[tuple[Hidden, datetime]]:
        # The listing without versions names no key whose latest is a delete
        # marker, so every version and marker is listed; a page's markers come
        # after its versions (minio's parser), but in key order, so the keys
        # with markers are found by the markers alone, then each looked at whole.
        last = None
        for obj in self.client.list_objects(self.bucket, prefix="sha256/", recursive=True, include_version=True):
            if not obj.is_delete_marker or obj.object_name == last or not is_content_key(obj.object_name):
                continue
            last = obj.object_name
            beneath = _beneath_markers(self._entries(last))
            if beneath:
                written = max(cast(datetime, version.last_modified) for version in beneath)
                yield Hidden(last, ",".join(cast(str, v.version_id) for v in beneath)), written.astimezone(UTC)

    def _entries(self, key: str) -> list[Object]:
        """Every version and delete marker of the key."""
        return [obj for obj in self.client.list_objects(self.bucket, prefix=key, include_version=True)
                if obj.object_name == key and obj.version_id]

    def _versions(self, key: str) -> list[str]:
        return [cast(str, obj.version_id) for obj in self._entries(key) if not obj.is_delete_marker]

    def delete(self, key: str) -> None:
        until = self.retained_until(key)
        if until is not None and until > datetime.now(UTC):
            raise RetentionError(key, until)
        try:
            self._remove_all_versions(key)
        except S3Error:
            # MinIO refused a version: one hidden under a delete marker (a
            # plain remove_object by someone else) can be retained too.
            until = self._latest_retention(key)
            if until is not None and until > datetime.now(UTC):
                raise RetentionError(key, until) from None
            raise

    def retain(self, key: str, until: datetime) -> None:
        # Compliance mode: until the date nobody, the root credentials
        # included, can delete or shorten it; MinIO itself enforces that.
        until = retention_date(until)
        stat = self._stat(key)
        if stat is None:
            raise ObjectMissing(key)
        current = self.client.get_object_retention(self.bucket, key, version_id=stat.version_id)
        if current is not None:
            if current.mode == COMPLIANCE and current.retain_until_date >= until:
                return
            until = max(until, current.retain_until_date)
        try:
            self.client.set_object_retention(self.bucket, key, Retention(COMPLIANCE, until), version_id=stat.version_id)
        except S3Error:
            # A concurrent retain set a later date first: MinIO refuses to shorten.
            again = self.client.get_object_retention(self.bucket, key, version_id=stat.version_id)
            if again is None or again.mode != COMPLIANCE or again.retain_until_date < until:
                raise

    def retained_until(self, key: str) -> datetime | None:
        stat = self._stat(key)
        if stat is None:
            return None
        retention = self.client.get_object_retention(self.bucket, key, version_id=stat.version_id)
        return retention.retain_until_date if retention is not None else None

    def put_anchor(self, name: str, data: bytes, until: datetime | None) -> None:
        key = ANCHORS + check_anchor_name(name)
        if self._stat(key) is not None:
            raise AnchorExists(name)
        # The lock is set with the upload, so there is no moment in which the
        # version exists unlocked; MinIO refuses its deletion until `until`.
        retention = Retention(COMPLIANCE, retention_date(until)) if until is not None else None
        self.client.put_object(self.bucket, key, io.BytesIO(data), length=len(data),
                               content_type="application/json", retention=retention)

    def anchor_names(self, prefix: str) -> list[str]:
        return sorted(obj.object_name[len(ANCHORS):]
                      for obj in self.client.list_objects(self.bucket, prefix=ANCHORS + prefix, recursive=True))

    def read_anchor(self, name: str) -> bytes:
        try:
            response = self.client.get_object(self.bucket, ANCHORS + check_anchor_name(name))
        except S3Error as exc:
            if exc.code in _NOT_FOUND:
                raise ObjectMissing(name) from None
            raise
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def _latest_retention(self, key: str) -> datetime | None:
        dates = []
        for obj in self._entries(key):
            if not obj.is_delete_marker:
                retention = self.client.get_object_retention(self.bucket, key, version_id=obj.version_id)
                if retention is not None:
                    dates.append(retention.retain_until_date)
        return max(dates, default=None)

    def _remove_all_versions(self, key: str) -> None:
        # With versioning on, a plain delete only hides an object; rolling back
        # an upload must remove its bytes for real.
        for obj in self._entries(key):
            self.client.remove_object(self.bucket, key, version_id=obj.version_id)
