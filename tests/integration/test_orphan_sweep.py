"""The orphan sweep, on both storage backends: a stored object no row refers
to (a request that failed between storing and recording) is removed once
past its grace period, and only then; a row's object, a retained object and
anything while no row refers to any object (a restore under way) stay; and
an upload of the same bytes recording its row while the sweep is at work
keeps its object, whether it found the object before the sweep set it aside
or stored it anew after. A sweep killed (SIGKILL) between setting objects
aside and settling them leaves them hidden: `docsvc check` reports them, and
the next sweep (or `check --repair`) removes those still unreferenced and
puts back those a row now refers to."""
from __future__ import annotations

import dataclasses
import io
import json
import signal
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from docsvc import documents, upkeep
from docsvc.cli import cli_operator
from docsvc.metrics import ORPHAN_SWEPT
from docsvc.models import Agency, AuditEvent, DocumentFile
from docsvc.upkeep.check import HIDDEN, HIDDEN_REFERENCED
from storage import ObjectMissing
from tests.integration.test_metrics_and_logs import _one, _samples
from tests.integration.test_retention import Holds
from tests.pdfs import make_pdf, sample_paragraphs
from tests.processes import kill, start_command
from tests.waiting import wait_until

NOW = timedelta(0)  # every orphan is old enough: nothing else is being uploaded in these tests
HOUR = timedelta(hours=1)
SETTLE = 2.0  # the tests' writers commit within it (the real one waits 30 s)
# orphan_settle_seconds for a `docsvc sweep` process: one killed long before it settles, one that finishes.
KILLED_IN_ITS_WAIT = {"DOCSVC_ORPHAN_SETTLE_SECONDS": "600"}
FINISHING = {"DOCSVC_ORPHAN_SETTLE_SECONDS": str(SETTLE)}


def upload(rt, path):
    """A clerk's upload, as `docsvc ingest` makes it: its object and its row."""
    with rt.read() as session:
        agency_id = session.scalar(select(Agency.id))
    document_id, _ = documents.ingest(rt, cli_operator(), documents.local_file(path, rt), agency_id=agency_id)
    with rt.read() as session:
        return session.scalar(select(DocumentFile.storage_key).where(DocumentFile.document_id == document_id))


def a_pdf(tmp_path, name: str):
    return make_pdf(tmp_path / f"{name}.pdf", f"Công văn {name}", sample_paragraphs("quang-trach-cchc-7-thang-2021.txt")[:2])


def orphan(rt, data: bytes) -> str:
    """What a request that died after storing leaves: an object and no row."""
    return rt.store.put(io.BytesIO(data), "application/pdf").key


def swept_events(rt) -> list[str]:
    with rt.read() as session:
        return list(session.scalars(select(AuditEvent.object_id).where(AuditEvent.action == ORPHAN_SWEPT)))


def hidden_keys(rt) -> list[str]:
    return sorted(aside.key for aside, _written in rt.store.iter_hidden())


def bytes_kept(rt, key: str) -> int:
    """Copies of the key's bytes the store still holds anywhere: visible, set
    aside, or versions beneath a delete marker."""
    sha256 = key.rsplit("/", 1)[1]
    if hasattr(rt.store, "client"):  # MinIO: every version, delete markers aside
        return sum(1 for obj in rt.store.client.list_objects(rt.store.bucket, prefix=key, include_version=True)
                   if obj.object_name == key and not obj.is_delete_marker)
    return sum(1 for path in rt.store.root.rglob(f"{sha256}*") if path.is_file() and ".retention" not in path.parts)


def kill_a_sweep_once_it_hid(backend, rt, tmp_path, key: str) -> None:
    """`docsvc sweep` in a process of its own, killed with SIGKILL in its settle
    wait once it has hidden `key`: what a worker restart or a power cut leaves."""
    process = start_command(backend, tmp_path, "sweep", "--grace-hours", "0", "--json", extra_env=KILLED_IN_ITS_WAIT)

    def hid_it():
        assert process.poll() is None, process.log.read_text()
        return key in hidden_keys(rt)

    try:
        wait_until(hid_it, 120, "the sweep hiding the orphan")
    finally:
        kill(process)
    assert process.returncode == -signal.SIGKILL


def check_json(backend, *args: str) -> dict:
    result = backend.run("check", "--json", *args, extra_env=FINISHING)
    report = json.loads(result.stdout)
    assert result.returncode == (0 if report["ok"] else 1), result.stderr
    return report


