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

- pyHanko's difference analysis indexes every object reachable in a signed
  revision by the paths that reach it (`HistoricalResolver.
  _load_reverse_xref_cache`), once per signature and document time-stamp:
  for a 50-page document some 10,000 recursive calls per revision, most
  of them on a number or a name in an array (a font's /Widths, a page's
  /MediaBox) only to return at once, each with a fresh linked-list node for
  its path. The fast walk is the same depth-first walk, in the same order,
  reading the same objects through the same resolver (so a damaged object
  raises what it raised, at the same point) and recording the same paths;
  it recurses only into what can hold a reference (indirect objects,
  dictionaries, arrays) and keeps paths as tuples.

Installed when `signing` is imported, for the versions it was checked
against (pyHanko 0.38, asn1crypto 1.5.1); tests/signing/test_parse_fast.py
compares each with the original.
"""
from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator
from typing import Any

from asn1crypto import __version__ as asn1crypto_version
from asn1crypto import x509
from pyhanko.pdf_utils import generic, misc
from pyhanko.pdf_utils.reader import HistoricalResolver, RawPdfPath
from pyhanko.version import __version__ as pyhanko_version

ORIGINAL_READ_HEX = generic.read_hex_string_from_stream
ORIGINAL_STRING_PREP = x509.NameTypeAndValue._ldap_string_prep
ORIGINAL_REVERSE_INDEX = HistoricalResolver._load_reverse_xref_cache
CHECKED_ASN1CRYPTO = ("1.5.1",)
CHECKED_PYHANKO = ("0.38.0",)
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


def load_reverse_xref_cache(self: HistoricalResolver) -> None:
    """pyHanko 0.38's HistoricalResolver._load_reverse_xref_cache (read
    against it line by line), without the calls that return at once."""
    if self._indirect_object_access_cache is not None:
        return
    indirect, dictionary, array = generic.IndirectObject, generic.DictionaryObject, generic.ArrayObject
    containers = (indirect, dictionary, array)
    struct_tree_path = ("/Root", "/StructTreeRoot")
    collected: dict[generic.Reference, set[tuple[str | int, ...]]] = {}
    resolve = self.__call__

    def walk(obj: Any, cur_path: tuple[str | int, ...], seen_in_path: tuple[generic.Reference, ...],
             page_tree_objs: dict[generic.Reference, tuple[str | int, ...]], is_struct_tree: bool,
             struct_tree_objs: set[generic.Reference]) -> None:
        if isinstance(obj, indirect):
            obj_ref = obj.reference
            if obj_ref in seen_in_path:
                return
            collected.setdefault(obj_ref, set()).add(cur_path)
            seen_in_path = (*seen_in_path, obj_ref)
            obj = resolve(obj_ref)
            # a page tree node only through its canonical path, the
            # structure tree only from /StructTreeRoot (as pyHanko)
            if page_tree_objs.get(obj_ref, cur_path) != cur_path:
                return
            if not is_struct_tree and obj_ref in struct_tree_objs:
                return
        if isinstance(obj, dictionary):
            enters_struct_tree = cur_path == struct_tree_path
            for k, v in obj.items():
                if k == "/Parent" or (is_struct_tree and k == "/P"):
                    continue
                if isinstance(v, containers):
                    walk(v, (*cur_path, k), seen_in_path, page_tree_objs,
                         is_struct_tree or (enters_struct_tree and k == "/K"), struct_tree_objs)
        elif isinstance(obj, array):
            for ix, v in enumerate(obj):
                if isinstance(v, containers):
                    walk(v, (*cur_path, ix), seen_in_path, page_tree_objs, is_struct_tree, struct_tree_objs)

    def page_tree_refs(pages_obj: Any, path: tuple[str | int, ...]) -> Iterator[tuple[generic.Reference, tuple[str | int, ...]]]:
        for ix, kid in enumerate(pages_obj["/Kids"]):
            kid_path = (*path, "/Kids", ix)
            if isinstance(kid, indirect):
                yield kid.reference, kid_path
            kid = kid.get_object()
            if kid.get("/Type", None) == "/Pages":
                yield from page_tree_refs(kid, kid_path)

    def struct_tree_refs(struct_elem: Any) -> Iterator[generic.Reference]:
        try:
            children = struct_elem["/K"]
        except KeyError:
            return
        if not isinstance(children, array):
            children = (children,)
        for child in children:
            child_ref = None
            if isinstance(child, indirect):
                child_ref = child.reference
                child = child.get_object()
            if not isinstance(child, dictionary):
                continue
            try:
                if child["/Type"] != "/StructElem":
                    continue
            except KeyError:
                pass
            if child_ref is not None:
                yield child_ref
            yield from struct_tree_refs(child)

    pages_ref = self.root.raw_get("/Pages")
    pages_path: tuple[str | int, ...] = ("/Root", "/Pages")
    page_tree_nodes = {}
    if isinstance(pages_ref, indirect):
        page_tree_nodes[pages_ref.reference] = pages_path
    for ref, path in page_tree_refs(pages_ref.get_object(), pages_path):
        if ref in page_tree_nodes:
            raise misc.PdfReadError("Circular reference in page tree in mapping stage")
        page_tree_nodes[ref] = path
    struct_tree_nodes = set()
    try:
        struct_tree_root = self.root.raw_get("/StructTreeRoot").get_object()
        for ref in struct_tree_refs(struct_tree_root):
            if ref in struct_tree_nodes:
                raise misc.PdfReadError("Circular reference in structure tree in mapping stage")
            struct_tree_nodes.add(ref)
    except KeyError:
        pass
    walk(self.trailer_view, (), (), page_tree_nodes, False, struct_tree_nodes)
    self._indirect_object_access_cache = {ref: {RawPdfPath(*p) for p in paths} for ref, paths in collected.items()}


def install() -> None:
    generic.read_hex_string_from_stream = read_hex_string_from_stream
    if asn1crypto_version in CHECKED_ASN1CRYPTO:
        x509.NameTypeAndValue._ldap_string_prep = _ldap_string_prep
    if pyhanko_version in CHECKED_PYHANKO:
        HistoricalResolver._load_reverse_xref_cache = load_reverse_xref_cache  # type: ignore[method-assign]


def uninstall() -> None:
    """The originals again (for the tests that compare them)."""
    generic.read_hex_string_from_stream = ORIGINAL_READ_HEX
    x509.NameTypeAndValue._ldap_string_prep = ORIGINAL_STRING_PREP
    HistoricalResolver._load_reverse_xref_cache = ORIGINAL_REVERSE_INDEX  # type: ignore[method-assign]
