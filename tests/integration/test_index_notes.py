"""A web process killed right after a change committed and before it wrote
the change to the search index (bench/load.py --faults: kill -9 of a web
process lost a delivered copy's entry so, and the check found it missing
for good). The change's transaction leaves a durable note; the worker
writes the entry from it, and the index is true to the database again."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from docsvc import documents
from docsvc.models import Document
from tests.integration.test_api_and_permissions import process_all
from tests.pdfs import make_pdf, sample_paragraphs

# Registers the document as the API does, in a process that dies (SIGKILL,
# as the out-of-memory killer or `kill -9` ends it) the moment its
# transaction has committed: before anything after the commit runs.
DIES_AFTER_COMMIT = """
import os, signal, sys
from sqlalchemy import event, select
from sqlalchemy.orm import Session
from docsvc import incoming
from docsvc.config import load_settings
from docsvc.models import User
from docsvc.runtime import Runtime

rt = Runtime(load_settings())
with rt.read() as session:
    clerk = session.scalar(select(User).where(User.username == sys.argv[2]))
    session.expunge(clerk)
event.listen(Session, "after_commit", lambda _session: os.kill(os.getpid(), signal.SIGKILL))
incoming.register_document(rt, clerk, sys.argv[1], {})
"""


@pytest.fixture(params=["scaled"])
def backend(request, tmp_path):
    from tests.conftest import make_installation

    yield from make_installation(request.param, tmp_path)


def test_a_registration_whose_process_died_before_indexing_reaches_the_index(rt, backend, clerk, tmp_path):
    pdf = make_pdf(tmp_path / "cong-van.pdf", "Công văn về lịch tiếp công dân",
                   sample_paragraphs("binh-duong-cchc-2020.txt")[:2])
    uploaded = clerk.post("/api/v1/documents", data={"file": (pdf.open("rb"), "cong-van.pdf")})
    assert uploaded.status_code == 202
    document_id = uploaded.get_json()["id"]
    process_all(rt)
    assert documents.check_index(rt, repair=False).ok

    env = {**os.environ, **backend.env}
    env.pop("DOCSVC_CONFIG", None)
    died = subprocess.run([sys.executable, "-c", DIES_AFTER_COMMIT, document_id, clerk.username], env=env,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert died.returncode == -signal.SIGKILL, died.stderr[-3000:]
    with rt.read() as session:
        assert session.get(Document, document_id).register_number == 1  # the registration committed
    # Its entry still shows the document unregistered: what the dead process did not write.
    assert documents.check_index(rt, repair=False).stale.count == 1

    process_all(rt)  # the worker, on the note the registration left
    assert documents.check_index(rt, repair=False).ok
