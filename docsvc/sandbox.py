"""Parsing files from outside within a fixed budget of memory and time.

A PDF is a program for its reader: a 374-byte file whose cross-reference
stream claims 4,000,000 entries made pyHanko's reader take 17-31 s and
+900 MiB, a 261 KB deflate bomb +500 MiB in pdfium. Parsers cannot be told
"at most 256 MiB", but a process can: every parse of a file that came from
outside runs here, in a child process that

- was forked from a forkserver (multiprocessing's "forkserver" context: never
  a fork of the threaded web server or of a Celery worker) that imported the
  parsers once, so starting a child costs a fork, not an interpreter;
- limits its own address space (RLIMIT_AS) to its size at start plus
  `parse_memory_mib`, so a bomb ends in MemoryError or the child's death,
  never in the server's memory;
- runs one job at a time: `call` (one result) or `iterate` (a generator,
  item by item on request, so a consumer that stops early stops the child).

The parent waits at most `parse_timeout_seconds` for each answer (each item
of `iterate`: text extraction gets that budget per page, so a long document
may take pages x budget in all), kills and replaces a child that overran or
died, and lets at most `parse_workers` parses run at once in this process; a
caller waits at most `parse_wait_seconds` for one and then gets ServiceBusy
(503 with Retry-After), never an unbounded queue. A child is also replaced
after MAX_JOBS_PER_CHILD jobs, so no parser's leaks accumulate.

Inside a child, `call` and `iterate` run the function directly: the budget
already holds, and a child never starts children. The functions, their
arguments and results travel pickled; a program that uses this must guard
its main module (`if __name__ == "__main__":`), as the forkserver's children
import it (docsvc's own commands, gunicorn and pytest do).

What it costs (bench/parse_overhead.py, median of 100, on the shared 2-core
development machine under load): +3.1 ms for `inspect_pdf` (0.6 ms direct),
+5.5 ms for page-one text (6.2 ms direct), nothing measurable against a
verification's ~400 ms; a replacement child (fork + first job) 71 ms. The
first call of a process also starts the forkserver, which imports the
parsers once (1.5-6 s here).
"""
from __future__ import annotations

import ctypes
import logging
import math
import multiprocessing
import os
import resource
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from docsvc.errors import DocsvcError, FileTooComplex, ServiceBusy

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_JOBS_PER_CHILD = 200
# What the forkserver imports once, so that its forks start ready.
PRELOAD = [
    "docsvc.pdf", "docsvc.signatures.verification", "docsvc.documents.ocr", "docsvc.documents.formats",
    "docsvc.ecopies.service",
]
# glibc's mallopt(M_ARENA_MAX): each thread's arena reserves 64 MiB of address
# space, which RLIMIT_AS counts; one arena keeps the budget for the data.
M_ARENA_MAX = -8

_in_child = False


@dataclass(frozen=True)
class ParseBudget:
    memory_mib: int = 256
    timeout_seconds: float = 10
    workers: int = 2
    wait_seconds: float = 20

    @classmethod
    def of(cls, settings) -> ParseBudget:
        return cls(settings.parse_memory_mib, settings.parse_timeout_seconds, settings.parse_workers,
                   settings.parse_wait_seconds)


_process_budget: ParseBudget | None = None


def process_budget() -> ParseBudget:
    """The budget of this process's configuration, for callers that have no settings at hand."""
    global _process_budget
    if _process_budget is None:
        from docsvc.config import load_settings

        _process_budget = ParseBudget.of(load_settings())
    return _process_budget


def call(fn: Callable[..., T], *args: Any, budget: ParseBudget | None = None) -> T:
    """fn(*args) in a parse child: its result, the DocsvcError it raised, or
    FileTooComplex when it ran out of memory or time. fn and its arguments
    and result must pickle (a module-level function, paths, bytes, dataclasses)."""
    if _in_child:
        return fn(*args)
    budget = budget or process_budget()
    with _pool(budget).child() as child:
        return child.call(fn, args, budget)


def iterate(fn: Callable[..., Iterator[T]], *args: Any, budget: ParseBudget | None = None) -> Iterator[T]:
    """The items of the generator fn(*args), made in a parse child one at a
    time as they are asked for; each within the time budget."""
    if _in_child:
        yield from fn(*args)
        return
    budget = budget or process_budget()
    with _pool(budget).child() as child:
        yield from child.iterate(fn, args, budget)


