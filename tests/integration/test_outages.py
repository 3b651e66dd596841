"""A dependency that is down, on the scaled profile (the embedded one has
its database, storage and index in its own folder): the database, MinIO,
Elasticsearch or Redis either refuses connections (stopped) or accepts them
and never answers (hung). The health endpoint names it; a request that needs
it answers 503 `<dependency>_unavailable` in the one error shape within the
clients' bounded timeouts, never a 500 or a request held for minutes; what
does not need it goes on (an upload with search or the broker down), and
nothing is half-written. Afterwards, with the dependency back, the work
that waited resumes and the index catches up."""
from __future__ import annotations

import dataclasses
import socket
import threading
from collections.abc import Iterator

import pytest

from docsvc import outages
from docsvc.app import create_app
from docsvc.runtime import Runtime
from search import SearchQuery
from tests.integration.conftest import leftovers, stored_objects
from tests.integration.test_api_and_permissions import process_all
from tests.pdfs import make_pdf, sample_paragraphs

# The broken installation's clients wait this long for a silent dependency
# (the defaults are 5 s for PostgreSQL, 30 s for MinIO, 15 s a try for
# Elasticsearch); a request must have its answer within ANSWER_WITHIN_SECONDS,
# a bound of the contract, not a measurement.
TIMEOUTS = {"database_connect_timeout_seconds": 2, "storage_timeout_seconds": 2, "search_timeout_seconds": 2}
ANSWER_WITHIN_SECONDS = 30


@pytest.fixture(params=["scaled"])
def backend(request, tmp_path):
    from tests.conftest import make_installation

    yield from make_installation(request.param, tmp_path)


class Silent:
    """A listener that accepts connections and never says a word: a hung service."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now: connections are refused
    return port


@pytest.fixture(params=["stopped", "hung"])
def dead_port(request) -> Iterator[int]:
    if request.param == "stopped":
        yield _closed_port()
        return
    silent = Silent()
    yield silent.port
    silent.close()


def _pointed_at(settings, dependency: str, port: int):
    address = f"127.0.0.1:{port}"
    settings = dataclasses.replace(settings, **TIMEOUTS)
    if dependency == outages.DATABASE:
        return dataclasses.replace(settings, database_url=f"postgresql+psycopg://docsvc:x@{address}/docsvc")
    if dependency == outages.STORAGE:
        return dataclasses.replace(settings, minio_endpoint=address)
    if dependency == outages.SEARCH:
        return dataclasses.replace(settings, elasticsearch_url=f"http://{address}")
    return dataclasses.replace(settings, broker_url=f"redis://{address}/0", shared_state_url=f"redis://{address}/0")


def _answered(call):
    """call()'s answer, failing the test if it is still waiting after ANSWER_WITHIN_SECONDS."""
    box: dict = {}
    worker = threading.Thread(target=lambda: box.update(answer=call()), daemon=True)
    worker.start()
    worker.join(ANSWER_WITHIN_SECONDS)
    assert not worker.is_alive(), f"the request was still waiting after {ANSWER_WITHIN_SECONDS} s"
    return box["answer"]


@pytest.fixture
def outage(rt, make_user, tmp_path):
    """An API client of the same installation whose `dependency` is dead, and a stored document."""
    clerk = make_user("clerk")
    pdf = make_pdf(tmp_path / "cong-van.pdf", "Công văn về cải cách hành chính",
                   sample_paragraphs("binh-duong-cchc-2020.txt")[:2])
    uploaded = clerk.post("/api/v1/documents", data={"file": (pdf.open("rb"), "cong-van.pdf")})
    assert uploaded.status_code == 202
    process_all(rt)
    opened: list[Runtime] = []

    def client_with(dependency: str, port: int):
        broken = Runtime(_pointed_at(rt.settings, dependency, port))
        opened.append(broken)
        app = create_app(runtime=broken)
        app.config["TESTING"] = True
        return app.test_client(), {"Authorization": f"Bearer {clerk.token}"}, pdf

    yield client_with, uploaded.get_json()["id"]
    for broken in opened:
        broken.close()


@pytest.mark.parametrize("dependency", [outages.DATABASE, outages.STORAGE, outages.SEARCH, outages.BROKER])
def test_health_names_the_dependency_that_is_down(outage, dependency, dead_port):
    client_with, _ = outage
    client, _, _ = client_with(dependency, dead_port)
    response = _answered(lambda: client.get("/api/v1/health"))
    body = response.get_json()
    assert body["dependencies"][dependency]["ok"] is False and body["dependencies"][dependency]["error"]
    assert all(probe["ok"] for name, probe in body["dependencies"].items() if name != dependency)
    if dependency in outages.ESSENTIAL:
        assert (response.status_code, body["status"]) == (503, "unavailable")
    else:
        assert (response.status_code, body["status"]) == (200, "degraded")


