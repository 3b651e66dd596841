"""Files from outside are read within a budget: what a file declares is
checked against what it holds before any parser runs, and the parser runs
in a child process that cannot take more memory or time than the budget."""
from __future__ import annotations

import io
import os
import random
import threading
import time

import pikepdf
import pytest

from docsvc import pdf, sandbox
from docsvc.errors import CorruptPdf, FileTooComplex, ServiceBusy
from docsvc.pdf import DeclaredSizes, check_declared_sizes, iter_page_texts
from docsvc.sandbox import ParseBudget
from signing.pdfium_guard import pdfium_document
from tests import hostile_pdfs
from tests.pdfs import make_pdf, sample_paragraphs

SMALL = ParseBudget(memory_mib=64, timeout_seconds=3, workers=1, wait_seconds=1)


# --- declared sizes -------------------------------------------------------------


@pytest.mark.parametrize("claimed", [4_000_000, 2**31])
def test_an_xref_stream_claiming_more_entries_than_the_file_has_bytes_is_refused_unread(claimed):
    bomb = hostile_pdfs.xref_stream_bomb(claimed)
    assert len(bomb) < 1000
    with pytest.raises(FileTooComplex) as refused:
        check_declared_sizes(bomb)
    assert f"{claimed:,}" in refused.value.message and f"{len(bomb):,} bytes" in refused.value.message


def test_an_object_stream_claiming_50_million_objects_is_refused_unread():
    with pytest.raises(FileTooComplex, match="50,000,000"):
        check_declared_sizes(hostile_pdfs.object_stream_bomb())


def test_a_trailer_declaring_two_billion_objects_is_refused_unread(tmp_path):
    path = tmp_path / "size.pdf"
    path.write_bytes(hostile_pdfs.huge_trailer_size())
    with pytest.raises(FileTooComplex, match="trailer claims 2,147,483,647"):
        check_declared_sizes(path)


def test_an_xref_stream_whose_entries_cannot_fit_its_compressed_data_is_refused():
    # 5,000 entries of 4 bytes fit the file's byte count but not 8 bytes of deflate.
    honest_count = hostile_pdfs.pdf_with_objects(
        {1: b"<< /Type /Catalog >>", 2: b"<< /Filler (" + b"x" * 6000 + b") >>"},
        xref_stream=b"<< /Type /XRef /Size 5000 /W [1 2 1] /Length 8 >>\nstream\n12345678\nendstream")
    with pytest.raises(FileTooComplex, match="5,000 entries, more than its 8 bytes"):
        check_declared_sizes(honest_count)


def test_honest_pdfs_pass_the_check(tmp_path):
    born_digital = make_pdf(tmp_path / "qd.pdf", "Quyết định", sample_paragraphs("binh-duong-cchc-2020.txt")[:6])
    check_declared_sizes(born_digital)
    # Object streams and a cross-reference stream, as modern writers make them, and an incremental update.
    compact = tmp_path / "compact.pdf"
    with pikepdf.open(born_digital) as pdf:
        pdf.save(compact, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    check_declared_sizes(compact)
    with pikepdf.open(compact, allow_overwriting_input=True) as pdf:
        pdf.docinfo["/Title"] = "Bản cập nhật"
        out = io.BytesIO()
        pdf.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    check_declared_sizes(compact.read_bytes() + out.getvalue()[9:])
    check_declared_sizes(b"not a PDF at all")


def _fed(data: bytes, cuts: list[int], *, reuse: bool = False) -> None:
    """DeclaredSizes over `data` cut at `cuts`, as an upload streams it in
    (`reuse`: through one buffer overwritten by every chunk, as records does)."""
    scan = DeclaredSizes()
    buffer = bytearray(max(b - a for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)))
    for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True):
        if reuse:
            buffer[:b - a] = data[a:b]
            scan.feed(buffer, b - a)
        else:
            scan.feed(data[a:b])
    scan.finish()


BOMBS = {
    "cross-reference stream": hostile_pdfs.xref_stream_bomb(4_000_000),
    "object stream": hostile_pdfs.object_stream_bomb(),
    "trailer": hostile_pdfs.huge_trailer_size(),
}


