"""The body limit table: every endpoint named in it exists, and each kind of
endpoint gets the limit of its setting."""
from __future__ import annotations

import io

import pytest
from werkzeug.exceptions import RequestEntityTooLarge

from docsvc.config import load_settings
from docsvc.web.request_limits import FILE_LIMITS, FILE_VERIFICATION, MULTIPART_ENVELOPE, CappedInput, body_limit


@pytest.fixture
def settings(tmp_path):
    return load_settings({"DOCSVC_DATA_DIR": str(tmp_path)})


def test_the_table_names_real_endpoints(settings):
    from docsvc.app import create_app

    endpoints = set(create_app(settings).view_functions)
    assert set(FILE_LIMITS) <= endpoints
    assert endpoints >= FILE_VERIFICATION


def test_each_kind_of_endpoint_has_its_limit(settings):
    assert body_limit("api.upload_document", "/api/v1/documents", settings).limit == settings.max_upload_bytes
    verify = body_limit("api.verify_signatures", "/api/v1/verify", settings)
    assert (verify.limit, verify.body_bytes) == (32 * 1024 * 1024, 32 * 1024 * 1024 + MULTIPART_ENVELOPE)
    assert body_limit("api.create_token", "/api/v1/tokens", settings).body_bytes == 1024 * 1024
    assert body_limit("pages.login", "/login", settings).body_bytes == 256 * 1024
    # An address no view answers gets the smallest limit.
    assert body_limit(None, "/no-such-page", settings).body_bytes == settings.form_max_bytes


def test_a_capped_input_gives_the_limit_and_refuses_one_byte_more():
    assert CappedInput(io.BytesIO(b"x" * 10), 10).read() == b"x" * 10
    capped = CappedInput(io.BytesIO(b"x" * 11), 10)
    assert capped.read(6) == b"x" * 6
    with pytest.raises(RequestEntityTooLarge):
        capped.read(6)
    with pytest.raises(RequestEntityTooLarge):
        CappedInput(io.BytesIO(b"x" * 200_000), 100_000).read()


def test_a_capped_input_read_into_a_buffer_counts_as_a_read():
    capped = CappedInput(io.BytesIO(b"x" * 11), 10)
    buffer = bytearray(6)
    assert capped.readinto(buffer) == 6 and buffer == b"x" * 6
    with pytest.raises(RequestEntityTooLarge):
        capped.readinto(buffer)
    # A server stream without readinto (gunicorn's own Body) is read and copied.
    class ReadOnly:
        def __init__(self, data: bytes) -> None:
            self._stream = io.BytesIO(data)

        def read(self, size: int = -1) -> bytes:
            return self._stream.read(size)

    capped = CappedInput(ReadOnly(b"%PDF-1.7"), 10)
    assert capped.readinto(buffer) == 6 and buffer == b"%PDF-1"
    assert capped.readinto(buffer) == 2 and buffer[:2] == b".7"
