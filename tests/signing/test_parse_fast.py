"""signing._parse_fast reads hex strings, compares X.509 names and indexes a
revision's objects for the difference analysis as pyHanko and asn1crypto
do, only faster: the same answers, the same errors."""
from __future__ import annotations

import io

import pytest
from asn1crypto import x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfReadError, PdfStreamError
from pyhanko.pdf_utils.reader import HistoricalResolver, PdfFileReader

from signing import _parse_fast, verify_pdf
from tests.signing.helpers import _update, add_sticky_note, append_page, replace_first_page


def read_both(raw: bytes):
    """(fast result, original result, where each left the stream), or the errors."""
    outcomes = []
    for reader in (_parse_fast.read_hex_string_from_stream, _parse_fast.ORIGINAL_READ_HEX):
        stream = io.BytesIO(raw)
        try:
            value = reader(stream)
            outcomes.append((type(value), bytes(value) if isinstance(value, bytes) else value, stream.tell()))
        except PdfStreamError as e:
            outcomes.append(("error", str(e)))
    return outcomes


@pytest.mark.parametrize("raw", [
    b"<48656c6c6f> rest",
    b"<48 65\n6c\r\n6c\t6f\x0c> /Next",
    b"<486>",  # odd: a last 0 is implied
    b"<>",
    b"<" + b"ab" * 20000 + b">trailing",  # longer than one chunk
    b"<" + b"0" * 16382 + b">",  # the '>' right at a chunk's edge
    b"<4865 % a comment\n6c6c6f>",  # comments are pyHanko's path
    b"<48zz65>",  # not hex: pyHanko's error
    b"<4865",  # never closed: pyHanko's error
    b"<FEFF00480069>",  # a UTF-16 text string
])
def test_hex_strings_read_as_pyhanko_reads_them(raw):
    fast, original = read_both(raw)
    assert fast == original


def test_the_signature_contents_of_a_signed_document_are_the_same(sign, decision_pdf, official, trust):
    signed = sign(decision_pdf, official, level="B-T")
    start = signed.rindex(b"/Contents <") + len(b"/Contents ")
    fast, original = read_both(signed[start:])
    assert fast == original and len(fast[1]) > 1000


NAMES = ["Nguyễn Văn An", "UBND xã Mẫu", "  Trần   Thị Bình ", "ＵＢＮＤ", "Cục\u00adThuế", "plain ascii"]


@pytest.mark.parametrize("value", NAMES)
def test_string_preparation_is_asn1cryptos(value):
    assert _parse_fast._prepared(value) == _parse_fast.ORIGINAL_STRING_PREP(None, value)


def test_a_string_asn1crypto_refuses_is_refused_every_time():
    for _ in range(2):  # the failure is not kept as an answer
        with pytest.raises(ValueError):
            _parse_fast._prepared("private use \ue000")


def name(common_name: str, *, printable: bool = False) -> x509.Name:
    return x509.Name.build({"common_name": common_name, "organization_name": "UBND xa Mau" if printable else "UBND xã Mẫu"},
                           use_printable=printable)


@pytest.mark.parametrize(("a", "b", "equal"), [
    (name("Nguyễn Văn An"), name("Nguyễn Văn An"), True),
    (name("Nguyen  Van An", printable=True), name("nguyen van an", printable=True), True),  # case and spaces fold
    (name("Nguyễn Văn An"), name("Trần Thị Bình"), False),
])
def test_names_compare_as_before(a, b, equal):
    assert (a == b) is equal
    _parse_fast.uninstall()
    try:
        assert (name_copy(a) == name_copy(b)) is equal
    finally:
        _parse_fast.install()


def name_copy(value: x509.Name) -> x509.Name:
    return x509.Name.load(value.dump())


def with_and_without_fast_paths(signed: bytes, trust) -> tuple[dict, dict]:
    fast = verify_pdf(io.BytesIO(signed), trust).to_json()
    _parse_fast.uninstall()
    try:
        original = verify_pdf(io.BytesIO(signed), trust).to_json()
    finally:
        _parse_fast.install()
    return fast, original


def test_verification_gives_the_same_report_with_and_without_the_fast_paths(sign, decision_pdf, agency, trust):
    fast, original = with_and_without_fast_paths(sign(decision_pdf, agency, level="B-LTA"), trust)
    assert fast == original and fast["verdict"] == "valid"
    assert generic.read_hex_string_from_stream is _parse_fast.read_hex_string_from_stream


