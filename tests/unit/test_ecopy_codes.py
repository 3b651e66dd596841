"""Verification codes of e-copies: 80 bits, typeable, typos caught by the check."""
from __future__ import annotations

import re

import pytest

from docsvc.ecopies.codes import (
    ALPHABET,
    CODE_LENGTH,
    DATA_CHARS,
    InvalidCode,
    check_character,
    format_code,
    new_code,
    normalize,
)
from docsvc.errors import DocsvcError

FORMATTED = re.compile(r"^([0-9A-HJKMNP-TV-Z]{4}-){4}[0-9A-HJKMNP-TV-Z]$")


def test_entropy_is_at_least_80_bits():
    assert len(set(ALPHABET)) == len(ALPHABET) == 32
    assert len(ALPHABET) ** DATA_CHARS >= 2 ** 80
    assert CODE_LENGTH == DATA_CHARS + 1


def test_no_ambiguous_characters():
    assert not set("ILOU") & set(ALPHABET)
    assert ALPHABET.upper() == ALPHABET
    for _ in range(1000):
        assert not set("ILOU-") & set(new_code())


def test_new_codes_round_trip_through_every_form():
    for _ in range(1000):
        code = new_code()
        assert len(code) == CODE_LENGTH
        printed = format_code(code)
        assert FORMATTED.match(printed), printed
        assert printed.replace("-", "") == code
        assert normalize(code) == code
        assert normalize(printed) == code
        assert normalize(printed.lower()) == code
        assert normalize(" " + " ".join(printed.split("-")) + "\n") == code
        assert format_code(printed) == printed


def test_the_example_code_is_valid():
    assert check_character("7KQ4M2XD9TRAH5NW") == "7"
    assert format_code("7kq4m2xd9trah5nw7") == "7KQ4-M2XD-9TRA-H5NW-7"


def test_ambiguous_letters_are_read_as_digits():
    data = "0123456789ABCDEF"
    code = data + check_character(data)
    assert normalize("o" + "I" + code[2:]) == code
    assert normalize("O" + "l" + code[2:]) == code
    assert normalize(format_code(code).replace("0", "o").replace("1", "L")) == code


def test_dashes_copied_from_a_pdf_and_full_width_digits_are_accepted():
    code = new_code()
    printed = format_code(code)
    assert normalize(printed.replace("-", "\u2013")) == code
    full_width = "".join(chr(ord(ch) + 0xFEE0) if ch.isalnum() else ch for ch in printed)
    assert normalize(full_width) == code


@pytest.mark.parametrize("typed, says", [
    ("", "17 characters"),
    ("7KQ4-M2XD-9TRA-H5NW", "17 characters"),
    ("7KQ4-M2XD-9TRA-H5NW-77", "17 characters"),
    ("7KQ4-M2XD-9TRA-H5NU-7", "'U'"),
    ("7KQ4-M2XD-9TRA-H5N*-7", "'*'"),
    ("7KQ4-M2XĐ-9TRA-H5NW-7", "'Đ'"),
    ("7KQ4-M2XD-9TRA-H5NW-8", "typing mistake"),
])
def test_what_cannot_be_a_code_is_refused_with_a_reason(typed, says):
    with pytest.raises(ValueError) as caught:
        normalize(typed)
    assert says in str(caught.value)
    assert isinstance(caught.value, InvalidCode)
    assert isinstance(caught.value, DocsvcError)
    assert caught.value.to_json()["code"] == "invalid_verification_code"


def test_format_code_refuses_what_normalize_refuses():
    with pytest.raises(ValueError):
        format_code("7KQ4M2XD9TRAH5NW8")
    with pytest.raises(ValueError):
        normalize(None)  # type: ignore[arg-type]


SAMPLE = [new_code() for _ in range(150)] + ["7KQ4M2XD9TRAH5NW7", "0000000000000000" + check_character("0" * 16)]


def test_every_single_substitution_is_caught():
    for code in SAMPLE:
        for position in range(CODE_LENGTH):
            for other in ALPHABET:
                if other == code[position]:
                    continue
                typo = code[:position] + other + code[position + 1:]
                with pytest.raises(InvalidCode, match="typing mistake"):
                    normalize(typo)


def test_every_adjacent_transposition_is_caught():
    caught = 0
    for code in SAMPLE:
        for position in range(CODE_LENGTH - 1):
            a, b = code[position], code[position + 1]
            if a == b:
                continue
            swapped = code[:position] + b + a + code[position + 2:]
            with pytest.raises(InvalidCode, match="typing mistake"):
                normalize(swapped)
            caught += 1
    assert caught > 100 * (CODE_LENGTH - 1)


def _valid_with(position: int, a: str, b: str) -> str:
    """A valid code with `a` at `position` and `b` right after it (b may be the check character)."""
    data = list("7KQ4M2XD9TRAH5NW")
    data[position] = a
    if position + 1 < DATA_CHARS:
        data[position + 1] = b
        return "".join(data) + check_character("".join(data))
    for first in ALPHABET:  # the check is a bijection of any one data character
        data[0] = first
        if check_character("".join(data)) == b:
            return "".join(data) + b
    raise AssertionError("no data character gives that check character")


def test_every_adjacent_transposition_of_every_pair_of_symbols_is_caught_anywhere():
    for position in range(CODE_LENGTH - 1):
        for a in ALPHABET:
            for b in ALPHABET:
                if a != b:
                    valid = _valid_with(position, a, b)
                    assert normalize(valid) == valid
                    with pytest.raises(InvalidCode):
                        normalize(valid[:position] + b + a + valid[position + 2:])


def test_100k_codes_are_all_different():
    codes = {new_code() for _ in range(100_000)}
    assert len(codes) == 100_000
    # each symbol turns up in every data position: the draw covers the alphabet
    for position in (0, DATA_CHARS - 1):
        assert {code[position] for code in list(codes)[:5000]} == set(ALPHABET)