@pytest.mark.parametrize("kind", BOMBS)
def test_a_bomb_streamed_in_is_refused_wherever_its_chunks_are_cut(kind):
    """Every cut of the file in two (a token or its dictionary split at each
    of its bytes), and one byte at a time: refused, as read whole."""
    data = BOMBS[kind]
    with pytest.raises(FileTooComplex):
        check_declared_sizes(data)
    for at in range(1, len(data)):
        with pytest.raises(FileTooComplex):
            _fed(data, [at], reuse=at % 2 == 0)
    with pytest.raises(FileTooComplex):
        _fed(data, list(range(1, len(data))))


@pytest.mark.parametrize("kind", BOMBS)
def test_a_bomb_deep_in_a_large_file_is_refused_across_large_chunks(kind):
    """A declaration after megabytes of image data, its token or its window
    across the boundary of 1 MiB chunks (the way uploads are fed)."""
    bomb = BOMBS[kind]
    token = {"cross-reference stream": b"/XRef", "object stream": b"/ObjStm", "trailer": b"trailer"}[kind]
    filler = b"\x00" * (3 * 1024 * 1024 - 100)
    data = filler + bomb + b"\x00" * 65536
    where = len(filler) + bomb.index(token)
    chunks = range(1024 * 1024, len(data), 1024 * 1024)
    for cut in (where - 3000, where - 1, where + 2, where + len(token), where + 3000):
        with pytest.raises(FileTooComplex):
            _fed(data, sorted({*chunks, cut}), reuse=True)
    # A chunk boundary a byte into the token, with no other cut near it.
    with pytest.raises(FileTooComplex):
        _fed(data, [where + 1], reuse=True)


@pytest.mark.parametrize("searcher", ["memmem", "bytes.find"])
@pytest.mark.parametrize("kind", BOMBS)
def test_a_bomb_in_a_large_file_is_refused_by_either_search(kind, searcher, monkeypatch, tmp_path):
    """Chunks of 64 KiB and more are searched with the C library's memmem;
    without it (or below that size) with bytes.find: the same verdicts, read
    whole, from a file or fed through one buffer."""
    if searcher == "bytes.find":
        monkeypatch.setattr(pdf, "_MEMMEM", None)
    else:
        assert pdf._MEMMEM is not None  # glibc, musl and macOS all have memmem
    data = os.urandom(2 * 1024 * 1024 + 17) + BOMBS[kind] + os.urandom(70_000)
    path = tmp_path / "scan.pdf"
    path.write_bytes(data)
    for source in (data, path):
        with pytest.raises(FileTooComplex):
            check_declared_sizes(source)
    with pytest.raises(FileTooComplex):
        _fed(data, list(range(1024 * 1024, len(data), 1024 * 1024)), reuse=True)
    check_declared_sizes(data[:2 * 1024 * 1024] + data[-70_000:])


def test_memmem_finds_the_tokens_bytes_find_finds_up_to_the_cap():
    rng = random.Random(12)
    data = bytearray(os.urandom(300_000))
    for at in [0, 1, 65_535, 65_536, 299_993, *rng.sample(range(300_000 - 7), 400)]:
        token = rng.choice(pdf._TOKENS)
        data[at:at + len(token)] = token
    data = data[:300_000]
    for low, high, most in [(0, len(data), 10**6), (3, len(data) - 5, 10**6), (70_000, 200_000, 10**6),
                            (0, len(data), 37), (0, len(data), 1)]:
        assert pdf._Haystack.of(data, len(data)) != data.find  # memmem, for this size
        expected = pdf._find_tokens(data, len(data), low, high, most)
        with pytest.MonkeyPatch.context() as patched:
            patched.setattr(pdf, "_MEMMEM", None)
            assert pdf._find_tokens(bytes(data), len(data), low, high, most) == expected
            assert pdf._find_tokens(data, len(data), low, high, most) == expected
        assert pdf._find_tokens(bytes(data), len(data), low, high, most) == expected
    data.extend(b"resizable again")  # the pointer to its bytes was let go