def test_an_orphan_goes_once_past_its_grace_and_a_rows_object_never(rt, clerk, tmp_path):
    kept = upload(rt, a_pdf(tmp_path, "giu-lai"))
    left = orphan(rt, b"%PDF-1.7 ban nhap cua mot yeu cau that bai")

    young = upkeep.sweep_orphans(rt, HOUR, settle_seconds=SETTLE)
    assert young.removed == 0 and young.young == 2
    assert rt.store.exists(left) and rt.store.exists(kept)

    report = upkeep.sweep_orphans(rt, NOW, settle_seconds=SETTLE)
    assert report.removed == 1 and report.removed_keys == [left]
    assert not rt.store.exists(left) and rt.store.exists(kept)
    assert swept_events(rt) == [left.rsplit("/", 1)[1]]
    assert upkeep.check_installation(rt).to_json()["found"].get("objects") is None
    assert _one(_samples(clerk.client), "docsvc_orphan_objects_swept_total") == 1


def test_docsvc_sweep_and_check_repair_remove_orphans(backend, rt, tmp_path):
    kept = upload(rt, a_pdf(tmp_path, "giu-lai"))
    left = orphan(rt, b"%PDF-1.7 con lai sau khi co so du lieu ngung")
    result = backend.run("sweep", "--grace-hours", "1", "--json", extra_env=FINISHING)
    assert result.returncode == 0 and json.loads(result.stdout)["removed"] == 0, result.stderr
    assert rt.store.exists(left)

    result = backend.run("check", "--repair", "--grace-hours", "0", "--json", extra_env=FINISHING)
    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["ok"] and report["swept"]["removed_keys"] == [left], result.stdout
    assert not rt.store.exists(left) and rt.store.exists(kept)


def test_nothing_is_swept_while_no_row_refers_to_any_object(rt):
    # A restore stores every object before it inserts the rows at its end.
    restoring = orphan(rt, b"%PDF-1.7 doi tuong cua ban sao luu dang khoi phuc")
    report = upkeep.sweep_orphans(rt, NOW, settle_seconds=SETTLE)
    assert report.skipped and report.removed == 0
    assert rt.store.exists(restoring)


def test_a_retained_orphan_stays(rt, tmp_path):
    upload(rt, a_pdf(tmp_path, "giu-lai"))
    locked = orphan(rt, b"%PDF-1.7 ban luu tru co khoa")
    holds = Holds(rt)
    holds.retain(locked, holds.until())
    try:
        report = upkeep.sweep_orphans(rt, NOW, settle_seconds=SETTLE)
        assert report.retained == 1 and report.removed == 0
        assert rt.store.exists(locked)
    finally:
        holds.release()


def test_an_upload_that_found_the_orphan_before_it_was_set_aside_keeps_it(rt, tmp_path):
    """The same bytes uploaded again: content addressing hands the upload
    the old orphan, and its row commits while the sweep is at work."""
    upload(rt, a_pdf(tmp_path, "giu-lai"))
    pdf = a_pdf(tmp_path, "tai-len-lai")
    left = orphan(rt, pdf.read_bytes())
    stored, hidden = threading.Event(), threading.Event()
    put_file, hide = rt.store.put_file, rt.store.hide

    def put_then_wait(*args, **kwargs):
        found = put_file(*args, **kwargs)
        stored.set()
        assert hidden.wait(30)  # the sweep hides it now; the row commits after
        return found

    def hide_once_stored(key):
        assert stored.wait(30)
        aside = hide(key)
        hidden.set()
        return aside

    rt.store.put_file, rt.store.hide = put_then_wait, hide_once_stored
    keys: list[str] = []
    writer = threading.Thread(target=lambda: keys.append(upload(rt, pdf)))
    writer.start()
    report = upkeep.sweep_orphans(rt, NOW, settle_seconds=SETTLE)
    writer.join(30)
    assert keys == [left] and report.removed == 0 and report.recorded_meanwhile == 1
    assert rt.store.exists(left)
    assert upkeep.check_installation(rt).ok


def test_an_upload_after_the_orphan_was_set_aside_stores_it_anew_and_keeps_it(rt, tmp_path):
    upload(rt, a_pdf(tmp_path, "giu-lai"))
    data = b"%PDF-1.7 cung noi dung, tai len khi dang quet"
    left = orphan(rt, data)
    hide = rt.store.hide
    again = []

    def hide_then_store_again(key):
        aside = hide(key)
        again.append(rt.store.put(io.BytesIO(data), "application/pdf"))  # a writer whose row is still to come
        return aside

    rt.store.hide = hide_then_store_again
    report = upkeep.sweep_orphans(rt, NOW, settle_seconds=SETTLE)
    # The old object was removed; the writer's new one, with the same key, stays for its row.
    assert report.removed == 1 and again[0].created and again[0].key == left
    assert rt.store.exists(left)
    with rt.store.open(left) as reader:
        assert b"".join(reader.iter_chunks()) == data


