"""A gunicorn worker whose threads only ever wait for the application, never for a client.

gunicorn's gthread worker hands every new connection to a thread that reads
the request head with a blocking socket and no deadline (gunicorn 27,
workers/gthread.py: `handle` → `next(conn.parser)`), so a client that sends
half a head and then nothing holds a thread for good: eight such
connections stopped `docsvc serve` (8 threads). Its `finish_request` also
closes connections "gracefully" on the event loop, lingering up to 2 s per
connection for the peer's FIN, so clients that never close stall the loop.

`HeadFirstWorker` keeps gthread's event loop, thread pool and request
handling, and changes what reaches a thread:

- The request head is read in the event loop, non-blocking, into a buffer
  (at most `MAX_HEAD_BYTES`). Only a connection whose head is complete goes
  to a thread, which parses it from the buffer. The head must be complete
  within `header_timeout_seconds` of the connection (or of the first byte
  of a kept-alive connection's next request), else it is closed.
- A body of at most `BUFFERED_BODY_BYTES` (sign-in forms, JSON) is read in
  the event loop too, so the thread never waits for it.
- A larger body (an upload, a file to verify; 3 GiB stream to disk, never
  into memory) is read by its thread from the socket, each read limited to
  `body_timeout_seconds` (nginx's client_body_timeout; it also bounds each
  write of the response): a stalled body ends the request with 408
  `request_timeout` and the connection is closed. A body of known length
  can be read with `readinto` straight from the socket into the caller's
  buffer (`_ReadintoBody`). At most all threads but
  `RESERVED_THREADS` read bodies at once; the others wait their turn in the
  event loop, so slow uploads never take the threads that serve requests
  without a body (health checks, pages, downloads).
- Connections are closed on the event loop without blocking it (half-close,
  then drain for at most `LINGER_SECONDS`).
- At most `max_connections` connections per process are open. At the
  limit, a connection nobody is being served on (closing, idle kept-alive,
  waiting longest for its head, or queued for a body slot) is closed to let
  a new one in; only when all are being served do new ones wait in the
  listen backlog.

Measured with bench/slow_clients.py (GET /api/v1/health, p50 of 10): gthread
answered in 3.7 ms unloaded and not at all (every request timed out after
10 s) with 8, 32 or 256 half-open connections; this worker in 2-3 ms with
each of them (the table is in docsvc/server.py).

HTTP/1.1 without TLS only: TLS ends at the production front (nginx,
docker-compose.yml), and gunicorn's HTTP/2 would read its preface in a thread.
"""
from __future__ import annotations

import errno
import io
import selectors
import socket
import time
from collections import deque
from functools import partial

from gunicorn.http.body import Body, ChunkedReader, LengthReader
from gunicorn.http.unreader import SocketUnreader
from gunicorn.workers.gthread import TConn, ThreadWorker

from docsvc.config import Settings, load_settings
from docsvc.errors import DocsvcError

# nginx's default large_client_header_buffers is 4 × 8 KiB; docsvc's own pages
# and API send heads of well under 2 KiB.
MAX_HEAD_BYTES = 64 * 1024
# Bodies up to this size are received before a thread is involved. What the
# event loop holds is bounded by max_connections × (MAX_HEAD_BYTES + this):
# 128 MiB at 1000 connections, reached only if all of them send that much.
BUFFERED_BODY_BYTES = 64 * 1024
# Threads that never read a body from the network: what keeps /api/v1/health
# and the pages answering while every other thread streams a slow upload.
RESERVED_THREADS = 2
# How long a closing connection is drained so the last response is not cut
# by a reset (RFC 9112 §9.6), as gunicorn's own close_graceful does (2 s).
LINGER_SECONDS = 2.0
RECV_BYTES = 64 * 1024
HEAD_END = b"\r\n\r\n"


class BodyNotReceived(DocsvcError):
    """The request body did not arrive whole; the connection is closed after the answer."""


class BodyStalled(BodyNotReceived):
    code = "request_timeout"
    http_status = 408
    default_message = "The request body stopped arriving; send it again."


class BodyIncomplete(BodyNotReceived):
    code = "incomplete_body"
    default_message = "The request body ended before the length it announced; nothing was kept."


class _Phase:
    HEAD = "head"  # receiving a request head in the event loop
    BODY = "body"  # receiving a small body in the event loop
    LINGER = "linger"  # half-closed, draining until the peer closes


