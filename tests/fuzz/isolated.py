"""One entry point at a time in a child process of its own, as the fuzzers run them.

The child (multiprocessing "spawn") gets a network namespace with only
loopback when the process may make one (root), so that no address a mutated
file names can be reached however verification runs: in this child, or in
a parsing sandbox's children, which inherit the namespace. The verify child
then runs the development PKI's TSA/OCSP/CRL itself, inside. It also has an
address-space limit, and the parent kills it after a time limit: a hang, a
crash of a C library or a memory bomb becomes an answer, not the end of
the run. Used by tests/fuzz/test_parsers_fuzz.py (verification) and
bench/fuzz.py (every target).
"""
from __future__ import annotations

import logging
import multiprocessing
import resource
import time
import traceback
from pathlib import Path

TEXT_TARGETS = ("ecopy_code", "suggest")
CLONE_NEWNET = 0x40000000  # <sched.h>; os.unshare arrives with Python 3.12


def isolate_network() -> bool:
    """This process (and whatever it starts: a parsing sandbox's children
    too) gets a network namespace of its own with only loopback, so no
    address a mutated file names can be reached, however verification runs.
    Needs root (CAP_SYS_ADMIN); without it the in-process guard alone holds."""
    import ctypes
    import subprocess

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        return False
    subprocess.run(["ip", "link", "set", "lo", "up"], check=False, capture_output=True)
    return True


def child(conn, target: str, data_dir: str, pki_port: int, memory_mib: int, spool: str) -> None:
    """Runs one target on the inputs the parent sends; answers what happened."""
    isolated = isolate_network()
    resource.setrlimit(resource.RLIMIT_AS, (memory_mib * 1024 * 1024, memory_mib * 1024 * 1024))
    for name in ("pyhanko", "pyhanko_certvalidator", "signing", "fontTools", "pikepdf"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    import warnings

    warnings.simplefilter("ignore")
    from docsvc.config import load_settings
    from tests.fuzz import targets
    from tests.fuzz.netguard import loopback_only

    settings = load_settings({}, data_dir=data_dir)
    path = Path(spool)
    if isolated and target == "verify":
        # The parent's development services are outside this namespace: the
        # child runs its own on the same port (verification then finds them).
        from signing.devservices import DevServices
        from signing.pki import load_pki

        DevServices(load_pki(settings.pki_dir)).start()
    with loopback_only({pki_port}) as guard:
        conn.send("ready" if isolated else "ready without a network namespace")
        while True:
            message = conn.recv()
            if message is None:
                return
            data: bytes = message
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            started = time.perf_counter()
            answer: dict = {}
            try:
                outcome = run_target(targets, target, settings, path, data)
                answer = {"kind": outcome.kind, "detail": outcome.detail}
            except targets.PropertyViolation as exc:
                answer = {"kind": "violation", "detail": str(exc).splitlines()[0][:300],
                          "traceback": "".join(traceback.format_exception(exc.__cause__ or exc))[-6000:]}
            except MemoryError as exc:
                answer = {"kind": "memory", "detail": f"MemoryError at the {memory_mib} MiB limit",
                          "traceback": "".join(traceback.format_exception(exc))[-6000:]}
            answer["seconds"] = time.perf_counter() - started
            answer["rss_growth_mib"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
            answer["attempts"] = [f"{h}:{p}" for h, p in guard.take_attempts()]
            conn.send(answer)


def run_target(targets, target: str, settings, path: Path, data: bytes):
    if target == "ecopy_code":
        return targets.ecopy_code(data.decode("utf-8", "replace"))
    if target == "suggest":
        return targets.suggestion(data.decode("utf-8", "replace"))
    if target == "verify":
        return targets.verification(settings, data)
    path.write_bytes(data)
    if target == "intake":
        return targets.upload_intake(settings, path)
    if target == "inspect_pdf":
        return targets.inspect_pdf(path)
    return targets.page_texts(path)


class Worker:
    """The child of one target, restarted after it dies or is killed."""

    def __init__(self, target: str, data_dir: str, pki_port: int, memory_mib: int, workdir: Path) -> None:
        self.args = (target, data_dir, pki_port, memory_mib, str(workdir / f"{target}.input"))
        self.context = multiprocessing.get_context("spawn")
        self.process = None
        self.conn = None

    def start(self) -> None:
        parent, child_end = self.context.Pipe()
        self.process = self.context.Process(target=child, args=(child_end, *self.args), daemon=True)
        self.process.start()
        child_end.close()
        self.conn = parent
        ready = parent.recv() if parent.poll(120) else None
        if ready is None or not ready.startswith("ready"):
            raise SystemExit(f"the {self.args[0]} child did not start")
        if ready != "ready":
            print(f"  warning: {ready} (not root?): only the in-process loopback guard holds", flush=True)

    def run(self, data: bytes, timeout: float) -> dict:
        if self.process is None or not self.process.is_alive():
            self.start()
        started = time.perf_counter()
        try:
            self.conn.send(data)
            if self.conn.poll(timeout):
                return self.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            pass
        took = time.perf_counter() - started
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
            self.process = None
            return {"kind": "timeout", "detail": f"no answer in {timeout:.0f} s, killed", "seconds": took}
        code = self.process.exitcode
        self.process = None
        return {"kind": "crash", "detail": f"the child died (exit code {code})", "seconds": took}

    def stop(self) -> None:
        if self.process is not None and self.process.is_alive():
            self.conn.send(None)
            self.process.join(5)
            if self.process.is_alive():
                self.process.kill()
                self.process.join()


def outcome_in_child(worker: Worker, data: bytes, timeout: float = 300):
    """The child's answer as the in-process target would give it: a broken
    promise (or a hang, a crash, a connection attempt) raises PropertyViolation."""
    from tests.fuzz import targets

    answer = worker.run(data, timeout)
    if answer.get("attempts"):
        raise targets.PropertyViolation(f"verification tried to connect to {answer['attempts']}")
    if answer["kind"] in ("violation", "memory", "timeout", "crash"):
        raise targets.PropertyViolation(f"{answer['detail']}\n{answer.get('traceback', '')}")
    if answer["kind"] == "known":
        targets.KNOWN_MET[answer["detail"]] += 1
    return targets.Outcome(answer["kind"], answer["detail"])
