#!/usr/bin/env python3
"""The long fuzz run of docsvc's file parsers: minutes to hours of mutated
real files against the entry points of tests/fuzz/targets.py, each in a
child process with a memory limit and a per-input time limit, so a hang,
a crash of a C library or a memory bomb is caught and kept, not fatal.

    .venv/bin/python bench/fuzz.py [--seconds 120] [--targets intake,inspect_pdf,...]
                                   [--seed 1] [--timeout 30] [--slow 5] [--memory-mib 2048]

Targets (the same promises as tests/fuzz/test_parsers_fuzz.py):

  intake       docsvc.documents.formats.inspect_upload    mutated PDFs, signed PDFs and scan images
  inspect_pdf  docsvc.pdf.inspect_pdf          mutated PDFs and signed PDFs
  page_texts   docsvc.pdf.iter_page_texts      mutated PDFs and signed PDFs
  verify       docsvc.signatures.verification.verify        mutated signed PDFs (and a born-digital one)
  ecopy_code   docsvc.ecopies.codes.normalize    mutated printed codes, random text
  suggest      docsvc.documents.suggest.suggest_fields   mutated OCR headers, random text

Each target runs for --seconds. Input n of a target is made from
random.Random(f"{seed}/{target}/{n}"), so any finding is re-made from the
seed and its number alone. What is found: a broken promise (another
exception, a report without a reason), a known finding of
tests/fuzz/findings.py (counted, not kept), a crash (the child died), a
timeout (killed after --timeout s), memory (the child's peak RSS grew by
more than 256 MiB on one input, or it hit --memory-mib), slow (over
--slow s). Inputs of each new kind of finding are saved to
bench/results/fuzz/<start>/ with what happened; the table and a JSON
summary (bench/results/fuzz-<start>.json) come at the end. The child may
connect to loopback only (tests/fuzz/netguard.py); each connection that
verification tries elsewhere than the development PKI's port is a
finding (ssrf); and each child runs in a network namespace of its own with
only loopback (so its own children, a parsing sandbox's, are cut off too;
the verify child runs the development PKI's TSA/OCSP/CRL itself, inside).
Benchmarks report; nothing here asserts.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import random
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fuzz.isolated import TEXT_TARGETS, Worker  # noqa: E402

RESULTS = ROOT / "bench" / "results"
TARGETS = ("intake", "inspect_pdf", "page_texts", "verify", "ecopy_code", "suggest")
RSS_GROWTH_MIB = 256
SAVED_PER_KIND = 3  # inputs kept for each (target, kind, signature)


# --- inputs ------------------------------------------------------------------------


def text_seeds() -> dict[str, list[str]]:
    from docsvc.ecopies import codes as ecopy_codes
    from tests.fuzz.mutations import HEADER_PIECES

    rng = random.Random(0)
    codes = []
    for _ in range(8):
        data = "".join(rng.choice(ecopy_codes.ALPHABET) for _ in range(ecopy_codes.DATA_CHARS))
        codes.append(ecopy_codes.format_code(data + ecopy_codes.check_character(data)))
    header = "\n".join(HEADER_PIECES[:12])
    samples = [p for name in ("binh-duong-cchc-2020.txt", "quang-trach-cchc-7-thang-2021.txt")
               for p in (ROOT.parent / "shared" / "samples" / name).read_text(encoding="utf-8").split("\n\n")[:3]]
    return {"ecopy_code": codes, "suggest": [header, *(header + "\n" + s for s in samples)]}


def seeds_for(target: str, corpus, texts: dict[str, list[str]]) -> tuple[list[tuple[str, bytes]], list[bytes]]:
    """(name, bytes) seeds of a target, and the pool splices draw from."""
    if target in TEXT_TARGETS:
        named = [(f"{target}-{i}", t.encode("utf-8")) for i, t in enumerate(texts[target])]
        return named, [b for _, b in named]
    if target == "intake":
        named = {**corpus.pdfs, **corpus.signed, **corpus.images}
    elif target == "verify":
        named = {**corpus.signed, "born-digital.pdf": corpus.pdfs["born-digital.pdf"]}
    else:
        named = {**corpus.pdfs, **corpus.signed}
    return sorted(named.items()), corpus.everything()


def make_input(seed: str, target: str, n: int, named: list[tuple[str, bytes]], pool: list[bytes],
               image_names: set[str]) -> tuple[str, bytes]:
    from tests.fuzz.mutations import RandomChooser, mutate

    rng = random.Random(f"{seed}/{target}/{n}")
    chooser = RandomChooser(rng)
    name, data = named[rng.randrange(len(named))]
    if target in TEXT_TARGETS and rng.random() < 0.2:
        return "random-text", "".join(chr(rng.choice((rng.randint(32, 0x2FF), rng.randint(0, 0x10FFFF))))
                                      for _ in range(rng.randint(0, 80))).encode("utf-8", "surrogatepass")
    return name, mutate(data, chooser, pool, pdf=target not in TEXT_TARGETS and name not in image_names)


# --- the run -----------------------------------------------------------------------


def findings_of(answer: dict, slow: float, changed: bool) -> list[tuple[str, str]]:
    """(kind, signature) of what this answer shows beyond the promise kept. A
    changed signed file reported valid is kept for a person to judge: harmless
    where the change is outside what was signed, a forgery where it is inside."""
    found = []
    if changed and answer["kind"] == "report" and answer.get("detail") == "valid":
        found.append(("valid-after-change", "a changed signed file was reported valid"))
    if answer["kind"] in ("violation", "memory", "timeout", "crash"):
        found.append((answer["kind"], answer["detail"]))
    if answer.get("rss_growth_mib", 0) > RSS_GROWTH_MIB:
        found.append(("memory", f"peak RSS grew by {answer['rss_growth_mib']:.0f} MiB on one input"))
    if answer.get("seconds", 0) > slow and answer["kind"] != "timeout":
        found.append(("slow", f"over {slow:.0f} s"))
    for attempt in answer.get("attempts", []):
        found.append(("ssrf", f"tried to connect to {attempt}"))
    return found


def fuzz_target(target: str, args, worker: Worker, named, pool, image_names, out_dir: Path) -> dict:
    outcomes: Counter[str] = Counter()
    findings: dict[tuple[str, str], dict] = {}
    times = []
    worker.start()  # its imports are not the target's time
    deadline = time.perf_counter() + args.seconds
    n = 0
    making = 0.0
    while time.perf_counter() < deadline:
        before = time.perf_counter()
        seed_name, data = make_input(args.seed, target, n, named, pool, image_names)
        making += time.perf_counter() - before
        answer = worker.run(data, args.timeout)
        times.append(answer.get("seconds", 0.0))
        outcomes[f"{answer['kind']}:{answer.get('detail', '')}" if answer["kind"] in ("accepted", "refused",
                                                                                      "report", "known")
                 else answer["kind"]] += 1
        changed = data != dict(named).get(seed_name)
        for kind, signature in findings_of(answer, args.slow, changed):
            entry = findings.setdefault((kind, signature), {"kind": kind, "signature": signature, "count": 0,
                                                            "inputs": [], "first_traceback": None})
            entry["count"] += 1
            if len(entry["inputs"]) < SAVED_PER_KIND:
                saved = out_dir / f"{target}-{kind}-{len(findings):02d}-{len(entry['inputs'])}.bin"
                saved.write_bytes(data)
                saved.with_suffix(".txt").write_text(json.dumps(
                    {"target": target, "seed": args.seed, "input": n, "from": seed_name, **answer},
                    indent=2, ensure_ascii=False, default=str))
                entry["inputs"].append({"input": n, "from": seed_name, "seconds": answer.get("seconds"),
                                        "saved": str(saved.relative_to(ROOT))})
                entry["first_traceback"] = entry["first_traceback"] or answer.get("traceback")
                print(f"  [{target} #{n}] {kind}: {signature} (from {seed_name}) -> {saved.relative_to(ROOT)}",
                      flush=True)
        n += 1
    times.sort()
    return {"target": target, "inputs": n, "seconds": args.seconds, "inputs_per_s": n / args.seconds,
            "making_inputs_s": making, "in_target_s": sum(times),
            "p50_ms": times[len(times) // 2] * 1000 if times else None,
            "max_ms": times[-1] * 1000 if times else None,
            "outcomes": dict(outcomes.most_common()), "findings": list(findings.values())}


def report(results: list[dict]) -> None:
    print("\n| target | inputs | inputs/s | making inputs s | in target s | p50 ms | max ms "
          "| outcomes (most common) | findings |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        outcomes = ", ".join(f"{k} {v}" for k, v in list(r["outcomes"].items())[:5])
        found = "; ".join(f"{f['kind']} ×{f['count']}" for f in r["findings"]) or "none"
        print(f"| {r['target']} | {r['inputs']} | {r['inputs_per_s']:.1f} | {r['making_inputs_s']:.1f} | "
              f"{r['in_target_s']:.1f} | {r['p50_ms'] or 0:.0f} | "
              f"{r['max_ms'] or 0:.0f} | {outcomes} | {found} |")
    for r in results:
        for f in r["findings"]:
            print(f"\n{r['target']}: {f['kind']} ×{f['count']}: {f['signature']}\n  saved: "
                  + ", ".join(i["saved"] for i in f["inputs"]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=120.0, help="per target (default 120)")
    ap.add_argument("--targets", default=",".join(TARGETS), help=f"comma-separated, of {', '.join(TARGETS)}")
    ap.add_argument("--seed", default="1", help="makes every input reproducible (default 1)")
    ap.add_argument("--timeout", type=float, default=30.0, help="per input, then the child is killed (default 30)")
    ap.add_argument("--slow", type=float, default=5.0, help="an input over this many seconds is kept (default 5)")
    ap.add_argument("--memory-mib", type=int, default=2048, help="the child's address-space limit (default 2048)")
    args = ap.parse_args()
    chosen = [t for t in args.targets.split(",") if t]
    if not chosen or set(chosen) - set(TARGETS):
        ap.error(f"--targets takes some of {', '.join(TARGETS)}")
    for name in ("pyhanko", "pyhanko_certvalidator", "signing", "fontTools"):
        logging.getLogger(name).setLevel(logging.CRITICAL)

    from docsvc.config import load_settings
    from docsvc.signatures.verification import create_dev_pki
    from signing.devservices import DevServices
    from tests.fuzz import corpus as seeds
    from tests.fuzz.findings import KNOWN

    started = datetime.now(UTC)
    stamp = f"{started:%Y%m%dT%H%M%SZ}"
    out_dir = RESULTS / "fuzz" / stamp
    out_dir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="docsvc-fuzz-"))
    settings = load_settings({}, data_dir=str(workdir / "var"))
    pki = create_dev_pki(settings)
    results = []
    with DevServices(pki):  # the children's verification finds them answering
        corpus = seeds.build(workdir / "seeds", pki)
        texts = text_seeds()
        print(f"seeds: {len(corpus.pdfs)} PDFs, {len(corpus.signed)} signed, {len(corpus.images)} images; "
              f"seed {args.seed}; {args.seconds:.0f} s per target; known findings: "
              f"{', '.join(k.id for k in KNOWN) or 'none'}", flush=True)
        for target in chosen:
            named, pool = seeds_for(target, corpus, texts)
            worker = Worker(target, settings.data_dir, pki.port, args.memory_mib, workdir)
            print(f"{target}: {len(named)} seeds", flush=True)
            try:
                results.append(fuzz_target(target, args, worker, named, pool, set(corpus.images), out_dir))
            finally:
                worker.stop()
    report(results)
    summary = RESULTS / f"fuzz-{stamp}.json"
    summary.write_text(json.dumps({
        "command": " ".join([os.path.relpath(sys.executable, ROOT), *sys.argv]), "started": started.isoformat(),
        "settings": vars(args), "known_findings": [k.id for k in KNOWN], "results": results,
    }, indent=2, ensure_ascii=False, default=str))
    print(f"\n{summary.relative_to(ROOT)}; inputs in {out_dir.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
