"""Synthetic Decree 30 documents and the queries clerks type, for bench/search.py.

    corpus = Corpus(seed=10)
    for doc in corpus.documents(1_000_000):   # a stream: nothing is held
        ...
    mix = query_mix(corpus, 1_000_000)

Every document is built from real Vietnamese sentences of ../shared/samples
(public articles on administrative reform) around what an official document
carries: the agency's name in capitals, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
its number and symbol ("15/QĐ-UBND"), place and date, the trích yếu, 3 to 10
sentences, people's full names, places and sums of money, the signer. Document
``n`` depends only on (seed, n): the bench indexes the same stream twice (docsvc
and the raw engine) without keeping it, and the query mix takes real names and
number symbols from documents it regenerates.

The samples hold about a hundred sentences, so sentences are also spliced at a
comma (head of one, tail of another) and places are swapped for the agency's
own: the vocabulary of a province (a few common words in most documents, names
and numbers in a few) rather than a hundred texts repeated.
"""

from __future__ import annotations

import os
import random
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from search import IndexedDocument, SearchQuery
from search.folding import fold

ROOT = Path(__file__).resolve().parent.parent
SAMPLES_DIR = Path(os.environ.get("DOCSVC_SAMPLES_DIR", ROOT.parent / "shared" / "samples"))
# Part of the corpus's identity: a reused index built from another version is rebuilt.
CORPUS_VERSION = 1

FIRST_DAY = date(2019, 1, 1)
DAYS = (date(2026, 6, 30) - FIRST_DAY).days

# (name, symbol in numbers, province): what the number symbols and headers need.
_PROVINCES = ("Bình Dương", "Cà Mau", "Quảng Bình")
_DEPARTMENTS = (("Ủy ban nhân dân tỉnh", "UBND"), ("Sở Nội vụ", "SNV"), ("Sở Tư pháp", "STP"),
                ("Sở Tài chính", "STC"), ("Sở Kế hoạch và Đầu tư", "SKHĐT"), ("Văn phòng UBND tỉnh", "VP"))
_DISTRICTS = {"Bình Dương": ("Thủ Dầu Một", "Bến Cát"), "Cà Mau": ("Trần Văn Thời", "Đầm Dơi"),
              "Quảng Bình": ("Quảng Trạch", "Bố Trạch")}
_COMMUNES = {"Thủ Dầu Một": ("Phú Lợi", "Hiệp Thành"), "Bến Cát": ("An Điền",), "Trần Văn Thời": ("Khánh Bình",
             "Khánh Hải"), "Đầm Dơi": ("Tân Duyệt",), "Quảng Trạch": ("Quảng Phú", "Cảnh Dương"), "Bố Trạch": ("Hoàn Lão",)}

# (name, abbreviation in the symbol, weight): Decree 30's types, letters the most common.
DOC_TYPES = (("Công văn", "", 35), ("Quyết định", "QĐ", 20), ("Kế hoạch", "KH", 10), ("Thông báo", "TB", 10),
             ("Báo cáo", "BC", 10), ("Tờ trình", "TTr", 5), ("Giấy mời", "GM", 10))
KINDS = (("incoming", 35), ("outgoing", 35), ("ecopy", 15), ("upload", 15))

_SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ",
             "Ngô", "Dương", "Lý")
_MIDDLE = ("Văn", "Thị", "Hữu", "Đức", "Minh", "Thanh", "Ngọc", "Quốc", "Thu", "Xuân")
_GIVEN = ("An", "Bình", "Cường", "Dũng", "Hà", "Hải", "Hạnh", "Hùng", "Hương", "Lan", "Linh", "Long", "Mai",
          "Nam", "Phương", "Quang", "Sơn", "Thảo", "Trang", "Tuấn", "Việt", "Yến", "Khoa", "Lộc", "Nhung", "Tâm")