class _Conn(TConn):
    """gthread's connection, plus what the event loop has received of its next request."""

    def __init__(self, cfg, sock, client, server, body_timeout: float) -> None:
        super().__init__(cfg, sock, client, server)
        self.body_timeout = body_timeout
        self.received = bytearray()
        self.head_length: int | None = None
        self.body_in_memory: int | None = None  # None: the thread streams the body
        self.phase: str | None = None
        self.deadline = 0.0
        self.holds_body_slot = False
        self.stalled = False
        # gthread's handle() would otherwise wait up to 5 s in the thread for
        # a first byte; here a thread only ever gets a complete head.
        self.data_ready = True

    def init(self) -> None:
        """Runs in the thread: give the parser what the event loop received."""
        super().init()
        if not isinstance(self.parser.unreader, _StallGuardUnreader):
            self.parser.unreader = _StallGuardUnreader(self.sock, self)
        self.sock.settimeout(self.body_timeout)
        if self.received:
            self.parser.unreader.unread(bytes(self.received))
            self.received = bytearray()


class _StallGuardUnreader(SocketUnreader):
    """A body read that times out, or meets the end of the connection before the
    body's end, is an error for the application to answer (408 or 400).

    gunicorn's LengthReader returns a short body as if it were whole, so an
    upload cut off by a disconnect would otherwise be stored cut off."""

    def __init__(self, sock: socket.socket, conn: _Conn) -> None:
        super().__init__(sock)
        self._conn = conn

    def chunk(self, size_hint=None):
        try:
            data = super().chunk(size_hint)
        except TimeoutError:
            raise self._failed(BodyStalled()) from None
        if not data and self._reading_a_body():
            raise self._failed(BodyIncomplete())
        return data

    def readinto(self, target: memoryview) -> int:
        """Up to len(target) bytes into `target`: what is buffered (read ahead
        with the head) first, else one `recv_into`, so a body of known length
        reaches the application's buffer with the kernel's copy only."""
        buffered = self.buf.tell()
        if buffered:
            data = self.buf.getvalue()
            taken = min(len(target), buffered)
            target[:taken] = data[:taken]
            self.buf = io.BytesIO()
            self.buf.write(data[taken:])
            return taken
        try:
            got = self.sock.recv_into(target)
        except TimeoutError:
            raise self._failed(BodyStalled()) from None
        if not got and len(target) and self._reading_a_body():
            raise self._failed(BodyIncomplete())
        return got

    def _reading_a_body(self) -> bool:
        message = self._conn.parser.mesg
        reader = getattr(getattr(message, "body", None), "reader", None)
        return isinstance(reader, ChunkedReader) or isinstance(reader, LengthReader) and reader.length > 0

    def _failed(self, error: BodyNotReceived) -> BodyNotReceived:
        self._conn.stalled = True
        if self._conn.parser.mesg is not None:
            self._conn.parser.mesg.force_close()  # the answer says "Connection: close"
        return error


class _ReadintoBody(Body):
    """gunicorn's request body, plus `readinto`: a body of known length goes
    from the socket into the caller's buffer (Werkzeug's LimitedStream,
    `CappedInput` and the upload's reused 1 MiB buffer pass it down), instead
    of a fresh `bytes` per recv, two BytesIO copies (Unreader.read, Body.read)
    and a slice into the buffer. The buffer is filled whole unless the body
    ends first: each read still waits at most body_timeout_seconds (408), and
    a body cut off is BodyIncomplete, as with `read`. Chunked bodies, and
    anything `read` or `readline` left buffered, go through `read`."""

    def readinto(self, target) -> int:
        view = memoryview(target).cast("B")
        reader = self.reader
        if self.buf.tell() or not isinstance(reader, LengthReader) \
                or not isinstance(reader.unreader, _StallGuardUnreader):
            data = self.read(len(view))
            view[:len(data)] = data
            return len(data)
        wanted, filled = min(len(view), reader.length), 0
        try:
            while filled < wanted:
                got = reader.unreader.readinto(view[filled:wanted])
                if not got:
                    break
                filled += got
                reader.length -= got
        except Exception:
            self.failed = True  # the connection's next request cannot be found: it is closed
            raise
        return filled


def head_length(received: bytes | bytearray) -> int | None:
    """Length of the request head at the start of `received` (through its blank line), if complete."""
    start = len(received) - len(bytes(received).lstrip(b"\r\n"))  # RFC 9112 §2.2: empty lines before a request
    end = received.find(HEAD_END, start)
    return None if end < 0 else end + len(HEAD_END)


