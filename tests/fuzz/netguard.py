"""While fuzzing, the process may open connections to loopback only.

A mutated signed file can name any address (a flipped byte turns
127.0.0.1 into 107.0.0.1 in a certificate's OCSP or caIssuers URL), and
verification still fetches what untrusted files name. The guard refuses
every other address before a packet leaves (name look-ups included) and
records every attempt to connect anywhere but the allowed loopback ports:
each one is a finding (the server fetching an address a file names).
"""
from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class NetworkRefused(OSError):
    """The fuzz harness's guard refused a connection the code under test tried."""


class NetGuard:
    def __init__(self, allowed_ports: set[int]) -> None:
        self.allowed_ports = allowed_ports
        self.attempts: list[tuple[str, object]] = []  # (host, port) tried outside the allowed ports
        self._lock = threading.Lock()

    def take_attempts(self) -> list[tuple[str, object]]:
        with self._lock:
            taken, self.attempts = self.attempts, []
        return taken

    def _note(self, host: str, port: object) -> None:
        with self._lock:
            self.attempts.append((host, port))

    def check(self, address: object) -> None:
        if not isinstance(address, tuple) or len(address) < 2:
            return  # a Unix socket
        host, port = str(address[0]), address[1]
        if not _is_loopback(host):
            self._note(host, port)
            raise NetworkRefused(f"fuzz harness: no connection to {host}:{port} (not loopback)")
        if port not in self.allowed_ports:
            self._note(host, port)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


@contextmanager
def loopback_only(allowed_ports: set[int]) -> Iterator[NetGuard]:
    guard = NetGuard(allowed_ports)
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def connect(self, address):
        guard.check(address)
        return real_connect(self, address)

    def connect_ex(self, address):
        guard.check(address)
        return real_connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and not _is_loopback(str(name)):
            guard._note(str(name), args[0] if args else None)
            raise socket.gaierror(socket.EAI_NONAME, f"fuzz harness: no look-up of {name!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect, socket.socket.connect_ex = connect, connect_ex
    socket.getaddrinfo = getaddrinfo
    try:
        yield guard
    finally:
        socket.socket.connect, socket.socket.connect_ex = real_connect, real_connect_ex
        socket.getaddrinfo = real_getaddrinfo
