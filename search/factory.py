"""open_index(): the one place that turns settings into a SearchIndex."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .model import SearchIndex

__all__ = ["BACKENDS", "DEFAULT_ES_INDEX", "open_index"]

DEFAULT_ES_INDEX = "docsvc-documents"
BACKENDS = ("tantivy", "elasticsearch")


def open_index(settings: Mapping[str, Any]) -> SearchIndex:
    """Build the configured backend. Does no I/O: call ``ensure_ready()`` at startup.

    Settings keys:
      search_backend        "tantivy" (default, embedded) | "elasticsearch" (scaled)
      search_tantivy_path   directory of the index (tantivy)
      elasticsearch_url     e.g. "http://127.0.0.1:9200" (elasticsearch)
      elasticsearch_index   index name, default "docsvc-documents"
      elasticsearch_template_path  optional override of config/elasticsearch/documents-template.json
    """
    backend = settings.get("search_backend") or "tantivy"
    if backend == "tantivy":
        path = settings.get("search_tantivy_path")
        if not path:
            raise ValueError("search_tantivy_path must be set for the tantivy search backend")
        from .tantivy_index import TantivyIndex

        return TantivyIndex(path)
    if backend == "elasticsearch":
        url = settings.get("elasticsearch_url")
        if not url:
            raise ValueError("elasticsearch_url must be set for the elasticsearch search backend")
        # Imported lazily so an embedded setup never loads the ES client.
        from .elastic import DEFAULT_TEMPLATE_PATH, ElasticsearchIndex

        template = settings.get("elasticsearch_template_path")
        return ElasticsearchIndex(
            url,
            settings.get("elasticsearch_index") or DEFAULT_ES_INDEX,
            template_path=Path(template) if template else DEFAULT_TEMPLATE_PATH,
            request_timeout=float(settings.get("search_timeout_seconds") or 15),
        )
    raise ValueError(f"unknown search_backend {backend!r}; expected one of {', '.join(map(repr, BACKENDS))}")