_POSITIONS = ("Chủ tịch", "Phó Chủ tịch", "Giám đốc", "Phó Giám đốc", "Chánh Văn phòng", "Trưởng phòng")

_TOPICS = (
    "về việc ban hành Kế hoạch cải cách hành chính năm {year}",
    "về việc công bố danh mục thủ tục hành chính được chuẩn hóa",
    "về việc triển khai cơ chế một cửa, một cửa liên thông tại {place}",
    "về việc kiện toàn Bộ phận tiếp nhận và trả kết quả giải quyết thủ tục hành chính",
    "về kết quả thực hiện công tác cải cách hành chính {period}",
    "về việc phê duyệt đề án vị trí việc làm của {agency}",
    "về việc chứng thực bản sao điện tử từ bản chính",
    "về việc cấp kinh phí hỗ trợ chuyển đổi số năm {year}",
    "về việc tổ chức hội nghị tập huấn nghiệp vụ văn thư, lưu trữ",
    "về việc đánh giá chỉ số hài lòng của người dân, doanh nghiệp",
    "về việc thực hiện dịch vụ công trực tuyến toàn trình",
    "về việc tuyển dụng công chức cấp xã năm {year}",
    "về việc kiểm tra công tác cải cách hành chính tại {place}",
    "về tình hình tiếp nhận hồ sơ và trả kết quả {period}",
    "về việc số hóa hồ sơ, kết quả giải quyết thủ tục hành chính",
)
_GENERATED = (
    "Giao {position} {name} chủ trì, phối hợp với các cơ quan, đơn vị liên quan tổ chức thực hiện.",
    "Tổng kinh phí thực hiện là {money} đồng, từ nguồn ngân sách {place} năm {year}.",
    "Ông {name}, {position} {agency}, có trách nhiệm báo cáo kết quả trước ngày {day}.",
    "Hồ sơ của công dân {name}, thường trú tại xã {commune}, đã được tiếp nhận và giải quyết đúng hạn.",
    "Bà {name} được giao theo dõi, tổng hợp và đề xuất mức hỗ trợ {money} đồng cho mỗi hồ sơ.",
)
_SPLIT_SENTENCES = re.compile(r"(?<=[.!?…])\s+|\n")
_PLACES = re.compile("|".join(_PROVINCES))


@dataclass(frozen=True)
class Agency:
    id: int
    name: str  # as the header and the issuing body show it
    symbol: str  # the issuing body's part of a number symbol
    province: str
    commune: str  # a commune of its area, for citizens' addresses


def agencies() -> list[Agency]:
    """A province's worth of agencies (36): departments of three provinces, their districts and communes."""
    found: list[Agency] = []
    for province in _PROVINCES:
        first_commune = _COMMUNES[_DISTRICTS[province][0]][0]
        for name, symbol in _DEPARTMENTS:
            full = name if name.endswith("tỉnh") else f"{name} tỉnh"
            found.append(Agency(0, f"{full} {province}", symbol, province, first_commune))
        for district in _DISTRICTS[province]:
            found.append(Agency(0, f"Ủy ban nhân dân huyện {district}", "UBND", province, _COMMUNES[district][0]))
            for commune in _COMMUNES[district]:
                found.append(Agency(0, f"Ủy ban nhân dân xã {commune}", "UBND", province, commune))
    return [replace(agency, id=n) for n, agency in enumerate(found, start=1)]


def load_sentences(samples_dir: Path = SAMPLES_DIR) -> list[str]:
    files = sorted(samples_dir.glob("*.txt"))
    if not files:
        raise SystemExit(f"no sample texts in {samples_dir} (set DOCSVC_SAMPLES_DIR)")
    text = "\n".join(path.read_text(encoding="utf-8") for path in files)
    return [s.strip() for s in _SPLIT_SENTENCES.split(text) if len(s.strip()) >= 20]


