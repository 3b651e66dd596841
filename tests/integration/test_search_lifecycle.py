"""The index stays true to the database: an administrator reindexes a
province's documents while clerks search, kills the run and starts it again;
`docsvc search check` finds what went wrong and repairs it; and when the index
is down, documents processed or registered meanwhile become searchable by
themselves once it is back. On both profiles, with the real services."""
from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import update

from docsvc.documents import indexing
from docsvc.models import Agency, Document, DocumentFile, DocumentStatus, FileRole
from search import IndexedDocument, SearchQuery
from signing.pki import free_port
from tests.pdfs import make_pdf, sample_paragraphs
from tests.processes import kill, start_command, start_worker, stop
from tests.waiting import wait_until

COMMON = "kè sông Gianh"  # in every title of ready_documents, in none of their texts


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
        created_at=datetime(2026, 3, 4, 1, 30, tzinfo=UTC), status=DocumentStatus.READY,
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
    late = a_document(issued_date=None, received_date=None, created_at=datetime(2025, 12, 31, 23, 30, tzinfo=UTC))
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


# --- a province's documents, and the commands run on them ---------------------------------------


def ready_documents(rt, count: int) -> list[str]:
    """`count` documents as the pipeline leaves them (rows, text files in
    storage), each with the common words in its title; then indexed."""
    paragraphs = sample_paragraphs("quang-trach-cchc-7-thang-2021.txt")
    texts = [rt.store.put(io.BytesIO(p.encode("utf-8")), "text/plain; charset=utf-8") for p in paragraphs[:8]]
    with rt.write() as session:
        agency_id = session.query(Agency.id).order_by(Agency.id).first()[0]
        documents = [
            Document(agency_id=agency_id, kind="incoming", title=f"Báo cáo số {n}/BC-UBND về {COMMON}",
                     status=DocumentStatus.READY, progress_step="done", progress_percent=100)
            for n in range(1, count + 1)
        ]
        for n, document in enumerate(documents):
            stored = texts[n % len(texts)]
            document.files.append(DocumentFile.of(FileRole.TEXT, stored, "text.txt", media_type="text/plain"))
        session.add_all(documents)
    indexing.reindex(rt)
    return [d.id for d in documents]


def found(rt, text: str = COMMON) -> int:
    """How many documents have every word of `text`."""
    rt.index.refresh()
    return rt.index.search(SearchQuery(text, exact_total=True)).total_all_words


def start(backend, *args: str) -> subprocess.Popen:
    """The real `docsvc` command in the background, its output piped."""
    env = {**os.environ, **backend.env}
    env.pop("DOCSVC_CONFIG", None)
    return subprocess.Popen([sys.executable, "-m", "docsvc.cli", *args], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)




def check(backend, *extra: str) -> tuple[int, dict]:
    result = backend.run("search", "check", "--json", *extra)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


# --- reindexing without an outage ------------------------------------------------------------


def test_a_reindex_killed_midway_resumes_where_it_stopped_and_searches_answer_throughout(backend, rt):
    ids = ready_documents(rt, 2 * indexing.REINDEX_BATCH + 500)  # three batches: killed after the first
    assert found(rt) == len(ids)

    run = start(backend, "reindex")
    first = run.stderr.readline()
    assert first.startswith("reindex: ") and f"of {len(ids):,}" in first, first
    # A clerk searching meanwhile is answered from the live index, in full.
    assert found(rt) == len(ids)
    kill(run)
    assert run.returncode == -signal.SIGKILL, "the reindex ended before it could be interrupted"
    assert found(rt) == len(ids)

    again = backend.run("reindex", check=True)
    resumed = [line for line in again.stderr.splitlines() if "resuming" in line]
    assert resumed, again.stderr
    already = int(resumed[0].split("after ")[1].split(" ")[0].replace(",", ""))
    assert 0 < already < len(ids)
    assert f"indexed {len(ids)} document(s) ({len(ids) - already} by this run" in again.stdout
    assert found(rt) == len(ids)
    code, report = check(backend)
    assert (code, report["documents"], report["entries"]) == (0, len(ids), len(ids))


