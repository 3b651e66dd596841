"""Hostile bodies against the real `docsvc serve` (both profiles): a 100 MB
JSON body, with or without Content-Length, is refused with 413 while the
server's memory stays flat and most of it is never read; a 40 MiB file is
too large for public verification but an ordinary upload for a clerk; a
page's form has a small limit too and says so in Vietnamese.

No browser here: these are what a script sends. They live beside the
browser tests for the `server` fixture (tests/browser/conftest.py)."""
from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pikepdf
import psutil
import pytest
from pdfs import make_pdf, sample_paragraphs

MiB = 1024 * 1024
HOSTILE_JSON_BYTES = 100 * 1000 * 1000
# The server reads at most the limit plus a chunk, gunicorn drains 64 KiB
# more, and the kernel's socket buffers on loopback hold a few MiB: far
# below this, and far below the 100 MB the client tries to send.
MOST_A_REFUSED_CLIENT_GETS_IN = 32 * MiB
# Flat: the 100 MB body used to cost +260 MiB; reading 1 MiB of it costs
# a few MiB of buffers at most.
FLAT_MEMORY = 32 * MiB
CLIENT_TIMEOUT = 120  # fails the test if the server hangs; not a speed check


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    sent: int  # body bytes the client managed to send before the answer or a closed connection

    def json(self) -> dict:
        return json.loads(self.body)


def _read_answer(sock: socket.socket, answer: dict) -> None:
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return
            data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in header_lines)}
        while len(body) < int(headers.get("content-length", 0)):
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        answer.update(status=int(status_line.split()[1]), headers=headers, body=body)
    except OSError:
        pass


