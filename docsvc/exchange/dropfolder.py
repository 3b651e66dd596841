"""The drop folder: edXML packages that arrive as files (exchange_drop_dir).

Each round (Celery beat on both profiles: the embedded profile's `docsvc
serve` runs its worker with beat) takes every `*.edxml` exactly once:

    <name>.edxml  ──rename──▶  .claimed/<token>-<name>.edxml   (one of two workers wins the rename)
                  ──▶ done/YYYY-MM-DD/<name>.edxml              received (or received before)
                  ──▶ refused/<name>.edxml + <name>.edxml.txt   the reason; its sender told 02

A worker that dies holding a claim leaves the file in `.claimed/`; once the
claim is older than CLAIM_EXPIRES another round claims it again, by the
same atomic rename, and receiving it again finds it already received.
"""
from __future__ import annotations

import logging
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from docsvc.documents import done_dir, move_into
from docsvc.errors import DocsvcError, InvalidInput
from docsvc.exchange import service
from docsvc.runtime import Runtime

log = logging.getLogger(__name__)
CLAIMED, REFUSED = ".claimed", "refused"
SUFFIX = ".edxml"
CLAIM_EXPIRES = 600.0  # seconds: far longer than receiving a 64 MiB package takes
SETTLE_SECONDS = 3.0  # a file modified more recently may still be being written


@dataclass(frozen=True)
class Taken:
    name: str
    state: str  # "received", "already_received" or "refused"
    document_id: str | None = None
    reason: str = ""


def take_drop_folder(rt: Runtime, *, settle_seconds: float = SETTLE_SECONDS) -> list[Taken]:
    """One round over the drop folder: what happened to each package taken."""
    if not rt.settings.exchange_drop_dir:
        raise InvalidInput("No drop folder is configured (setting exchange_drop_dir).")
    folder = Path(rt.settings.exchange_drop_dir)
    if not folder.is_dir():
        raise InvalidInput(f"The drop folder {folder} does not exist.")
    claimed_dir = folder / CLAIMED
    claimed_dir.mkdir(exist_ok=True)
    waiting = [p for p in folder.iterdir() if _arrived(p, settle_seconds)]
    waiting += [p for p in claimed_dir.iterdir() if _abandoned(p)]
    return [_take(rt, folder, claim) for claim in (_claim(p, claimed_dir) for p in sorted(waiting)) if claim]


def _arrived(path: Path, settle_seconds: float) -> bool:
    if path.suffix.lower() != SUFFIX or path.name.startswith(".") or not path.is_file():
        return False
    try:
        return time.time() - path.stat().st_mtime >= settle_seconds
    except FileNotFoundError:
        return False


def _abandoned(path: Path) -> bool:
    try:
        return time.time() - path.stat().st_mtime >= CLAIM_EXPIRES
    except FileNotFoundError:
        return False


def _original_name(path: Path) -> str:
    return path.name.split("-", 1)[1] if path.parent.name == CLAIMED else path.name


def _claim(path: Path, claimed_dir: Path) -> Path | None:
    """This worker's file, or None if another took it first (rename is atomic)."""
    target = claimed_dir / f"{secrets.token_hex(6)}-{_original_name(path)}"
    try:
        os.rename(path, target)
    except FileNotFoundError:
        return None
    os.utime(target)  # the claim's age is the file's modification time
    return target


def _take(rt: Runtime, folder: Path, claim: Path) -> Taken:
    name = _original_name(claim)
    try:
        with open(claim, "rb") as handle:
            data = handle.read(rt.settings.edxml_max_bytes + 1)  # one byte over tells "too large"
        received = service.receive_file(rt, data)
    except service.AlreadyReceived as exc:
        move_into(claim, done_dir(folder), note=f"Đã nhận trước đó / already received: {exc.message}", name=name)
        return Taken(name, "already_received", reason=exc.code)
    except DocsvcError as exc:
        move_into(claim, folder / REFUSED, f"{exc.message} ({exc.code})", name)
        log.warning("drop folder: %s refused: %s", name, exc.message)
        return Taken(name, "refused", reason=exc.code)
    move_into(claim, done_dir(folder), name=name)
    return Taken(name, "received", received.document_id)