def test_documents_that_change_during_a_reindex_are_indexed_as_they_are_now(backend, rt):
    ids = ready_documents(rt, 2 * indexing.REINDEX_BATCH + 500)
    run = start(backend, "reindex")
    assert run.stderr.readline().startswith("reindex: ")
    # A clerk corrects a title and discards a document while the build runs.
    with rt.write() as session:
        session.execute(update(Document).where(Document.id == ids[-1]).values(title="Tờ trình nạo vét kênh mương"))
        session.execute(update(Document).where(Document.id == ids[-2]).values(status=DocumentStatus.FAILED))
    indexing.refresh_entry(rt, ids[-1])
    indexing.remove_entry(rt, ids[-2])
    out, err = run.communicate(timeout=300)
    assert run.returncode == 0, err
    assert found(rt, "nao vet kenh muong") == 1
    assert found(rt) == len(ids) - 2
    assert check(backend)[0] == 0



def test_a_change_between_reading_a_batch_and_writing_it_is_not_lost(backend, rt, monkeypatch):
    ids = ready_documents(rt, 50)
    rebuild = rt.index.rebuild

    def rebuild_with_clerks_in_between():
        build = rebuild()
        add = build.add

        def add_after_the_clerks(docs: list[IndexedDocument]) -> None:
            # Read before, written after: a correction and a removal land in between.
            corrected, removed = docs[0].id, docs[1].id
            with rt.write() as session:
                session.execute(update(Document).where(Document.id == corrected).values(title="Tờ trình nạo vét kênh mương"))
                session.execute(update(Document).where(Document.id == removed).values(status=DocumentStatus.FAILED))
            indexing.refresh_entry(rt, corrected)
            indexing.remove_entry(rt, removed)
            add(docs)

        monkeypatch.setattr(build, "add", add_after_the_clerks)
        return build

    monkeypatch.setattr(rt.index, "rebuild", rebuild_with_clerks_in_between)
    indexing.reindex(rt)
    assert found(rt, "nao vet kenh muong") == 1
    assert found(rt) == len(ids) - 2
    assert check(backend)[0] == 0

# --- search check ------------------------------------------------------------------------


def test_search_check_finds_missing_stale_and_extra_entries_and_repair_makes_the_index_true(backend, rt):
    ids = ready_documents(rt, 30)
    missing, stale, failed, handled = ids[:4]
    rt.index.delete([missing])
    gone = str(uuid.uuid4())  # a document deleted while the index was down
    rt.index.index([IndexedDocument(id=gone, agency_id=1, kind="upload", title=f"Bản nháp về {COMMON}", text="")])
    with rt.write() as session:
        session.execute(update(Document).where(Document.id == stale).values(title="Kế hoạch nạo vét kênh mương"))
        session.execute(update(Document).where(Document.id == failed).values(status=DocumentStatus.FAILED))
        # A handling step changes the row, not what its entry shows.
        session.execute(update(Document).where(Document.id == handled).values(handling_status="assigned"))
    rt.index.refresh()

    code, report = check(backend)
    assert code == 1 and not report["ok"]
    assert report["missing"] == {"count": 1, "ids": [missing]}
    assert report["stale"] == {"count": 1, "ids": [stale]}
    assert (report["extra"]["count"], sorted(report["extra"]["ids"])) == (2, sorted([gone, failed]))
    assert (report["documents"], report["entries"]) == (29, 30)

    text = backend.run("search", "check")
    assert text.returncode == 1
    lines = {line.split(":")[0]: line for line in text.stdout.splitlines()}
    assert lines["missing"].startswith("missing: 1 ") and missing in lines["missing"]
    assert lines["stale"].startswith("stale: 1 ") and stale in lines["stale"]
    assert lines["extra"].startswith("extra: 2 ")
    assert lines["pending"].startswith("pending: 0 ")

    code, repaired = check(backend, "--repair")
    assert code == 1 and repaired["repaired"] == {"written": 2, "removed": 2}
    assert check(backend)[0] == 0
    assert found(rt, "nao vet kenh muong") == 1
    assert found(rt) == 28  # not the deleted draft, not the failed document; the missing one again


# --- when the index is down ---------------------------------------------------------------

FAST_RETRIES = {"DOCSVC_OUTBOX_RELAY_SECONDS": "1", "DOCSVC_TASK_LEASE_SECONDS": "20"}


