"""What running a parse in a parse child (docsvc/sandbox.py) costs against
running it in the process itself.

    PYTHONPATH=. .venv/bin/python bench/parse_overhead.py [--runs 200]

For a one-page born-digital PDF (tests/pdfs.py) and for a signed one (the
development PKI, B-T), it times, interleaved and `--runs` times each:

- `inspect_pdf` (pikepdf opens it, counts pages) directly and in a child;
- page-one text (pypdfium2) directly and in a child (`iterate`, one item);
- verification (`signing.verify_pdf` with the installation's trust) directly
  and through `docsvc.signatures.verification.verify` (precheck + child);
- starting a replacement child (after a kill): a fork of the forkserver.

It prints milliseconds per call (median) and the difference.
"""
from __future__ import annotations

import argparse
import io
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    runs = parser.parse_args().runs
    logging.disable(logging.WARNING)  # pyHanko logs each unchecked revocation with its traceback

    from docsvc import pdf, sandbox
    from docsvc.config import load_settings
    from docsvc.signatures import verification as signatures
    from signing import Pkcs12Key, sign_pdf, verify_pdf
    from tests.pdfs import make_pdf, sample_paragraphs

    work = Path(tempfile.mkdtemp(prefix="parse-bench-"))
    plain = make_pdf(work / "plain.pdf", "Quyết định", sample_paragraphs("binh-duong-cchc-2020.txt")[:3])
    settings = load_settings({"DOCSVC_DATA_DIR": str(work / "var")})
    pki = signatures.create_dev_pki(settings)
    signed = io.BytesIO()
    with signatures.dev_services(settings):
        key = Pkcs12Key(pki.p12_path("official"), pki.passphrase)
        sign_pdf(io.BytesIO(plain.read_bytes()), signed, key, level="B-T", trust=signatures.trust_config(settings))
        data = signed.getvalue()
        budget = sandbox.ParseBudget.of(settings)
        trust = signatures.trust_config(settings)
        pdf.inspect_pdf(plain, budget)  # the forkserver and the first children start here
        cases = {
            "inspect_pdf": (lambda: pdf._inspect_pdf_here(plain), lambda: pdf.inspect_pdf(plain, budget)),
            "page-one text": (lambda: next(pdf._page_texts_here(plain)),
                              lambda: next(pdf.iter_page_texts(plain, budget=budget))),
            "verify (B-T)": (lambda: verify_pdf(io.BytesIO(data), trust),
                             lambda: signatures.verify(settings, io.BytesIO(data))),
        }
        print(f"{'':16} {'direct':>9} {'child':>9} {'overhead':>9}  (median ms of {runs})")
        for name, (direct, boxed) in cases.items():
            d, b = _median_ms(direct, runs), _median_ms(boxed, runs)
            print(f"{name:16} {d:9.2f} {b:9.2f} {b - d:9.2f}")
        pool = sandbox._pool(budget)

        def fresh_child():
            child = pool._take()
            child.call(len, ((),), budget)
            child.kill()

        fresh_ms = _median_ms(fresh_child, max(10, runs // 10))
        print(f"{'new child':16} {'':9} {fresh_ms:9.2f}  (fork of the forkserver + first job)")


if __name__ == "__main__":
    main()
