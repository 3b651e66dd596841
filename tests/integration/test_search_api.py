"""A clerk's register, searched through /api/v1/search as a portal or a script
would: filters on the register fields, the order by date, the facets and the
two tiers, what the API refuses and how, and that narrowing to an agency the
caller may not see answers exactly what an agency without a match answers.
Then the first-page thumbnails the search page shows beside each hit."""
from __future__ import annotations

import html
import io
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from PIL import Image
from sqlalchemy import select

from docsvc import accounts
from docsvc.documents import indexing
from docsvc.models import Agency, DocumentFile, FileRole
from search import FACET_FIELDS, IndexedDocument
from tests.integration.conftest import PASSWORD
from tests.integration.test_api_and_permissions import process_all, upload
from tests.pdfs import make_pdf, sample_paragraphs

OTHER_AGENCY = "UBND-PHUONG-2"
# Three registered documents of UBND-XA, told apart by their register fields.
REGISTER = {
    "qd": dict(title="Quyết định ban hành kế hoạch cải cách hành chính tỉnh Bình Dương", sample="binh-duong-cchc-2020.txt",
               number_symbol="15/QĐ-UBND", issuing_body="UBND tỉnh Bình Dương", doc_type="Quyết định",
               issued_date="2024-03-15"),
    "bc": dict(title="Báo cáo hiện đại hóa hành chính tỉnh Cà Mau", sample="ca-mau-hien-dai-hoa-hanh-chinh.txt",
               number_symbol="102/BC-UBND", issuing_body="UBND tỉnh Cà Mau", doc_type="Báo cáo",
               issued_date="2023-06-01"),
    "tb": dict(title="Thông báo kết quả cải cách hành chính huyện Quảng Trạch",
               sample="quang-trach-cchc-7-thang-2021.txt", number_symbol="06/TB-UBND",
               issuing_body="UBND huyện Quảng Trạch", doc_type="Thông báo", issued_date="2025-01-10"),
}


