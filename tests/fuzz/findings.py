"""What the fuzzers found whose fix belongs to another module, still open.

An input that hits one of these is counted (and the test that met it ends
as xfail naming it) instead of failing the run, so the fuzzers go on to
look for new faults; any other broken promise fails. Remove an entry when
its fix lands: the tests then pass without meeting it, and bench/fuzz.py
stops listing it.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Known:
    id: str
    where: str  # the entry point, as targets names it
    exception: str  # the exception's class name
    fragment: str  # part of its message
    at_fault: str  # file and function to fix
    summary: str

    def matches(self, where: str, exc: BaseException) -> bool:
        return where == self.where and type(exc).__name__ == self.exception and self.fragment in str(exc)


KNOWN: tuple[Known, ...] = (
)


def known(where: str, exc: BaseException) -> Known | None:
    return next((k for k in KNOWN if k.matches(where, exc)), None)


@dataclass(frozen=True)
class KnownApi:
    """A server error schemathesis meets: the operation, and the last line of the server's traceback."""

    id: str
    operation: str  # as schemathesis names it: "POST /tokens"
    error: str  # the traceback's last line starts with this
    frame: str  # ... and this function of docsvc is among its frames
    at_fault: str
    summary: str


    def explains(self, traceback: dict) -> bool:
        """Is this server traceback (bench/api_fuzz.py's form) this finding?"""
        return traceback["error"].startswith(self.error) and any(self.frame in f for f in traceback["our_frames"])

    def explains_failure(self, operation: str, text: str) -> bool:
        """Is this schemathesis failure (a server error on the operation) this finding?"""
        return operation == self.operation and "Server error" in text and "ST101" in text


KNOWN_API: tuple[KnownApi, ...] = (
)
