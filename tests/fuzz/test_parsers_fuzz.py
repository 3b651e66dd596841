"""Hostile files at docsvc's doors: the upload check, the PDF readers,
signature verification, the e-copy code reader and the register-field
suggester are fed mutations of real files (born-digital and scanned PDFs,
signed ones from the development PKI, scan images, printed codes, OCR
headers) and must keep their promise: accept, or refuse with a docsvc error
(verification: a report that says why it is not valid). A mutation inside
what a signature signed is never reported valid. Verification runs in a
child process with only loopback to reach (tests/fuzz/isolated.py), and may
connect nowhere but the development PKI's own services.

Hypothesis drives the mutators of tests/fuzz/mutations.py, derandomized
(the same few hundred inputs on every run, shrunk to a small one when a
promise breaks). The long random run is bench/fuzz.py.
"""
from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docsvc.ecopies import codes as ecopy_codes
from tests.fuzz import mutations, targets
from tests.fuzz.isolated import outcome_in_child
from tests.fuzz.mutations import HEADER_PIECES

# The same inputs every run, no example database, no per-example deadline
# (verification takes 0.1 to 1 s; pytest-timeout bounds the whole).
DETERMINISTIC = settings(derandomize=True, database=None, deadline=None, print_blob=True,
                         suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                HealthCheck.function_scoped_fixture])


def examples(count: int) -> settings:
    return settings(DETERMINISTIC, max_examples=count)


BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")


class HypothesisChooser:
    """The mutators' decisions, drawn from Hypothesis (so they shrink)."""

    def __init__(self, data: st.DataObject) -> None:
        self.data = data

    def integer(self, low: int, high: int) -> int:
        return self.data.draw(st.integers(low, high))

    def blob(self, max_size: int) -> bytes:
        return self.data.draw(st.binary(max_size=max_size))


def mutated(data: st.DataObject, named: dict[str, bytes], others: list[bytes], *, pdf: bool) -> bytes:
    name = data.draw(st.sampled_from(sorted(named)), label="seed")
    return mutations.mutate(named[name], HypothesisChooser(data), others, pdf=pdf)


@pytest.fixture(scope="module")
def spool(tmp_path_factory):
    """Where each input is written, as an upload is spooled to disk."""
    return tmp_path_factory.mktemp("fuzz-input") / "upload"


@examples(100)
@given(data=st.data())
def test_upload_intake_accepts_or_refuses_any_mutated_file(data, seeds, fuzz_settings, spool):
    named = {**seeds.pdfs, **seeds.signed, **seeds.images}
    is_image = {name: name in seeds.images for name in named}
    name = data.draw(st.sampled_from(sorted(named)), label="seed")
    spool.write_bytes(mutations.mutate(named[name], HypothesisChooser(data), seeds.everything(),
                                       pdf=not is_image[name]))

    targets.upload_intake(fuzz_settings, spool)


@examples(80)
@given(data=st.data())
def test_inspect_pdf_accepts_or_refuses_any_mutated_pdf(data, seeds, spool):
    spool.write_bytes(mutated(data, {**seeds.pdfs, **seeds.signed}, seeds.everything(), pdf=True))

    targets.inspect_pdf(spool)


@examples(100)
@given(data=st.data())
def test_page_texts_are_read_or_refused_for_any_mutated_pdf(data, seeds, spool):
    spool.write_bytes(mutated(data, {**seeds.pdfs, **seeds.signed}, seeds.everything(), pdf=True))

    targets.page_texts(spool)


@examples(40)
@given(data=st.data())
def test_verification_reports_on_any_mutated_signed_pdf(data, seeds, verify_worker):
    named = {**seeds.signed, "born-digital.pdf": seeds.pdfs["born-digital.pdf"]}

    outcome_in_child(verify_worker, mutated(data, named, seeds.everything(), pdf=True))


@examples(30)
@given(data=st.data())
def test_a_byte_changed_inside_the_first_signature_is_never_valid(data, seeds, verify_worker):
    name = data.draw(st.sampled_from(sorted(seeds.signed)), label="seed")
    signed = seeds.signed[name]
    start1, length1, start2, length2 = map(int, BYTE_RANGE.search(signed).groups())
    at = data.draw(st.one_of(st.integers(start1, start1 + length1 - 1), st.integers(start2, start2 + length2 - 1)))
    flipped = signed[:at] + bytes([signed[at] ^ data.draw(st.integers(1, 255))]) + signed[at + 1:]

    outcome = outcome_in_child(verify_worker, flipped)

    assert outcome.detail != "valid", f"byte {at} of {name} changed, still valid"


def code_from(seed: int) -> str:
    """A valid code in canonical form whose data characters come from `seed`."""
    data = "".join(ecopy_codes.ALPHABET[(seed >> (5 * i)) % 32] for i in range(ecopy_codes.DATA_CHARS))
    return data + ecopy_codes.check_character(data)


@st.composite
def code_typed_carelessly(draw) -> str:
    """A real code as a person types it: any case, spaces and dashes, O for 0."""
    code = ecopy_codes.format_code(code_from(draw(st.integers(0, 2**80))))
    case = draw(st.sampled_from((str.upper, str.lower, str.swapcase)))
    text = case(code)
    separator = draw(st.sampled_from(("-", " ", "", "\u2013", " - ", "\u00a0")))
    return text.replace("-", separator).replace("0", draw(st.sampled_from(("0", "O", "o"))))


@examples(300)
@given(text=st.one_of(st.text(max_size=60), st.from_regex(r"[0-9A-Za-z\- ]{10,30}", fullmatch=True),
                      code_typed_carelessly()))
def test_ecopy_code_reader_returns_a_canonical_code_or_refuses(text):
    targets.ecopy_code(text)


@examples(200)
@given(position=st.integers(0, ecopy_codes.CODE_LENGTH - 1), replacement=st.sampled_from(ecopy_codes.ALPHABET),
       swap=st.booleans(), seed=st.integers(0, 2**80))
def test_every_single_typo_in_a_code_is_caught(position, replacement, swap, seed):
    code = code_from(seed)
    if swap:
        position = min(position, ecopy_codes.CODE_LENGTH - 2)
        typo = code[:position] + code[position + 1] + code[position] + code[position + 2:]
    else:
        typo = code[:position] + replacement + code[position + 1:]

    outcome = targets.ecopy_code(typo)

    assert (outcome.kind == "refused") == (typo != code), (code, typo)


@examples(300)
@given(pieces=st.lists(st.one_of(st.sampled_from(HEADER_PIECES), st.text(max_size=20)), max_size=40),
       separators=st.lists(st.sampled_from((" ", "\n", "  ", "\t", "")), min_size=40, max_size=40))
def test_register_suggestions_come_back_for_any_ocr_text(pieces, separators):
    text = "".join(piece + separators[i] for i, piece in enumerate(pieces))

    targets.suggestion(text)
