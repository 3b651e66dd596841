"""The mechanism under the watched folder and the drop folder
(docsvc/folder_intake.py): a file that arrives is taken once, by one
process, once it has stood still; a claim left by a killed process goes
back; nothing that is not a plain file with a plain name is opened, and
nothing filed is ever overwritten."""
from __future__ import annotations

import dataclasses
import multiprocessing
import os
import signal
import time
from pathlib import Path

import pytest

from docsvc import folder_intake
from docsvc.errors import InvalidInput, UploadTooLarge
from docsvc.folder_intake import Arrived, Done, Intake, take_round

MAX_BYTES = 1000
FORK = multiprocessing.get_context("fork")


def intake(folder: Path, log: Path, *, hold_seconds: float = 0.0) -> Intake:
    """A folder whose files are 'taken' by appending "<pid> <name> <bytes>" to `log` (after `hold_seconds`)."""
    def take(arrived: Arrived) -> Done:
        data = arrived.path.read_bytes()
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()} {arrived.name} {len(data)}\n")
        time.sleep(hold_seconds)
        if data.startswith(b"bad"):
            raise InvalidInput("Not a scan:\nit says bad.")
        return Done("taken", note="noted" if data.startswith(b"note") else "")

    return Intake(label="test folder", folder=folder, claims_dir=".claims", refused_dir="refused",
                  refused_state="refused", wants=lambda name: not name.endswith(".part"), take=take,
                  max_bytes=MAX_BYTES, too_large=lambda: UploadTooLarge("Larger than the test's limit."))


def one_round(folder: Path, log: Path, **options) -> list[tuple[str, str]]:
    """(state, name) of each file a round took, the name followed by the reason's code if refused."""
    return sorted((o.state, f"{o.name}: {o.reason}" if o.reason else o.name)
                  for o in take_round(intake(folder, log), **options))


def settled(path: Path, data: bytes = b"scan") -> Path:
    path.write_bytes(data)
    old = time.time() - 60
    os.utime(path, (old, old), follow_symlinks=False)
    return path


def taken_lines(log: Path) -> list[str]:
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def done_names(folder: Path) -> list[str]:
    return sorted(p.name for p in (folder / "done").rglob("*") if p.is_file())


def claims_left(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder / ".claims")) for p in (folder / ".claims").rglob("*"))


@pytest.fixture
def inbox(tmp_path):
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


def _round_when_told(folder: Path, log: Path, go, settle: float, claim_expires: float = 600.0) -> None:
    go.wait(30)
    take_round(intake(folder, log), settle_seconds=settle, claim_expires=claim_expires)


def test_two_processes_racing_over_one_folder_take_each_file_once(inbox, tmp_path):
    log = tmp_path / "taken.log"
    names = [f"scan-{n:02}.pdf" for n in range(40)]
    for name in names:
        settled(inbox / name)
    go = FORK.Event()
    racers = [FORK.Process(target=_round_when_told, args=(inbox, log, go, 0.2)) for _ in range(2)]
    for racer in racers:
        racer.start()
    go.set()  # both list the same 40 files, wait the same settle time, then rename in the same order
    for racer in racers:
        racer.join(60)
        assert racer.exitcode == 0
    lines = taken_lines(log)
    assert sorted(line.split()[1] for line in lines) == names  # each once: none twice, none missed
    assert done_names(inbox) == names
    assert claims_left(inbox) == [] and sorted(p.name for p in inbox.iterdir()) == [".claims", "done"]


def _hold_one(folder: Path, log: Path) -> None:
    take_round(intake(folder, log, hold_seconds=120), settle_seconds=0)


