"""A clerk stores a born-digital Vietnamese PDF and finds it again, typing with
or without diacritics, from the command line, on both profiles."""
from __future__ import annotations

import json
from datetime import date, timedelta

from tests.pdfs import make_pdf, sample_paragraphs


def ingest(backend, path, *extra):
    result = backend.run("ingest", str(path), "--wait", "--json", *extra, check=True)
    return json.loads(result.stdout)


def search(backend, query, *extra):
    return json.loads(backend.run("search", query, "--json", *extra, check=True).stdout)


def test_ingested_pdf_is_found_with_and_without_diacritics(backend, tmp_path):
    backend.run("db", "upgrade", check=True)
    paragraphs = sample_paragraphs("binh-duong-cchc-2020.txt")[:5]
    pdf = make_pdf(tmp_path / "ke-hoach.pdf", "Kế hoạch số 6793/KH-UBND về cải cách hành chính", paragraphs)
    original = pdf.read_bytes()

    document = ingest(backend, pdf)
    assert document["status"] == "ready"

    for query in ("cải cách hành chính", "cai cach hanh chinh", "CAI CACH", "ke hoach"):
        found = search(backend, query)
        assert [hit["id"] for hit in found["hits"]] == [document["id"]], query
        # The snippet shows the document's own spelling, diacritics included.
        assert "<mark>" in found["hits"][0]["highlight"]
    highlight = search(backend, "cai cach")["hits"][0]["highlight"]
    assert "<mark>cải</mark> <mark>cách</mark>" in highlight.lower()

    # đ folds to d: "dong bo" finds "đồng bộ" (in the first paragraph).
    assert "đồng bộ" in paragraphs[0]
    assert search(backend, "dong bo")["total"] == 1
    assert search(backend, '"trien khai dong bo"')["total"] == 1
    # Words the document has, but not together: no document has the phrase,
    # and none has every word (those that lack some still follow).
    assert search(backend, '"quyết định không có trong văn bản này"')["total"] == 0
    assert search(backend, "quyết định không có trong văn bản này")["total_all_words"] == 0
    # The command line narrows like the page: by the document's date, and it
    # refuses a reversed range in one line.
    today = date.today()
    assert search(backend, "dong bo", "--from", str(today - timedelta(days=1)), "--sort", "newest")["total"] == 1
    assert search(backend, "dong bo", "--to", str(today - timedelta(days=1)))["total"] == 0
    refused = backend.run("search", "dong bo", "--from", str(today), "--to", str(today - timedelta(days=1)))
    assert refused.returncode != 0 and len(refused.stderr.strip().splitlines()) == 1

    shown = json.loads(backend.run("show", document["id"], "--json", check=True).stdout)
    assert "cải cách hành chính" in shown["text"]
    roles = {f["role"]: f for f in shown["files"]}
    assert set(roles) == {"original", "text"}
    # The original is stored untouched: same size and hash as the file given.
    import hashlib

    assert roles["original"]["sha256"] == hashlib.sha256(original).hexdigest()
    assert roles["original"]["size"] == len(original)
    assert roles["text"]["derived_from"] is not None


def test_search_filters_and_pages(backend, tmp_path):
    backend.run("db", "upgrade", check=True)
    ids = []
    sources = ["binh-duong-cchc-2020.txt", "ca-mau-hien-dai-hoa-hanh-chinh.txt", "quang-trach-cchc-7-thang-2021.txt"]
    for number, name in enumerate(sources):
        pdf = make_pdf(tmp_path / f"doc{number}.pdf", f"Báo cáo số {number + 1}/BC-UBND", sample_paragraphs(name)[:4])
        kind = "incoming" if number < 2 else "outgoing"
        ids.append(ingest(backend, pdf, "--kind", kind)["id"])

    everything = search(backend, "hanh chinh")
    assert everything["total"] == 3
    assert search(backend, "hanh chinh", "--kind", "outgoing")["total"] == 1
    first = search(backend, "hanh chinh", "--per-page", "2")
    second = search(backend, "hanh chinh", "--per-page", "2", "--page", "2")
    assert first["total"] == second["total"] == 3
    assert len(first["hits"]) == 2 and len(second["hits"]) == 1
    assert {h["id"] for h in first["hits"] + second["hits"]} == set(ids)


def test_reindex_rebuilds_the_index_from_the_database(backend, tmp_path):
    backend.run("db", "upgrade", check=True)
    paragraphs = sample_paragraphs("ca-mau-hien-dai-hoa-hanh-chinh.txt")[:3]
    pdf = make_pdf(tmp_path / "a.pdf", "Thông báo về một cửa liên thông", paragraphs)
    document = ingest(backend, pdf)

    from docsvc.runtime import Runtime

    runtime = Runtime(backend.settings())
    runtime.index.clear()
    runtime.index.refresh()
    assert search(backend, "mot cua lien thong")["total"] == 0
    runtime.close()

    assert "indexed 1 document" in backend.run("reindex", check=True).stdout
    assert [h["id"] for h in search(backend, "mot cua lien thong")["hits"]] == [document["id"]]


def test_malformed_query_is_a_clear_error(backend):
    backend.run("db", "upgrade", check=True)
    result = backend.run("search", '"cải cách', "--json")
    assert result.returncode == 2
    assert result.stderr.startswith("docsvc: error: ")
    assert "(invalid_query)" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
