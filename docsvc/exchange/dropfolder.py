"""The drop folder: edXML packages that arrive as files (exchange_drop_dir),
an intake of docsvc.folder_intake.

Each round (Celery beat on both profiles: the embedded profile's `docsvc
serve` runs its worker with beat) takes every `*.edxml` once it stands
still, exactly once:

    <name>.edxml  ──rename──▶  .claimed/<claim>/<name>.edxml   (one of two workers wins the rename)
                  ──▶ done/YYYY-MM-DD/<name>.edxml            received (or received before)
                  ──▶ refused/<name>.edxml + <name>.edxml.txt the reason; its sender told 02

A worker that dies holding a claim leaves the file in `.claimed/`; once the
claim is older than CLAIM_EXPIRES another round claims it again, and
receiving it again finds it already received.
"""
from __future__ import annotations

from functools import partial
from pathlib import Path

from docsvc.exchange import edxml, service
from docsvc.folder_intake import (
    CLAIM_EXPIRES,
    SETTLE_SECONDS,
    Arrived,
    Done,
    Intake,
    Outcome,
    configured_folder,
    take_round,
)
from docsvc.runtime import Runtime

CLAIMED, REFUSED = ".claimed", "refused"
SUFFIX = ".edxml"
Taken = Outcome  # its state: "received", "already_received" or "refused"


def take_drop_folder(rt: Runtime, *, settle_seconds: float = SETTLE_SECONDS) -> list[Taken]:
    """One round over the drop folder: what happened to each package taken."""
    max_bytes = rt.settings.edxml_max_bytes
    intake = Intake(
        label="drop folder", folder=configured_folder("drop folder", "exchange_drop_dir", rt.settings.exchange_drop_dir),
        claims_dir=CLAIMED, refused_dir=REFUSED, refused_state="refused", wants=_is_package, take=partial(_receive, rt),
        max_bytes=max_bytes, too_large=partial(edxml.too_large, max_bytes),
    )
    return take_round(intake, settle_seconds=settle_seconds, claim_expires=CLAIM_EXPIRES)


def _is_package(name: str) -> bool:
    return Path(name).suffix.lower() == SUFFIX


def _receive(rt: Runtime, arrived: Arrived) -> Done:
    """A refusal raises: receive_file has told the sender 02 if its header names a peer."""
    with open(arrived.path, "rb") as handle:
        data = handle.read(rt.settings.edxml_max_bytes + 1)  # bounded even if it grew since it was measured
    try:
        received = service.receive_file(rt, data)
    except service.AlreadyReceived as exc:
        return Done("already_received", reason=exc.code, note=f"Đã nhận trước đó / already received: {exc.message}")
    return Done("received", received.document_id)
