"""A TCP listener on 127.0.0.1 that records who connects and what they ask:
the witness that a URL named in a file was, or was not, fetched."""
from __future__ import annotations

import contextlib
import socket
import threading
from typing import Literal

Mode = Literal["not_found", "silent", "redirect"]


class Listener:
    """Answers 404, or 302 to `location`, or ("silent") accepts and never
    answers, holding the connection open like a server that hangs."""

    def __init__(self, mode: Mode = "not_found", *, port: int = 0, location: str | None = None) -> None:
        self.mode, self.location = mode, location
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", port))
        self._server.listen(64)
        self._server.settimeout(0.2)
        self.port = self._server.getsockname()[1]
        self.connections = 0
        self.requests: list[str] = []  # request lines ("POST /ocsp HTTP/1.1")
        self._held: list[socket.socket] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=f"listener-{self.port}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Listener:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stopping.set()
        self._thread.join(timeout=10)
        for conn in self._held:
            conn.close()
        self._server.close()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            if self.mode == "silent":
                self._held.append(conn)
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            head = b""
            try:
                while b"\r\n\r\n" not in head and len(head) < 65536:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    head += chunk
            except OSError:
                pass
            self.requests.append(head.split(b"\r\n", 1)[0].decode("latin-1"))
            if self.mode == "redirect":
                reply = f"HTTP/1.1 302 Found\r\nLocation: {self.location}\r\nContent-Length: 0\r\n\r\n"
            else:
                reply = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
            with contextlib.suppress(OSError):
                conn.sendall(reply.encode())