class Forwarder:
    """A port in front of Elasticsearch that the test closes and opens again:
    closed, every connection to it is refused, as to a node that is down."""

    def __init__(self, target: str) -> None:
        host, port = target.split("//", 1)[1].rstrip("/").rsplit(":", 1)
        self.target = (host, int(port))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._listener: socket.socket | None = None
        self._open: list[socket.socket] = []

    def up(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def down(self) -> None:
        # shutdown() first: close() alone leaves a thread blocked in accept()
        # holding the port open, and it keeps taking connections.
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        # Pooled keep-alive connections would carry on through the old sockets.
        for conn in self._open:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
                conn.close()
        self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self._open += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


@pytest.fixture
def index_outage(backend):
    """begin() makes the installation's index unreachable, end() brings it back.
    Set up before the installation's runtime, so that it goes through here."""
    if backend.profile == "scaled":
        forwarder = Forwarder(backend.env["DOCSVC_ELASTICSEARCH_URL"])
        real_url = backend.env["DOCSVC_ELASTICSEARCH_URL"]
        backend.env["DOCSVC_ELASTICSEARCH_URL"] = forwarder.url
        forwarder.up()
        yield SimpleNamespace(begin=forwarder.down, end=forwarder.up)
        forwarder.down()
        backend.env["DOCSVC_ELASTICSEARCH_URL"] = real_url  # for the installation's cleanup
    else:
        root = Path(backend.settings().search_tantivy_path)
        away = root.with_name(root.name + ".away")
        outage = SimpleNamespace(begin=lambda: _replace_with_a_file(root, away), end=lambda: _restore(root, away))
        yield outage
        if away.exists():
            outage.end()


def _replace_with_a_file(root: Path, away: Path) -> None:
    # The index's disk gone (an unmounted volume, say): every open and write
    # fails at once. (Holding its write lock instead makes each writer wait
    # search.tantivy_index.WRITE_WAIT_SECONDS before failing.) The tests
    # run as root, so taking the write permission away would not stop it.
    root.rename(away)
    root.write_text("the search index's disk is not mounted\n")


def _restore(root: Path, away: Path) -> None:
    root.unlink()
    away.rename(root)


def test_documents_processed_or_registered_while_the_index_is_down_become_searchable_once_it_is_back(
        backend, index_outage, rt, make_user, tmp_path):
    clerk = make_user("clerk")
    worker = start_worker(backend, tmp_path, extra_env=FAST_RETRIES)
    try:
        letter = upload(clerk, tmp_path / "cong-van.pdf", "Công văn về một cửa liên thông")
        wait_until(lambda: found(rt, "cong van mot cua lien thong") == 1, 120, "the letter to be searchable")

        index_outage.begin()
        # A clerk registers the letter (the number is given, the page answers)
        # and uploads a report the worker processes: both wait for the index.
        registered = clerk.post(f"/api/v1/documents/{letter}/register", json={
            "title": "Công văn về một cửa liên thông", "issuing_body": "Sở Nội vụ tỉnh Quảng Bình"})
        assert registered.status_code == 200, registered.get_json()
        assert registered.get_json()["incoming_number"] == 1
        report = upload(clerk, tmp_path / "bao-cao.pdf", "Báo cáo nạo vét kênh mương quý một")
        wait_until(lambda: status(rt, report) == DocumentStatus.READY, 120, "the report to be processed")
        code, during = check(backend)
        assert code == 1 and during["pending"]["count"] >= 2, during
        assert {letter, report} <= set(during["pending"]["ids"])

        index_outage.end()  # nobody runs a command: the worker's retries do it
        wait_until(lambda: found(rt, "so noi vu quang binh") == 1, 120, "the registered letter to be searchable")
        wait_until(lambda: found(rt, "nao vet kenh muong") == 1, 120, "the report to be searchable")
        wait_until(lambda: check(backend)[1]["pending"]["count"] == 0, 60, "the retries to be closed")
        assert check(backend)[0] == 0
    finally:
        stop(worker)


def test_a_worker_that_starts_on_an_empty_index_fills_it_without_a_command(backend, rt, tmp_path):
    # A new index layout after an upgrade, or a lost disk: the index is
    # empty while the database has ready documents.
    ready_documents(rt, 30)
    rt.index.clear()
    assert found(rt) == 0
    worker = start_command(backend, tmp_path, "worker", "--concurrency", "1")
    try:
        wait_until(lambda: found(rt) == 30, 180, "the worker to fill the index")
        assert check(backend)[0] == 0
    finally:
        stop(worker)


def upload(clerk, path: Path, title: str) -> str:
    pdf = make_pdf(path, title, sample_paragraphs("binh-duong-cchc-2020.txt")[:3])
    response = clerk.post(f"/api/v1/documents?filename={path.name}", data=pdf.read_bytes(),
                          content_type="application/pdf")
    assert response.status_code == 202, response.get_json()
    return response.get_json()["id"]


def status(rt, document_id: str) -> str:
    with rt.read() as session:
        return session.get(Document, document_id).status