# ---------------------------------------------------------------------------
# The parent's side


class _Child:
    def __init__(self, context, memory_bytes: int) -> None:
        self.conn, child_conn = context.Pipe()
        with _may_start_children():
            self.process = context.Process(target=_child_main, args=(child_conn, memory_bytes), name="docsvc-parse",
                                           daemon=True)
            self.process.start()
        child_conn.close()
        self.jobs = 0
        self.usable = True  # False once it overran, died, or is mid-job in a way we cannot resume

    def call(self, fn, args, budget: ParseBudget):
        self.jobs += 1
        self._send(("call", fn, args))
        kind, value = self._answer(budget)
        if kind != "ok":
            raise self._unexpected(kind)
        return value

    def iterate(self, fn, args, budget: ParseBudget):
        self.jobs += 1
        self._send(("iter", fn, args))
        open_in_child = True
        try:
            while True:
                self._send(("next",))
                try:
                    kind, value = self._answer(budget)
                except BaseException:
                    open_in_child = False  # the child ended the iteration with an error, or is gone
                    raise
                if kind == "end":
                    open_in_child = False
                    return
                if kind != "item":
                    raise self._unexpected(kind)
                yield value
        finally:
            if open_in_child and self.usable:
                # The consumer stopped early: the child closes its generator and waits for the next job.
                try:
                    self._send(("close",))
                    self._answer(budget)
                except DocsvcError:
                    self.kill()  # what the consumer already has stands; this child is not reused

    def _send(self, message) -> None:
        try:
            self.conn.send(message)
        except (OSError, EOFError):
            raise self._died() from None

    def _answer(self, budget: ParseBudget) -> tuple[str, Any]:
        """(kind, value) of the child's next message; raises what the child
        raised, and FileTooComplex when it overran its time or memory."""
        if not self.conn.poll(budget.timeout_seconds):
            self.kill()
            raise FileTooComplex(
                f"Reading the file took longer than this service allows ({budget.timeout_seconds:g} s); it is "
                "unusually complex, or built to exhaust a reader."
            )
        try:
            kind, *rest = self.conn.recv()
        except (EOFError, OSError):
            raise self._died() from None
        if kind == "error":
            raise rest[0]
        if kind == "memory":
            self.kill()
            raise FileTooComplex(
                f"Reading the file needs more memory than this service allows ({budget.memory_mib} MiB); it is "
                "unusually complex, or built to exhaust a reader."
            )
        if kind == "failed":
            self.kill()
            raise RuntimeError(f"parsing failed in the parse child: {rest[0]}")
        return kind, (rest[0] if rest else None)

    def _unexpected(self, kind: str) -> RuntimeError:
        self.kill()
        return RuntimeError(f"the parse child answered {kind!r} out of turn")

    def _died(self) -> FileTooComplex:
        self.kill()
        log.warning("parse child %s died (exit code %s)", self.process.pid, self.process.exitcode)
        return FileTooComplex(
            "Reading the file stopped the reader (out of memory, or data it could not handle); it is damaged "
            "or built to exhaust a reader."
        )

    def kill(self) -> None:
        self.usable = False
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()


class _Pool:
    def __init__(self, budget: ParseBudget) -> None:
        self.budget = budget
        self.context = multiprocessing.get_context("forkserver")
        self.slots = threading.BoundedSemaphore(max(1, budget.workers))
        self.idle: list[_Child] = []
        self.lock = threading.Lock()
        self.pid = os.getpid()

    @contextmanager
    def child(self) -> Iterator[_Child]:
        if not self.slots.acquire(timeout=self.budget.wait_seconds):
            raise ServiceBusy(retry_after=math.ceil(self.budget.timeout_seconds))
        try:
            child = self._take()
            try:
                yield child
            finally:
                self._give_back(child)
        finally:
            self.slots.release()

    def _take(self) -> _Child:
        with self.lock:
            while self.idle:
                child = self.idle.pop()
                if child.process.is_alive():
                    return child
                child.kill()
        return _Child(self.context, _memory_bytes(self.budget))

    def _give_back(self, child: _Child) -> None:
        if child.usable and child.jobs < MAX_JOBS_PER_CHILD and child.process.is_alive():
            with self.lock:
                self.idle.append(child)
        else:
            child.kill()


