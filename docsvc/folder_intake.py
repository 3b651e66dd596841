"""Folders files arrive in: the scanner's watched folder
(docsvc/documents/watchfolder.py) and the edXML drop folder
(docsvc/exchange/dropfolder.py) are two intakes of this one mechanism.

One round (`take_round`) over an intake's folder:

    <name>  ──rename──▶  <claims>/<claimed-at>-<token>-<attempt>/<name>   one process wins the rename
            ──▶ done/YYYY-MM-DD/<name>             taken (<name>.txt beside it if the intake says more)
            ──▶ <refused>/<name> + <name>.txt      refused, the one-line reason beside it

The intake says which names it wants, what to do with one file, and what a
refusal reports; the folder guarantees, for both:

- A file is taken once it stands still: its modification time at least
  `settle_seconds` old, and its size and time the same at a second look
  `settle_seconds` later. The second look is what catches a copy whose time
  was set before its bytes were written (an SMB client sets the source's
  time and Samba keeps it while the copy goes on; `cp -p`, a USB stick).
- One process takes a file: the rename into a claim is atomic, and the
  holder keeps an flock on the file while it works; a claim's age is in its
  name, set by the same rename.
- A claim whose holder died (its flock is free) goes back once it is older
  than `claim_expires`, by the same kind of rename; after MAX_ATTEMPTS
  claims it is refused instead (a file that kills its taker every time).
  A file in the claims folder not named as a claim was left there by the
  version before this one, and is taken again at once.
- Nothing is deleted or overwritten: a second "scan.pdf" is filed as
  "scan (2).pdf", and a reason never lands on another file's name.
- What is not a plain file is never opened: a link is refused without
  being followed, a folder, pipe or device is left where it is; a name that
  is not one line of text is refused; a file over the intake's size is
  refused before it is read.
"""
from __future__ import annotations

import errno
import fcntl
import logging
import os
import re
import secrets
import shutil
import stat
import time
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from docsvc.errors import DocsvcError, IntakeGaveUp, InvalidFileName, InvalidInput, NotAPlainFile

log = logging.getLogger(__name__)
DONE = "done"
SETTLE_SECONDS = 3.0  # a file modified more recently may still be being written
CLAIM_EXPIRES = 600.0  # seconds: far longer than taking a 3 GiB scan or a 64 MiB package (the flock guards longer)
MAX_ATTEMPTS = 3
NAME_MAX = 255  # bytes, what Linux filesystems hold in one name
_CLAIM = re.compile(r"^(\d+)-[0-9a-f]{12}-(\d+)$")
_OLD_DROP_CLAIM = re.compile(r"^[0-9a-f]{12}-(.+)$")  # how the drop folder named its claims before
_NOT_ONE_LINE = frozenset({"Cc", "Cs", "Zl", "Zp"})  # controls, undecodable bytes, line breaks
_LOCK_TAKEN = (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES)


@dataclass(frozen=True)
class Arrived:
    """A file this process holds: read it at `path`; `name` is as it arrived."""
    path: Path
    name: str
    size: int


@dataclass(frozen=True)
class Done:
    """What taking a file made of it, in the intake's words; `note` goes beside it in done/."""
    state: str
    document_id: str | None = None
    reason: str = ""
    note: str = ""


@dataclass(frozen=True)
class Outcome:
    """What became of one file: its name as it arrived, the intake's state, the document, the reason's code."""
    name: str
    state: str
    document_id: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class Intake:
    """What differs between folders. `take` raising a DocsvcError refuses the file."""
    label: str  # "watched folder": in messages and logs
    folder: Path
    claims_dir: str  # inside `folder`: the claims
    refused_dir: str  # inside `folder`: what was refused, each with its reason
    refused_state: str  # an Outcome's state for a refused file
    wants: Callable[[str], bool]
    take: Callable[[Arrived], Done]
    max_bytes: int
    too_large: Callable[[], DocsvcError]


@dataclass
class _Claim:
    folder: Path  # <claims>/<claimed-at>-<token>-<attempt>
    name: str
    attempt: int
    handle: int | None = None  # the open, flocked file; None for a link, never opened

    @property
    def path(self) -> Path:
        return self.folder / self.name


def configured_folder(label: str, setting: str, value: str) -> Path:
    if not value:
        raise InvalidInput(f"No {label} is configured (setting {setting}).")
    folder = Path(value)
    if not folder.is_dir():
        raise InvalidInput(f"The {label} {folder} does not exist.")
    return folder


def take_round(intake: Intake, *, settle_seconds: float = SETTLE_SECONDS,
               claim_expires: float = CLAIM_EXPIRES) -> list[Outcome]:
    """One round: what arrived and stood still, then the claims whose holders died; an outcome for each taken."""
    claims = _own_folder(intake, intake.claims_dir)
    for name in (DONE, intake.refused_dir):
        _not_in_the_way(intake, name)
    outcomes = []
    for name, look in _standing_still(intake, settle_seconds):
        claim = _claim_arrival(intake.folder, claims, name, look)
        if claim is not None:
            outcomes.append(_finish(intake, claim))
    for claim in _abandoned(claims, claim_expires):
        outcomes.append(_finish(intake, claim))
    return outcomes