def search(user, **params):
    response = user.get("/api/v1/search", query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def ids(found) -> list[str]:
    return [hit["id"] for hit in found["hits"]]


@pytest.fixture
def register(rt, clerk, make_user, tmp_path):
    """{name: id} of the three registered documents, an unregistered upload
    ("upload"), and a document of another agency ("other")."""
    with rt.write() as session:
        accounts.add_agency(session, OTHER_AGENCY, "UBND Phường 2", level="commune")
    made = {}
    for name, entry in REGISTER.items():
        pdf = make_pdf(tmp_path / f"{name}.pdf", entry["title"], sample_paragraphs(entry["sample"])[:3])
        made[name] = upload(clerk, pdf.read_bytes(), entry["title"])["id"]
    pdf = make_pdf(tmp_path / "upload.pdf", "Tờ trình về cải cách hành chính", sample_paragraphs("binh-duong-cchc-2020.txt")[3:5])
    made["upload"] = upload(clerk, pdf.read_bytes(), "Tờ trình về cải cách hành chính")["id"]
    neighbour = make_user("clerk", agency=OTHER_AGENCY, username="clerk-p2")
    paragraphs = sample_paragraphs("binh-duong-cchc-2020.txt")[:3]
    pdf = make_pdf(tmp_path / "other.pdf", "Kế hoạch cải cách hành chính phường 2", paragraphs)
    made["other"] = upload(neighbour, pdf.read_bytes(), "Kế hoạch cải cách hành chính phường 2")["id"]
    process_all(rt)
    for name, entry in REGISTER.items():
        fields = {k: entry[k] for k in ("number_symbol", "issuing_body", "doc_type", "issued_date")}
        response = clerk.post(f"/api/v1/documents/{made[name]}/register", json={**fields, "title": entry["title"]})
        assert response.status_code == 200, response.get_json()
    rt.index.refresh()
    return made


def test_filters_on_the_register_fields_narrow_the_results(rt, clerk, register):
    everything = search(clerk, q="cai cach hanh chinh")
    # The clerk's agency only: the neighbour's document is not even counted.
    assert set(ids(everything)) == {register[n] for n in ("qd", "bc", "tb", "upload")}
    assert register["other"] not in ids(everything)

    assert ids(search(clerk, q="hanh chinh", year="2024")) == [register["qd"]]
    assert ids(search(clerk, q="hanh chinh", issuing_body="UBND tỉnh Cà Mau")) == [register["bc"]]
    assert ids(search(clerk, q="hanh chinh", doc_type="Thông báo")) == [register["tb"]]
    assert ids(search(clerk, q="hanh chinh", kind="upload")) == [register["upload"]]
    # The range holds both its ends; the upload is dated by the day it came in.
    in_range = search(clerk, q="hanh chinh", date_from="2023-06-01", date_to="2024-03-15")
    assert set(ids(in_range)) == {register["qd"], register["bc"]}
    assert search(clerk, q="hanh chinh", date_from="2025-01-11", kind="incoming")["total"] == 0
    # An issuing body is matched whole, as its facet shows it, not as words.
    assert search(clerk, q="hanh chinh", issuing_body="UBND tỉnh")["total"] == 0
    hit = next(h for h in search(clerk, q="Quang Trach")["hits"] if h["id"] == register["tb"])
    assert (hit["number_symbol"], hit["issuing_body"], hit["doc_date"], hit["kind"]) == (
        "06/TB-UBND", "UBND huyện Quảng Trạch", "2025-01-10", "incoming")


def test_newest_and_oldest_order_by_the_documents_date(rt, clerk, register):
    registered = [register["tb"], register["qd"], register["bc"]]  # 2025, 2024, 2023
    newest = ids(search(clerk, q="hanh chinh", kind="incoming", sort="newest"))
    oldest = ids(search(clerk, q="hanh chinh", kind="incoming", sort="oldest"))
    assert newest == registered
    assert oldest == registered[::-1]
    # Paging one at a time walks the same order, each document once.
    walked = [ids(search(clerk, q="hanh chinh", kind="incoming", sort="newest", per_page=1, page=p))[0]
              for p in (1, 2, 3)]
    assert walked == registered


def test_facets_count_the_values_most_frequent_first(rt, clerk, register):
    found = search(clerk, q="hanh chinh", facets="true")
    facets = found["facets"]
    assert set(facets) <= set(FACET_FIELDS)
    for buckets in facets.values():
        assert all(set(b) == {"value", "count"} and b["count"] > 0 for b in buckets)
        assert [b["count"] for b in buckets] == sorted((b["count"] for b in buckets), reverse=True)
    assert {b["value"]: b["count"] for b in facets["kind"]} == {"incoming": 3, "upload": 1}
    years = {b["value"]: b["count"] for b in facets["year"]}
    assert years[2023] == years[2024] == years[2025] == 1
    assert {b["value"] for b in facets["issuing_body"]} == {e["issuing_body"] for e in REGISTER.values()}
    assert {b["value"] for b in facets["doc_type"]} == {"Quyết định", "Báo cáo", "Thông báo"}
    # The clerk's own agency is all the agency facet can show them.
    with rt.read() as session:
        own = session.scalar(select(Agency.id).where(Agency.code == "UBND-XA"))
    assert facets.get("agency_id", [{"value": own, "count": 4}]) == [{"value": own, "count": 4}]

    # Facets are counted with the filters applied, and only when asked for.
    narrowed = search(clerk, q="hanh chinh", facets="1", year="2024")["facets"]
    assert narrowed["doc_type"] == [{"value": "Quyết định", "count": 1}]
    assert search(clerk, q="hanh chinh")["facets"] == {}


def test_documents_missing_a_word_follow_those_with_every_word(rt, clerk, register):
    found = search(clerk, q='"Cà Mau" "hiện đại hóa" "Quảng Trạch"')
    # No document has all three; those with two of them follow, marked.
    assert found["total_all_words"] == 0
    assert found["hits"] and not any(hit["all_words"] for hit in found["hits"])
    assert register["bc"] in ids(found)

    found = search(clerk, q='"Cà Mau" "hiện đại hóa" báo cáo xyzkhongco')
    assert found["total_all_words"] == 0
    two = search(clerk, q='"Cà Mau" "hiện đại hóa"')
    assert two["total_all_words"] >= 1 and ids(two)[0] == register["bc"]
    tiers = [hit["all_words"] for hit in two["hits"]]
    assert tiers == sorted(tiers, reverse=True)  # every word first, then the rest
    assert two["total"] == len(two["hits"]) and two["total_is_exact"] is True
    assert sum(tiers) == two["total_all_words"]


def test_an_agency_the_user_may_not_see_answers_like_an_empty_one(rt, clerk, make_user, register):
    with rt.read() as session:
        agency_ids = dict(session.execute(select(Agency.code, Agency.id)).tuples().all())
    theirs, ours = agency_ids[OTHER_AGENCY], agency_ids["UBND-XA"]
    nobody = max(agency_ids.values()) + 1000  # no such agency
    outside = search(clerk, q="cai cach hanh chinh", agency_id=str(theirs), facets="true")
    missing = search(clerk, q="cai cach hanh chinh", agency_id=str(nobody), facets="true")
    assert outside == missing
    assert outside["total"] == 0 and outside["hits"] == []
    assert set(ids(search(clerk, q="cai cach hanh chinh", agency_id=str(ours)))) == set(
        ids(search(clerk, q="cai cach hanh chinh")))

    # An administrator sees every agency and narrows to one.
    admin = make_user("admin", agency=None, username="quan-tri")
    assert ids(search(admin, q="cai cach hanh chinh", agency_id=str(theirs))) == [register["other"]]
    facet = {b["value"]: b["count"] for b in search(admin, q="cai cach hanh chinh", facets="true")["facets"]["agency_id"]}
    assert facet[theirs] == 1 and facet[ours] >= 1


@pytest.mark.parametrize("params,status,code", [
    ({"sort": "best"}, 400, "invalid_input"),
    ({"kind": "letters"}, 400, "invalid_input"),
    ({"date_from": "2024-13-01"}, 400, "invalid_input"),
    ({"date_from": "15/03/2024"}, 400, "invalid_input"),
    ({"date_from": "2025-01-01", "date_to": "2024-01-01"}, 400, "reversed_date_range"),
    ({"date_to": "0001-01-01"}, 400, "out_of_range"),
    ({"year": "99999"}, 400, "out_of_range"),
    ({"agency_id": "UBND-XA"}, 400, "invalid_input"),
    ({"agency_id": "9" * 30}, 400, "out_of_range"),
    ({"facets": "maybe"}, 400, "invalid_input"),
    ({"per_page": "101"}, 400, "out_of_range"),
    ({"page": "600", "per_page": "20"}, 400, "invalid_query"),
    ({"issuing_body": "UBND\x00"}, 400, "invalid_characters"),
    ({"doc_type": "Q" * 65}, 400, "text_too_long"),
    ({"q": ""}, 400, "invalid_query"),
])
def test_bad_parameters_are_refused_in_the_one_error_shape(rt, clerk, params, status, code):
    response = clerk.get("/api/v1/search", query_string={"q": "hanh chinh", **params})
    body = response.get_json()
    assert (response.status_code, body["code"]) == (status, code), body
    assert set(body) == {"code", "message"} and body["message"]


# --- the page ----------------------------------------------------------------------


def test_the_pages_next_links_keep_every_filter_and_walk_each_document_once(rt, app, clerk):
    with rt.read() as session:
        agency = session.scalar(select(Agency.id).where(Agency.code == "UBND-XA"))
    # Index entries straight from their rows' fields: 30 letters, 24 of the province's.
    start = datetime(2024, 1, 1, tzinfo=UTC)
    entries = [IndexedDocument(
        id=str(uuid.UUID(int=n + 1)), agency_id=agency, kind="incoming", title=f"Công văn số {n + 1} về cải cách hành chính",
        text="Triển khai cải cách hành chính, một cửa liên thông.", number_symbol=f"{n + 1}/UBND-VP",
        issuing_body="Sở Nội vụ" if n % 5 == 0 else "UBND tỉnh Bình Dương", doc_type="Công văn", year=2024,
        doc_date=date(2024, 1, 1) + timedelta(days=n), created_at=start + timedelta(days=n),
    ) for n in range(30)]
    rt.index.index(entries)
    rt.index.refresh()
    wanted = [e.id for e in sorted(entries, key=lambda e: e.doc_date, reverse=True) if e.issuing_body != "Sở Nội vụ"]

    client = signed_in(app, clerk.username)
    filters = {"issuing_body": "UBND tỉnh Bình Dương", "year": "2024", "sort": "newest", "doc_type": "Công văn"}
    url, seen, pages = "/search?" + urlencode({"q": "cai cach", **filters}), [], 0
    while url:
        page = client.get(url)
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        pages += 1
        assert f"Trang {pages}/2" in text
        seen += re.findall(r'<a class="hit-title" href="/documents/([0-9a-f-]{36})"', text)
        following = re.search(r'<a href="([^"]+)" rel="next">', text)
        url = html.unescape(following.group(1)) if following else None
        if url:
            assert {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()} == {
                "q": "cai cach", **filters, "page": str(pages + 1)}
    assert pages == 2 and seen == wanted


def test_the_page_says_when_ready_documents_cannot_be_found_yet(rt, app, clerk, register, monkeypatch):
    # An upgrade left the index empty (or it was down): until the worker has
    # filled it, a clerk who finds nothing must be told why, not left to
    # think the archive lacks the document.
    monkeypatch.setattr(indexing, "COVERAGE_SECONDS", 0.0)
    client = signed_in(app, clerk.username)
    url = "/search?" + urlencode({"q": "cai cach hanh chinh"})
    assert 'id="index-incomplete"' not in client.get(url).get_data(as_text=True)
    rt.index.clear()
    rt.index.refresh()
    emptied = client.get(url).get_data(as_text=True)
    assert "Chỉ mục tìm kiếm đang được cập nhật" in emptied and 'class="hit-title"' not in emptied
    indexing.reindex(rt)
    filled = client.get(url).get_data(as_text=True)
    assert 'id="index-incomplete"' not in filled and 'class="hit-title"' in filled


# --- thumbnails ------------------------------------------------------------------


def signed_in(app, username: str):
    app.config["WTF_CSRF_ENABLED"] = False  # the form's token is tested in the browser suite
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.data[:500]
    return client


def test_the_first_page_thumbnail_is_drawn_once_and_revalidated(rt, app, clerk, make_user, register):
    client = signed_in(app, clerk.username)
    url = f"/documents/{register['qd']}/thumbnail"
    first = client.get(url)
    assert first.status_code == 200 and first.mimetype == "image/png"
    assert "private" in first.headers["Cache-Control"]
    picture = Image.open(io.BytesIO(first.data))
    # Small, upright like the A4 page, and not blank: the title's ink is on it.
    assert picture.width <= 192 and picture.height <= 272 and picture.height > picture.width
    assert picture.convert("L").getextrema()[0] < 128

    again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and not again.data
    assert client.get(url).data == first.data
    with rt.read() as session:
        kept = session.scalars(select(DocumentFile).where(
            DocumentFile.document_id == register["qd"], DocumentFile.role == FileRole.THUMBNAIL)).all()
    assert len(kept) == 1 and kept[0].sha256 == first.headers["ETag"].strip('"')

    # Another agency's document: not found, as for the document itself.
    other = client.get(f"/documents/{register['other']}/thumbnail")
    assert other.status_code == 404
    assert client.get("/documents/not-a-document/thumbnail").status_code == 404
    assert app.test_client().get(url).status_code == 302  # to the sign-in page


def test_a_document_without_a_pdf_has_the_placeholder(rt, app, clerk, tmp_path):
    scan = io.BytesIO()
    Image.new("RGB", (620, 877), "white").save(scan, "JPEG")
    response = clerk.post("/api/v1/documents", data={"file": (io.BytesIO(scan.getvalue()), "scan.jpg")},
                          content_type="multipart/form-data")
    assert response.status_code == 202, response.get_json()
    # Not processed yet: no PDF of it exists, and the page gets a picture all the same.
    shown = signed_in(app, clerk.username).get(f"/documents/{response.get_json()['id']}/thumbnail")
    assert shown.status_code == 200 and shown.mimetype == "image/svg+xml"
    assert shown.headers["ETag"]
