"""HTTP to an address a certificate names, under the verifier's rules.

A signed PDF can name any URL in its certificates (AIA caIssuers, OCSP, CRL
distribution points). Fetched as they are, they make the server a proxy
into its own network (a reviewer's listener on 127.0.0.1 received the
request) and let a URL that never answers hold a request thread (10 s per
time-stamp with the `requests` fetchers pyHanko uses by default). What
verification fetches goes through here instead:

- http and https only, and redirects are not followed (a 3xx is refused:
  a redirect is a second URL nobody checked);
- the host is resolved once, the address is checked, and the connection is
  made to that address: no second lookup that DNS could answer differently;
- loopback, private, link-local, multicast, reserved and other non-public
  addresses are refused unless the policy allows private addresses or lists
  the URL's origin (the development PKI's own services on 127.0.0.1);
- one deadline for every request of one verification, and a size cap.

`Outbound` records each refusal, so that a report can say why revocation
data is missing.
"""
from __future__ import annotations

import http.client
import io
import ipaddress
import socket
import ssl
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from requests.structures import CaseInsensitiveDict

SCHEMES = {"http": 80, "https": 443}
# A CRL of a large CA runs to a few MiB; nothing an OCSP responder or a CA
# certificate URL sends comes near this.
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
USER_AGENT = "docsvc-verifier"
# getaddrinfo has no timeout of its own; lookups run here and are abandoned
# (not waited for) once the budget is used up.
_resolver = ThreadPoolExecutor(max_workers=4, thread_name_prefix="docsvc-resolve")


class FetchFailed(requests.RequestException):
    """The address could not be fetched (network, server, or malformed answer).

    A requests exception because pyHanko's fetchers, whose request step we
    replace, turn exactly those into "revocation data unavailable"."""


class FetchRefused(FetchFailed):
    """The policy does not allow fetching this address (or no time is left)."""

    def __init__(self, url: str, why: str) -> None:
        super().__init__(f"{url}: {why}")
        self.url, self.why = url, why


@dataclass(frozen=True)
class FetchPolicy:
    """What verification may fetch; the administrator's settings.

    `allowed_origins` are "scheme://host:port" origins that may be on a
    private address (an in-house CA, the development PKI); `allow_private`
    lifts the address rule for every origin."""

    budget_seconds: float = 5.0
    allow_private: bool = False
    allowed_origins: tuple[str, ...] = ()
    max_response_bytes: int = MAX_RESPONSE_BYTES

    def __post_init__(self) -> None:
        object.__setattr__(self, "allowed_origins", tuple(origin_of(o) for o in self.allowed_origins))