@dataclass(frozen=True)
class Draft:
    """Document ``n`` with the parts the query mix takes from it."""

    document: IndexedDocument
    signer: str  # a full name in its text


class Corpus:
    def __init__(self, seed: int = 10, samples_dir: Path = SAMPLES_DIR) -> None:
        self.seed = seed
        self.agencies = agencies()
        sentences = load_sentences(samples_dir)
        # Per province, the sentences with its places: substituted once here, not per document.
        self._sentences = {p: [_PLACES.sub(p, s) for s in sentences] for p in _PROVINCES}
        self._heads = [s.split(", ", 1)[0] for s in sentences if ", " in s]
        self._tails = [s.split(", ", 1)[1] for s in sentences if ", " in s]
        self._kinds = [k for k, weight in KINDS for _ in range(weight)]
        self._types = [t for t in DOC_TYPES for _ in range(t[2])]

    def documents(self, count: int, start: int = 0) -> Iterator[IndexedDocument]:
        """Documents start .. start + count - 1, one at a time, ids ascending (the order rebuild() wants)."""
        for n in range(start, start + count):
            yield self.draft(n).document

    def draft(self, n: int) -> Draft:
        rng = _Dice(self.seed * 10_000_019 + n)
        agency = rng.pick(self.agencies)
        kind = rng.pick(self._kinds)
        doc_type, abbreviation, _ = rng.pick(self._types)
        issuer = rng.pick(self.agencies) if kind in ("incoming", "ecopy") else agency
        doc_date = FIRST_DAY + timedelta(days=rng.below(DAYS))
        number = f"{1 + rng.below(1500)}/{abbreviation + '-' if abbreviation else ''}{issuer.symbol}"
        if not abbreviation:
            number += "-" + rng.pick(("VP", "NV", "TH", "KT"))  # a letter carries the drafting unit
        signer = _person(rng)
        title = f"{doc_type} {rng.pick(_TOPICS)}".format(
            year=doc_date.year, place=issuer.province, agency=issuer.name, period=f"năm {doc_date.year}")
        text = self._text(rng, issuer, number, doc_date, doc_type, title, signer)
        created = datetime(doc_date.year, doc_date.month, doc_date.day, tzinfo=UTC) + timedelta(
            days=rng.below(10), seconds=rng.below(86_400))
        has_number = kind != "upload" or rng.random() < 0.5  # a loose upload often has none
        document = IndexedDocument(
            # The index's position first: ids sort as n does, whatever the seed.
            id=str(uuid.UUID(int=(n << 96) | rng.getrandbits(96))),
            agency_id=agency.id, kind=kind, title=title, text=text,
            number_symbol=number if has_number else None, issuing_body=issuer.name,
            year=doc_date.year, issued_date=doc_date, created_at=created, doc_type=doc_type,
            doc_date=doc_date, version=f"bench-{CORPUS_VERSION}-{self.seed}",
        )
        return Draft(document, signer)

    def _text(self, rng: _Dice, issuer: Agency, number: str, day: date, doc_type: str, title: str,
              signer: str) -> str:
        header = (f"{issuer.name.upper()}\nCỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc\n"
                  f"Số: {number}\n{issuer.province}, ngày {day.day:02d} tháng {day.month:02d} năm {day.year}\n"
                  f"{doc_type.upper()}\n{title.removeprefix(doc_type).strip()}")
        body = [self._sentence(rng, issuer, day) for _ in range(3 + rng.below(8))]
        position = rng.pick(_POSITIONS)
        footer = f"Nơi nhận:\n- Như trên;\n- Lưu: VT.\n{position.upper()}\n{signer}"
        return "\n".join([header, *body, footer])

    def _sentence(self, rng: _Dice, issuer: Agency, day: date) -> str:
        roll = rng.random()
        if roll < 0.25:
            return rng.pick(_GENERATED).format(
                position=rng.pick(_POSITIONS).lower(), name=_person(rng), agency=issuer.name,
                money=f"{(5 + rng.below(8_996)) * 1_000_000:,}".replace(",", "."), place=issuer.province,
                year=day.year, day=f"{1 + rng.below(28)}/{1 + rng.below(12)}/{day.year}", commune=issuer.commune)
        if roll < 0.45:  # the head of one sentence, the tail of another
            return f"{rng.pick(self._heads)}, {rng.pick(self._tails)}"
        return rng.pick(self._sentences[issuer.province])


