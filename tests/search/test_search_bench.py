"""bench/search.py at a few hundred documents, on both backends: the code the
lead runs at a million, checked for sane answers (never for time).

A clerk's every query must come back with a total and highlighted hits, both
through docsvc and through the raw engine, and the two must count the same:
the raw baseline claims "the same semantics", and a ratio against a baseline
that answers a different question would measure nothing.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import uuid
from pathlib import Path

import pytest

from search import FACET_FIELDS

ROOT = Path(__file__).resolve().parents[2]
DOCS = 300


def _load_bench():
    # Loaded from its file under another name: bench/search.py would shadow the search package.
    spec = importlib.util.spec_from_file_location("search_bench", ROOT / "bench" / "search.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["search_bench"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


bench = _load_bench()
from search_corpus import CLASSES  # noqa: E402  (on sys.path once the bench is loaded)


@pytest.fixture(scope="module", params=["tantivy", "elasticsearch"])
def run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One tiny bench run per backend: index the same corpus twice, run the whole mix once."""
    from search_corpus import Corpus

    es_url = os.environ.get("DOCSVC_TEST_ELASTICSEARCH_URL")
    if request.param == "elasticsearch" and not es_url:
        pytest.fail("DOCSVC_TEST_ELASTICSEARCH_URL is not set (source .cache/services.env)")
    # --before with the rules as they are: the third side must answer exactly as docsvc does.
    args = argparse.Namespace(docs=DOCS, seed=10, rounds=1, warmup=0, keep=False, reuse=False, docsvc_path="rebuild",
                              before="MAX_PAIRS=10")
    return bench.bench_backend(request.param, Corpus(args.seed), args, es_url, say=lambda text: None,
                               where=tmp_path_factory.mktemp("indexes"), prefix=f"docsvc-test-bench-{uuid.uuid4().hex[:8]}")


def test_both_sides_index_every_document(run: dict) -> None:
    assert run["indexing"]["docsvc"]["count_after"] == DOCS
    assert run["indexing"]["raw"]["count_after"] == DOCS
    assert run["indexing"]["docsvc"]["docs_per_s"] > 0 and run["indexing"]["raw"]["docs_per_s"] > 0


@pytest.mark.parametrize("mode", bench.MODES)
@pytest.mark.parametrize("side", ["docsvc", "raw"])
def test_every_query_of_the_mix_finds_documents_with_highlights(run: dict, side: str, mode: str) -> None:
    answers = run["answers"][f"{side}/{mode}"]
    assert run["failures"][f"{side}/{mode}"] == []
    assert {a["class"] for a in answers} == set(CLASSES)
    for answer in answers:
        what = f"{side}/{mode} {answer['class']} {answer['text']!r}"
        assert answer["total"] > 0 and answer["ids"], what
        assert len(answer["ids"]) == min(20, answer["total"]), what
        assert answer["highlights"] == len(answer["ids"]), what
        assert 0 <= answer["total_all_words"] <= answer["total"] and answer["total_is_exact"], what


def test_the_missing_word_queries_fall_to_the_second_tier(run: dict) -> None:
    for side in ("docsvc", "raw"):
        missing = [a for a in run["answers"][f"{side}/exact"] if a["class"] == "missing_word"]
        # "Quảng Ngãi" and "Hà Giang" are in no document: nothing has every word, the rest still follows.
        assert [a["total_all_words"] for a in missing if "Giang" in a["text"] or "Ngãi" in a["text"]] == [0, 0]


@pytest.mark.parametrize("mode", bench.MODES)
def test_docsvc_and_raw_count_the_same(run: dict, mode: str) -> None:
    assert run["disagreements"][mode] == []
    docsvc, raw = run["answers"][f"docsvc/{mode}"], run["answers"][f"raw/{mode}"]
    assert [(a["text"], a["total"], a["total_all_words"]) for a in docsvc] == [
        (a["text"], a["total"], a["total_all_words"]) for a in raw]


@pytest.mark.parametrize("mode", bench.MODES)
def test_docsvc_and_raw_rank_the_same_first_page(run: dict, mode: str) -> None:
    # Same fields, weights and bonuses (read from search.ranking by both), same tie-breaks.
    docsvc, raw = run["answers"][f"docsvc/{mode}"], run["answers"][f"raw/{mode}"]
    assert [(a["text"], a["ids"]) for a in docsvc] == [(a["text"], a["ids"]) for a in raw]


@pytest.mark.parametrize("mode", bench.MODES)
def test_facets_come_when_asked_and_agree_between_docsvc_and_raw(run: dict, mode: str) -> None:
    docsvc, raw = run["answers"][f"docsvc/{mode}"], run["answers"][f"raw/{mode}"]
    for ours, theirs in zip(docsvc, raw, strict=True):
        if ours["class"] != "facets" and mode != "page":  # the page asks facets with every query
            assert ours["facets"] == {} and theirs["facets"] == {}
            continue
        assert set(ours["facets"]) == set(FACET_FIELDS) == set(theirs["facets"])
        # Four kinds, all listed: they add up to the tier the facets count (the first, else the second).
        assert sum(count for _, count in ours["facets"]["kind"]) == ours["total_all_words"] or (
            ours["total_all_words"] == 0 and sum(count for _, count in ours["facets"]["kind"]) == ours["total"])
        assert {k: [tuple(v) for v in vs] for k, vs in ours["facets"].items()} == {
            k: [tuple(v) for v in vs] for k, vs in theirs["facets"].items()}, ours["text"]


def test_the_report_shows_every_class_and_the_targets(run: dict) -> None:
    for mode in bench.MODES:
        assert set(run["latency"][f"docsvc/{mode}"]) == {*CLASSES, "overall"}
        assert set(run["cpu"][f"docsvc/{mode}"]) == {*CLASSES, "overall"}
        assert run["ratios"][mode]["overall p95"] > 0
        before, now = run["answers"][f"before/{mode}"], run["answers"][f"docsvc/{mode}"]
        assert [(a["text"], a["ids"]) for a in before] == [(a["text"], a["ids"]) for a in now]
    report = bench.markdown({"docs": DOCS, "seed": 10, "command": "test", "machine": {
        "cpu": "cpu", "cpus": 2, "load_average_1_5_15": (0, 0, 0), "git_commit": "x"},
        "generation": {"docs": 1, "docs_per_s": 1.0, "chars_per_doc": 1.0}, "backends": [run]})
    assert f"| {run['backend']} |" in report and "docsvc / raw p95" in report and "docsvc CPU p50 / p95 ms" in report
    assert f"| overall | {run['cpu']['docsvc/page']['overall']['p50_ms']:.1f} /" in report  # the --before table
    assert all(title in report for title in bench.MODE_TITLES.values()) and "## Targets (issue 10)" in report
    assert "Totals that disagree" not in report and "Queries that failed" not in report
