"""Accepted work hands itself to the workers: once the transaction that
accepted it commits, its outbox entry is a message on the broker (Redis, or
the embedded profile's folder), with no call for the caller to remember; work
that was rolled back is never sent; and a dead broker costs nothing but time,
the entry staying due for the relay."""
from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from docsvc import documents, outbox
from docsvc.cli import cli_operator
from docsvc.documents.records import PROCESS_DOCUMENT
from docsvc.models import Agency
from docsvc.runtime import Runtime
from tests.pdfs import make_pdf, sample_paragraphs


def queued_entries(rt: Runtime) -> list[int]:
    """The outbox entries waiting on the broker, as the worker would receive them."""
    found = []
    with rt.celery.connection_for_read() as connection:
        channel = connection.default_channel
        while (message := channel.basic_get(rt.settings.task_queue, no_ack=True)) is not None:
            args, _kwargs, _embed = message.decode()
            found.extend(args)
    return found


def ingest(rt: Runtime, tmp_path, name: str) -> int:
    pdf = make_pdf(tmp_path / f"{name}.pdf", "Giấy mời họp", sample_paragraphs("quang-trach-cchc-7-thang-2021.txt")[:2])
    with rt.read() as session:
        agency_id = session.scalar(select(Agency.id))
    _document_id, entry_id = documents.ingest(rt, cli_operator(), documents.local_file(pdf, rt), title=name, agency_id=agency_id)
    return entry_id


def due_entries(rt: Runtime) -> list[int]:
    with rt.read() as session:
        return [entry.id for entry in outbox.due(session)]


def test_committed_work_is_on_the_broker_and_rolled_back_work_is_not(rt, tmp_path):
    entry_id = ingest(rt, tmp_path, "giay-moi")
    with pytest.raises(RuntimeError), rt.write() as session:
        outbox.enqueue(session, PROCESS_DOCUMENT, {"document_id": "never-committed"})
        raise RuntimeError("the request failed after queueing its work")
    assert queued_entries(rt) == [entry_id]
    assert due_entries(rt) == []  # published: the relay leaves it alone for a while


def test_work_accepted_while_the_broker_is_down_stays_due_for_the_relay(rt, tmp_path):
    dead_broker = Runtime(dataclasses.replace(rt.settings, broker_url="redis://127.0.0.1:1/0"))
    try:
        entry_id = ingest(dead_broker, tmp_path, "khi-mat-ket-noi")
    finally:
        dead_broker.close()
    assert due_entries(rt) == [entry_id]
    assert outbox.relay(rt) == 1
    assert queued_entries(rt) == [entry_id]
