"""Elasticsearch's index layout, told as an operator's stories: the configured
name is an alias to one generation, a full reindex builds the next one beside
it and swaps it in without a search outage, an install from before aliases is
taken over by its first rebuild, and drop() leaves nothing on the node.

The behaviour every backend shares (rebuild, resume, abort, dual writes) is in
test_ranking.py; these are what only an alias layout can get wrong.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from search import IndexedDocument, SearchIndex, SearchQuery, elastic
from search.elastic import ElasticsearchIndex, load_template


@pytest.fixture
def index_settings() -> dict[str, Any]:
    """Only Elasticsearch: overrides the backend-parametrised fixture of conftest."""
    return {"search_backend": "elasticsearch"}


@pytest.fixture
def es(index: SearchIndex) -> ElasticsearchIndex:
    assert isinstance(index, ElasticsearchIndex)
    return index


def doc(doc_id: str, title: str, **fields: Any) -> IndexedDocument:
    fields.setdefault("agency_id", 1)
    fields.setdefault("kind", "incoming")
    return IndexedDocument(id=doc_id, title=title, text="", **fields)


def found(index: SearchIndex, text: str) -> set[str]:
    return {hit.id for hit in index.search(SearchQuery(text, per_page=100)).hits}


def physical(es: ElasticsearchIndex) -> dict[str, set[str]]:
    """Every index the name owns on the node, with its aliases."""
    response = es.client.options(ignore_status=404).indices.get_alias(
        index=f"{es.index_name}*", ignore_unavailable=True, allow_no_indices=True
    )
    return {name: set(body["aliases"]) for name, body in response.body.items() if "aliases" in body}


def _legacy_body(es: ElasticsearchIndex) -> dict[str, Any]:
    """The index as installs from before aliases created it: the name itself a
    concrete index, without the exact fields, doc_type, doc_date or version."""
    template = load_template(es.index_name)["template"]
    analysis = template["settings"]["analysis"]
    del analysis["analyzer"]["vi_exact"], analysis["analyzer"]["vi_exact_pairs"], analysis["filter"]
    del analysis["char_filter"]["vi_joiners"]
    properties = template["mappings"]["properties"]
    for name in ("exact", "exact_pairs", "doc_type", "doc_date", "version"):
        del properties[name]
    for field in properties.values():
        field.pop("copy_to", None)
        field.pop("index_phrases", None)
    return {"settings": template["settings"], "mappings": template["mappings"]}


def test_an_install_from_before_aliases_keeps_searching_until_its_first_rebuild_takes_it_over(
    es: ElasticsearchIndex,
) -> None:
    name = es.index_name
    es.drop()
    es.client.indices.create(index=name, **_legacy_body(es))
    es.client.index(index=name, id="old", document={"id": "old", "agency_id": 1, "kind": "incoming",
                                                     "title": "Kế hoạch cũ", "text": ""}, refresh=True)
    es.ensure_ready()  # the upgraded service starts: the old index stays and serves
    assert physical(es) == {name: set()}
    assert found(es, "ke hoach") == {"old"}
    # New documents carry the new register fields; the old mapping takes them in place.
    es.index([doc("new", "Kế hoạch mới", doc_type="Kế hoạch", version="v1")])
    es.refresh()
    assert found(es, "ke hoach") == {"old", "new"}
    assert [h.id for h in es.search(SearchQuery("ke hoach", doc_type="Kế hoạch")).hits] == ["new"]

    build = es.rebuild()
    build.add([doc("new", "Kế hoạch mới", doc_type="Kế hoạch", version="v1"), doc("old", "Kế hoạch cũ")])
    assert found(es, "ke hoach") == {"old", "new"}  # still the old index, searching
    build.finish()
    assert physical(es) == {f"{name}-v000001": {name}}  # the concrete index is gone, the alias took its name
    assert found(es, "ke hoach") == {"old", "new"}
    assert sorted(es.versions()) == [("new", "v1"), ("old", "")]


def test_searches_during_the_swap_always_see_one_whole_index(es: ElasticsearchIndex) -> None:
    es.index([doc(f"old-{i}", "Quyết định cũ") for i in range(30)])
    es.refresh()
    build = es.rebuild()
    build.add([doc(f"new-{i}", "Quyết định mới") for i in range(40)])
    old = {f"old-{i}" for i in range(30)}
    new = {f"new-{i}" for i in range(40)}
    seen: list[set[str]] = []
    failures: list[BaseException] = []
    stop = threading.Event()

    def clerk() -> None:
        try:
            while not stop.is_set():
                seen.append(found(es, "quyet dinh"))
        except BaseException as exc:  # a search that fails during the swap is the bug
            failures.append(exc)

    searching = threading.Thread(target=clerk)
    searching.start()
    try:
        build.finish()
        seen_after_swap = len(seen)
        while len(seen) < seen_after_swap + 3 and searching.is_alive():
            stop.wait(0.01)
    finally:
        stop.set()
        searching.join()
    assert not failures
    assert seen and all(result in (old, new) for result in seen)
    assert seen[-1] == new


def test_writes_racing_the_swap_all_land_in_the_new_index_and_create_no_index(
    es: ElasticsearchIndex, reopen: Callable[[], SearchIndex]
) -> None:
    build = es.rebuild()
    worker = reopen()  # the worker process, registering documents one by one
    written: list[str] = []
    failures: list[BaseException] = []

    def register() -> None:
        try:
            for i in range(60):
                worker.index([doc(f"w-{i:02d}", "Giấy mời họp")])
                written.append(f"w-{i:02d}")
        except BaseException as exc:
            failures.append(exc)

    registering = threading.Thread(target=register)
    registering.start()
    while len(written) < 20 and registering.is_alive():
        threading.Event().wait(0.005)
    build.finish()
    registering.join()
    assert not failures and len(written) == 60
    es.refresh()
    assert found(es, "giay moi") == set(written)
    # A write that read the layout before the swap never re-creates "<name>-rebuild".
    assert set(physical(es)) == {build.index}
    assert not es.client.indices.exists(index=es.rebuild_alias)


def test_a_rebuild_never_overwrites_what_the_service_wrote_meanwhile(es: ElasticsearchIndex) -> None:
    es.index([doc("d", "Tờ trình (bản 1)", version="1")])
    build = es.rebuild()
    es.index([doc("d", "Tờ trình (bản 2)", version="2")])  # a clerk edits it while the build runs
    build.add([doc("d", "Tờ trình (bản 1)", version="1")])  # the build read the row before the edit
    build.finish()
    es.refresh()
    assert [h.title for h in es.search(SearchQuery("to trinh")).hits] == ["Tờ trình (bản 2)"]
    assert list(es.versions()) == [("d", "2")]


def test_a_build_runs_without_refreshes_and_goes_live_with_the_templates_settings(es: ElasticsearchIndex) -> None:
    build = es.rebuild()
    building = es.client.indices.get_settings(index=build.index)[build.index]["settings"]["index"]
    assert (building["refresh_interval"], building["number_of_replicas"]) == ("-1", "0")
    assert build.resume_after is None and es.rebuild().resume_after is None  # found again, nothing written yet
    build.add([doc("a", "Báo cáo")])
    assert es.rebuild().index == build.index and es.rebuild().resume_after == "a"
    build.finish()
    live = es.client.indices.get_settings(index=build.index)[build.index]["settings"]["index"]
    assert "refresh_interval" not in live  # the default again: searchable within a second
    assert live["auto_expand_replicas"] == "0-1"
    assert found(es, "bao cao") == {"a"}


def test_an_aborted_build_and_a_cleared_index_leave_one_generation(es: ElasticsearchIndex) -> None:
    name = es.index_name
    es.index([doc("a", "Công văn")])
    es.rebuild().abort()
    assert physical(es) == {f"{name}-v000001": {name}}
    es.clear()  # a fresh generation, swapped in: searches never meet a missing index
    assert physical(es) == {f"{name}-v000002": {name}}
    assert found(es, "cong van") == set() and es.count() == 0


def test_drop_removes_every_generation_the_build_and_the_template(es: ElasticsearchIndex) -> None:
    es.index([doc("a", "Công văn")])
    es.rebuild().add([doc("a", "Công văn")])
    assert len(physical(es)) == 2
    es.drop()
    assert physical(es) == {}
    assert not es.client.indices.exists_index_template(name=es.template_name)


def test_versions_page_through_a_point_in_time(es: ElasticsearchIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(elastic, "_VERSIONS_PAGE", 7)  # many pages from a small index
    es.index([doc(f"d{i:02d}", "Văn bản", version=f"v{i}") for i in range(30)])
    es.refresh()
    listed = es.versions()
    first = next(listed)
    es.index([doc("late", "Văn bản")])  # written during the walk: not in its point in time
    es.refresh()
    rest = list(listed)
    assert sorted([first, *rest]) == sorted((f"d{i:02d}", f"v{i}") for i in range(30))
    # The point in time is closed once the walk ends.
    assert es.client.nodes.stats(metric="indices")["nodes"]  # the node answers
    open_contexts = es.client.indices.stats(index=es.index_name, metric="search")["_all"]["total"]["search"]
    assert open_contexts["open_contexts"] == 0
