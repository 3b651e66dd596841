"""Documents coming in and becoming searchable.

An upload (page, API, `docsvc ingest`, the watched folder) is spooled and
checked (`records`, `formats`), its original stored and recorded with an
outbox entry; the worker (`pipeline`) OCRs scans (`ocr`, `ocr_progress`),
reads the text and suggests register fields (`suggest`), draws the first
page (`thumbnails`) and writes the index entry (`indexing`), which
`index_check` keeps true. `api` and `pages` are its routes; `search_page`
the search page's view of a result.

Other packages and the entry points use only the names below.
"""
from docsvc.documents.index_check import check as check_index
from docsvc.documents.indexing import (
    ReindexProgress,
    index_complete,
    note_reindex,
    pending_retries,
    read_text,
    ready_count,
    refresh_entries,
    refresh_entry,
    reindex,
)
from docsvc.documents.pipeline import PAGE_SEPARATOR, entry_done, register_handler, run_entry, sweep_work_dirs
from docsvc.documents.records import (
    DigestMismatch,
    Incoming,
    SearchFilters,
    Spooled,
    discard,
    enqueue_processing,
    get_document,
    human_size,
    ingest,
    list_documents,
    local_file,
    recalled_among,
    search,
    search_filters,
    spool,
)
from docsvc.documents.thumbnails import thumbnail
from docsvc.documents.watchfolder import scan_once, watch

__all__ = [
    "DigestMismatch", "Incoming",
    "PAGE_SEPARATOR", "ReindexProgress", "SearchFilters", "Spooled", "check_index", "discard",
    "enqueue_processing", "entry_done", "get_document", "human_size", "index_complete", "ingest", "list_documents",
    "local_file", "note_reindex", "pending_retries", "read_text", "ready_count", "recalled_among", "refresh_entries",
    "refresh_entry", "register_handler", "reindex", "run_entry", "scan_once", "search", "search_filters", "spool",
    "sweep_work_dirs", "thumbnail", "watch",
]
