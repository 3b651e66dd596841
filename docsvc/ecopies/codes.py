"""Verification codes of e-copies: unguessable, yet short enough to type.

A code is 16 data characters drawn with `secrets` from a 32-symbol
Crockford-style base32 alphabet (80 bits), plus one check character:

    canonical  7KQ4M2XD9TRAH5NW7        (stored, looked up, returned by normalize)
    formatted  7KQ4-M2XD-9TRA-H5NW-7    (printed on the copy, in the QR's URL)

The alphabet has no I, L, O or U; on input O reads as 0 and I/L as 1, case
does not matter, spaces and hyphens are ignored (U is refused: it is in no
code).

The check character is a Damm-style check over GF(32): reading the 17
characters as field elements d1..d17, the code is valid when
d1·a^16 + d2·a^15 + ... + d16·a + d17 = 0 with a = x (the field built on
x^5 + x^2 + 1). Every weight is non-zero, so a single wrong character
changes the sum; two neighbours swapped change it by
a^k·(a + 1)·(x - y), non-zero for x != y since a != 1. So every single
substitution and every adjacent transposition, the check character's
own included, is caught before the database is asked.
"""
from __future__ import annotations

import secrets
import unicodedata

from docsvc.errors import InvalidInput

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
DATA_CHARS = 16  # 16 × 5 bits = 80 bits from `secrets`
GROUP = 4
CODE_LENGTH = DATA_CHARS + 1  # plus the check character
BITS = DATA_CHARS * 5

_VALUES = {ch: i for i, ch in enumerate(ALPHABET)}
_ALIASES = {"O": "0", "I": "1", "L": "1"}
_IGNORED = set(" \t\r\n-\u00a0\u2010\u2011\u2012\u2013\u2014\u2212")  # spaces, hyphens and dashes copied from PDFs
_POLY = 0b100101  # x^5 + x^2 + 1, primitive over GF(2)


class InvalidCode(InvalidInput, ValueError):
    """A verification code that cannot be one: wrong length, a character no
    code has, or a failed check (a typo). A ValueError and a DocsvcError."""

    code = "invalid_verification_code"


def _times_x(value: int) -> int:
    value <<= 1
    return value ^ _POLY if value & 0b100000 else value


def _checksum(values: list[int]) -> int:
    """Horner's rule in GF(32): ((d1·a + d2)·a + d3)·a + ... ; 0 for a valid code."""
    total = 0
    for value in values:
        total = _times_x(total) ^ value
    return total


def check_character(data: str) -> str:
    """The check character for 16 data characters (canonical, upper case)."""
    return ALPHABET[_times_x(_checksum([_VALUES[ch] for ch in data]))]


def new_code() -> str:
    """A fresh code in canonical form (17 characters, no hyphens)."""
    data = "".join(secrets.choice(ALPHABET) for _ in range(DATA_CHARS))
    return data + check_character(data)


def normalize(user_input: str) -> str:
    """What a person typed or scanned, as the canonical code; InvalidCode
    (a ValueError) saying what is wrong if it cannot be a code."""
    if not isinstance(user_input, str):
        raise InvalidCode("A verification code is text, like 7KQ4-M2XD-9TRA-H5NW-7.")
    text = unicodedata.normalize("NFKC", user_input).upper()
    chars = [_ALIASES.get(ch, ch) for ch in text if ch not in _IGNORED]
    wrong = sorted({ch for ch in chars if ch not in _VALUES})
    if wrong:
        shown = ", ".join(repr(ch) for ch in wrong)
        raise InvalidCode(f"A verification code has only digits and the letters A-Z without U; "
                          f"{shown} cannot be in one.")
    if len(chars) != CODE_LENGTH:
        raise InvalidCode(f"A verification code has {CODE_LENGTH} characters (like 7KQ4-M2XD-9TRA-H5NW-7); "
                          f"this one has {len(chars)}.")
    if _checksum([_VALUES[ch] for ch in chars]) != 0:
        raise InvalidCode("This verification code has a typing mistake: check each character against the document.")
    return "".join(chars)


def format_code(canonical: str) -> str:
    """The printed form: 7KQ4-M2XD-9TRA-H5NW-7. Accepts any form normalize() does."""
    code = normalize(canonical)
    groups = [code[i:i + GROUP] for i in range(0, DATA_CHARS, GROUP)]
    return "-".join(groups + [code[DATA_CHARS:]])
