"""Slow and idle clients against the real `docsvc serve`: they hold no thread.

Before docsvc/gunicorn_worker.py, eight connections that sent half a request
head and then nothing stopped the whole service (8 gthread threads, no
header deadline). Each test here holds several times the thread count of
such connections open while people go on using the service.
"""
from __future__ import annotations

import base64
import hashlib
import json
import socket
import time

import pytest

from tests.pdfs import make_pdf
from tests.server.conftest import CLIENT_TIMEOUT

HALF_OPEN = 32
HEADER_TIMEOUT = 10  # the default header_timeout_seconds
BODY_TIMEOUT = 3
PARTIAL_HEAD = b"GET /api/v1/health HTTP/1.1\r\nHost: docsvc\r\nUser-Agent: slow"


@pytest.fixture(scope="module")
def server(start_server):
    return start_server(body_timeout_seconds=BODY_TIMEOUT)


def connect(server, first_bytes: bytes = b"") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=CLIENT_TIMEOUT)
    if first_bytes:
        sock.sendall(first_bytes)
    return sock


def still_open(sock: socket.socket) -> bool:
    """True if the server has neither closed this connection nor answered on it."""
    sock.setblocking(False)
    try:
        sock.recv(1, socket.MSG_PEEK)  # an answer, or b"" for a close
        return False
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        sock.settimeout(CLIENT_TIMEOUT)


def until_closed(sock: socket.socket, within: float) -> bytes:
    """Everything the server sends until it closes the connection; fails if it keeps it open."""
    sock.settimeout(within)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    except TimeoutError:
        pytest.fail(f"the server kept the connection open for {within} s; it sent {received[:200]!r}")
    return received


def health_is_ok(server) -> bool:
    status, _, body = server.request("GET", "/api/v1/health")
    return status == 200 and json.loads(body)["status"] == "ok"


def upload(server, tmp_path, token: str) -> int:
    pdf = make_pdf(tmp_path / "cong-van.pdf", "Công văn số 12/UBND", ["Về việc tiếp nhận hồ sơ."])
    status, _, body = server.request(
        "POST", "/api/v1/documents?filename=cong-van.pdf", pdf.read_bytes(),
        {"Authorization": f"Bearer {token}", "Content-Type": "application/pdf"},
    )
    assert status == 202, body
    return status


def test_half_open_connections_leave_the_service_answering(server, tmp_path):
    started = time.monotonic()
    held = [connect(server, PARTIAL_HEAD) for _ in range(HALF_OPEN)]
    try:
        assert all(health_is_ok(server) for _ in range(5))
        status, _, page = server.request("GET", "/login")
        assert status == 200 and "Đăng nhập".encode() in page
        upload(server, tmp_path, server.token())
        if time.monotonic() - started < HEADER_TIMEOUT:
            # They were really held all along, not closed before the requests above.
            assert all(still_open(sock) for sock in held)
    finally:
        for sock in held:
            sock.close()


def test_half_open_and_idle_connections_are_closed_after_the_header_deadline(server):
    partial = [connect(server, PARTIAL_HEAD) for _ in range(HALF_OPEN)]
    silent = [connect(server) for _ in range(HALF_OPEN)]
    try:
        # A client that sent part of a head is told why; one that sent nothing is just closed.
        for sock in partial:
            assert until_closed(sock, within=HEADER_TIMEOUT + 10).startswith(b"HTTP/1.1 408 ")
        for sock in silent:
            assert until_closed(sock, within=HEADER_TIMEOUT + 10) == b""
        assert health_is_ok(server)
    finally:
        for sock in partial + silent:
            sock.close()


def test_a_head_sent_byte_by_byte_must_still_arrive_within_the_deadline(server):
    sock = connect(server)
    try:
        sent_until = time.monotonic() + HEADER_TIMEOUT + 10
        answer = b""
        for byte in PARTIAL_HEAD * 100:  # far more than it can send before the deadline
            if time.monotonic() > sent_until:
                pytest.fail("the server let a slowloris client go on past the header deadline")
            try:
                sock.send(bytes([byte]))
            except OSError:
                break
            time.sleep(0.5)
            if not still_open(sock):
                answer = until_closed(sock, within=5)
                break
        assert answer.startswith(b"HTTP/1.1 408 ")
    finally:
        sock.close()


def test_an_endless_head_is_refused_once_it_passes_64_kib(server):
    sock = connect(server, b"GET / HTTP/1.1\r\nHost: docsvc\r\n")
    try:
        try:
            for _ in range(100):
                sock.sendall(b"X-Filler: " + b"a" * 1000 + b"\r\n")
        except OSError:
            pass  # refused and closed while we were still sending
        assert until_closed(sock, within=CLIENT_TIMEOUT).startswith(b"HTTP/1.1 431 ")
    finally:
        sock.close()


def test_idle_kept_alive_connections_hold_no_thread(server):
    kept = []
    try:
        for _ in range(HALF_OPEN):
            sock = connect(server, b"GET /api/v1/health HTTP/1.1\r\nHost: docsvc\r\n\r\n")
            sock.settimeout(CLIENT_TIMEOUT)
            assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
            kept.append(sock)  # kept alive, and now silent
        assert all(health_is_ok(server) for _ in range(5))
    finally:
        for sock in kept:
            sock.close()