def test_a_claim_left_by_a_killed_process_goes_back_once_old_and_never_while_its_holder_lives(inbox, tmp_path):
    log = tmp_path / "taken.log"
    settled(inbox / "cong-van.pdf", b"the whole scan")
    holder = FORK.Process(target=_hold_one, args=(inbox, log))
    holder.start()
    try:
        deadline = time.monotonic() + 30
        while not taken_lines(log) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert taken_lines(log) == [f"{holder.pid} cong-van.pdf 14"]
        # Alive and working: not taken from it, even by a round for which every claim is old.
        assert one_round(inbox, log, settle_seconds=0, claim_expires=0) == []
    finally:
        os.kill(holder.pid, signal.SIGKILL)  # as the out-of-memory killer ends a worker
        holder.join(30)
    [claim] = [p for p in (inbox / ".claims").iterdir()]
    assert [p.name for p in claim.iterdir()] == ["cong-van.pdf"]

    assert one_round(inbox, log, settle_seconds=0) == []  # younger than the limit: it waits
    assert one_round(inbox, log, settle_seconds=0, claim_expires=0) == [("taken", "cong-van.pdf")]
    assert [line.split()[1:] for line in taken_lines(log)] == [["cong-van.pdf", "14"]] * 2
    assert done_names(inbox) == ["cong-van.pdf"] and claims_left(inbox) == []
    assert one_round(inbox, log, settle_seconds=0, claim_expires=0) == []


def _keep_writing(path: Path, seconds: float) -> None:
    """A copy whose time was set first and kept (an SMB client, `cp -p`): the bytes grow, the time does not."""
    old = time.time() - 3600
    end = time.monotonic() + seconds
    with open(path, "ab") as handle:
        while time.monotonic() < end:
            handle.write(b"x")
            handle.flush()
            os.utime(path, (old, old))
            time.sleep(0.1)


def _has_grown_with_an_old_time(path: Path) -> bool:
    status = path.stat()
    return status.st_size > 0 and time.time() - status.st_mtime > 3000


def test_a_file_still_being_written_is_not_taken(inbox, tmp_path):
    log = tmp_path / "taken.log"
    fresh = inbox / "dang-quet.pdf"
    fresh.write_bytes(b"half a scan")  # written just now
    growing = inbox / "dang-chep.pdf"
    settled(growing, b"")
    # Writing for longer than the round looks (its second look after 2 s):
    # a loaded machine may start the writer late or pause it a moment.
    writer = FORK.Process(target=_keep_writing, args=(growing, 10.0))
    writer.start()
    try:
        # The writer has begun once the file has bytes and its old time back
        # (between a write and its utime the time is now).
        started = time.monotonic()
        while not _has_grown_with_an_old_time(growing) and time.monotonic() - started < 20:
            time.sleep(0.05)
        assert _has_grown_with_an_old_time(growing)  # by its time alone it would look finished
        assert one_round(inbox, log, settle_seconds=2.0) == []
    finally:
        writer.join(30)
    assert taken_lines(log) == [] and fresh.exists() and growing.exists()
    written = growing.stat().st_size

    os.utime(fresh, (time.time() - 60, time.time() - 60))
    assert one_round(inbox, log, settle_seconds=0.5) == [("taken", "dang-chep.pdf"),
                                                                          ("taken", "dang-quet.pdf")]
    assert sorted(line.split()[1:] for line in taken_lines(log)) == [["dang-chep.pdf", str(written)],
                                                                      ["dang-quet.pdf", "11"]]


def test_what_is_not_a_plain_file_with_a_plain_name_is_never_opened(inbox, tmp_path):
    log = tmp_path / "taken.log"
    secret = tmp_path / "outside.txt"
    secret.write_text("not for the folder")
    os.symlink(secret, inbox / "lien-ket.pdf")
    settled(inbox / "a\nb.pdf")
    settled(inbox / os.fsdecode(b"\xff\xfe.pdf"))  # not UTF-8
    settled(inbox / "qua-lon.pdf", b"x" * (MAX_BYTES + 1))
    (inbox / "thu-muc.pdf").mkdir()
    os.mkfifo(inbox / "ong.pdf")
    settled(inbox / "dang-tai.part")  # a name the intake does not want

    outcomes = one_round(inbox, log, settle_seconds=0)

    assert sorted(outcomes) == [
        ("refused", "a\ufffdb.pdf: invalid_file_name"),
        ("refused", "lien-ket.pdf: not_a_plain_file"),
        ("refused", "qua-lon.pdf: upload_too_large"),
        ("refused", "\ufffd\ufffd.pdf: invalid_file_name"),
    ]
    assert taken_lines(log) == []  # none of them was read
    assert secret.read_text() == "not for the folder"  # the link's target untouched, where it was
    refused = inbox / "refused"
    assert (refused / "lien-ket.pdf").is_symlink()
    for name in ["a\nb.pdf", os.fsdecode(b"\xff\xfe.pdf"), "lien-ket.pdf", "qua-lon.pdf"]:
        reason = (refused / f"{name}.txt").read_text(encoding="utf-8")
        assert reason.endswith("\n") and reason.count("\n") == 1, reason  # one line the operator reads
    assert "(not_a_plain_file)" in (refused / "lien-ket.pdf.txt").read_text()
    assert sorted(p.name for p in inbox.iterdir()) == [".claims", "dang-tai.part", "ong.pdf", "refused", "thu-muc.pdf"]


