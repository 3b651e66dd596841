"""signing._parse_fast reads hex strings and compares X.509 names as
pyHanko and asn1crypto do, only faster: the same answers, the same errors."""
from __future__ import annotations

import io

import pytest
from asn1crypto import x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PdfStreamError

from signing import _parse_fast, verify_pdf


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


def test_verification_gives_the_same_report_with_and_without_the_fast_paths(sign, decision_pdf, agency, trust):
    signed = sign(decision_pdf, agency, level="B-LTA")
    fast = verify_pdf(io.BytesIO(signed), trust).to_json()
    _parse_fast.uninstall()
    try:
        original = verify_pdf(io.BytesIO(signed), trust).to_json()
    finally:
        _parse_fast.install()
    assert fast == original and fast["verdict"] == "valid"
    assert generic.read_hex_string_from_stream is _parse_fast.read_hex_string_from_stream
