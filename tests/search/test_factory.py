"""open_index() turns settings into the backend they name, without I/O."""

from __future__ import annotations

from pathlib import Path

import pytest

from search import open_index
from search.elastic import ElasticsearchIndex
from search.tantivy_index import TantivyIndex


def test_the_embedded_tantivy_index_is_the_default(tmp_path: Path) -> None:
    index = open_index({"search_tantivy_path": str(tmp_path / "idx")})
    assert isinstance(index, TantivyIndex)
    assert not (tmp_path / "idx").exists()  # no I/O until ensure_ready()
    index.ensure_ready()
    assert (tmp_path / "idx" / "CURRENT").is_file()
    index.close()


def test_elasticsearch_is_opened_by_name_with_the_default_index() -> None:
    es = open_index({"search_backend": "elasticsearch", "elasticsearch_url": "http://127.0.0.1:1"})
    assert isinstance(es, ElasticsearchIndex) and es.index_name == "docsvc-documents"
    es.close()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"search_backend": "solr"}, "unknown search_backend 'solr'"),
        ({"search_backend": "sqlite"}, "unknown search_backend 'sqlite'"),  # docsvc.config renames it first
        ({"search_backend": "tantivy"}, "search_tantivy_path"),
        ({"search_backend": "elasticsearch"}, "elasticsearch_url"),
    ],
)
def test_incomplete_or_unknown_settings_say_what_is_missing(settings: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        open_index(settings)
