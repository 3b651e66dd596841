"""The network scanner's folder: files that have stopped growing are taken,
stored as incoming scans and moved to done/; what cannot be taken goes to
rejected/ with the reason beside it; nothing is lost or stored twice."""
from __future__ import annotations

import json
import os
import shutil
import threading
import time
from pathlib import Path

from PIL import Image

from docsvc.runtime import Runtime
from tests.integration.conftest import row_counts
from tests.pdfs import make_pdf, sample_paragraphs


def _settled(path: Path) -> Path:
    old = time.time() - 60
    os.utime(path, (old, old))
    return path


class StillWriting(threading.Thread):
    """Touches a file every 0.2 s, as a scanner writing it does, until stopped."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path, self.stopped = path, threading.Event()
        self.start()

    def run(self) -> None:
        while not self.stopped.wait(0.2):
            os.utime(self.path)

    def stop(self) -> None:
        self.stopped.set()
        self.join()


def test_scanner_folder_is_taken_in_and_sorted(backend, tmp_path):
    inbox = tmp_path / "may-quet"
    inbox.mkdir()
    env = {"DOCSVC_WATCH_DIR": str(inbox), "DOCSVC_WATCH_AGENCY": "UBND-XA", "DOCSVC_WATCH_USER": "van-thu"}
    backend.run("db", "upgrade", check=True)
    backend.run("user", "add", "van-thu", "--role", "clerk", "--agency", "UBND-XA", "--password-env", "PW",
                check=True, extra_env={"PW": "mat-khau-an-toan-2026"})

    pdf = _settled(make_pdf(inbox / "cong-van.pdf", "Công văn", sample_paragraphs("binh-duong-cchc-2020.txt")[:2]))
    pdf_bytes = pdf.read_bytes()
    photo = inbox / "to-trinh.png"
    Image.new("L", (1240, 1754), 255).save(photo, dpi=(150, 150))
    _settled(photo)
    note = inbox / "ghi-chu.txt"
    note.write_text("không phải văn bản quét\n", encoding="utf-8")
    _settled(note)
    writing = inbox / "dang-quet.pdf"  # the scanner is still writing this one
    writing.write_bytes(pdf_bytes[:1000])
    scanner = StillWriting(writing)  # modified all along: the command's start takes 5-8 s on a loaded machine

    result = backend.run("watch", "--once", "--json", extra_env=env)
    scanner.stop()
    assert result.returncode == 0, result.stderr
    outcomes = {o["name"]: o for o in json.loads(result.stdout)}
    assert {name: o["state"] for name, o in outcomes.items()} == {
        "cong-van.pdf": "stored", "to-trinh.png": "stored", "ghi-chu.txt": "rejected",
    }
    assert outcomes["ghi-chu.txt"]["reason"] == "unsupported_format"

    done = next((inbox / "done").iterdir())
    assert sorted(p.name for p in done.iterdir()) == ["cong-van.pdf", "to-trinh.png"]
    assert (done / "cong-van.pdf").read_bytes() == pdf_bytes  # moved, untouched
    rejected = inbox / "rejected"
    assert (rejected / "ghi-chu.txt").exists()
    assert "(unsupported_format)" in (rejected / "ghi-chu.txt.txt").read_text(encoding="utf-8")
    assert writing.exists() and writing.read_bytes() == pdf_bytes[:1000]
    writing.unlink()  # the scanner gave up on it

    shown = json.loads(backend.run("show", outcomes["to-trinh.png"]["document_id"], "--json", check=True).stdout)
    assert shown["kind"] == "incoming" and shown["files"][0]["media_type"] == "image/png"

    # The scanner sends the same file again, and a dead watcher left one half-way.
    shutil.copy(done / "cong-van.pdf", inbox / "cong-van.pdf")
    _settled(inbox / "cong-van.pdf")
    half_way = inbox / ".processing" / "bien-ban.pdf"
    make_pdf(half_way, "Biên bản", sample_paragraphs("ca-mau-hien-dai-hoa-hanh-chinh.txt")[:2])
    runtime = Runtime(backend.settings())
    try:
        before = row_counts(runtime)["documents"]
        result = backend.run("watch", "--once", "--json", extra_env=env)
        states = {o["name"]: o["state"] for o in json.loads(result.stdout)}
        assert states == {"cong-van.pdf": "already_stored", "bien-ban.pdf": "stored"}
        assert row_counts(runtime)["documents"] == before + 1
    finally:
        runtime.close()
    assert sorted(p.name for p in done.iterdir() if p.suffix != ".txt") == [
        "bien-ban.pdf", "cong-van (2).pdf", "cong-van.pdf", "to-trinh.png",
    ]
    assert not any((inbox / ".processing").iterdir())


def test_watch_without_a_folder_is_one_clear_line(backend):
    backend.run("db", "upgrade", check=True)
    result = backend.run("watch", "--once")
    assert result.returncode == 2
    assert result.stderr.strip() == "docsvc: error: No watched folder is configured (setting watch_dir). (invalid_input)"


def test_a_link_a_two_line_name_and_a_huge_file_are_refused_unread(backend, tmp_path):
    inbox = tmp_path / "may-quet"
    inbox.mkdir()
    env = {"DOCSVC_WATCH_DIR": str(inbox), "DOCSVC_WATCH_AGENCY": "UBND-XA", "DOCSVC_WATCH_USER": "van-thu",
           "DOCSVC_MAX_UPLOAD_BYTES": "100000"}
    backend.run("db", "upgrade", check=True)
    backend.run("user", "add", "van-thu", "--role", "clerk", "--agency", "UBND-XA", "--password-env", "PW",
                check=True, extra_env={"PW": "mat-khau-an-toan-2026"})
    outside = make_pdf(tmp_path / "mat.pdf", "Mật", sample_paragraphs("binh-duong-cchc-2020.txt")[:1])
    link = inbox / "lien-ket.pdf"
    link.symlink_to(outside)  # whoever can write the scanner's folder must not get this file stored
    old = time.time() - 60
    os.utime(link, (old, old), follow_symlinks=False)
    _settled(make_pdf(inbox / "hai\ndong.pdf", "Hai dòng", sample_paragraphs("binh-duong-cchc-2020.txt")[:1]))
    with open(inbox / "qua-lon.pdf", "wb") as huge:
        huge.truncate(100_001)
    _settled(inbox / "qua-lon.pdf")

    result = backend.run("watch", "--once", extra_env=env)
    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.splitlines()) == [  # one line each, whatever the name holds
        "hai\ufffddong.pdf\trejected\tinvalid_file_name",
        "lien-ket.pdf\trejected\tnot_a_plain_file",
        "qua-lon.pdf\trejected\tupload_too_large",
    ]
    runtime = Runtime(backend.settings())
    try:
        assert row_counts(runtime)["documents"] == 0
    finally:
        runtime.close()
    rejected = inbox / "rejected"
    assert (rejected / "lien-ket.pdf").is_symlink() and outside.exists()
    assert sorted(p.name for p in rejected.iterdir()) == sorted(
        ["hai\ndong.pdf", "hai\ndong.pdf.txt", "lien-ket.pdf", "lien-ket.pdf.txt", "qua-lon.pdf", "qua-lon.pdf.txt"])
