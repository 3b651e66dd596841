"""What the search page shows beside the results: facets as links that narrow,
the filters in force (each removable), the orders, and the pages. Every link
is the current search with one thing changed, so paging keeps every filter
and a filter's change starts again from page one."""
from __future__ import annotations

import math
from dataclasses import dataclass, fields

from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from docsvc.documents.records import SearchFilters, recalled_among
from docsvc.models import Agency, User
from docsvc.permissions import can_see_agency, visible_agency_ids
from docsvc.presenters import SearchCounts, search_counts
from docsvc.web.i18n import translate
from search import FACET_FIELDS, SORTS, TOTAL_CAP, SearchResult

PER_PAGE = 20


@dataclass(frozen=True)
class Link:
    label: str
    url: str
    active: bool = False
    count: int | None = None


@dataclass(frozen=True)
class Facet:
    name: str
    links: list[Link]


@dataclass(frozen=True)
class SearchPage:
    counts: SearchCounts | None
    facets: list[Facet]
    active: list[Link]  # the filters in force; each url removes one
    clear_all: str | None
    sorts: list[Link]
    previous: str | None
    next: str | None
    pages: int
    index_complete: bool = True  # False: some ready documents cannot be found yet
    recalled: frozenset[str] = frozenset()  # hits their sender recalled, marked "Đã thu hồi"


class SearchAddress:
    """The current search (query, filters, page) and the addresses of its neighbours."""

    def __init__(self, query: str, filters: SearchFilters, page: int) -> None:
        self.query, self.filters, self.page = query, filters, page

    def args(self) -> dict[str, str]:
        values = {f.name: getattr(self.filters, f.name) for f in fields(SearchFilters)}
        if values["sort"] == "relevance":
            values["sort"] = None
        return {name: str(value) for name, value in values.items() if value is not None}

    def url(self, page: int = 1, **changes: object) -> str:
        args = {"q": self.query, **self.args()}
        for name, value in changes.items():
            if value is None:
                args.pop(name, None)
            else:
                args[name] = str(value)
        if page > 1:
            args["page"] = str(page)
        return url_for("pages.search", **args)


def page_view(session: Session, user: User, address: SearchAddress, result: SearchResult | None,
              index_complete: bool = True) -> SearchPage:
    agencies = _agency_names(session, user, address.filters, result)
    facets = [] if result is None else [
        Facet(name, [_facet_link(address, name, bucket.value, bucket.count, agencies) for bucket in buckets])
        for name, buckets in _shown_facets(user, result)
    ]
    active = _active_filters(address, agencies)
    pages = _page_count(result)
    return SearchPage(
        counts=search_counts(result) if result is not None else None,
        facets=facets,
        active=active,
        clear_all=SearchAddress(address.query, SearchFilters(sort=address.filters.sort), 1).url() if active else None,
        sorts=[Link(translate(f"search.sort.{s}"), address.url(sort=None if s == "relevance" else s),
                    s == address.filters.sort) for s in SORTS],
        previous=address.url(address.page - 1) if result is not None and address.page > 1 else None,
        next=address.url(address.page + 1) if address.page < pages else None,
        pages=pages,
        index_complete=index_complete,
        recalled=recalled_among(session, result) if result is not None else frozenset(),
    )


def _page_count(result: SearchResult | None) -> int:
    # Pages past TOTAL_CAP results cannot be asked for (search.query.MAX_RESULT_WINDOW).
    return 0 if result is None else math.ceil(min(result.total, TOTAL_CAP) / PER_PAGE)


def _shown_facets(user: User, result: SearchResult):
    """The facets in display order; the agency's only for whoever sees several."""
    visible = visible_agency_ids(user)
    sees_several = visible is None or len(visible) > 1
    for name in FACET_FIELDS:
        buckets = result.facets.get(name) or []
        if buckets and (name != "agency_id" or sees_several):
            yield name, buckets


def _facet_link(address: SearchAddress, name: str, value, count: int, agencies: dict[int, str]) -> Link:
    # Each facet narrows the filter of its name; a click on the value in
    # force lifts it, like unticking a box.
    active = str(getattr(address.filters, name)) == str(value)
    url = address.url(**{name: None if active else value})
    return Link(value_label(name, value, agencies), url, active, count)


def value_label(name: str, value, agencies: dict[int, str]) -> str:
    if name == "kind":
        return translate(f"kind.{value}")
    if name == "agency_id":
        return agencies.get(int(value), f"#{value}")
    return str(value)


def _active_filters(address: SearchAddress, agencies: dict[int, str]) -> list[Link]:
    filters = address.filters
    shown = []
    for name in ("kind", "year", "issuing_body", "doc_type", "agency_id"):
        value = getattr(filters, name)
        if value is not None:
            label = f"{translate('search.facet.' + name)}: {value_label(name, value, agencies)}"
            shown.append(Link(label, address.url(**{name: None}), True))
    for name in ("date_from", "date_to"):
        value = getattr(filters, name)
        if value is not None:
            shown.append(Link(f"{translate('search.' + name)} {value:%d/%m/%Y}", address.url(**{name: None}), True))
    return shown


def _agency_names(session: Session, user: User, filters: SearchFilters, result: SearchResult | None) -> dict[int, str]:
    """Names of the agencies the facet and the filters show (those the user may see)."""
    ids = {int(b.value) for b in result.facets.get("agency_id", [])} if result is not None else set()
    if filters.agency_id is not None and can_see_agency(user, filters.agency_id):
        ids.add(filters.agency_id)
    if not ids:
        return {}
    return dict(session.execute(select(Agency.id, Agency.name).where(Agency.id.in_(ids))).tuples().all())