def done_dir(folder: Path) -> Path:
    return folder / DONE / datetime.now().strftime("%Y-%m-%d")


# --- which files ------------------------------------------------------------------------------------------------

_Look = tuple[int, int, int, int]  # inode, size, modification time (ns), kind


def _standing_still(intake: Intake, settle_seconds: float) -> list[tuple[str, _Look]]:
    looks = _look(intake, settle_seconds)
    if looks and settle_seconds > 0:
        time.sleep(settle_seconds)
        again = _look(intake, settle_seconds)
        looks = {name: look for name, look in looks.items() if again.get(name) == look}
    return sorted(looks.items())


def _look(intake: Intake, settle_seconds: float) -> dict[str, _Look]:
    """Plain files and links the intake wants, not modified for settle_seconds; folders, pipes, devices left alone."""
    looks = {}
    now = time.time()
    with os.scandir(intake.folder) as entries:
        for entry in entries:
            if entry.name.startswith(".") or not intake.wants(entry.name):
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)) and now - st.st_mtime >= settle_seconds:
                looks[entry.name] = (st.st_ino, st.st_size, st.st_mtime_ns, stat.S_IFMT(st.st_mode))
    return looks


# --- claims -----------------------------------------------------------------------------------------------------

def _new_claim_folder(claims: Path, attempt: int) -> Path:
    folder = claims / f"{int(time.time())}-{secrets.token_hex(6)}-{attempt}"
    folder.mkdir()
    return folder


def _claim_arrival(folder: Path, claims: Path, name: str, look: _Look) -> _Claim | None:
    """This process's claim on a file that stood still, or None: another took it, or it moved since the look."""
    claim = _Claim(_new_claim_folder(claims, 1), name, 1)
    try:
        os.rename(folder / name, claim.path)
    except FileNotFoundError:
        claim.folder.rmdir()  # another process took it
        return None
    if stat.S_ISLNK(look[3]):
        return claim
    if not _hold(claim):
        return None
    st = os.fstat(claim.handle)  # type: ignore[arg-type]
    if (st.st_ino, st.st_size, st.st_mtime_ns, stat.S_IFMT(st.st_mode)) != look:
        _put_back(claim, folder / name)  # still being written, or swapped for another since the look
        return None
    return claim


