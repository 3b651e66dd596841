"""open_index(): the one place that turns settings into a SearchIndex."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .model import SearchIndex

__all__ = ["DEFAULT_ES_INDEX", "open_index"]

DEFAULT_ES_INDEX = "docsvc-documents"


def open_index(settings: Mapping[str, Any]) -> SearchIndex:
    """Build the configured backend. Does no I/O: call ``ensure_ready()`` at startup.

    Settings keys:
      search_backend        "sqlite" (default) | "elasticsearch"
      search_sqlite_path    file path (sqlite)
      elasticsearch_url     e.g. "http://127.0.0.1:9200" (elasticsearch)
      elasticsearch_index   index name, default "docsvc-documents"
      elasticsearch_template_path  optional override of config/elasticsearch/documents-template.json
    """
    backend = settings.get("search_backend") or "sqlite"
    if backend == "sqlite":
        path = settings.get("search_sqlite_path")
        if not path:
            raise ValueError("search_sqlite_path must be set for the sqlite search backend")
        from .sqlite_fts import SqliteFtsIndex

        return SqliteFtsIndex(path)
    if backend == "elasticsearch":
        url = settings.get("elasticsearch_url")
        if not url:
            raise ValueError("elasticsearch_url must be set for the elasticsearch search backend")
        # Imported lazily so a SQLite-only setup never loads the ES client.
        from .elastic import DEFAULT_TEMPLATE_PATH, ElasticsearchIndex

        template = settings.get("elasticsearch_template_path")
        return ElasticsearchIndex(
            url,
            settings.get("elasticsearch_index") or DEFAULT_ES_INDEX,
            template_path=Path(template) if template else DEFAULT_TEMPLATE_PATH,
        )
    raise ValueError(f"unknown search_backend {backend!r}; expected 'sqlite' or 'elasticsearch'")
