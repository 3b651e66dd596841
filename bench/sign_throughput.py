#!/usr/bin/env python3
"""Batch signing and verification throughput: docsvc against naive pyHanko use.

    .venv/bin/python bench/sign_throughput.py [--docs 200,50] [--repeat 3] [--min-seconds 3]
                                      [--variants naive,docsvc,proto_asn1fix,proto_template]
                                      [--levels B-B,B-T,B-LTA] [--service-latency-ms 50]
                                      [--concurrency 8] [--no-profile] [--profile-docs 20]

Everything runs in this one process and one thread, so every rate is per core.
Each repetition signs the same documents, in memory (no file I/O), with:

  rsa             raw RSA-2048 PKCS#1 v1.5 + SHA-256 signatures with
                  `cryptography`: the crypto ceiling (signs/s)
  naive           pyHanko as its documentation shows it: for every document
                  SimpleSigner.load_pkcs12(...), IncrementalPdfFileWriter,
                  signers.sign_pdf(..., PdfSignatureMetadata(field_name=...,
                  md_algorithm='sha256', subfilter=PADES)): PAdES B-B, with
                  asn1crypto as released (signing's encoder fix switched off
                  while naive runs)
  docsvc          the production code: signing.sign_pdf(..., level="B-B")
                  with one Pkcs12Key (signature size remembered per key,
                  asn1crypto's encoder fixed by signing._asn1_dump)
  proto_asn1fix   PROTOTYPE: docsvc, plus the more aggressive asn1crypto fix
                  (clear the stuck `_mutated` flag) for the duration of the
                  run (see asn1crypto_dump_fix below)
  proto_template  PROTOTYPE: docsvc's sign_pdf unchanged, with a key whose
                  pyHanko Signer fills a DER template of the CMS built once
                  (see TemplateKey below)

then, for each level of --levels other than B-B, three ways of signing at
that level (trust from the dev PKI; TSA, OCSP and CRL served on 127.0.0.1
by `python -m signing.devservices` in a process of its own, every answer
--service-latency-ms late, so their CPU is not the signer's):

  before_<L>      the code path before signing.batch: sign_pdf per document,
                  nothing shared, pyHanko's HTTPTimeStamper (a TLS context
                  per request), signing._parse_fast and _verify_memo off
  docsvc_<L>      sign_pdf per document with one SigningBatch
  batch_<L>       sign_pdfs over all the documents: one SigningBatch, up to
                  --concurrency documents waiting on the TSA together

then verifies docsvc's B-B documents with signing.verify_pdf, offline (the
dev root trusted, nothing fetched), online (the dev OCSP/CRL), and offline
with asn1crypto as released; and the B-LTA documents offline, with and
without signing._parse_fast and signing._verify_memo (the e-copy case). Every signed output of the last repetition is checked
(untimed) with verify_pdf. Prototypes live only in this file. A cProfile of
docsvc (and naive) shows where the time goes.

Benchmarks report; they assert nothing about time. The JSON goes to
bench/results/signing-<timestamp>.json, the generated PDFs are cached in
bench/results/signing-docs/.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import dataclasses
import gc
import io
import json
import logging
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The repository root first, for tests.pdfs (the test documents).
sys.path.insert(0, str(ROOT))

from asn1crypto import cms  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding  # noqa: E402
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter  # noqa: E402
from pyhanko.sign import signers  # noqa: E402
from pyhanko.sign.fields import SigSeedSubFilter  # noqa: E402
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes  # noqa: E402
from pyhanko.sign.timestamps import HTTPTimeStamper  # noqa: E402
from pyhanko_certvalidator.registry import SimpleCertificateStore  # noqa: E402

from signing import (  # noqa: E402
    Pkcs12Key,
    SigningBatch,
    SignJob,
    _asn1_dump,
    _parse_fast,
    _verify_memo,
    sign_pdf,
    sign_pdfs,
    verify_pdf,
)
from signing.pki import init_pki, load_identity, to_asn1_cert, to_asn1_key  # noqa: E402
from signing.trust import TrustConfig  # noqa: E402
from tests.pdfs import make_pdf, sample_paragraphs  # noqa: E402

RESULTS = ROOT / "bench" / "results"
DOCS_CACHE = RESULTS / "signing-docs"
VARIANTS = ("naive", "docsvc", "proto_asn1fix", "proto_template")
LEVEL_WAYS = ("before", "docsvc", "batch")  # how each level above B-B is signed (see the docstring)
LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")
SIZES = (1, 50)  # pages
RSA_SIGNS = 2000
SIGNER = "official"  # the dev PKI's Nguyễn Văn An, RSA-2048


# --- the documents -------------------------------------------------------------


def documents(pages: int, count: int) -> list[bytes]:
    """`count` different born-digital PDFs of `pages` pages (distinct decision
    numbers), made with tests.pdfs.make_pdf and cached."""
    DOCS_CACHE.mkdir(parents=True, exist_ok=True)
    if pages == 1:
        sample, title = "binh-duong-cchc-2020.txt", "QUYẾT ĐỊNH Số: {n}/QĐ-UBND"
        paragraphs = sample_paragraphs(sample)[:3]
    else:
        sample, title = "quang-trach-cchc-7-thang-2021.txt", "BÁO CÁO Số: {n}/BC-UBND kết quả CCHC 7 tháng"
        paragraphs = sample_paragraphs(sample)
    out = []
    for n in range(1, count + 1):
        path = DOCS_CACHE / f"p{pages}-{n:04d}.pdf"
        if not path.exists():
            tmp = path.with_suffix(".part")
            make_pdf(tmp, title.format(n=n), paragraphs, pages=pages)
            os.replace(tmp, path)
        out.append(path.read_bytes())
    return out


# --- the baseline: pyHanko as its documentation shows it -----------------------


def naive_sign(pdf: bytes, p12: str, passphrase: bytes) -> bytes:
    """pyHanko's library guide ("Signing functionality", "Creating PAdES
    signatures"): load the signer from the PKCS#12 file, open an incremental
    writer, sign_pdf. PAdES B-B: PAdES subfilter and SHA-256, no timestamper,
    no validation context. The input is in memory here, as for docsvc."""
    signer = signers.SimpleSigner.load_pkcs12(pfx_file=p12, passphrase=passphrase)
    w = IncrementalPdfFileWriter(io.BytesIO(pdf))
    out = io.BytesIO()
    signers.sign_pdf(
        w,
        signers.PdfSignatureMetadata(field_name="Signature", md_algorithm="sha256",
                                     subfilter=SigSeedSubFilter.PADES),
        signer=signer,
        output=out,
    )
    return out.getvalue()


def docsvc_sign(pdf: bytes, key, level="B-B", trust=None) -> bytes:
    out = io.BytesIO()
    sign_pdf(io.BytesIO(pdf), out, key, level=level, trust=trust)
    return out.getvalue()


def docsvc_sign_batch(pdf: bytes, key, level: str, batch: SigningBatch) -> bytes:
    out = io.BytesIO()
    sign_pdf(io.BytesIO(pdf), out, key, level=level, trust=batch.trust, batch=batch)
    return out.getvalue()


def docsvc_sign_all_batch(pdfs: list[bytes], key, level: str, batch: SigningBatch, concurrency: int) -> list[bytes]:
    results = sign_pdfs([SignJob(pdf) for pdf in pdfs], key, level=level, batch=batch, concurrency=concurrency)
    for r in results:
        if isinstance(r, Exception):
            raise r
    return [r.data for r in results]


class BeforeTrust(TrustConfig):
    """The TrustConfig of the code before signing.batch: a new pyHanko
    HTTPTimeStamper for every signature (a dummy time-stamp and a TLS
    context each time)."""

    def get_timestamper(self):
        return HTTPTimeStamper(self.tsa_url, timeout=int(self.http_timeout)) if self.tsa_url else None


@contextlib.contextmanager
def before_fast_paths():
    """signing._parse_fast and signing._verify_memo switched off, as before they existed."""
    _parse_fast.uninstall()
    _verify_memo.uninstall()
    try:
        yield
    finally:
        _parse_fast.install()
        _verify_memo.install()


@contextlib.contextmanager
def dev_services_process(pki_dir: Path, latency_ms: float):
    """The dev TSA/OCSP/CRL in a process of their own (CPU counted apart)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen([sys.executable, "-m", "signing.devservices", str(pki_dir), "--latency-ms", str(latency_ms)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        if not line.startswith("serving"):
            raise RuntimeError(f"the dev services did not start: {line!r}")
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def stock_asn1crypto():
    """asn1crypto as released, for the naive baseline: importing `signing`
    installed signing._asn1_dump's encoder fix for the whole process."""
    _asn1_dump.uninstall()
    try:
        yield
    finally:
        _asn1_dump.install()


# --- prototype 1: asn1crypto without its re-encoding blow-up -------------------


@contextlib.contextmanager
def asn1crypto_dump_fix():
    """PROTOTYPE, only for the duration of the `with`; on top of
    signing._asn1_dump (production), which makes dump() read `.contents`
    once but leaves asn1crypto's caching as it is.

    asn1crypto marks a Sequence/SequenceOf it builds (or changes) as
    `_mutated`, and never clears the flag. `.contents` re-encodes a mutated
    value from its children every time it is read, and `dump()` reads it
    up to three times (value, header, explicit tag), each of which dumps
    every child, which re-encodes itself again, and so on down the tree. A
    CMS built by pyHanko (~4 KB) is thus encoded thousands of times over:
    about 60-70 ms per CMS here, twice per signature (size estimate, then
    the real one). Upstream: wbond/asn1crypto#256 ("Calling dump on a
    SignedData object took 30 seconds"), open.

    The fix: once the children have been encoded, the value is no longer
    mutated. A later change to a child still sets that child's flag, which
    `_is_mutated()` finds recursively. Caveat for an upstream fix: the
    recursion only looks into Sequence/SequenceOf children, so a change made
    *after* a dump under a Choice/Any child would now go unnoticed where the
    stuck flag used to re-encode it anyway. The bench checks that the CMS is
    byte-identical with and without the patch and verifies every output."""
    from asn1crypto import core

    classes = (core.Sequence, core.SequenceOf, core.Set, core.SetOf)
    originals = {cls: cls.__dict__["_set_contents"] for cls in classes}

    def fixed(original):
        def _set_contents(self, force=False):
            original(self, force)
            self._mutated = False
        return _set_contents

    for cls, original in originals.items():
        cls._set_contents = fixed(original)
    try:
        yield
    finally:
        for cls, original in originals.items():
            cls._set_contents = original


# --- prototype 2: the CMS as a template -----------------------------------------


def _unique(haystack: bytes, needle: bytes) -> int:
    at = haystack.find(needle)
    if at < 0 or haystack.find(needle, at + 1) >= 0:
        raise RuntimeError("template field not found exactly once")
    return at


class TemplateCmsSigner(signers.SimpleSigner):
    """PROTOTYPE. For PAdES B-B the CMS differs from one document to the next
    only in the messageDigest attribute (PAdES puts no signingTime in the CMS:
    the time is the signature dictionary's /M) and in the RSA signature. Both
    have a fixed length, so pyHanko builds the CMS once and every document
    gets a copy with 32 + 256 bytes replaced: SHA-256 of the signed
    attributes, one RSA signature, two slices. Anything else (other digest,
    time-stamp, revocation attributes, CAdES attributes) goes to pyHanko.

    At construction the template's output is compared byte for byte with
    pyHanko's own CMS for a fresh digest (PKCS#1 v1.5 is deterministic)."""

    def __init__(self, identity) -> None:
        chain = SimpleCertificateStore()
        chain.register_multiple([to_asn1_cert(c) for c in identity.chain])
        super().__init__(signing_cert=to_asn1_cert(identity.certificate),
                         signing_key=to_asn1_key(identity.key), cert_registry=chain)
        self._pyca_key = identity.key
        placeholder = os.urandom(32)
        made = asyncio.run(super().async_sign(
            placeholder, "sha256", use_pades=True,
            signed_attr_settings=PdfCMSSignedAttributes(signing_time=datetime.now(UTC))))
        self._cms = made.dump()
        info = made["content"]["signer_infos"][0]
        # What is signed is the SET OF attributes; the SignerInfo stores the
        # same bytes under [0] IMPLICIT.
        self._attrs = b"\x31" + info["signed_attrs"].dump()[1:]
        signature = info["signature"].native
        self._signature_len = len(signature)
        self._digest_at = _unique(self._attrs, placeholder)
        self._attrs_at = _unique(self._cms, b"\xa0" + self._attrs[1:])
        self._signature_at = _unique(self._cms, signature)
        if self._attrs_at + len(self._attrs) > self._signature_at:
            raise RuntimeError("unexpected SignerInfo layout")
        self._check_against_pyhanko()

    def _fill(self, digest: bytes) -> bytes:
        attrs = self._attrs[:self._digest_at] + digest + self._attrs[self._digest_at + 32:]
        signature = self._pyca_key.sign(attrs, padding.PKCS1v15(), hashes.SHA256())
        if len(signature) != self._signature_len:
            raise RuntimeError("signature length changed")
        a, s = self._attrs_at, self._signature_at
        return b"".join((self._cms[:a], b"\xa0", attrs[1:], self._cms[a + len(attrs):s],
                         signature, self._cms[s + len(signature):]))

    def _check_against_pyhanko(self) -> None:
        digest = os.urandom(32)
        theirs = asyncio.run(super().async_sign(
            digest, "sha256", use_pades=True,
            signed_attr_settings=PdfCMSSignedAttributes(signing_time=datetime(2030, 1, 1, tzinfo=UTC))))
        if theirs.dump() != self._fill(digest):
            raise RuntimeError("the CMS template does not reproduce pyHanko's CMS")

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:  # only for the fallback
        return self._pyca_key.sign(data, padding.PKCS1v15(), hashes.SHA256()) if digest_algorithm == "sha256" \
            else super().sign_raw(data, digest_algorithm)

    async def async_sign(self, data_digest, digest_algorithm, dry_run=False, use_pades=False, timestamper=None,
                         signed_attr_settings=None, is_pdf_sig=True, encap_content_info=None):
        settings = signed_attr_settings
        if (digest_algorithm.lower() != "sha256" or not use_pades or timestamper is not None or not is_pdf_sig
                or encap_content_info is not None or len(data_digest) != 32
                or (settings is not None and (settings.adobe_revinfo_attr is not None
                                              or settings.cades_signed_attrs is not None))):
            return await super().async_sign(data_digest, digest_algorithm, dry_run=dry_run, use_pades=use_pades,
                                            timestamper=timestamper, signed_attr_settings=signed_attr_settings,
                                            is_pdf_sig=is_pdf_sig, encap_content_info=encap_content_info)
        # A loaded (not built) ContentInfo: pyHanko's dump() returns these bytes as they are.
        return cms.ContentInfo.load(self._cms if dry_run else self._fill(data_digest))


class TemplateKey:
    """PROTOTYPE KeySource (signing.keys.KeySource) around TemplateCmsSigner."""

    def __init__(self, path: str | Path, passphrase: str) -> None:
        self._signer = TemplateCmsSigner(load_identity(path, passphrase))

    @property
    def certificate(self):
        return self._signer.signing_cert

    def signer(self):
        return self._signer

    def close(self) -> None:
        pass


# --- timing ---------------------------------------------------------------------


def timed(fn: Callable[[bytes], object], docs: list[bytes], context=contextlib.nullcontext,
          min_seconds: float = 0.0, *, run_all: Callable[[list[bytes]], list] | None = None,
          services_pid: int | None = None) -> tuple[dict, list]:
    """All documents once; then, for the fast variants, whole passes again
    until `min_seconds` have gone by, so a run is long enough to measure.
    `run_all` does a whole pass at once (the batch variants); the dev
    services' CPU during the run is recorded beside this process's."""
    run_all = run_all or (lambda pdfs: [fn(pdf) for pdf in pdfs])
    gc.collect()
    passes = 0
    with context():
        services_cpu = process_cpu_seconds(services_pid) if services_pid else 0.0
        wall, cpu = time.perf_counter(), time.process_time()
        outputs = run_all(docs)
        passes += 1
        while time.perf_counter() - wall < min_seconds:
            run_all(docs)
            passes += 1
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        services_cpu = (process_cpu_seconds(services_pid) - services_cpu) if services_pid else 0.0
    n = passes * len(docs)
    return {"docs": len(docs), "passes": passes, "signed": n, "seconds": wall, "cpu_seconds": cpu,
            "docs_per_s": n / wall, "docs_per_cpu_s": n / cpu,
            "services_cpu_ms_per_doc": 1000 * services_cpu / n}, outputs


def rsa_ceiling(key) -> dict:
    """RSA-2048 PKCS#1 v1.5 with SHA-256 over a message the size of the
    signed attributes (~300 bytes): what a signature costs at the least."""
    message = os.urandom(300)
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(RSA_SIGNS):
        key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"docs": RSA_SIGNS, "passes": 1, "signed": RSA_SIGNS, "seconds": wall, "cpu_seconds": cpu,
            "docs_per_s": RSA_SIGNS / wall, "docs_per_cpu_s": RSA_SIGNS / cpu}


def summarize(runs: list[dict]) -> dict:
    rates = [r["docs_per_s"] for r in runs]
    return {
        "docs": runs[0]["docs"],
        "signed_per_run": statistics.median(r["signed"] for r in runs),
        "docs_per_s": statistics.median(rates),
        "docs_per_s_min": min(rates),
        "docs_per_s_max": max(rates),
        "docs_per_cpu_s": statistics.median(r["docs_per_cpu_s"] for r in runs),
        "services_cpu_ms_per_doc": statistics.median(r.get("services_cpu_ms_per_doc", 0.0) for r in runs),
        "ms_per_doc": 1000 / statistics.median(rates),
        "seconds": statistics.median(r["seconds"] for r in runs),
    }


# --- profile --------------------------------------------------------------------

DOCSVC_PHASES = [
    ("CMS built for the size estimate (dry run)", [("pyhanko/sign/signers/pdf_signer.py", "estimate_signature_container_size")]),
    ("CMS built for the signature, incl. RSA", [("pyhanko/sign/signers/pdf_signer.py", "perform_signature")]),
    ("  of which RSA sign_raw", [("signing/keys.py", "sign_raw"), ("pyhanko/sign/signers/pdf_cms.py", "sign_raw")]),
    ("PDF: parse xref/trailer (IncrementalPdfFileWriter)", [("pyhanko/pdf_utils/incremental_writer.py", "__init__")]),
    ("PDF: new field, sig dict, write update, SHA-256 of ranges",
     [("pyhanko/sign/signers/pdf_signer.py", "prepare_tbs_document"),
      ("pyhanko/sign/signers/pdf_signer.py", "digest_tbs_document")]),
    ("signing session, pre-sign checks", [("pyhanko/sign/signers/pdf_signer.py", "init_signing_session"),
                                          ("pyhanko/sign/signers/pdf_signer.py", "perform_presign_validation")]),
    ("loading the PKCS#12 file (naive only)", [("pyhanko/sign/signers/pdf_cms.py", "load_pkcs12")]),
]
LEVEL_PHASES = [
    ("pre-sign validation (signer + TSA chain, OCSP, CRL)",
     [("pyhanko/sign/signers/pdf_signer.py", "perform_presign_validation")]),
    ("  of which TLS contexts for the TSA (certifi bundle)",
     [("<method 'load_verify_locations' of '_ssl._SSLContext' objects>", "")]),
    ("time-stamp requests (incl. dummy ones), client side", [("pyhanko/sign/timestamps/api.py", "async_timestamp")]),
    ("CMS built for the signature, incl. RSA and the TST", [("pyhanko/sign/signers/pdf_signer.py", "perform_signature")]),
    ("PDF: new field, sig dict, write update, SHA-256 of ranges",
     [("pyhanko/sign/signers/pdf_signer.py", "prepare_tbs_document"),
      ("pyhanko/sign/signers/pdf_signer.py", "digest_tbs_document")]),
    ("B-LTA: DSS and document time-stamp", [("pyhanko/sign/signers/pdf_signer.py", "post_signature_processing")]),
]
VERIFY_PHASES = [
    ("read the PDF (PdfFileReader)", [("pyhanko/pdf_utils/reader.py", "__init__")]),
    ("read the signature dictionary incl. the /Contents hex string",
     [("pyhanko/pdf_utils/reader.py", "embedded_signatures")]),
    ("X.509 Name comparisons (LDAP stringprep)", [("asn1crypto/x509.py", "_ldap_string_prep")]),
    ("validate_pdf_signature calls (all passes)", [("pyhanko/sign/validation/pdf_embedded.py",
                                                    "async_validate_pdf_signature")]),
    ("  digest of the signed ranges", [("pyhanko/sign/validation/pdf_embedded.py", "compute_digest")]),
    ("  certificate path + revocation (certvalidator)", [("pyhanko_certvalidator/validate.py",
                                                          "async_validate_path")]),
    ("CMS signature check (RSA verify)", [("pyhanko/sign/validation/utils.py", "validate_raw")]),
]


def _cumtime(stats: pstats.Stats, wanted: list[tuple[str, str]]) -> float:
    total = 0.0
    for (filename, _line, name), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():
        # a built-in has filename "~" and its description as the name
        if any((filename.endswith(suffix) and name == fn) or (filename == "~" and name == suffix)
               for suffix, fn in wanted):
            total += ct
    return total


def _by_library(stats: pstats.Stats) -> dict[str, float]:
    groups: Counter = Counter()
    for (filename, _line, name), (_cc, _nc, tt, _ct, _callers) in stats.stats.items():
        if "asn1crypto" in filename:
            group = "asn1crypto"
        elif "pyhanko_certvalidator" in filename:
            group = "pyhanko_certvalidator"
        elif "pyhanko/pdf_utils" in filename:
            group = "pyhanko.pdf_utils"
        elif "pyhanko/sign/diff_analysis" in filename:
            group = "pyhanko diff analysis"
        elif "pyhanko" in filename:
            group = "pyhanko.sign"
        elif "cryptography" in filename or name in ("sign", "load_key_and_certificates", "load_der_private_key"):
            group = "cryptography (OpenSSL, Rust)"
        elif "asyncio" in filename:
            group = "asyncio"
        else:
            group = "other"
        groups[group] += tt
    return dict(groups.most_common())


def profile(fn: Callable[[bytes], object], docs: list[bytes], context=contextlib.nullcontext, top: int = 10,
            phases=DOCSVC_PHASES) -> dict:
    fn(docs[0])  # imports and first-use caches out of the way
    profiler = cProfile.Profile()
    with context():
        profiler.enable()
        for doc in docs:
            fn(doc)
        profiler.disable()
    stats = pstats.Stats(profiler)
    n = len(docs)
    total = stats.total_tt
    rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    top_rows = [{
        "function": f"{_short(filename)}:{line}({name})",
        "calls_per_doc": nc / n,
        "tottime_ms_per_doc": tt / n * 1000,
        "cumtime_ms_per_doc": ct / n * 1000,
        "tottime_share": tt / total,
    } for (filename, line, name), (_cc, nc, tt, ct, _callers) in rows]
    phases = {label: _cumtime(stats, wanted) / n * 1000 for label, wanted in phases}
    return {
        "docs": n,
        "ms_per_doc_profiled": total / n * 1000,
        "function_calls_per_doc": sum(v[1] for v in stats.stats.values()) / n,
        "top_tottime": top_rows,
        "phases_ms_per_doc": {k: v for k, v in phases.items() if v > 0},
        "tottime_by_library_ms_per_doc": {k: v / n * 1000 for k, v in _by_library(stats).items()},
    }


def _short(filename: str) -> str:
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


# --- checks ---------------------------------------------------------------------


def check_outputs(outputs: list[bytes], trust) -> dict:
    """verify_pdf on every output (untimed): what a verifier makes of it."""
    seen: Counter = Counter()
    for signed in outputs:
        report = verify_pdf(io.BytesIO(signed), trust)
        sig = report.signatures[0] if report.signatures else None
        seen[(report.verdict, len(report.signatures), sig.intact if sig else None,
              sig.level if sig else None, sig.signer if sig else None,
              sig.revocation.status if sig else None)] += 1
    return {" / ".join(str(x) for x in k): v for k, v in seen.items()}


# --- main -----------------------------------------------------------------------


def machine() -> dict:
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    git = lambda *a: subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True).stdout.strip()  # noqa: E731
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "packages": {p: _version(p) for p in ("pyHanko", "pyhanko-certvalidator", "asn1crypto", "cryptography",
                                              "pikepdf")},
        "git_commit": git("rev-parse", "HEAD"),
        "signing_uncommitted": git("status", "--porcelain", "signing/").splitlines(),
        "loadavg_start": os.getloadavg(),
    }


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def parse_docs(text: str) -> dict[int, int]:
    parts = [int(p) for p in text.split(",")]
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2 or min(parts) < 1:
        raise argparse.ArgumentTypeError("--docs N or N1,N50 (documents of 1 and 50 pages)")
    return dict(zip(SIZES, parts, strict=True))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=parse_docs, default=parse_docs("200,50"),
                    help="documents per size: N for both, or N1,N50 (default 200,50)")
    ap.add_argument("--repeat", type=int, default=3, help="repetitions; the median is reported (default 3)")
    ap.add_argument("--variants", default=",".join(VARIANTS),
                    help=f"signing variants to run (default {','.join(VARIANTS)})")
    ap.add_argument("--min-seconds", type=float, default=3.0,
                    help="a run repeats its documents until this many seconds have passed (default 3)")
    ap.add_argument("--levels", default="B-B,B-T,B-LTA",
                    help="PAdES levels for docsvc; above B-B docsvc alone, with the dev TSA/OCSP/CRL on "
                         "127.0.0.1 (default B-B,B-T,B-LTA)")
    ap.add_argument("--service-latency-ms", type=float, default=50.0,
                    help="the dev TSA/OCSP/CRL answer this late, as across a network (default 50)")
    ap.add_argument("--concurrency", type=int, default=8,
                    help="documents in flight together in the batch_<level> variants (default 8)")
    ap.add_argument("--no-profile", action="store_true", help="skip the cProfile part")
    ap.add_argument("--profile-docs", type=int, default=20, help="documents per size in the profile (default 20)")
    args = ap.parse_args()
    variants = [v for v in args.variants.split(",") if v]
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        ap.error(f"unknown variants: {', '.join(sorted(unknown))}")
    levels = [v for v in args.levels.split(",") if v]
    if set(levels) - set(LEVELS):
        ap.error(f"unknown levels: {', '.join(sorted(set(levels) - set(LEVELS)))}")
    # above B-B: rows "before_B-T", "docsvc_B-T", "batch_B-T" etc., timed like the variants
    level_variants = [f"{way}_{level}" for level in levels if level != "B-B" for way in LEVEL_WAYS]
    all_variants = variants + level_variants

    # pyHanko logs every offline B-B verification's missing revocation info
    # as a WARNING with a traceback; the bench keeps its output readable.
    for name in ("pyhanko", "pyhanko_certvalidator", "signing"):
        logging.getLogger(name).setLevel(logging.CRITICAL)

    started = datetime.now(UTC)
    info = machine()
    print(f"{info['cpu']}, {info['cores']} cores, Python {info['python']}, "
          + ", ".join(f"{k} {v}" for k, v in info["packages"].items()), flush=True)
    if info["signing_uncommitted"]:
        print(f"note: signing/ has uncommitted changes: {', '.join(info['signing_uncommitted'])}")

    workdir = Path(tempfile.mkdtemp(prefix="docsvc-bench-signing-"))
    services = contextlib.ExitStack()
    try:
        pki = init_pki(workdir / "pki")  # fresh RSA-2048 dev PKI, PKCS#12 with PBES2/AES-256, 2048 KDF rounds
        # TSA, OCSP, CRL on 127.0.0.1, in a process of their own: B-T and up
        # sign against them, online verification fetches from them.
        services_pid = services.enter_context(dev_services_process(workdir / "pki", args.service_latency_ms)).pid
        trust = pki.trust_config()
        before_trust = BeforeTrust(**{f.name: getattr(trust, f.name) for f in dataclasses.fields(trust)})
        p12, passphrase = str(pki.p12_path(SIGNER)), pki.passphrase
        identity = load_identity(p12, passphrase)
        key = Pkcs12Key(p12, passphrase)
        template_key = TemplateKey(p12, passphrase) if "proto_template" in variants else None
        if "proto_asn1fix" in variants:
            probe = os.urandom(32)
            when = PdfCMSSignedAttributes(signing_time=datetime(2030, 1, 1, tzinfo=UTC))
            stock = asyncio.run(key.signer().async_sign(probe, "sha256", use_pades=True, signed_attr_settings=when))
            with asn1crypto_dump_fix():
                patched = asyncio.run(key.signer().async_sign(probe, "sha256", use_pades=True,
                                                              signed_attr_settings=when))
                patched_der = patched.dump()
            if stock.dump() != patched_der:
                raise RuntimeError("asn1crypto_dump_fix changes the CMS")
        if {"proto_asn1fix", "proto_template"} & set(variants):
            print("The prototypes' CMS is byte for byte pyHanko's own.", flush=True)

        runs_all: dict[str, Callable[[list[bytes]], list[bytes]]] = {}
        fns: dict[str, tuple[Callable[[bytes], bytes], Callable]] = {
            "naive": (lambda pdf: naive_sign(pdf, p12, passphrase.encode()), stock_asn1crypto),
            "docsvc": (lambda pdf: docsvc_sign(pdf, key), contextlib.nullcontext),
            "proto_asn1fix": (lambda pdf: docsvc_sign(pdf, key), asn1crypto_dump_fix),
            "proto_template": (lambda pdf: docsvc_sign(pdf, template_key), contextlib.nullcontext),
        }
        for name in level_variants:
            way, level = name.split("_", 1)
            if way == "before":
                fns[name] = (lambda pdf, level=level: docsvc_sign(pdf, key, level, before_trust),  # bound per variant
                             before_fast_paths)
            else:
                # One batch per variant, for the whole run: what a văn thư's
                # session of signing would keep (bounded by its max_age).
                shared = SigningBatch(trust)
                fns[name] = (lambda pdf, level=level, shared=shared: docsvc_sign_batch(pdf, key, level, shared),
                             contextlib.nullcontext)
                if way == "batch":
                    runs_all[name] = (lambda pdfs, level=level, shared=shared:
                                      docsvc_sign_all_batch(pdfs, key, level, shared, args.concurrency))
        docs = {pages: documents(pages, args.docs[pages]) for pages in SIZES}
        for pages in SIZES:
            sizes = [len(d) for d in docs[pages]]
            print(f"{len(sizes)} documents of {pages} page(s), {statistics.median(sizes) / 1024:.0f} KiB each", flush=True)
        for variant in all_variants:  # warm-up: imports, first-use caches
            fn, context = fns[variant]
            with context():
                fn(docs[1][0])

        runs: dict[str, list[dict]] = {}
        last_outputs: dict[tuple[str, int], list[bytes]] = {}
        for rep in range(1, args.repeat + 1):
            r = rsa_ceiling(identity.key)
            runs.setdefault("rsa", []).append(r)
            print(f"[{rep}/{args.repeat}] rsa: {r['docs_per_s']:.0f} signs/s", flush=True)
            for pages in SIZES:
                for variant in all_variants:
                    fn, context = fns[variant]
                    result, outputs = timed(fn, docs[pages], context, args.min_seconds,
                                            run_all=runs_all.get(variant), services_pid=services_pid)
                    runs.setdefault(f"{variant}/{pages}", []).append(result)
                    last_outputs[(variant, pages)] = outputs
                    print(f"[{rep}/{args.repeat}] {variant:15s} {pages:2d} p: {result['docs_per_s']:7.1f} docs/s "
                          f"({result['signed']} in {result['seconds']:.2f} s, "
                          f"{result['docs_per_cpu_s']:.1f} docs/CPU-s, services "
                          f"{result['services_cpu_ms_per_doc']:.1f} ms CPU/doc)", flush=True)

        # verification of docsvc's outputs (or of whatever signed last)
        source = "docsvc" if "docsvc" in variants else variants[-1]
        offline, online = pki.trust_config(allow_fetching=False), pki.trust_config(allow_fetching=True)
        checks: dict[str, dict] = {}
        verify_kinds = {
            "verify_offline": (offline, contextlib.nullcontext),
            "verify_online": (online, contextlib.nullcontext),
            "verify_offline_stock_asn1crypto": (offline, stock_asn1crypto),
        }
        lta_source = "batch_B-LTA" if "batch_B-LTA" in all_variants else None
        if lta_source:
            verify_kinds["verify_lta_offline"] = (offline, contextlib.nullcontext)
            verify_kinds["verify_lta_offline_before"] = (offline, before_fast_paths)

        def verified(kind: str, pages: int) -> list[bytes]:
            return last_outputs[(lta_source if kind.startswith("verify_lta") else source, pages)]

        for pages in SIZES:
            for kind, (verifier_trust, _) in verify_kinds.items():  # warm-up
                verify_pdf(io.BytesIO(verified(kind, pages)[0]), verifier_trust)
        for rep in range(1, args.repeat + 1):
            for pages in SIZES:
                for kind, (verifier_trust, context) in verify_kinds.items():
                    result, _ = timed(lambda signed: verify_pdf(io.BytesIO(signed), verifier_trust),  # noqa: B023 (timed now)
                                      verified(kind, pages), context, args.min_seconds)
                    runs.setdefault(f"{kind}/{pages}", []).append(result)
                    print(f"[{rep}/{args.repeat}] {kind:28s} {pages:2d} p: {result['docs_per_s']:6.1f} docs/s "
                          f"({result['docs_per_cpu_s']:.1f} docs/CPU-s)", flush=True)
        # correctness, untimed: every output of the last repetition
        for (variant, pages), outputs in last_outputs.items():
            checks[f"{variant}/{pages}"] = {"offline": check_outputs(outputs, offline),
                                            "online": check_outputs(outputs, online)}
        info["loadavg_end"] = os.getloadavg()

        profiles: dict[str, dict] = {}
        if not args.no_profile:
            for variant in ("docsvc", "naive", "proto_template"):
                if variant not in variants:
                    continue
                fn, context = fns[variant]
                for pages in SIZES:
                    sample = docs[pages][:max(2, min(args.profile_docs, len(docs[pages])))]
                    profiles[f"{variant}/{pages}"] = profile(fn, sample, context)
            for variant in ("before_B-T", "docsvc_B-T", "before_B-LTA", "docsvc_B-LTA"):
                if variant in all_variants:
                    fn, context = fns[variant]
                    sample = docs[1][:max(2, min(args.profile_docs, len(docs[1])))]
                    profiles[f"{variant}/1"] = profile(fn, sample, context, phases=LEVEL_PHASES)
            for pages in SIZES:
                sample = last_outputs[(source, pages)][:max(2, min(args.profile_docs, len(docs[pages])))]
                profiles[f"verify_offline/{pages}"] = profile(
                    lambda signed: verify_pdf(io.BytesIO(signed), offline), sample, phases=VERIFY_PHASES)
            if lta_source:
                sample = last_outputs[(lta_source, 1)][:max(2, min(args.profile_docs, len(docs[1])))]
                for kind, context in (("verify_lta_offline", contextlib.nullcontext),
                                      ("verify_lta_offline_before", before_fast_paths)):
                    profiles[f"{kind}/1"] = profile(lambda signed: verify_pdf(io.BytesIO(signed), offline),
                                                    sample, context, phases=VERIFY_PHASES)

        summary = {name: summarize(rs) for name, rs in runs.items()}
        report(summary, profiles, checks, all_variants, args, source)
        RESULTS.mkdir(parents=True, exist_ok=True)
        out = RESULTS / f"signing-{started:%Y%m%dT%H%M%SZ}.json"
        out.write_text(json.dumps({
            "command": " ".join([os.path.relpath(sys.executable, ROOT), *sys.argv]),
            "started": started.isoformat(),
            "machine": info,
            "settings": {"docs": args.docs, "repeat": args.repeat, "variants": all_variants, "levels": levels,
                         "signer": SIGNER, "rsa_signs": RSA_SIGNS, "verified": source,
                         "service_latency_ms": args.service_latency_ms, "concurrency": args.concurrency},
            "runs": runs,
            "summary": summary,
            "ratios": ratios(summary, all_variants),
            "checks": checks,
            "profiles": profiles,
        }, indent=2, ensure_ascii=False, default=str))
        print(f"\n{out.relative_to(ROOT)}")
    finally:
        services.close()
        shutil.rmtree(workdir, ignore_errors=True)


