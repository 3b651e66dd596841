#!/usr/bin/env python3
"""OCR quality (CER) and throughput: docsvc against OCRmyPDF run by hand.

    .venv/bin/python bench/ocr.py [--docs 3] [--pages 2] [--repeat 1]
                                  [--variants raw,docsvc,pipeline] [--jobs N]

The scans: --docs image-only PDFs of --pages pages each, made by tests/scans.py
from the Vietnamese samples (300 dpi, grey, 1-2 degree skew, grain and specks;
every third document upside down). Every variant OCRs the same files in the
same run, repetitions interleaved (raw, docsvc, pipeline, raw, ...):

  raw       the OCRmyPDF command line, as one would run it by hand:
            ocrmypdf -l vie+eng --output-type pdfa --skip-text --deskew
            --rotate-pages --jobs <cores> IN OUT
            (on a Ghostscript OCRmyPDF refuses --skip-text with, 10.0.0 to
            10.02.0, without --skip-text: these scans have no text to skip)
  docsvc    docsvc.documents.ocr.ocr_pdf(IN, OUT, jobs=<cores>)
  pipeline  a throwaway embedded installation (DOCSVC_DATA_DIR=<tmp>):
            docsvc db upgrade once, then per file `docsvc ingest FILE --wait
            --json` (timed) and `docsvc show ID --json`, whose "text" is the
            stored OCR text

Text of the raw and docsvc outputs is extracted the same way (pypdfium2, as
docsvc.pdf does). CER: Levenshtein distance at character level over the
ground truth's length, after Unicode NFC and whitespace collapsing, summed
over pages. Throughput: pages per minute of wall time, and the ratio to raw.
Benchmarks report; they assert nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from docsvc.documents.ocr import ghostscript_rewrites_text_badly, ghostscript_version, ocr_pdf
from docsvc.pdf import iter_page_texts  # noqa: E402
from tests.scans import SAMPLE_NAMES, levenshtein, make_scan, normalize  # noqa: E402

VARIANTS = ("raw", "docsvc", "pipeline")
RESULTS = ROOT / "bench" / "results"
BIN = Path(sys.executable).parent


def make_corpus(folder: Path, docs: int, pages: int) -> list:
    scans = []
    for index in range(docs):
        scans.append(
            make_scan(
                folder / f"scan-{index + 1}.pdf",
                "pdf",
                pages=pages,
                sample=SAMPLE_NAMES[index % len(SAMPLE_NAMES)],
                first_paragraph=index * 2,
                rotate=180 if index % 3 == 2 else 0,
                seed=100 + index,
            )
        )
    return scans


def raw_command(src: Path, dst: Path, jobs: int) -> list[str]:
    skip = [] if ghostscript_rewrites_text_badly() else ["--skip-text"]
    return [str(BIN / "ocrmypdf"), "-l", "vie+eng", "--output-type", "pdfa", *skip, "--deskew", "--rotate-pages",
            "--jobs", str(jobs), "-q", str(src), str(dst)]


def run_raw(scan, out: Path, jobs: int, _install) -> list[str]:
    subprocess.run(raw_command(scan.path, out, jobs), check=True)
    return list(iter_page_texts(out))


def run_docsvc(scan, out: Path, jobs: int, _install) -> list[str]:
    ocr_pdf(scan.path, out, jobs=jobs)
    return list(iter_page_texts(out))


class Installation:
    """A throwaway embedded docsvc: its own data folder, removed at the end."""

    def __init__(self, folder: Path) -> None:
        self.env = dict(os.environ, DOCSVC_DATA_DIR=str(folder))
        for name in [n for n in self.env if n.startswith("DOCSVC_") and n != "DOCSVC_DATA_DIR"]:
            del self.env[name]
        self.cli(["db", "upgrade"])

    def cli(self, args: list[str]) -> str:
        # This checkout's docsvc (as the other benches run it), not whichever one is installed.
        done = subprocess.run([sys.executable, "-m", "docsvc.cli", *args], env=self.env, cwd=ROOT,
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"docsvc {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
        return done.stdout


def run_pipeline(scan, out: Path, jobs: int, install: Installation) -> list[str]:
    # The stored original is content-addressed: a repeated file would be a
    # duplicate, so each repetition gets a copy with one byte more at the end
    # (after %%EOF: the same PDF to every reader).
    copy = out.with_suffix(".pdf")
    shutil.copyfile(scan.path, copy)
    with open(copy, "ab") as handle:
        handle.write(b"\n" + out.name.encode() + b"\n")
    document = json.loads(install.cli(["ingest", str(copy), "--wait", "--json"]).strip().splitlines()[-1])
    shown = json.loads(install.cli(["show", document["id"], "--json"]))
    if shown.get("status") != "ready":
        raise RuntimeError(f"the document ended {shown.get('status')}: {shown.get('status_message')}")
    return (shown.get("text") or "").split("\f")


RUNNERS = {"raw": run_raw, "docsvc": run_docsvc, "pipeline": run_pipeline}


def page_errors(truth_pages: list[str], got_pages: list[str]) -> tuple[int, int]:
    """(edits, truth characters), page by page (keeps Levenshtein's cost per page)."""
    edits = chars = 0
    got_pages = list(got_pages) + [""] * (len(truth_pages) - len(got_pages))
    for truth, got in zip(truth_pages, got_pages, strict=False):
        truth, got = normalize(truth), normalize(got)
        edits += levenshtein(truth, got)
        chars += len(truth)
    return edits, chars


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=3, help="scanned documents (default 3, one per sample)")
    parser.add_argument("--pages", type=int, default=2, help="pages per document (default 2)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="OCR jobs (default: cores)")
    args = parser.parse_args()
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants {sorted(unknown)}; choose from {VARIANTS}")

    RESULTS.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-ocr-"))
    try:
        scans = make_corpus(work, args.docs, args.pages)
        total_pages = sum(len(s.pages) for s in scans)
        install = None
        problems: dict[str, str] = {}
        if "pipeline" in variants:
            try:
                install = Installation(work / "data")
            except RuntimeError as exc:
                problems["pipeline"] = str(exc)
        runs: dict[str, list[dict]] = {v: [] for v in variants}
        print(f"{args.docs} documents x {args.pages} pages = {total_pages} pages, jobs={args.jobs}, "
              f"Ghostscript {'.'.join(map(str, ghostscript_version() or ()))}", flush=True)
        for repetition in range(args.repeat):
            for variant in variants:
                if variant in problems:
                    continue
                seconds, edits, chars = 0.0, 0, 0
                try:
                    for scan in scans:
                        out = work / f"{variant}-{repetition}-{scan.path.stem}.out.pdf"
                        started = time.perf_counter()
                        texts = RUNNERS[variant](scan, out, args.jobs, install)
                        seconds += time.perf_counter() - started
                        if repetition == 0:
                            e, c = page_errors(scan.pages, texts)
                            edits, chars = edits + e, chars + c
                except (RuntimeError, subprocess.CalledProcessError) as exc:
                    problems[variant] = str(exc)
                    print(f"  {variant}: FAILED: {str(exc).strip().splitlines()[-1][:300]}", flush=True)
                    continue
                run = {"seconds": seconds, "pages_per_minute": total_pages * 60 / seconds}
                if repetition == 0:
                    run.update(edits=edits, chars=chars, cer=edits / max(1, chars))
                runs[variant].append(run)
                print(f"  {variant:<9} rep {repetition + 1}: {seconds:7.1f} s  {run['pages_per_minute']:6.2f} pages/min"
                      + (f"  CER {run['cer']:.2%}" if "cer" in run else ""), flush=True)

        summary = {}
        for variant, items in runs.items():
            if not items:
                continue
            summary[variant] = {
                "pages_per_minute": statistics.median(r["pages_per_minute"] for r in items),
                "seconds": statistics.median(r["seconds"] for r in items),
                "cer": items[0].get("cer"),
            }
        if "pipeline" in summary and summary["pipeline"]["cer"] is not None and summary["pipeline"]["cer"] > 0.5:
            problems["pipeline"] = (
                f"the pipeline's stored text is not OCR text yet (CER {summary['pipeline']['cer']:.0%}): "
                "its throughput is not an OCR throughput"
            )
            summary["pipeline"]["not_ocr"] = True
        raw = summary.get("raw")
        print()
        print(f"{'variant':<10} {'pages/min':>10} {'vs raw':>8} {'CER':>8} {'vs raw (pp)':>12}")
        for variant, item in summary.items():
            ratio = item["pages_per_minute"] / raw["pages_per_minute"] if raw else None
            diff = (item["cer"] - raw["cer"]) * 100 if raw and item["cer"] is not None else None
            item["ratio_to_raw"], item["cer_diff_pp"] = ratio, diff
            print(f"{variant:<10} {item['pages_per_minute']:>10.2f} "
                  f"{(f'{ratio:.2f}x' if ratio else '-'):>8} {item['cer']:>8.2%} "
                  f"{(f'{diff:+.2f}' if diff is not None else '-'):>12}"
                  + ("   <- NOT OCR TEXT" if item.get("not_ocr") else ""))
        for variant, problem in problems.items():
            print(f"{variant}: {problem.strip().splitlines()[0][:200]} ... {problem.strip().splitlines()[-1][:300]}")

        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        out = RESULTS / f"ocr-{stamp}.json"
        out.write_text(json.dumps({
            "args": vars(args),
            "pages": total_pages,
            "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(),
                        "load_average": os.getloadavg(), "ghostscript": ghostscript_version(),
                        "commit": _git_commit()},
            "runs": runs,
            "summary": summary,
            "problems": problems,
        }, indent=2, ensure_ascii=False))
        print(f"\nwritten {out.relative_to(ROOT)}")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


if __name__ == "__main__":
    sys.exit(main())