def _hold(claim: _Claim) -> bool:
    """Open the claimed file (never following a link, never waiting on a pipe) and flock it; False if another
    process holds it or took the claim over before the lock."""
    try:
        handle = os.open(claim.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held = os.fstat(handle).st_ino == os.lstat(claim.path).st_ino
    except FileNotFoundError:
        held = False
    except OSError as exc:
        if exc.errno not in _LOCK_TAKEN:
            os.close(handle)
            raise
        held = False
    if not held:
        os.close(handle)
        return False
    claim.handle = handle
    return True


def _abandoned(claims: Path, claim_expires: float) -> Iterator[_Claim]:
    """Claims whose holder died, each claimed again by this process."""
    now = time.time()
    with os.scandir(claims) as scanned:
        entries = sorted(scanned, key=lambda entry: entry.name)
    for entry in entries:
        match = _CLAIM.match(entry.name)
        if match and now - int(match[1]) >= claim_expires and entry.is_dir(follow_symlinks=False):
            claim = _reclaim(claims, Path(entry.path), int(match[2]))
        elif not match and not entry.is_dir(follow_symlinks=False):
            claim = _reclaim_old(claims, Path(entry.path))
        else:
            continue
        if claim is not None:
            yield claim


def _reclaim(claims: Path, folder: Path, attempt: int) -> _Claim | None:
    names = os.listdir(folder)
    if not names:
        with _lost_to_another():
            folder.rmdir()  # its holder died before its rename, or after filing the file
        return None
    old = _Claim(folder, names[0], attempt)
    if not os.path.islink(old.path) and not _hold(old):
        return None  # its holder is alive (working longer than claim_expires), or another round took it
    claim = _Claim(claims / f"{int(time.time())}-{secrets.token_hex(6)}-{attempt + 1}", old.name, attempt + 1, old.handle)
    try:
        os.rename(folder, claim.folder)
    except FileNotFoundError:
        _release(old)
        return None
    return claim


def _reclaim_old(claims: Path, path: Path) -> _Claim | None:
    """A file the version before this one left in its claims folder, under its own name (the watched folder)
    or a token and its name (the drop folder)."""
    match = _OLD_DROP_CLAIM.match(path.name)
    claim = _Claim(_new_claim_folder(claims, 1), match[1] if match else path.name, 1)
    try:
        os.rename(path, claim.path)
    except FileNotFoundError:
        claim.folder.rmdir()
        return None
    return claim if os.path.islink(claim.path) or _hold(claim) else None


def _put_back(claim: _Claim, path: Path) -> None:
    """Give a claimed file back under its name (unless a new one took that name: then the claim stays, and is
    taken once it is old)."""
    _release(claim)
    if _move_without_overwriting(claim.path, path):
        claim.folder.rmdir()


def _release(claim: _Claim) -> None:
    if claim.handle is not None:
        os.close(claim.handle)
        claim.handle = None


# --- taking one, filing it --------------------------------------------------------------------------------------

def _finish(intake: Intake, claim: _Claim) -> Outcome:
    """Take a claimed file and file it in done/ or in the refused folder; the claim's folder goes."""
    shown = printable(claim.name)
    try:
        try:
            done = intake.take(_arrived(intake, claim))
        except DocsvcError as exc:
            log.warning("%s: %s refused: %s (%s)", intake.label, shown, exc.message, exc.code)
            _file(intake, claim, intake.folder / intake.refused_dir, f"{exc.message} ({exc.code})")
            return Outcome(shown, intake.refused_state, reason=exc.code)
        _file(intake, claim, done_dir(intake.folder), done.note)
        return Outcome(claim.name, done.state, done.document_id, done.reason)
    finally:
        _release(claim)


def _arrived(intake: Intake, claim: _Claim) -> Arrived:
    """The file for the intake, or the refusal the folder makes itself before anything reads it."""
    if claim.handle is None:
        raise NotAPlainFile()
    if claim.attempt > MAX_ATTEMPTS:
        raise IntakeGaveUp(f"Taking this file was started {claim.attempt - 1} times and never finished "
                           "(the process taking it stopped or failed); it is set aside for a person to look at.")
    if printable(claim.name) != claim.name:
        raise InvalidFileName()
    st = os.fstat(claim.handle)
    if not stat.S_ISREG(st.st_mode):
        raise NotAPlainFile("This is not a plain file (a folder, a pipe or a device).")
    if st.st_size > intake.max_bytes:
        raise intake.too_large()
    return Arrived(claim.path, claim.name, st.st_size)


def _file(intake: Intake, claim: _Claim, directory: Path, note: str) -> None:
    with _lost_to_another(f"{intake.label}: {printable(claim.name)} was claimed again while this process held it"):
        move_into(claim.path, directory, note=note)
    with _lost_to_another():
        claim.folder.rmdir()


@contextmanager
def _lost_to_another(warning: str = "") -> Iterator[None]:
    """A claim's file or folder that is gone: another process took the claim over (never while the flock
    holds it, where locks work); said in the log if `warning`."""
    try:
        yield
    except FileNotFoundError:
        if warning:
            log.warning(warning)


def move_into(path: Path, directory: Path, note: str = "", name: str | None = None) -> Path:
    """Move `path` into `directory` as `name` (else its own) without overwriting anything: a second
    "scan.pdf" becomes "scan (2).pdf"; `note`, made one line, is written beside it as "<name>.txt", which
    never takes the name of another file either. Where it went."""
    directory.mkdir(parents=True, exist_ok=True)
    for target in _free_names(directory, name or path.name, reserve=len(".txt") if note else 0):
        note_path = target.with_name(target.name + ".txt")
        if note and not _write_new(note_path, one_line(note) + "\n"):
            continue
        if _move_without_overwriting(path, target):
            return target
        if note:
            note_path.unlink()
    raise AssertionError("unreachable")  # _free_names never ends


def _free_names(directory: Path, name: str, reserve: int) -> Iterator[Path]:
    """name, "stem (2).ext", "stem (3).ext", …, the stem shortened so that each (and its note) is a name the
    filesystem holds."""
    stem, suffix = os.path.splitext(name)
    for counter in range(1, 2**62):
        tail = (f" ({counter})" if counter > 1 else "") + suffix
        room = NAME_MAX - reserve - len(os.fsencode(tail))
        yield directory / (_shortened(stem, room) + tail)


def _shortened(stem: str, room: int) -> str:
    while len(os.fsencode(stem)) > room:
        stem = stem[:-1]
    return stem


def _write_new(path: Path, text: str) -> bool:
    try:
        with open(path, "x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        return False
    return True


def _move_without_overwriting(source: Path, target: Path) -> bool:
    """A hard link, then unlink: the target is never replaced, even by two processes filing one name at once.
    On a filesystem without hard links: checked, then renamed."""
    try:
        os.link(source, target, follow_symlinks=False)
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        if os.path.lexists(target):
            return False
        shutil.move(str(source), target)
        return True
    os.unlink(source)
    return True


def _own_folder(intake: Intake, name: str) -> Path:
    _not_in_the_way(intake, name)
    path = intake.folder / name
    path.mkdir(exist_ok=True)
    return path


def _not_in_the_way(intake: Intake, name: str) -> None:
    """The folders a round files into are folders of its own: a link or a file by that name would send files
    elsewhere, or stop every round."""
    path = intake.folder / name
    if os.path.lexists(path) and (path.is_symlink() or not path.is_dir()):
        raise InvalidInput(f"{path} is in the way: the {intake.label} keeps a folder of its own by that name.")


def printable(name: str) -> str:
    """The name as one line of text: undecodable bytes, controls and line breaks shown as U+FFFD."""
    return "".join("\ufffd" if unicodedata.category(c) in _NOT_ONE_LINE else c for c in name)


def one_line(text: str) -> str:
    return printable(" ".join(text.split()))
