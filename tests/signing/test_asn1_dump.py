"""signing._asn1_dump makes asn1crypto encode a built CMS once instead of
exponentially often; these tests show it changes no byte of what is signed.

Each CMS is built twice from the same inputs by pyHanko, once with
asn1crypto's own Asn1Value.dump and once with ours, and the DER compared.
RSA PKCS#1 v1.5 is deterministic, the digest and signing time are fixed,
and the B-T case reuses one real token of the dev TSA, so any difference
would come from the encoder.
"""
from __future__ import annotations

import asyncio
import contextlib
import io
import os
from datetime import UTC, datetime

import pytest
from asn1crypto import cms, crl, ocsp, x509
from asn1crypto import core as asn1_core
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.timestamps import TimeStamper

from signing import _asn1_dump

WHEN = PdfCMSSignedAttributes(signing_time=datetime(2030, 1, 1, tzinfo=UTC))


@contextlib.contextmanager
def stock_asn1crypto():
    _asn1_dump.uninstall()
    try:
        yield
    finally:
        _asn1_dump.install()


class OneTokenPerDigest(TimeStamper):
    """The dev TSA, asked once per message digest, so that building the same
    signature twice embeds the same time-stamp token."""

    def __init__(self, inner: TimeStamper) -> None:
        super().__init__()
        self._inner = inner
        self._tokens: dict[tuple[bytes, str], cms.ContentInfo] = {}

    async def async_timestamp(self, message_digest, md_algorithm) -> cms.ContentInfo:
        key = (message_digest, md_algorithm)
        if key not in self._tokens:
            token = await self._inner.async_timestamp(message_digest, md_algorithm)
            self._tokens[key] = cms.ContentInfo.load(token.dump())
        return self._tokens[key]


def build_cms(key, digest: bytes, timestamper=None) -> bytes:
    signed = asyncio.run(key.signer().async_sign(digest, "sha256", use_pades=True, timestamper=timestamper,
                                                 signed_attr_settings=WHEN))
    return signed.dump()


def test_the_fix_is_active_for_the_installed_asn1crypto():
    assert _asn1_dump.installed()
    assert asn1_core.Asn1Value.dump is not _asn1_dump.ORIGINAL_DUMP


@pytest.mark.parametrize("who", ["official", "agency"])
def test_a_b_b_cms_is_byte_identical_to_unpatched_asn1crypto(who, official, agency):
    key = {"official": official, "agency": agency}[who]
    digest = os.urandom(32)

    ours = build_cms(key, digest)
    with stock_asn1crypto():
        theirs = build_cms(key, digest)

    assert ours == theirs
    assert cms.ContentInfo.load(ours)["content"]["signer_infos"][0]["signed_attrs"]  # a real SignedData


def test_a_cms_with_a_time_stamp_token_is_byte_identical_to_unpatched_asn1crypto(official, trust):
    digest = os.urandom(32)
    tsa = OneTokenPerDigest(trust.get_timestamper())

    ours = build_cms(official, digest, tsa)
    with stock_asn1crypto():
        theirs = build_cms(official, digest, tsa)

    assert ours == theirs
    [signer_info] = cms.ContentInfo.load(ours)["content"]["signer_infos"]
    assert signer_info["unsigned_attrs"][0]["type"].native == "signature_time_stamp_token"


@pytest.mark.parametrize("level", ["B-T", "B-LTA"])
def test_re_encoding_what_a_signed_pdf_holds_gives_the_same_bytes(level, sign, official, decision_pdf):
    """Parsed, then forced through the encoder again: CMS, certificates,
    OCSP responses and CRLs of the DSS, under both encoders."""
    signed = sign(decision_pdf, official, level=level)
    reader = PdfFileReader(io.BytesIO(signed))
    blobs = [(cms.ContentInfo, s.pkcs7_content) for s in reader.embedded_signatures]
    # pyHanko's dictionaries resolve indirect objects on [] but not on .get()
    dss = reader.root["/DSS"] if "/DSS" in reader.root else None  # noqa: SIM401
    for name, spec in (("/Certs", x509.Certificate), ("/OCSPs", ocsp.OCSPResponse), ("/CRLs", crl.CertificateList)):
        if dss is not None and name in dss:
            blobs += [(spec, ref.get_object().data) for ref in dss[name]]
    assert {spec for spec, _ in blobs} == ({cms.ContentInfo} if level == "B-T" else
                                           {cms.ContentInfo, x509.Certificate, ocsp.OCSPResponse, crl.CertificateList})

    def force_all() -> list[bytes]:
        return [spec.load(blob).dump(force=True) for spec, blob in blobs]

    ours = force_all()
    with stock_asn1crypto():
        theirs = force_all()
    assert ours == theirs
    # DER in, the same DER out (a signature's /Contents is zero-padded)
    assert all(blob[:len(der)] == der and not blob[len(der):].strip(b"\0") for der, (_, blob) in zip(ours, blobs, strict=True))