def test_beat_sweeps_every_orphan_sweep_hours_and_the_task_removes_orphans(rt, tmp_path, monkeypatch):
    from docsvc import tasks
    from docsvc.celery_config import SWEEP_ORPHANS, celery_config
    from docsvc.runtime import Runtime

    schedule = celery_config(dataclasses.replace(rt.settings, orphan_sweep_hours=6))["beat_schedule"]
    assert schedule["sweep-orphans"] == {"task": SWEEP_ORPHANS, "schedule": 6 * 3600.0}
    assert "sweep-orphans" not in celery_config(dataclasses.replace(rt.settings, orphan_sweep_hours=0))["beat_schedule"]

    kept = upload(rt, a_pdf(tmp_path, "giu-lai"))
    left = orphan(rt, b"%PDF-1.7 bo lai khi tien trinh web bi dung")
    # The worker's runtime, with a grace every orphan here is past.
    worker = Runtime(dataclasses.replace(rt.settings, orphan_grace_hours=0, orphan_settle_seconds=SETTLE))
    monkeypatch.setattr(tasks, "_runtime", worker)
    try:
        report = tasks.sweep_orphans()
    finally:
        worker.close()
    assert report["removed_keys"] == [left]
    assert not rt.store.exists(left) and rt.store.exists(kept)


def test_a_sweep_killed_in_its_wait_leaves_the_orphan_hidden_and_the_next_removes_it(backend, rt, tmp_path):
    kept = upload(rt, a_pdf(tmp_path, "giu-lai"))
    left = orphan(rt, b"%PDF-1.7 an di khi tien trinh quet bi giet")
    kill_a_sweep_once_it_hid(backend, rt, tmp_path, left)

    # Hidden: nobody reads it, it is not removed, and check says so.
    assert not rt.store.exists(left) and bytes_kept(rt, left) == 1
    with pytest.raises(ObjectMissing):
        rt.store.open(left)
    report = check_json(backend)
    assert report["found"] == {"objects": {"hidden": 1}}, report
    assert report["problems"] == [{"check": "objects", "kind": "hidden", "detail": HIDDEN, "key": left}]

    result = backend.run("sweep", "--grace-hours", "0", "--json", extra_env=FINISHING)
    swept = json.loads(result.stdout)
    assert result.returncode == 0, result.stderr
    assert swept["unfinished"] == 1 and swept["still_hidden"] == 0 and swept["removed_keys"] == [left], swept
    assert hidden_keys(rt) == [] and bytes_kept(rt, left) == 0
    assert rt.store.exists(kept)
    assert swept_events(rt) == [left.rsplit("/", 1)[1]]
    assert check_json(backend)["ok"]


def test_a_row_written_while_a_killed_sweep_hid_its_object_gets_it_back(backend, rt, tmp_path):
    """The writer was handed the old orphan just before the sweep hid it, and
    commits its row while the sweep waits; the sweep is killed before it looks
    again. The object must come back, not go."""
    upload(rt, a_pdf(tmp_path, "giu-lai"))
    pdf = a_pdf(tmp_path, "tai-len-lai")
    left = orphan(rt, pdf.read_bytes())
    stored, may_go_on = threading.Event(), threading.Event()
    put_file = rt.store.put_file

    def put_then_wait(*args, **kwargs):
        found = put_file(*args, **kwargs)
        stored.set()
        assert may_go_on.wait(120)  # the sweep hides it now; the row commits after
        return found

    rt.store.put_file = put_then_wait
    keys: list[str] = []
    writer = threading.Thread(target=lambda: keys.append(upload(rt, pdf)))
    writer.start()
    try:
        assert stored.wait(60)
        process = start_command(backend, tmp_path, "sweep", "--grace-hours", "0", extra_env=KILLED_IN_ITS_WAIT)
        try:
            wait_until(lambda: left in hidden_keys(rt) or process.poll() is not None, 120, "the sweep hiding it")
            may_go_on.set()
            writer.join(60)
            assert keys == [left] and process.poll() is None  # the row committed, the sweep still waits
        finally:
            kill(process)
    finally:
        may_go_on.set()
        writer.join(60)
    rt.store.put_file = put_file

    report = check_json(backend)
    assert report["found"] == {"files": {"missing": 1}, "objects": {"hidden": 1}}, report
    assert {"check": "objects", "kind": "hidden", "detail": HIDDEN_REFERENCED, "key": left} in report["problems"]

    report = check_json(backend, "--repair", "--grace-hours", "0")
    assert report["ok"], report
    assert report["swept"]["unfinished"] == 1 and report["swept"]["recorded_meanwhile"] == 1
    assert report["swept"]["removed"] == 0 and swept_events(rt) == []
    assert hidden_keys(rt) == []
    with rt.store.open(left) as reader:
        assert b"".join(reader.iter_chunks()) == pdf.read_bytes()