def test_nothing_filed_is_overwritten_and_a_long_name_is_filed_with_its_reason(inbox, tmp_path):
    log = tmp_path / "taken.log"
    settled(inbox / "to-trinh.pdf.txt", b"bad: its name is another's reason")
    settled(inbox / "to-trinh.pdf", b"bad, refused second")
    long_name = "bien-ban-hop-" * 19 + "ngay.pdf"  # 255 bytes: its reason's name would not fit
    settled(inbox / long_name, b"bad too")
    assert len(one_round(inbox, log, settle_seconds=0)) == 3
    settled(inbox / "to-trinh.pdf", b"note: sent again")
    settled(inbox / "copy.pdf", b"note")
    one_round(inbox, log, settle_seconds=0)
    settled(inbox / "copy.pdf", b"note, again")
    one_round(inbox, log, settle_seconds=0)

    reason = b"Not a scan: it says bad. (invalid_input)\n"
    shortened = "bien-ban-hop-" * 19 + ".pdf"
    assert {p.name: p.read_bytes() for p in (inbox / "refused").iterdir()} == {
        "to-trinh.pdf": b"bad, refused second", "to-trinh.pdf.txt": reason,
        "to-trinh.pdf (2).txt": b"bad: its name is another's reason", "to-trinh.pdf (2).txt.txt": reason,
        shortened: b"bad too", shortened + ".txt": reason,
    }
    assert done_names(inbox) == ["copy (2).pdf", "copy (2).pdf.txt", "copy.pdf", "copy.pdf.txt",
                                 "to-trinh.pdf", "to-trinh.pdf.txt"]


def test_a_claim_from_before_is_taken_at_once_and_one_that_never_finishes_is_set_aside(inbox, tmp_path):
    log = tmp_path / "taken.log"
    claims = inbox / ".claims"
    claims.mkdir()
    settled(claims / "bien-ban.pdf", b"left by the watched folder of the version before")
    settled(claims / "0123456789ab-qd.pdf", b"left by the drop folder of the version before")
    assert one_round(inbox, log, settle_seconds=0) == [("taken", "bien-ban.pdf"), ("taken", "qd.pdf")]

    stuck = claims / f"{int(time.time()) - 3600}-00000000abcd-{folder_intake.MAX_ATTEMPTS}"
    stuck.mkdir()
    settled(stuck / "chet.pdf", b"kills its taker every time")
    assert one_round(inbox, log, settle_seconds=0) == [("refused", "chet.pdf: intake_gave_up")]
    assert "never finished" in (inbox / "refused" / "chet.pdf.txt").read_text()
    assert claims_left(inbox) == []


def test_a_round_that_raises_leaves_its_claim_for_a_later_round(inbox, tmp_path):
    log = tmp_path / "taken.log"
    settled(inbox / "scan.pdf")
    failing = intake(inbox, log)

    def broken(arrived: Arrived) -> Done:
        raise ConnectionError("the database went away")

    with pytest.raises(ConnectionError):
        take_round(dataclasses.replace(failing, take=broken), settle_seconds=0)
    [claim] = claims_left(inbox)[1:]
    assert claim.endswith("-1/scan.pdf")
    assert one_round(inbox, log, settle_seconds=0, claim_expires=0) == [("taken", "scan.pdf")]


def test_a_link_where_a_folder_of_the_round_belongs_stops_it_with_one_line(inbox, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(elsewhere, inbox / "done")
    settled(inbox / "scan.pdf")
    with pytest.raises(InvalidInput, match="is in the way"):
        take_round(intake(inbox, tmp_path / "taken.log"), settle_seconds=0)
    assert list(elsewhere.iterdir()) == [] and (inbox / "scan.pdf").exists()