class _Dice(random.Random):
    """random.Random with a faster choice: one C call to random() instead of
    randbelow's loop, which halves the time to generate a document (measured)."""

    def pick(self, seq):  # type: ignore[no-untyped-def]
        return seq[int(self.random() * len(seq))]

    def below(self, n: int) -> int:
        return int(self.random() * n)


def _person(rng: _Dice) -> str:
    return f"{rng.pick(_SURNAMES)} {rng.pick(_MIDDLE)} {rng.pick(_GIVEN)}"


# --- the query mix ----------------------------------------------------------------------


@dataclass(frozen=True)
class BenchQuery:
    kind: str  # the class the report groups by
    query: SearchQuery  # page 1, 20 per page, as the search page asks it


COMMON = ("cải cách hành chính", "một cửa liên thông", "thủ tục hành chính", "chất lượng đội ngũ cán bộ",
          "kế hoạch", "dịch vụ công trực tuyến")
LONG_UNACCENTED = (
    "nang cao chat luong doi ngu can bo cong chuc vien chuc tren dia ban tinh",
    "ke hoach cai cach hanh chinh nha nuoc giai doan tiep nhan ho so tra ket qua",
    "tiep nhan va tra ket qua giai quyet thu tuc hanh chinh theo co che mot cua lien thong",
)
# A word no document has (Quảng Ngãi is not among the provinces, "chánh" is the
# southern spelling of "chính"): the second tier, documents missing one word.
MISSING_WORD = ("cải cách hành chính Quảng Ngãi", "thủ tục hành chánh một cửa", "kế hoạch số hóa hồ sơ Hà Giang")
CLASSES = ("common", "unaccented", "name", "number_symbol", "agency_filter", "long_unaccented", "missing_word",
           "filters", "newest", "facets")


def query_mix(corpus: Corpus, docs: int, per_class: int = 4) -> list[BenchQuery]:
    """The queries, class by class; names and number symbols come from documents 0 .. docs - 1."""
    picks = [corpus.draft(n * docs // per_class + docs // (2 * per_class)) for n in range(per_class)]
    district = [a.id for a in corpus.agencies if a.province == _PROVINCES[1]][:4]  # a district clerk's agencies
    mix = [BenchQuery("common", SearchQuery(text)) for text in COMMON]
    mix += [BenchQuery("unaccented", SearchQuery(fold(text))) for text in COMMON]
    mix += [BenchQuery("name", SearchQuery(p.signer)) for p in picks]
    mix += [BenchQuery("number_symbol", SearchQuery(p.document.number_symbol or p.document.title)) for p in picks]
    mix += [BenchQuery("agency_filter", SearchQuery(text, agency_ids=frozenset(district))) for text in COMMON[:4]]
    mix += [BenchQuery("long_unaccented", SearchQuery(text)) for text in LONG_UNACCENTED]
    mix += [BenchQuery("missing_word", SearchQuery(text)) for text in MISSING_WORD]
    mix += [BenchQuery("filters", SearchQuery(text, doc_type="Quyết định", date_from=date(2021, 1, 1),
                                              date_to=date(2022, 12, 31))) for text in COMMON[:3]]
    mix += [BenchQuery("newest", SearchQuery(text, sort="newest")) for text in COMMON[:3]]
    mix += [BenchQuery("facets", SearchQuery(text, facets=True)) for text in (*COMMON[:3], fold(COMMON[0]))]
    return mix