_starting = threading.Lock()


@contextmanager
def _may_start_children() -> Iterator[None]:
    """Let a Celery pool process start a parse child. Celery's prefork pool
    (billiard) marks its processes daemonic, and multiprocessing refuses
    children to those, lest they outlive it (a parse child cannot: it ends
    when its pipe to the parent closes); and their key is billiard's, which
    multiprocessing cannot pass on. Both are as they were afterwards."""
    config = multiprocessing.current_process()._config
    with _starting:
        saved = dict(config)
        config.pop("daemon", None)
        config["authkey"] = multiprocessing.process.AuthenticationString(bytes(config["authkey"]))
        try:
            yield
        finally:
            config.clear()
            config.update(saved)


_pools: dict[ParseBudget, _Pool] = {}
_pools_lock = threading.Lock()


def _pool(budget: ParseBudget) -> _Pool:
    with _pools_lock:
        pool = _pools.get(budget)
        if pool is None or pool.pid != os.getpid():  # a pool is never inherited across fork()
            if not _pools:
                _start_forkserver()
            pool = _pools[budget] = _Pool(budget)
        return pool


def _start_forkserver() -> None:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)


def _memory_bytes(budget: ParseBudget) -> int:
    return budget.memory_mib * 1024 * 1024


# ---------------------------------------------------------------------------
# The child's side


def _child_main(conn: Connection, memory_bytes: int) -> None:
    global _in_child
    _in_child = True
    _limit_memory(memory_bytes)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone, or closed us
        kind, fn, args = message
        if kind == "call":
            if not _send_outcome(conn, lambda: ("ok", fn(*args))):  # noqa: B023 (called in this iteration)
                return
        elif not _serve_iteration(conn, fn, args):
            return


def _serve_iteration(conn: Connection, fn, args) -> bool:
    """Items on request until the generator ends, fails or the parent says
    close; False if this child must end."""
    items: Iterator | None = None
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return False
        if request[0] == "close":
            if items is not None:
                _attempt(items.close)
            return _send(conn, ("end", None))
        if items is None:
            outcome = _attempt(lambda: iter(fn(*args)))
            if outcome[0] == "ok":
                items = outcome[1]
        if items is not None:
            outcome = _attempt(lambda: next(items))  # noqa: B023 (called in this iteration)
            if outcome[0] == "ok":
                outcome = ("item", outcome[1])
            elif outcome[0] == "stop":
                outcome = ("end", None)
        if not _send(conn, outcome) or outcome[0] in ("memory", "failed"):
            return False
        if outcome[0] in ("end", "error"):
            return True


def _send_outcome(conn: Connection, run: Callable[[], tuple]) -> bool:
    outcome = _attempt(run)
    if outcome[0] == "ok":
        outcome = outcome[1]
    return _send(conn, outcome) and outcome[0] in ("ok", "error")


def _attempt(run: Callable[[], Any]) -> tuple:
    try:
        return ("ok", run())
    except StopIteration:
        return ("stop",)
    except DocsvcError as exc:
        return ("error", exc)
    except MemoryError:
        return ("memory",)
    except Exception as exc:  # a parser's bug: the parent logs it; this child ends
        return ("failed", f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=8)}")


def _send(conn: Connection, outcome: tuple) -> bool:
    try:
        conn.send(outcome)
        return True
    except MemoryError:
        return False
    except Exception as exc:  # an unpicklable result or error
        with suppress(Exception):
            conn.send(("failed", f"cannot send the outcome back: {type(exc).__name__}: {exc}"))
        return False


def _limit_memory(budget_bytes: int) -> None:
    """The child's address space: what it has now (the parsers, imported by
    the forkserver) plus the budget."""
    with suppress(OSError, AttributeError):
        ctypes.CDLL(None).mallopt(M_ARENA_MAX, 1)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash of a parser writes no core file
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = _address_space_now() + budget_bytes
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _address_space_now() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize in /proc/self/status")