def body_in_memory(head: bytes) -> int | None:
    """How many body bytes to receive in the event loop (0: none), or None when
    the thread should stream the body: a large or chunked one, or one the client
    sends only after `100 Continue`. gunicorn parses the head again for real."""
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name in (b"transfer-encoding", b"expect"):
            return None
        if name == b"content-length":
            value = value.strip()
            if not value.isdigit():
                return None
            length = int(value)
    return length if length <= BUFFERED_BODY_BYTES else None


def _settings_of(app) -> Settings:
    runtime = getattr(app, "extensions", {}).get("docsvc")
    return runtime.settings if runtime is not None else load_settings()


class HeadFirstWorker(ThreadWorker):
    """gthread with request heads (and small bodies) received in the event loop."""

    @classmethod
    def check_config(cls, cfg, log) -> None:
        super().check_config(cfg, log)
        if cfg.is_ssl or "h2" in cfg.http_protocols:
            raise RuntimeError("HeadFirstWorker serves plain HTTP/1.1: end TLS and HTTP/2 at the front (nginx)")

    def run(self) -> None:
        settings = _settings_of(self.wsgi)
        self.header_timeout = float(settings.header_timeout_seconds)
        self.body_timeout = float(settings.body_timeout_seconds)
        self.worker_connections = settings.max_connections
        self.max_keepalived = max(settings.max_connections - self.cfg.threads, 0)
        self.body_slots = max(self.cfg.threads - RESERVED_THREADS, 1)
        self.bodies_streaming = 0
        self.waiting_for_body_slot: deque[_Conn] = deque()
        self.receiving: dict[_Conn, None] = {}  # insertion-ordered set
        super().run()

    # --- connections in, requests out -------------------------------------------

    def accept(self, listener) -> None:
        try:
            client_sock, client_addr = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = _Conn(self.cfg, client_sock, client_addr, listener.getsockname(), self.body_timeout)
        self._receive_head(conn)

    def on_client_socket_readable(self, conn: _Conn, client) -> None:
        """A kept-alive connection starts its next request: read its head here, not in a thread."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._receive_head(conn)

    def _receive_head(self, conn: _Conn) -> None:
        conn.head_length = conn.body_in_memory = None
        conn.stalled = False
        self._watch(conn, _Phase.HEAD, self.header_timeout)
        self._advance(conn)

    def _watch(self, conn: _Conn, phase: str, timeout: float) -> None:
        if conn.phase is None:
            conn.sock.setblocking(False)
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, conn))
            self.receiving[conn] = None
        conn.phase = phase
        conn.deadline = time.monotonic() + timeout

    def _unwatch(self, conn: _Conn) -> None:
        if conn.phase is not None:
            self.poller.unregister(conn.sock)
            del self.receiving[conn]
            conn.phase = None

    def _on_readable(self, conn: _Conn, _sock) -> None:
        try:
            data = conn.sock.recv(self._wanted(conn))
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._drop(conn)
        elif conn.phase == _Phase.LINGER:
            return
        else:
            conn.received += data
            if conn.phase == _Phase.BODY:
                conn.deadline = time.monotonic() + self.body_timeout
            self._advance(conn)

    @staticmethod
    def _wanted(conn: _Conn) -> int:
        """No more than the head (or the small body) still missing: what a
        connection holds in memory stays within MAX_HEAD_BYTES + BUFFERED_BODY_BYTES."""
        if conn.phase == _Phase.LINGER:
            return RECV_BYTES
        if conn.head_length is None:
            return MAX_HEAD_BYTES + 1 - len(conn.received)
        return conn.head_length + (conn.body_in_memory or 0) - len(conn.received)

    def _advance(self, conn: _Conn) -> None:
        if conn.head_length is None:
            conn.head_length = head_length(conn.received)
            if conn.head_length is None:
                if len(conn.received) > MAX_HEAD_BYTES:
                    self._refuse(conn, b"431 Request Header Fields Too Large")
                return
            conn.body_in_memory = body_in_memory(bytes(conn.received[:conn.head_length]))
            if conn.body_in_memory:
                self._watch(conn, _Phase.BODY, self.body_timeout)
        if conn.body_in_memory is not None and len(conn.received) < conn.head_length + conn.body_in_memory:
            return
        self._unwatch(conn)
        if conn.body_in_memory is None:
            self._run_when_body_slot_free(conn)
        else:
            self.enqueue_req(conn)

    def _run_when_body_slot_free(self, conn: _Conn) -> None:
        if self.bodies_streaming >= self.body_slots:
            self.waiting_for_body_slot.append(conn)
            return
        self.bodies_streaming += 1
        conn.holds_body_slot = True
        self.enqueue_req(conn)

    def handle_request(self, req, conn):
        """gthread's, with a body that can be read into a buffer (`_ReadintoBody`)."""
        if type(req.body) is Body and not req.body.buf.tell():
            req.body = _ReadintoBody(req.body.reader)
        return super().handle_request(req, conn)

    def finish_request(self, conn: _Conn, fs) -> None:
        """Back on the event loop after a request: keep the connection alive, or close it."""
        if conn.holds_body_slot:
            conn.holds_body_slot = False
            self.bodies_streaming -= 1
            if self.waiting_for_body_slot:
                self._run_when_body_slot_free(self.waiting_for_body_slot.popleft())
        try:
            keep_alive = not fs.cancelled() and bool(fs.result())
        except Exception:
            keep_alive = False
        if not keep_alive or not self.alive:
            self._close_lingering(conn)
            return
        conn.received = bytearray(conn.parser.unreader.take_buffered())
        if conn.received:  # the client pipelined its next request
            self._receive_head(conn)
            return
        try:
            conn.sock.setblocking(False)
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_client_socket_readable, conn))
        except (OSError, ValueError):  # the thread's error handling closed the socket
            self.nr_conns -= 1
            conn.close()
            return
        conn.set_timeout()
        self.keepalived_conns.append(conn)

    def _keepalive_after(self, conn: _Conn, keepalive) -> bool:
        """A body not received whole leaves the connection at an unknown place in the stream: close it."""
        if conn.stalled:
            return False
        try:
            return super()._keepalive_after(conn, keepalive)
        except BodyNotReceived:
            return False

    def set_accept_enabled(self, enabled: bool) -> None:
        """gthread stops accepting at max_connections; first, make room by closing a
        connection that is not being served (see `_make_room`), so that holding
        max_connections half-open connections does not lock everyone else out
        until their header deadline."""
        if not enabled and self.alive and self._make_room():
            enabled = True
        super().set_accept_enabled(enabled)

    def _make_room(self) -> bool:
        """Close one connection nobody is being served on: one already closing, else
        the longest idle kept-alive one, else the one waiting longest for its head
        or small body (an honest client sends them in milliseconds), else the
        last one queued for a body slot (told 503)."""
        lingering = next((c for c in self.receiving if c.phase == _Phase.LINGER), None)
        if lingering is not None:
            self._drop(lingering)
            return True
        if self.keepalived_conns:
            conn = self.keepalived_conns.popleft()
            self.poller.unregister(conn.sock)
            self.nr_conns -= 1
            conn.close()
            return True
        waiting = next((c for c in self.receiving if c.phase in (_Phase.HEAD, _Phase.BODY)), None)
        if waiting is not None:
            self._drop(waiting)
            return True
        if self.waiting_for_body_slot:
            self._refuse(self.waiting_for_body_slot.pop(), b"503 Service Unavailable")
            return True
        return False

    # --- deadlines and closing -----------------------------------------------------

    def murder_pending(self) -> None:
        """Called by gthread's loop about once a second: also end the connections past their deadline."""
        super().murder_pending()
        now = time.monotonic()
        for conn in [c for c in self.receiving if c.deadline <= now or not self.alive and c.phase == _Phase.HEAD]:
            if conn.phase == _Phase.LINGER or not conn.received:
                self._drop(conn)
            else:
                self._refuse(conn, b"408 Request Timeout")

    def _refuse(self, conn: _Conn, status: bytes) -> None:
        """Answer without a thread (best effort: the socket is non-blocking) and close."""
        try:
            conn.sock.send(b"HTTP/1.1 " + status + b"\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
        except OSError:
            self._drop(conn)
            return
        self._close_lingering(conn)

    def _close_lingering(self, conn: _Conn) -> None:
        try:
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._drop(conn)
            return
        conn.received = bytearray()
        self._watch(conn, _Phase.LINGER, LINGER_SECONDS)

    def _drop(self, conn: _Conn) -> None:
        self._unwatch(conn)
        self.nr_conns -= 1
        conn.close()