def test_a_writer_meeting_a_hidden_object_stores_it_anew_and_the_sweep_keeps_it(rt, tmp_path):
    upload(rt, a_pdf(tmp_path, "giu-lai"))
    pdf = a_pdf(tmp_path, "tai-len-sau")
    left = orphan(rt, pdf.read_bytes())
    assert rt.store.hide(left) is not None  # what a sweep killed in its wait leaves

    assert upload(rt, pdf) == left  # the writer found no object and stored it again
    with rt.store.open(left) as reader:
        assert b"".join(reader.iter_chunks()) == pdf.read_bytes()
    assert upkeep.check_installation(rt).to_json()["found"] == {"objects": {"hidden": 1}}

    report = upkeep.sweep_orphans(rt, NOW, settle_seconds=SETTLE)
    assert report.unfinished == 1 and report.recorded_meanwhile == 1 and report.removed == 0
    assert hidden_keys(rt) == [] and rt.store.exists(left)
    assert upkeep.check_installation(rt).ok


def test_an_object_left_hidden_stays_so_within_the_grace_and_while_no_row_refers_to_any(rt, tmp_path):
    left = orphan(rt, b"%PDF-1.7 an di, con trong thoi gian cho")
    assert rt.store.hide(left) is not None
    assert upkeep.sweep_orphans(rt, NOW, settle_seconds=SETTLE).skipped  # a restore under way
    assert hidden_keys(rt) == [left]

    upload(rt, a_pdf(tmp_path, "giu-lai"))
    young = upkeep.sweep_orphans(rt, HOUR, settle_seconds=SETTLE)
    assert young.unfinished == 1 and young.still_hidden == 1 and young.removed == 0
    assert hidden_keys(rt) == [left] and bytes_kept(rt, left) == 1

    report = upkeep.sweep_orphans(rt, NOW, settle_seconds=SETTLE)
    assert report.unfinished == 1 and report.removed_keys == [left]
    assert hidden_keys(rt) == [] and bytes_kept(rt, left) == 0


def test_finishing_a_hidden_object_twice_is_harmless_and_a_purge_spares_one_put_back(rt):
    """Two sweeps may finish the same object (one at work, one that found it
    hidden): whichever comes second changes nothing, and an object put back
    meanwhile (a writer may have been handed it since) is not purged."""
    key = orphan(rt, b"%PDF-1.7 hai lan quet cung mot doi tuong")
    aside = rt.store.hide(key)
    rt.store.reveal(aside)
    rt.store.purge(aside)
    assert rt.store.exists(key) and hidden_keys(rt) == [] and bytes_kept(rt, key) == 1

    aside = rt.store.hide(key)
    rt.store.purge(aside)
    rt.store.purge(aside)
    rt.store.reveal(aside)
    assert not rt.store.exists(key) and hidden_keys(rt) == [] and bytes_kept(rt, key) == 0


def test_an_object_left_hidden_and_locked_since_is_put_back_not_removed(rt, tmp_path):
    from minio.commonconfig import COMPLIANCE
    from minio.retention import Retention

    upload(rt, a_pdf(tmp_path, "giu-lai"))
    data = b"%PDF-1.7 an di roi bi khoa luu tru"
    key = orphan(rt, data)
    aside = rt.store.hide(key)
    holds = Holds(rt)
    until = holds.until()
    minio = hasattr(rt.store, "client")
    if minio:  # the hidden version itself locked (a retain that raced the hide)
        rt.store.client.set_object_retention(rt.store.bucket, key, Retention(COMPLIANCE, until), version_id=aside.token)
        holds.keys.add(key)
        holds.latest = until
    else:  # the same bytes stored again at the key and locked there
        rt.store.put(io.BytesIO(data), "application/pdf")
        holds.retain(key, until)
    try:
        report = upkeep.sweep_orphans(rt, NOW, settle_seconds=SETTLE)
        # Kept twice: found hidden, then listed again by this sweep's own pass once put back.
        assert report.unfinished == 1 and report.removed == 0 and report.retained == 2
        assert hidden_keys(rt) == [] and rt.store.exists(key)
        with rt.store.open(key) as reader:
            assert b"".join(reader.iter_chunks()) == data
    finally:
        holds.release()