def reverse_indexes(document: bytes) -> list[tuple[object, object]]:
    """Per revision, (the fast walk's index, pyHanko's), each from a reader
    of its own: every object reachable, with every path that reaches it;
    or the error each raised."""
    def index(walk, revision):
        resolver = PdfFileReader(io.BytesIO(document), strict=False).get_historical_resolver(revision)
        try:
            walk(resolver)
        except PdfReadError as e:
            return ("error", str(e))
        return {ref.idnum: sorted(tuple(map(str, p)) for p in paths)
                for ref, paths in resolver._indirect_object_access_cache.items()}
    revisions = PdfFileReader(io.BytesIO(document), strict=False).xrefs.total_revisions
    return [(index(_parse_fast.load_reverse_xref_cache, r), index(_parse_fast.ORIGINAL_REVERSE_INDEX, r))
            for r in range(revisions)]


def tagged(pdf: bytes) -> bytes:
    """The document with a structure tree (a tagged PDF): elements nested
    two deep, one pointing back at its parent (/P) and at the page (/Pg),
    and a /ParentTree, which pyHanko's walk treats apart."""
    def edit(writer: IncrementalPdfFileWriter) -> None:
        page = writer.root["/Pages"]["/Kids"][0]
        root = writer.add_object(generic.DictionaryObject({pdf_name("/Type"): pdf_name("/StructTreeRoot")}))
        document = writer.add_object(generic.DictionaryObject({
            pdf_name("/Type"): pdf_name("/StructElem"), pdf_name("/S"): pdf_name("/Document"), pdf_name("/P"): root}))
        paragraph = writer.add_object(generic.DictionaryObject({
            pdf_name("/S"): pdf_name("/P"), pdf_name("/P"): document, pdf_name("/Pg"): page,
            pdf_name("/K"): generic.NumberObject(0)}))
        document.get_object()[pdf_name("/K")] = generic.ArrayObject([paragraph])
        root.get_object()[pdf_name("/K")] = document
        root.get_object()[pdf_name("/ParentTree")] = writer.add_object(generic.DictionaryObject({
            pdf_name("/Nums"): generic.ArrayObject([generic.NumberObject(0), generic.ArrayObject([paragraph])])}))
        writer.root[pdf_name("/StructTreeRoot")] = root
        writer.update_root()
    return _update(pdf, edit)


def circular_page_tree(pdf: bytes) -> bytes:
    """A page tree whose /Kids names one page twice: pyHanko refuses it."""
    def edit(writer: IncrementalPdfFileWriter) -> None:
        pages = writer.root["/Pages"]
        pages[pdf_name("/Kids")] = generic.ArrayObject([*pages["/Kids"], pages["/Kids"].raw_get(0)])
        writer.update_container(pages)
    return _update(pdf, edit)


@pytest.mark.parametrize("forge", [None, append_page, replace_first_page, add_sticky_note, tagged, circular_page_tree])
def test_the_reverse_index_is_pyhankos_for_every_revision(sign, decision_pdf, long_report_pdf, agency, forge):
    for pdf in (decision_pdf, long_report_pdf):
        signed = sign(pdf, agency, level="B-LTA")
        document = forge(signed) if forge else signed
        indexes = reverse_indexes(document)
        assert len(indexes) >= 4  # the original, the signature, the document time-stamp, the DSS (and the forgery)
        for fast, original in indexes:
            assert fast == original
        if forge is circular_page_tree:
            assert indexes[-1][0] == ("error", "Circular reference in page tree in mapping stage")
        else:
            assert len(indexes[-1][0]) > 10
        if forge is tagged:  # the structure tree is indexed, through /K only
            paths = [p for ps in indexes[-1][0].values() for p in ps if p[:2] == ("/Root", "/StructTreeRoot")]
            assert ("/Root", "/StructTreeRoot", "/K", "/K", "0") in paths


def test_a_tagged_document_signed_afterwards_verifies_as_before(sign, decision_pdf, agency, trust):
    fast, original = with_and_without_fast_paths(sign(tagged(decision_pdf), agency, level="B-LTA"), trust)
    assert fast == original and fast["verdict"] == "valid"
    assert HistoricalResolver._load_reverse_xref_cache is _parse_fast.load_reverse_xref_cache
