"""Fixtures for the search suite only.

``index`` runs every conformance test twice: on Tantivy (a directory in
tmp_path) and on the real Elasticsearch node named by
DOCSVC_TEST_ELASTICSEARCH_URL (scripts/services/elasticsearch.sh writes it to
.cache/services.env). A missing variable or a dead node is a test ERROR, never
a skip: CI must not go green without having exercised Elasticsearch.

``reopen`` opens a second index object on the same storage, as another
process (a worker, the CLI, a restarted server) would.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from search import SearchIndex, open_index

ES_URL_ENV = "DOCSVC_TEST_ELASTICSEARCH_URL"
# Public news articles about administrative reform, real Vietnamese text.
# ../shared/samples beside the checkout, as on every developer machine and in CI.
SAMPLES_DIR = Path(os.environ.get("DOCSVC_SAMPLES_DIR", Path(__file__).resolve().parents[3] / "shared" / "samples"))


def _tantivy_index(settings: dict[str, Any]) -> Iterator[SearchIndex]:
    index = open_index(settings)
    index.ensure_ready()
    try:
        yield index
    finally:
        index.close()


def _elasticsearch_index(settings: dict[str, Any]) -> Iterator[SearchIndex]:
    from elasticsearch import Elasticsearch

    url = os.environ.get(ES_URL_ENV)
    if not url:
        pytest.fail(
            f"{ES_URL_ENV} is not set. Start the node with scripts/services/elasticsearch.sh and "
            "export the variables from .cache/services.env (set -a; . .cache/services.env; set +a)."
        )
    # No retries: a dead node should fail the test at once, not after backoff.
    admin = Elasticsearch(url, request_timeout=30, max_retries=0)
    try:
        admin.info()
    except Exception as exc:  # any transport/auth error means "not usable"
        pytest.fail(f"Elasticsearch at {url} is not reachable ({type(exc).__name__}: {exc})")

    name = f"docsvc-test-{uuid.uuid4().hex[:12]}"  # tests never share an index
    settings.update(elasticsearch_url=url, elasticsearch_index=name)
    index = open_index(settings)
    try:
        index.ensure_ready()
        yield index
    finally:
        try:
            index.drop()  # type: ignore[attr-defined]
            index.close()
            # drop() must leave nothing behind on the shared node.
            assert not admin.indices.exists(index=name), f"index {name} survived drop()"
            assert not admin.indices.exists_index_template(name=f"{name}-template"), "template survived drop()"
        finally:
            admin.close()


@pytest.fixture(params=["tantivy", "elasticsearch"])
def index_settings(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """The settings the ``index`` fixture was opened with (filled in by it)."""
    if request.param == "tantivy":
        return {"search_backend": "tantivy", "search_tantivy_path": str(tmp_path / "search-index")}
    return {"search_backend": "elasticsearch"}


@pytest.fixture
def index(index_settings: dict[str, Any]) -> Iterator[SearchIndex]:
    if index_settings["search_backend"] == "tantivy":
        yield from _tantivy_index(index_settings)
    else:
        yield from _elasticsearch_index(index_settings)


@pytest.fixture
def reopen(index: SearchIndex, index_settings: dict[str, Any]) -> Iterator[Callable[[], SearchIndex]]:
    """Open another index object on the storage of ``index`` (closed at teardown)."""
    opened: list[SearchIndex] = []

    def open_again() -> SearchIndex:
        other = open_index(index_settings)
        opened.append(other)
        return other

    yield open_again
    for other in opened:
        other.close()


@pytest.fixture(scope="session")
def sample_paragraphs() -> list[str]:
    """Paragraphs (>= 120 chars) of the sample articles, in file order."""
    files = sorted(SAMPLES_DIR.glob("*.txt"))
    if not files:
        pytest.fail(f"no sample texts in {SAMPLES_DIR} (set DOCSVC_SAMPLES_DIR)")
    paragraphs = [
        line.strip()
        for path in files
        for line in path.read_text(encoding="utf-8").splitlines()
        if len(line.strip()) >= 120
    ]
    assert len(paragraphs) >= 20, "the samples are expected to hold at least 20 real paragraphs"
    return paragraphs


@pytest.fixture(scope="session")
def sample_texts() -> dict[str, str]:
    """Whole sample articles by file stem."""
    files = sorted(SAMPLES_DIR.glob("*.txt"))
    if not files:
        pytest.fail(f"no sample texts in {SAMPLES_DIR} (set DOCSVC_SAMPLES_DIR)")
    return {path.stem: path.read_text(encoding="utf-8") for path in files}