def test_stalled_bodies_end_in_408_and_hold_no_thread_meanwhile(server):
    """More stalled uploads than the server has threads: the service still answers,
    and each stalled request ends with 408 after body_timeout_seconds."""
    token = server.token()
    large = (f"POST /api/v1/documents?filename=scan.pdf HTTP/1.1\r\nHost: docsvc\r\n"
             f"Authorization: Bearer {token}\r\nContent-Type: application/pdf\r\n"
             f"Content-Length: 5000000\r\n\r\n%PDF-1.7\n").encode() + b"x" * 100_000
    small = (b"POST /api/v1/tokens HTTP/1.1\r\nHost: docsvc\r\nContent-Type: application/json\r\n"
             b"Content-Length: 1000\r\n\r\n{\"username\": ")
    stalled_large = [connect(server, large) for _ in range(12)]
    stalled_small = [connect(server, small) for _ in range(12)]
    try:
        assert all(health_is_ok(server) for _ in range(5))
        assert server.request("GET", "/login")[0] == 200
        for sock in stalled_large:
            answer = until_closed(sock, within=BODY_TIMEOUT * 4 + 30)
            assert answer.startswith(b"HTTP/1.1 408 "), answer[:300]
            assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["code"] == "request_timeout"
        for sock in stalled_small:
            assert until_closed(sock, within=BODY_TIMEOUT + 30).startswith(b"HTTP/1.1 408 ")
        assert health_is_ok(server)
    finally:
        for sock in stalled_large + stalled_small:
            sock.close()


def test_an_upload_cut_off_before_its_announced_length_is_not_kept(server, tmp_path):
    """The client sends a whole PDF but announced more, then stops sending: the
    server must not take what came for the upload."""
    pdf = make_pdf(tmp_path / "to-trinh.pdf", "Tờ trình", ["Kính gửi Ủy ban nhân dân xã."]).read_bytes()
    token = server.token()
    head = (f"POST /api/v1/documents?filename=to-trinh.pdf HTTP/1.1\r\nHost: docsvc\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/pdf\r\n"
            f"Content-Length: {len(pdf) + 100_000}\r\n\r\n").encode()  # streamed by a thread
    sock = connect(server, head + pdf)
    try:
        sock.shutdown(socket.SHUT_WR)
        answer = until_closed(sock, within=CLIENT_TIMEOUT)
    finally:
        sock.close()
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:300]
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["code"] == "incomplete_body"
    status, _, body = server.request("GET", "/api/v1/documents", headers={"Authorization": f"Bearer {token}"})
    assert status == 200 and "to-trinh.pdf" not in body.decode()


def test_a_slow_but_steady_upload_goes_through(server, tmp_path):
    """Pauses shorter than body_timeout_seconds are a slow network, not an attack."""
    pdf = make_pdf(tmp_path / "bien-ban.pdf", "Biên bản họp", ["Nội dung cuộc họp."]).read_bytes()
    token = server.token()
    head = (f"POST /api/v1/documents?filename=bien-ban.pdf HTTP/1.1\r\nHost: docsvc\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/pdf\r\n"
            f"Content-Length: {len(pdf)}\r\nConnection: close\r\n\r\n").encode()
    sock = connect(server, head)
    try:
        third = len(pdf) // 3 + 1
        for start in range(0, len(pdf), third):
            sock.sendall(pdf[start:start + third])
            time.sleep(BODY_TIMEOUT / 2)
        answer = until_closed(sock, within=CLIENT_TIMEOUT)
        assert answer.startswith(b"HTTP/1.1 202 "), answer[:300]
    finally:
        sock.close()


def test_past_max_connections_half_open_ones_make_room_for_new_clients(start_server):
    """At the connection limit, the connections waiting longest for their head are
    closed to let new ones in; the service goes on answering at once, not after
    the header deadline."""
    limited = start_server(max_connections=40)
    held = [connect(limited, PARTIAL_HEAD) for _ in range(60)]
    try:
        assert all(health_is_ok(limited) for _ in range(5))
        closed = [sock for sock in held if not still_open(sock)]
        assert len(closed) >= 20
        assert closed[0] is held[0]  # the oldest first
    finally:
        for sock in held:
            sock.close()


@pytest.mark.parametrize("with_digest", [True, False], ids=["repr-digest", "spooled"])
def test_a_streamed_upload_is_stored_byte_for_byte_and_the_next_request_on_its_connection_is_answered(
        server, tmp_path, with_digest):
    """A body too large for the event loop is read by its thread from the socket
    into the upload's buffer (readinto): exactly its length, the bytes that came
    with the head included, and not one byte of the request pipelined behind it."""
    pdf = make_pdf(tmp_path / "ho-so.pdf", "Hồ sơ", ["Đề nghị cấp phép xây dựng."] * 40, pages=200).read_bytes()
    assert len(pdf) > 64 * 1024  # streamed by a thread, not received in the event loop
    token = server.token()
    digest = base64.b64encode(hashlib.sha256(pdf).digest()).decode()
    head = (f"POST /api/v1/documents?filename=ho-so.pdf HTTP/1.1\r\nHost: docsvc\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/pdf\r\n"
            + (f"Repr-Digest: sha-256=:{digest}:\r\n" if with_digest else "")
            + f"Content-Length: {len(pdf)}\r\n\r\n").encode()
    following = b"GET /api/v1/health HTTP/1.1\r\nHost: docsvc\r\nConnection: close\r\n\r\n"
    sock = connect(server, head + pdf + following)
    try:
        answers = until_closed(sock, within=CLIENT_TIMEOUT)
    finally:
        sock.close()
    first_head, rest = answers.split(b"\r\n\r\n", 1)
    assert first_head.startswith(b"HTTP/1.1 202 "), answers[:300]
    length = int(next(line.split(b":", 1)[1] for line in first_head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:")))
    document = json.loads(rest[:length])
    assert rest[length:].startswith(b"HTTP/1.1 200 "), rest[length:length + 300]
    status, _, stored = server.request("GET", f"/api/v1/documents/{document['id']}/files/original",
                                       headers={"Authorization": f"Bearer {token}"})
    assert status == 200 and stored == pdf