def post_streaming(url: str, path: str, body: Iterable[bytes], *, length: int | None,
                   headers: dict[str, str] | None = None) -> Answer:
    """POST `body` piece by piece, with Content-Length `length` or chunked
    without one (length None), reading the answer while still sending, as a
    client whose upload is refused half-way sees it."""
    address = urlsplit(url)
    sock = socket.create_connection((address.hostname, address.port), timeout=CLIENT_TIMEOUT)
    head = [f"POST {path} HTTP/1.1", f"Host: {address.netloc}"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    head.append(f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked")
    answer: dict = {}
    reader = threading.Thread(target=_read_answer, args=(sock, answer))
    sent = 0
    try:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        reader.start()
        for piece in body:
            if answer:
                break
            sock.sendall(piece if length is not None else b"%x\r\n%s\r\n" % (len(piece), piece))
            sent += len(piece)
        else:
            if length is None:
                sock.sendall(b"0\r\n\r\n")
    except OSError:  # the server answered and closed the connection
        pass
    reader.join(CLIENT_TIMEOUT)
    sock.close()
    assert answer, f"no answer from the server after sending {sent} bytes"
    return Answer(answer["status"], answer["headers"], answer["body"], sent)


def _pieces(total: int, piece: bytes) -> Iterator[bytes]:
    for _ in range(total // len(piece)):
        yield piece


def _json_pieces(total: int) -> Iterator[bytes]:
    """A JSON body that is valid all along: a password of `total` bytes."""
    yield b'{"username": "lan.nguyen", "password": "'
    yield from _pieces(total, b"a" * 65536)
    yield b'"}'


def _web_processes(server) -> list[psutil.Process]:
    """`docsvc serve` and the gunicorn processes under it (not the Celery worker)."""
    root = psutil.Process(server.process.pid)
    found = [root]
    for child in root.children(recursive=True):
        try:
            command = child.cmdline()
        except psutil.NoSuchProcess:
            continue
        if "worker" not in command and "beat" not in command:
            found.append(child)
    return found


def _peak_rss(processes: list[psutil.Process]) -> dict[int, int]:
    """Each process's peak resident memory so far (VmHWM), in bytes."""
    peaks = {}
    for process in processes:
        for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks[process.pid] = int(line.split()[1]) * 1024
    return peaks


def _peak_growth(server, send) -> tuple[Answer, int]:
    """What `send()` answered, and the most any web process's peak memory grew meanwhile."""
    processes = _web_processes(server)
    before = _peak_rss(processes)
    answer = send()
    after = _peak_rss(processes)
    return answer, max(after[pid] - before[pid] for pid in before)


@pytest.fixture(scope="module")
def warm(server) -> None:
    """One ordinary sign-in first, so the code a request needs is already loaded."""
    server.token()


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_a_100_mb_json_body_is_refused_while_memory_stays_flat(server, warm, declared):
    answer, growth = _peak_growth(server, lambda: post_streaming(
        server.url, "/api/v1/tokens", _json_pieces(HOSTILE_JSON_BYTES),
        length=HOSTILE_JSON_BYTES + 45 if declared else None, headers={"Content-Type": "application/json"}))
    assert answer.status == 413, answer
    assert answer.json()["code"] == "upload_too_large"
    assert "1.0 MiB" in answer.json()["message"]
    assert answer.sent < MOST_A_REFUSED_CLIENT_GETS_IN
    assert growth < FLAT_MEMORY, f"a web process's peak memory grew by {growth / MiB:.0f} MiB"
    # The server is still there for everyone else.
    assert server.api("GET", "/api/v1/health")[0] == 200


@pytest.fixture(scope="module")
def forty_mib_pdf(tmp_path_factory) -> bytes:
    """A real one-page PDF with text, carrying a 40 MiB attachment (a scanned
    annex, say): intake accepts it, and it needs no OCR."""
    folder = tmp_path_factory.mktemp("big")
    path = make_pdf(folder / "ho-so.pdf", "Hồ sơ kèm phụ lục", sample_paragraphs("binh-duong-cchc-2020.txt")[:2])
    with pikepdf.open(path) as pdf:
        pdf.attachments["phu-luc.bin"] = pikepdf.AttachedFileSpec(pdf, os.urandom(40 * MiB))
        pdf.save(folder / "ho-so-lon.pdf")
    data = (folder / "ho-so-lon.pdf").read_bytes()
    assert 40 * MiB < len(data) < 41 * MiB
    return data


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_public_verification_refuses_a_40_mib_file(server, warm, forty_mib_pdf, declared):
    pieces = (forty_mib_pdf[i:i + MiB] for i in range(0, len(forty_mib_pdf), MiB))
    answer, growth = _peak_growth(server, lambda: post_streaming(
        server.url, "/api/v1/verify?filename=ho-so-lon.pdf", pieces, length=len(forty_mib_pdf) if declared else None,
        headers={"Content-Type": "application/pdf"}))
    assert answer.status == 413, answer
    assert answer.json()["code"] == "upload_too_large" and "32.0 MiB" in answer.json()["message"]
    assert growth < FLAT_MEMORY
    if declared:  # refused on its Content-Length, before reading
        assert answer.sent < MOST_A_REFUSED_CLIENT_GETS_IN
    spool = Path(server.installation.env["DOCSVC_DATA_DIR"]) / "tmp"
    assert not list(spool.glob("*")), "the refused upload left a spooled file"


def test_a_clerk_uploads_the_same_40_mib_file(server, warm, forty_mib_pdf):
    status, document = server.api("POST", "/api/v1/documents?filename=ho-so-lon.pdf", forty_mib_pdf,
                                  token=server.token(), headers={"Content-Type": "application/pdf"})
    assert status == 202, document
    [original] = [f for f in document["files"] if f["role"] == "original"]
    assert original["size"] == len(forty_mib_pdf)


def test_a_page_form_has_a_small_limit_said_in_vietnamese(server, warm):
    form = b"username=lan.nguyen&password=" + b"a" * MiB
    answer = post_streaming(server.url, "/login", [form], length=len(form),
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status == 413
    page = answer.body.decode()
    assert 'data-code="upload_too_large"' in page and "vượt quá dung lượng cho phép" in page