def test_an_honest_pdf_streamed_in_passes(tmp_path):
    born_digital = make_pdf(tmp_path / "qd.pdf", "Quyết định", sample_paragraphs("binh-duong-cchc-2020.txt")[:6])
    compact = tmp_path / "compact.pdf"
    with pikepdf.open(born_digital) as pdf:
        pdf.save(compact, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    data = compact.read_bytes()
    assert b"/ObjStm" in data and b"/XRef" in data
    for step in (1, 7, 4096, 9000):
        _fed(data, list(range(step, len(data), step)), reuse=True)


def test_a_count_over_the_size_is_refused_once_the_stream_ends():
    """Streamed without a known size, the count is checked against the size at the end."""
    scan = DeclaredSizes()
    scan.feed(hostile_pdfs.huge_trailer_size())
    with pytest.raises(FileTooComplex, match="trailer claims 2,147,483,647"):
        scan.finish()


def test_every_structure_bomb_and_loop_of_the_corpus_gets_a_clear_error_from_text_extraction(tmp_path):
    """Nothing of the corpus ends in anything but text or a DocsvcError."""
    for hostile in hostile_pdfs.corpus(make_pdf(tmp_path / "g.pdf", "Thông báo", ["Nội dung."]).read_bytes()):
        path = tmp_path / "h.pdf"
        path.write_bytes(hostile.data)
        try:
            texts = list(iter_page_texts(path, budget=SMALL))
        except (FileTooComplex, CorruptPdf):
            continue
        assert all(isinstance(text, str) for text in texts), hostile.name


# --- the parse child ------------------------------------------------------------


def allocate(mib: int) -> int:
    return len(bytearray(mib * 1024 * 1024))


def sleep(seconds: float) -> str:
    time.sleep(seconds)
    return "woke"


def crash() -> None:
    os.abort()


def refuse() -> None:
    raise CorruptPdf("The PDF is damaged and cannot be read (test).")


def count_to(n: int):
    yield from range(n)


def in_child() -> int:
    return os.getpid()


def test_a_parse_that_wants_more_memory_than_the_budget_ends_in_file_too_complex():
    with pytest.raises(FileTooComplex, match="more memory than this service allows \\(64 MiB\\)"):
        sandbox.call(allocate, 512, budget=SMALL)
    assert sandbox.call(allocate, 16, budget=SMALL) == 16 * 1024 * 1024  # a new child, same budget


def test_a_parse_that_overruns_its_time_is_killed_and_the_next_one_runs():
    with pytest.raises(FileTooComplex, match="longer than this service allows \\(3 s\\)"):
        sandbox.call(sleep, 60, budget=SMALL)
    assert sandbox.call(sleep, 0, budget=SMALL) == "woke"


def test_a_parser_that_crashes_ends_in_file_too_complex_and_is_replaced():
    with pytest.raises(FileTooComplex, match="stopped the reader"):
        sandbox.call(crash, budget=SMALL)
    assert sandbox.call(in_child, budget=SMALL) != os.getpid()


def test_a_user_error_raised_in_the_child_reaches_the_caller_as_itself():
    with pytest.raises(CorruptPdf, match="cannot be read \\(test\\)"):
        sandbox.call(refuse, budget=SMALL)


def test_items_come_one_at_a_time_and_a_consumer_may_stop_early():
    items = sandbox.iterate(count_to, 10**9, budget=SMALL)
    assert [next(items) for _ in range(3)] == [0, 1, 2]
    items.close()  # the child closes its generator and takes the next job
    assert list(sandbox.iterate(count_to, 3, budget=SMALL)) == [0, 1, 2]


def test_a_caller_waits_a_bounded_time_for_a_free_parser_then_hears_busy():
    holding = sandbox.iterate(count_to, 10, budget=SMALL)
    next(holding)  # the only parser of this budget is busy
    try:
        started = time.monotonic()
        with pytest.raises(ServiceBusy) as busy:
            sandbox.call(in_child, budget=SMALL)
        assert time.monotonic() - started < 30  # the wait is bounded (1 s), not a queue
        assert busy.value.http_status == 503 and busy.value.retry_after == 3
    finally:
        holding.close()
    sandbox.call(in_child, budget=SMALL)


# --- the pdfium guard -----------------------------------------------------------


def test_pdfium_used_from_eight_threads_through_the_guard_keeps_working(tmp_path):
    pdf = make_pdf(tmp_path / "qd.pdf", "Quyết định", sample_paragraphs("binh-duong-cchc-2020.txt")[:4]).read_bytes()
    expected = _text(pdf)
    results, errors = [], []

    def work():
        try:
            for _ in range(25):
                results.append(_text(pdf))
        except Exception as exc:  # noqa: BLE001 - the test reports any failure
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(results) == 200 and set(results) == {expected}


def _text(pdf: bytes) -> str:
    with pdfium_document(pdf) as document:
        page = document[0]
        textpage = page.get_textpage()
        try:
            return textpage.get_text_bounded()
        finally:
            textpage.close()
            page.close()