def origin_of(url: str) -> str:
    """The normalised origin of a URL ("http://127.0.0.1:8099"); ValueError if it has none."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES or not parts.hostname:
        raise ValueError(f"{url!r} is not an http(s) origin")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{scheme}://{host}:{parts.port or SCHEMES[scheme]}"


@dataclass(frozen=True)
class Response:
    """What pyHanko's fetchers read from a response (the shape of requests')."""

    status_code: int
    headers: CaseInsensitiveDict[str]
    content: bytes


@dataclass(frozen=True)
class _Target:
    url: str
    scheme: str
    host: str
    port: int
    request_target: str  # path and query, as sent on the request line
    origin: str


class Outbound:
    """The outbound HTTP of one verification: one deadline, one record of refusals."""

    def __init__(self, policy: FetchPolicy) -> None:
        self.policy = policy
        self._deadline = time.monotonic() + policy.budget_seconds
        self.refusals: list[FetchRefused] = []

    def get(self, url: str, headers: Mapping[str, str]) -> Response:
        return self._request("GET", url, headers, b"")

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Response:
        return self._request("POST", url, headers, body)

    def _request(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> Response:
        target = self._target(url)
        address = self._address(target)
        try:
            with self._connect(target, address) as sock:
                sock.settimeout(self._remaining(target))
                sock.sendall(_request_bytes(method, target, headers, body))
                response = http.client.HTTPResponse(_Stream(sock, self, target), method=method)  # type: ignore[arg-type]
                response.begin()
                content = response.read()
        except FetchFailed:
            raise
        except TimeoutError:
            raise self._refuse(target.url, f"the time allowed for fetching ({self.policy.budget_seconds:g} s) "
                                           "was used up") from None
        except (OSError, http.client.HTTPException, ssl.SSLError) as e:
            raise FetchFailed(f"{url}: {type(e).__name__}: {e}") from None
        if 300 <= response.status < 400:
            raise self._refuse(url, f"redirect to {response.getheader('Location', '?')!r} not followed")
        return Response(response.status, CaseInsensitiveDict(response.getheaders()), content)

    def _target(self, url: str) -> _Target:
        if any(ord(c) <= 0x20 or ord(c) >= 0x7F for c in url):
            raise self._refuse(url[:200], "not a plain http(s) URL")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise self._refuse(url, "not a valid URL") from None
        scheme = parts.scheme.lower()
        if scheme not in SCHEMES:
            raise self._refuse(url, f"only http and https are fetched, not {scheme or 'no scheme'!r}")
        if not parts.hostname or parts.username is not None or parts.password is not None:
            raise self._refuse(url, "no host, or credentials in the URL")
        request_target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return _Target(url, scheme, parts.hostname, port or SCHEMES[scheme], request_target, origin_of(url))

    def _address(self, target: _Target) -> str:
        """The one address to connect to, checked."""
        try:
            addresses = [ipaddress.ip_address(target.host)]
        except ValueError:
            addresses = self._resolve(target)
        allowed = self.policy.allow_private or target.origin in self.policy.allowed_origins
        problems = []
        for ip in addresses:
            problem = None if allowed else non_public(ip)
            if problem is None:
                return str(ip)
            problems.append(f"{ip} is {problem}")
        raise self._refuse(target.url, ", ".join(problems) + ", and only public addresses are fetched")

    def _resolve(self, target: _Target) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        lookup = _resolver.submit(socket.getaddrinfo, target.host, target.port, type=socket.SOCK_STREAM)
        try:
            infos = lookup.result(timeout=self._remaining(target))
        except FutureTimeout:
            raise self._refuse(target.url, f"the time allowed for fetching ({self.policy.budget_seconds:g} s) "
                                           "was used up") from None
        except OSError as e:
            raise FetchFailed(f"{target.url}: {target.host} cannot be resolved ({e})") from None
        return [ipaddress.ip_address(info[4][0]) for info in infos]

    def _connect(self, target: _Target, address: str) -> socket.socket:
        sock = socket.create_connection((address, target.port), timeout=self._remaining(target))
        if target.scheme == "https":
            # CPython's handshake counts the socket timeout as one deadline.
            sock.settimeout(self._remaining(target))
            return ssl.create_default_context().wrap_socket(sock, server_hostname=target.host)
        return sock

    def _remaining(self, target: _Target) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise self._refuse(target.url, f"the time allowed for fetching ({self.policy.budget_seconds:g} s) "
                                           "was used up")
        return left

    def _refuse(self, url: str, why: str) -> FetchRefused:
        refusal = FetchRefused(url, why)
        self.refusals.append(refusal)
        return refusal


def non_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why an address is not a public one, or None."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for kind in ("loopback", "link_local", "multicast", "unspecified", "reserved", "private"):
        if getattr(ip, f"is_{kind}"):
            return f"a {kind.replace('_', '-')} address"
    # Python 3.11 counts IPv4 multicast as global; it was checked above.
    return None if ip.is_global else "not a public address"


def _request_bytes(method: str, target: _Target, headers: Mapping[str, str], body: bytes) -> bytes:
    default_port = SCHEMES[target.scheme] == target.port
    host = f"[{target.host}]" if ":" in target.host else target.host
    lines = [f"{method} {target.request_target} HTTP/1.1",
             f"Host: {host if default_port else f'{host}:{target.port}'}",
             "Connection: close", f"User-Agent: {USER_AGENT}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()
              if name.lower() not in {"host", "connection", "user-agent", "content-length"}]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class _Stream:
    """What http.client.HTTPResponse reads from: the socket, each read bounded
    by the verification's deadline and the whole answer by the size cap."""

    def __init__(self, sock: socket.socket, outbound: Outbound, target: _Target) -> None:
        self._raw = _DeadlineReader(sock, outbound, target)

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(self._raw)


class _DeadlineReader(io.RawIOBase):
    def __init__(self, sock: socket.socket, outbound: Outbound, target: _Target) -> None:
        self._sock, self._outbound, self._target = sock, outbound, target
        self._read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        self._sock.settimeout(self._outbound._remaining(self._target))
        n = self._sock.recv_into(buffer)
        self._read += n
        if self._read > self._outbound.policy.max_response_bytes:
            raise FetchFailed(f"{self._target.url}: the answer is larger than "
                              f"{self._outbound.policy.max_response_bytes} bytes")
        return n
