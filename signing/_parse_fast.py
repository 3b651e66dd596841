"""Two reading hot spots of verification, made fast without changing a result.

Profiled on a B-LTA e-copy (bench/sign_throughput.py, offline
verification), most of the time went to two functions:

- pyHanko's `read_hex_string_from_stream` reads a PDF hex string one byte
  per call, through a generator and a whitespace/comment scanner: a
  signature's /Contents is 12,000-20,000 hex digits, a B-LTA document has
  two of them (signature and document time-stamp), about 40,000 calls a
  document. The fast path reads up to the closing `>` in one go and decodes
  with `bytes.fromhex`. Anything unusual in the string (a comment, a byte
  that is neither a hex digit nor PDF whitespace, the end of the stream)
  goes back to pyHanko's own function from the start, so errors and corner
  cases are pyHanko's, unchanged.
- asn1crypto compares X.509 names (every issuer match, every path step) by
  running LDAP string preparation (RFC 4518: stringprep tables, NFKC) over
  every attribute of both names, on every comparison. It keeps the result
  per parsed attribute, but each verification parses its certificates
  anew. The preparation is a pure function of the string, so its results
  are kept per string (a bounded LRU cache; failures are not kept and
  raise again). (Comparing the names' DER first was tried and dropped:
  asn1crypto's Choice.dump() re-checks the whole tree for changes on every
  call, which costs what it saves.)

Installed when `signing` is imported, for the versions it was checked
against (pyHanko 0.38, asn1crypto 1.5.1); tests/signing/test_parse_fast.py
compares both with the originals.
"""
from __future__ import annotations

import functools
import os
import re
from typing import Any

from asn1crypto import __version__ as asn1crypto_version
from asn1crypto import x509
from pyhanko.pdf_utils import generic

ORIGINAL_READ_HEX = generic.read_hex_string_from_stream
ORIGINAL_STRING_PREP = x509.NameTypeAndValue._ldap_string_prep
CHECKED_ASN1CRYPTO = ("1.5.1",)
_CHUNK = 16384
# PDF whitespace (ISO 32000-1, 7.2.2) and hex digits: nothing else may be
# in a hex string for the fast path to take it.
_PDF_WHITESPACE = b"\x00\t\n\x0c\r "
_PLAIN_HEX = re.compile(rb"[0-9A-Fa-f\x00\t\n\x0c\r ]*")


def read_hex_string_from_stream(stream: Any) -> generic.ByteStringObject | generic.TextStringObject:
    """pyHanko's function, reading the string in chunks instead of bytes."""
    start = stream.tell()
    stream.read(1)  # the opening '<'
    parts = []
    while True:
        chunk = stream.read(_CHUNK)
        end = chunk.find(b">")
        if not chunk or not _PLAIN_HEX.fullmatch(chunk, 0, end if end >= 0 else len(chunk)):
            stream.seek(start, os.SEEK_SET)
            return ORIGINAL_READ_HEX(stream)
        if end >= 0:
            parts.append(chunk[:end])
            stream.seek(end + 1 - len(chunk), os.SEEK_CUR)  # just past the '>'
            break
        parts.append(chunk)
    digits = b"".join(parts).translate(None, _PDF_WHITESPACE)
    if len(digits) % 2:
        digits += b"0"  # as pyHanko: an odd last digit is followed by 0
    return generic.pdf_string(bytes.fromhex(digits.decode("ascii")))


@functools.lru_cache(maxsize=4096)
def _prepared(string: str) -> str:
    prepared: str = ORIGINAL_STRING_PREP(None, string)
    return prepared


def _ldap_string_prep(self: Any, string: str) -> str:
    return _prepared(string)


def install() -> None:
    generic.read_hex_string_from_stream = read_hex_string_from_stream
    if asn1crypto_version in CHECKED_ASN1CRYPTO:
        x509.NameTypeAndValue._ldap_string_prep = _ldap_string_prep


def uninstall() -> None:
    """The originals again (for the tests that compare them)."""
    generic.read_hex_string_from_stream = ORIGINAL_READ_HEX
    x509.NameTypeAndValue._ldap_string_prep = ORIGINAL_STRING_PREP