def ratios(summary: dict, variants: list[str]) -> dict:
    out = {}
    rsa = summary["rsa"]["docs_per_s"]
    for pages in SIZES:
        naive = summary.get(f"naive/{pages}")
        for variant in variants:
            s = summary[f"{variant}/{pages}"]
            entry = {"of_rsa_ceiling": s["docs_per_s"] / rsa}
            if naive:
                entry["vs_naive"] = s["docs_per_s"] / naive["docs_per_s"]
                entry["vs_naive_cpu"] = s["docs_per_cpu_s"] / naive["docs_per_cpu_s"]
            out[f"{variant}/{pages}"] = entry
    return out


def report(summary: dict, profiles: dict, checks: dict, variants: list[str], args, source: str) -> None:
    rsa = summary["rsa"]
    print(f"\nMedians of {args.repeat}, one process, one thread (per core). "
          f"RSA-2048 ceiling: {rsa['docs_per_s']:.0f} signs/s ({1000 / rsa['docs_per_s']:.2f} ms)\n")
    print("| variant | pages | docs (signed per run) | docs/s | (min – max) | ms/doc | docs/CPU-s | × naive "
          "| share of RSA ceiling |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    rat = ratios(summary, variants)
    for pages in SIZES:
        for variant in variants:
            s, r = summary[f"{variant}/{pages}"], rat[f"{variant}/{pages}"]
            vs = f"{r['vs_naive']:.1f}" if "vs_naive" in r else ""
            print(f"| {variant} | {pages} | {s['docs']} ({s['signed_per_run']:.0f}) | **{s['docs_per_s']:.1f}** | "
                  f"{s['docs_per_s_min']:.1f} – {s['docs_per_s_max']:.1f} | {s['ms_per_doc']:.1f} | "
                  f"{s['docs_per_cpu_s']:.1f} | {vs} | {r['of_rsa_ceiling']:.2%} |")
    print(f"\nVerification of the {source} outputs (signing.verify_pdf):\n")
    print("| verification | pages | docs (verified per run) | docs/s | (min – max) | ms/doc | docs/CPU-s |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    kinds = [k for k in ("verify_offline", "verify_online", "verify_offline_stock_asn1crypto", "verify_lta_offline",
                         "verify_lta_offline_before") if f"{k}/1" in summary]
    for pages in SIZES:
        for kind in kinds:
            s = summary[f"{kind}/{pages}"]
            print(f"| {kind} | {pages} | {s['docs']} ({s['signed_per_run']:.0f}) | **{s['docs_per_s']:.1f}** | "
                  f"{s['docs_per_s_min']:.1f} – {s['docs_per_s_max']:.1f} | {s['ms_per_doc']:.1f} | "
                  f"{s['docs_per_cpu_s']:.1f} |")
    print("\nAbove B-B, against the code path before signing.batch (before_<level>), same run "
          f"(TSA/OCSP/CRL {args.service_latency_ms:g} ms late, in their own process):\n")
    print("| level | pages | variant | docs/s | docs/CPU-s (this process) | × before (wall) | × before (CPU) "
          "| dev services' CPU ms/doc |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for pages in SIZES:
        for variant in variants:
            way, _, level = variant.partition("_")
            before = summary.get(f"before_{level}/{pages}")
            if way not in LEVEL_WAYS or before is None:
                continue
            s = summary[f"{variant}/{pages}"]
            print(f"| {level} | {pages} | {variant} | **{s['docs_per_s']:.1f}** | {s['docs_per_cpu_s']:.1f} | "
                  f"{s['docs_per_s'] / before['docs_per_s']:.1f} | {s['docs_per_cpu_s'] / before['docs_per_cpu_s']:.1f} | "
                  f"{s['services_cpu_ms_per_doc']:.1f} |")
    if "verify_lta_offline/1" in summary:
        for pages in SIZES:
            now, then = summary[f"verify_lta_offline/{pages}"], summary[f"verify_lta_offline_before/{pages}"]
            print(f"\nB-LTA offline verification, {pages} p: {now['docs_per_s']:.1f} docs/s against "
                  f"{then['docs_per_s']:.1f} before (× {now['docs_per_s'] / then['docs_per_s']:.2f} wall, "
                  f"× {now['docs_per_cpu_s'] / then['docs_per_cpu_s']:.2f} CPU)")
    print("\nChecks (verify_pdf on every output of the last repetition; "
          "verdict / signatures / intact / level / signer / revocation: count):")
    for name, c in checks.items():
        print(f"  {name}: offline {c['offline']}; online {c['online']}")
    for name, p in profiles.items():
        print(f"\ncProfile {name}: {p['docs']} documents, {p['ms_per_doc_profiled']:.1f} ms/doc under the profiler, "
              f"{p['function_calls_per_doc']:.0f} function calls per document")
        print("  phases (cumulative, ms/doc): " + "; ".join(f"{k} {v:.1f}" for k, v in p["phases_ms_per_doc"].items()))
        print("  own time by library (ms/doc): " + "; ".join(
            f"{k} {v:.1f}" for k, v in p["tottime_by_library_ms_per_doc"].items()))
        print("  top 10 by own time:")
        for row in p["top_tottime"]:
            print(f"    {row['tottime_ms_per_doc']:7.2f} ms {row['tottime_share']:6.1%}  "
                  f"{row['calls_per_doc']:8.0f} calls  cum {row['cumtime_ms_per_doc']:7.1f} ms  {row['function']}")


if __name__ == "__main__":
    main()
