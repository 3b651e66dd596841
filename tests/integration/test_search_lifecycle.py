"""The index stays true to the database: an administrator reindexes a
province's documents while clerks search, kills the run and starts it again;
`docsvc search check` finds what went wrong and repairs it; and when the index
is down, documents processed or registered meanwhile become searchable by
themselves once it is back. On both profiles, with the real services."""
from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import update

from docsvc import indexing
from docsvc.models import Agency, Document, DocumentFile, DocumentStatus, FileRole
from search import IndexedDocument, SearchQuery
from tests.pdfs import sample_paragraphs

COMMON = "cải cách hành chính"


# --- what a document's entry is made of ------------------------------------------------


class Recorder:
    """A document that notes which attributes entry_for reads."""

    def __init__(self, document: Document) -> None:
        self._document, self.read = document, set()

    def __getattr__(self, name: str):
        self.read.add(name)
        return getattr(self._document, name)


def a_document(**fields) -> Document:
    document = Document(
        id=str(uuid.uuid4()), agency_id=1, kind="incoming", title="Quyết định về cải cách hành chính",
        number_symbol="15/QĐ-UBND", issuing_body="UBND huyện Quảng Trạch", doc_type="Quyết định",
        issued_date=date(2026, 3, 2), received_date=date(2026, 3, 4), register_number=7, register_year=2026,
        created_at=datetime(2026, 3, 4, 1, 30, tzinfo=timezone.utc), status=DocumentStatus.READY,
    )
    for name, value in fields.items():
        setattr(document, name, value)
    document.files = [DocumentFile(id=1, role=FileRole.TEXT, storage_key="k", sha256="a" * 64, size=1,
                                   media_type="text/plain")]
    return document


def test_an_entry_is_made_only_of_the_columns_its_version_covers():
    recorder = Recorder(a_document())
    indexing.entry_for(recorder, "nội dung")
    columns = {c.key for c in indexing.ENTRY_COLUMNS}
    # Reading anything else would let a change of it go unseen by `search check`.
    assert recorder.read - {"file", "files"} <= columns, recorder.read - columns


@pytest.mark.parametrize("column", [c.key for c in indexing.ENTRY_COLUMNS if c.key != "id"])
def test_changing_what_an_entry_shows_changes_its_version(column):
    before = a_document()
    changed = a_document(id=before.id, **{column: _other_value(getattr(before, column))})
    assert indexing.version_of(changed) != indexing.version_of(before)


def test_a_new_text_changes_the_version_and_a_handling_step_does_not():
    document = a_document()
    version = indexing.version_of(document)
    document.handling_status, document.progress_step = "assigned", "done"
    assert indexing.version_of(document) == version
    document.files[0].sha256 = "b" * 64  # OCR read the scan again
    assert indexing.version_of(document) != version


def test_the_version_is_the_same_from_every_database():
    aware = a_document()
    naive = a_document(id=aware.id, created_at=aware.created_at.replace(tzinfo=None))  # as SQLite returns it
    assert indexing.version_of(naive) == indexing.version_of(aware)


def test_a_document_bears_its_issued_date_else_received_else_the_day_it_came_in_vietnam():
    assert indexing.entry_for(a_document(), "").doc_date == date(2026, 3, 2)
    assert indexing.entry_for(a_document(issued_date=None), "").doc_date == date(2026, 3, 4)
    # 23:30 UTC on 31 December is 06:30 on 1 January in Vietnam.
    late = a_document(issued_date=None, received_date=None, created_at=datetime(2025, 12, 31, 23, 30, tzinfo=timezone.utc))
    entry = indexing.entry_for(late, "")
    assert (entry.doc_date, entry.year) == (date(2026, 1, 1), 2026)
    assert entry.doc_type == "Quyết định"


def _other_value(value):
    if isinstance(value, datetime):
        return value.replace(year=value.year - 1)
    if isinstance(value, date):
        return value.replace(day=value.day + 1)
    if isinstance(value, int):
        return value + 1
    return f"{value} (sửa)"
