"""The embedded index shared by processes, as the service runs it: the web
server, the Celery worker and the CLI each write and read the same directory.

Real processes (subprocess, fork, SIGKILL), no mocks: Tantivy allows one
writer per index and our fcntl lock must make that safe.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from search import IndexedDocument, SearchQuery, open_index, tantivy_index
from search.tantivy_index import TantivyIndex

REPO = Path(__file__).resolve().parents[2]


def _child(script: str, path: Path) -> subprocess.Popen[str]:
    """A Python process running ``script`` with ``index`` opened on ``path``."""
    prelude = textwrap.dedent(
        f"""
        import sys
        from search import IndexedDocument, SearchQuery, open_index
        index = open_index({{"search_backend": "tantivy", "search_tantivy_path": {str(path)!r}}})
        index.ensure_ready()
        """
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-c", prelude + textwrap.dedent(script)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen[str], timeout: float = 120) -> str:
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err
    return out


@pytest.fixture
def shared(tmp_path: Path) -> TantivyIndex:
    index = open_index({"search_backend": "tantivy", "search_tantivy_path": str(tmp_path / "idx")})
    index.ensure_ready()
    yield index  # type: ignore[misc]
    index.close()


def test_a_worker_a_web_server_and_the_cli_writing_at_once_all_land(shared: TantivyIndex, tmp_path: Path) -> None:
    # Each writer commits document by document, as the worker does per upload.
    writers = [
        _child(
            f"""
            for i in range(15):
                index.index([IndexedDocument(id=f"w{w}-{{i:02d}}", agency_id=1, kind="incoming",
                                             title=f"Công văn số {{i}} của đơn vị {w}", text="cải cách hành chính")])
            """,
            tmp_path / "idx",
        )
        for w in range(4)
    ]
    for writer in writers:
        _finish(writer)
    # The parent opened its index before the writes; it sees them without reopening.
    assert shared.count() == 60
    result = shared.search(SearchQuery("cai cach hanh chinh", per_page=100))
    assert result.total == 60 and len({hit.id for hit in result.hits}) == 60


def test_a_reader_process_sees_what_another_process_commits(shared: TantivyIndex, tmp_path: Path) -> None:
    reader = _child(
        """
        import time
        deadline = time.monotonic() + 60
        seen = 0
        while time.monotonic() < deadline and seen < 3:
            seen = index.search(SearchQuery("thong bao")).total
            time.sleep(0.01)
        print(seen)
        """,
        tmp_path / "idx",
    )
    for i in range(3):
        shared.index([IndexedDocument(id=f"t{i}", agency_id=1, kind="incoming", title="Thông báo", text="")])
        time.sleep(0.05)
    assert _finish(reader).strip() == "3"


def test_a_writer_killed_mid_write_leaves_a_usable_index(shared: TantivyIndex, tmp_path: Path) -> None:
    # Batches of 200 large documents, forever: the kill lands inside one.
    writer = _child(
        """
        batch = 0
        body = "Báo cáo kết quả cải cách hành chính. " * 2000
        while True:
            index.index(IndexedDocument(id=f"b{batch}-{i:03d}", agency_id=1, kind="incoming", title="Báo cáo",
                                        text=body) for i in range(200))
            batch += 1
        """,
        tmp_path / "idx",
    )
    try:
        deadline = time.monotonic() + 60
        while shared.count() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # well inside the next batch
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    committed = shared.count()
    assert committed > 0 and committed % 200 == 0, "only whole commits are visible"
    assert shared.search(SearchQuery("bao cao", exact_total=True)).total == committed
    # Both locks died with the process: the next writer goes straight in.
    started = time.monotonic()
    shared.index([IndexedDocument(id="after", agency_id=1, kind="incoming", title="Tờ trình", text="")])
    assert time.monotonic() - started < 10
    assert [hit.id for hit in shared.search(SearchQuery("to trinh")).hits] == ["after"]
    assert shared.count() == committed + 1


def test_a_live_write_gives_up_on_a_busy_index_within_its_wait_and_searches_carry_on(
    shared: TantivyIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another process holds the write lock (a rebuild's batch and its merges):
    # a clerk's change must not hang its request; the caller leaves the write
    # to the outbox retries (docsvc.documents.indexing). Searches do not wait at all.
    shared.index([IndexedDocument(id="kept", agency_id=1, kind="incoming", title="Giấy mời họp", text="")])
    holder = _child(
        f"""
        import fcntl, time
        with open({str(tmp_path / "idx" / "write.lock")!r}, "a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            print("held", flush=True)
            time.sleep(60)
        """,
        tmp_path / "idx",
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        monkeypatch.setattr(tantivy_index, "WRITE_WAIT_SECONDS", 0.5)
        started = time.monotonic()
        with pytest.raises(tantivy_index.IndexBusy, match="busy"):
            shared.index([IndexedDocument(id="late", agency_id=1, kind="incoming", title="Tờ trình", text="")])
        assert time.monotonic() - started < 5
        assert [hit.id for hit in shared.search(SearchQuery("giay moi")).hits] == ["kept"]
    finally:
        holder.kill()
        holder.wait()
    shared.index([IndexedDocument(id="late", agency_id=1, kind="incoming", title="Tờ trình", text="")])
    assert [hit.id for hit in shared.search(SearchQuery("to trinh")).hits] == ["late"]


def test_children_forked_by_a_process_that_never_opened_the_engine_each_open_it(
    shared: TantivyIndex, tmp_path: Path
) -> None:
    # gunicorn and Celery prefork fork after the app (and its index object)
    # exist, from a process that never opens the engine (it is not fork-safe:
    # search.tantivy_index, "Forking"). Each child opens its own, and what
    # each writes lands. In a process of its own, not pytest's, whose other
    # tests' engine threads would be inherited.
    script = textwrap.dedent(
        f"""
        import os, sys
        from search import IndexedDocument, open_index
        index = open_index({{"search_backend": "tantivy", "search_tantivy_path": {str(tmp_path / "idx")!r}}})
        for n in range(5):
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    index.ensure_ready()
                    index.index([IndexedDocument(id=f"child-{{n}}", agency_id=1, kind="incoming",
                                                 title="Quyết định", text="")])
                    code = 0
                finally:
                    os._exit(code)
            _, status = os.waitpid(pid, 0)
            if os.WEXITSTATUS(status):
                sys.exit(f"child {{n}} failed")
        """
    )
    forker = subprocess.run([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": str(REPO)},
                            capture_output=True, text=True, timeout=120)
    assert forker.returncode == 0, forker.stderr
    shared.refresh()
    found = shared.search(SearchQuery("quyet dinh", per_page=10)).hits
    assert {hit.id for hit in found} == {f"child-{n}" for n in range(5)}
