"""asn1crypto encodes a freshly built CMS in exponential time; encode it once.

The problem (wbond/asn1crypto#256, "Calling dump on a SignedData object
took 30 seconds"; fixed on asn1crypto's master in July 2026, but 1.5.1 is
still the newest release, and the one pyHanko 0.38 with
pyhanko-certvalidator 0.33 installs, so this fix is still needed and was
checked again with them): a Sequence/SequenceOf that was built or
changed in Python is marked `_mutated`, and the flag is never cleared, so
each read of its `.contents` re-encodes it from its children. The generic
`Asn1Value.dump()` reads `self.contents` up to three times in one call
(the value, again for the length in the header, again for each explicit
tag), and each read dumps every child, which reads *its* contents up to
three times... A built tree of depth d is thus re-encoded 2^d-3^d times.
pyHanko builds the signed attributes, the SignerInfo, the SignedData and
the ContentInfo this way: ~90 ms of pure re-encoding per CMS on this
project's machines, for 4 KB of DER, when the RSA signature takes 0.3 ms.

The fix here is deliberately the smallest one that changes no output and
no caching decision: `Asn1Value.dump()` reads `self.contents` once and
uses that value for the header and the explicit tags too. Nothing can
change the tree between those reads (they are in one call, on one object,
with nothing but header arithmetic in between), and asn1crypto's own
contents getters are deterministic, so the bytes are the same by
construction; whether and when a mutated value is re-encoded stays
asn1crypto's decision (unlike clearing the `_mutated` flag, which would
also be faster but could miss a later change made below a Choice or Any).
tests/signing/test_asn1_dump.py checks the bytes against unpatched
asn1crypto for real CMS signatures, with and without a time-stamp token.

Installed when `signing` is imported, for the whole process: verification
(pyHanko re-encodes what it parses, too) profits as much as signing. Only
for the asn1crypto release it was checked against: another release keeps
its own `dump()`, slow or not, and `installed()` says so.
"""
from __future__ import annotations

import logging
from typing import Any

from asn1crypto import __version__ as asn1crypto_version
from asn1crypto import core

log = logging.getLogger(__name__)

CHECKED_VERSIONS = ("1.5.1",)
ORIGINAL_DUMP = core.Asn1Value.dump


def _dump(self: Any, force: bool = False) -> bytes:
    """asn1crypto 1.5.1's Asn1Value.dump, reading `self.contents` once."""
    contents = self.contents

    # If the length is indefinite, force the re-encoding
    if self._header is not None and self._header[-1:] == b'\x80':
        force = True

    if self._header is None or force:
        if isinstance(self, core.Constructable) and self._indefinite:
            self.method = 0

        header = core._dump_header(self.class_, self.method, self.tag, contents)

        if self.explicit is not None:
            for class_, tag in self.explicit:
                header = core._dump_header(class_, 1, tag, header + contents) + header

        self._header = header
        self._trailer = b''

    encoded: bytes = self._header + contents + self._trailer
    return encoded


def install() -> bool:
    """Replace Asn1Value.dump, once, if asn1crypto is a checked release."""
    if core.Asn1Value.dump is _dump:
        return True
    if asn1crypto_version not in CHECKED_VERSIONS:
        log.warning("asn1crypto %s is not one of %s: its slow dump() is left as it is",
                    asn1crypto_version, ", ".join(CHECKED_VERSIONS))
        return False
    core.Asn1Value.dump = _dump
    return True


def uninstall() -> None:
    """Back to asn1crypto's own dump() (for the tests that compare the two)."""
    core.Asn1Value.dump = ORIGINAL_DUMP


def installed() -> bool:
    return core.Asn1Value.dump is _dump