def _refused_in_one_shape(response, dependency: str) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)[:500]
    assert response.get_json()["code"] == f"{dependency}_unavailable"
    assert set(response.get_json()) == {"code", "message"} and response.headers["Retry-After"]


def test_the_database_down_gives_503_and_writes_nothing(rt, outage, dead_port):
    client_with, document_id = outage
    client, auth, pdf = client_with(outages.DATABASE, dead_port)
    before = leftovers(rt)
    _refused_in_one_shape(_answered(lambda: client.get("/api/v1/documents", headers=auth)), "database")
    upload = _answered(lambda: client.post("/api/v1/documents", headers=auth,
                                           data={"file": (pdf.open("rb"), "cong-van-2.pdf")}))
    _refused_in_one_shape(upload, "database")
    assert leftovers(rt) == before  # no object, no row, no spool file


def test_storage_down_gives_503_for_files_and_stores_nothing(rt, outage, dead_port, tmp_path):
    client_with, document_id = outage
    client, auth, _ = client_with(outages.STORAGE, dead_port)
    download = _answered(lambda: client.get(f"/api/v1/documents/{document_id}/files/original", headers=auth))
    _refused_in_one_shape(download, "storage")
    objects = stored_objects(rt)
    other = make_pdf(tmp_path / "khac.pdf", "Thông báo lịch tiếp công dân", sample_paragraphs("binh-duong-cchc-2020.txt")[2:4])
    upload = _answered(lambda: client.post("/api/v1/documents", headers=auth, data={"file": (other.open("rb"), "khac.pdf")}))
    _refused_in_one_shape(upload, "storage")
    assert stored_objects(rt) == objects
    # The document's page of the API still answers: its row needs no storage.
    assert _answered(lambda: client.get(f"/api/v1/documents/{document_id}", headers=auth)).status_code == 200


def test_search_down_gives_503_for_search_and_uploads_go_on_then_catch_up(rt, outage, dead_port, tmp_path):
    client_with, _ = outage
    client, auth, _ = client_with(outages.SEARCH, dead_port)
    _refused_in_one_shape(_answered(lambda: client.get("/api/v1/search?q=cai+cach", headers=auth)), "search")
    other = make_pdf(tmp_path / "thong-bao.pdf", "Thông báo lịch tiếp công dân định kỳ",
                     sample_paragraphs("binh-duong-cchc-2020.txt")[4:6])
    upload = _answered(lambda: client.post("/api/v1/documents", headers=auth,
                                           data={"file": (other.open("rb"), "thong-bao.pdf")}))
    assert upload.status_code == 202, upload.get_json()
    new_id = upload.get_json()["id"]
    # Search is back (the installation's own runtime): the worker's work, and
    # an index write it could not make earlier, land; the new letter is found.
    process_all(rt)
    rt.index.refresh()
    found = rt.index.search(SearchQuery(text="tiep cong dan dinh ky"))
    assert new_id in {hit.id for hit in found.hits}


def test_the_broker_down_still_takes_uploads_and_the_relay_sends_them_later(rt, outage, dead_port, tmp_path):
    from docsvc import outbox

    client_with, _ = outage
    client, auth, _ = client_with(outages.BROKER, dead_port)
    other = make_pdf(tmp_path / "to-trinh.pdf", "Tờ trình về kế hoạch năm", sample_paragraphs("binh-duong-cchc-2020.txt")[6:8])
    upload = _answered(lambda: client.post("/api/v1/documents", headers=auth,
                                           data={"file": (other.open("rb"), "to-trinh.pdf")}))
    assert upload.status_code == 202, upload.get_json()
    # The entry waits, unpublished; with Redis back the relay hands it on.
    assert outbox.relay(rt) >= 1


def test_search_whose_shards_are_not_back_yet_gives_503(rt, outage):
    """A restarted Elasticsearch answers before it has recovered the index's
    shards: searches then fail on every shard (bench/load.py --faults met
    it as a 500). That is the search engine down, said as such."""
    client_with, _ = outage
    es = rt.index.client
    layout = es.indices.get_alias(index=rt.index.index_name)
    # The index made again with its aliases where no node may hold its shard:
    # unassigned, as while a restarted node recovers it.
    for physical, held in layout.items():
        es.indices.delete(index=physical)
        es.indices.create(index=physical, aliases=held["aliases"], wait_for_active_shards="0",
                          settings={"index.routing.allocation.require._name": "nowhere"})
    client, auth, _ = client_with(outages.SEARCH, int(rt.settings.elasticsearch_url.rsplit(":", 1)[1]))
    try:
        _refused_in_one_shape(_answered(lambda: client.get("/api/v1/search?q=cai+cach", headers=auth)), "search")
    finally:
        es.indices.put_settings(index=list(layout), settings={"index.routing.allocation.require._name": None})
        es.cluster.health(index=list(layout), wait_for_status="yellow", timeout="30s")
    assert client.get("/api/v1/search?q=cai+cach", headers=auth).status_code == 200
