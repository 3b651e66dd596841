"""The documents' pages: a document, discarding an upload, search, thumbnails."""
from __future__ import annotations

from flask import Response, redirect, render_template, request, url_for

from docsvc import documents, validation
from docsvc.documents import search_page
from docsvc.errors import DocsvcError
from docsvc.web.blueprints import pages
from docsvc.web.context import runtime, session_user
from docsvc.web.document_page import document_page
from docsvc.web.requests import login_required


@pages.get("/documents/<document_id>")
@login_required
def document(document_id: str):
    return document_page(document_id)


@pages.post("/documents/<document_id>/discard")
@login_required
def discard_document(document_id: str):
    try:
        documents.discard(runtime(), session_user(), document_id)
    except DocsvcError as exc:
        return document_page(document_id, exc)
    return redirect(url_for("pages.home"))


@pages.get("/search")
@login_required
def search():
    """Results with facets that narrow, the filters in force, an order and pages."""
    query = request.args.get("q", "").strip()
    filters, page, result, error, status = documents.SearchFilters(), 1, None, None, 200
    try:
        page = validation.whole_number(request.args.get("page"), "page", 1, validation.MAX_PAGE, 1)
        filters = documents.search_filters(request.args)
    except DocsvcError as exc:  # a hand-made address: the page's own links send neither
        error, status = exc, exc.http_status
    if query and error is None:
        try:
            result = documents.search(runtime(), session_user(), query, page=page, per_page=search_page.PER_PAGE,
                                      filters=filters, facets=True)
        except DocsvcError as exc:  # what the person typed (or a date range back to front): shown on the page
            error = exc
    address = search_page.SearchAddress(query, filters, page)
    complete = result is None or documents.index_complete(runtime())
    with runtime().read() as db:
        view = search_page.page_view(db, session_user(), address, result, complete)
    return render_template("documents/search.html", query=query, filters=filters, page=page, result=result, error=error,
                           view=view, hidden=address.args(), per_page=search_page.PER_PAGE), status


@pages.get("/documents/<document_id>/thumbnail")
@login_required
def thumbnail(document_id: str):
    """The first page, small, for the search results: drawn once, then kept
    (docsvc/documents/thumbnails.py). The ETag is the picture's hash, so a browser
    whose copy is current gets 304 after the permission check."""
    picture = documents.thumbnail(runtime(), session_user(), document_id)
    response = Response(picture.data, mimetype=picture.media_type)
    # Private: it shows a document only some may see. Ten minutes, then a
    # cheap revalidation: a newly signed version shows soon enough.
    response.headers["Cache-Control"] = "private, max-age=600"
    response.set_etag(picture.etag)
    return response.make_conditional(request)
