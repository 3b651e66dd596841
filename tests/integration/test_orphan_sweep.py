"""The orphan sweep, on both storage backends: a stored object no row refers
to (a request that failed between storing and recording) is removed once
past its grace period, and only then; a row's object, a retained object and
anything while no row refers to any object (a restore under way) stay; and
an upload of the same bytes recording its row while the sweep is at work
keeps its object, whether it found the object before the sweep set it aside
or stored it anew after."""
from __future__ import annotations

import dataclasses
import io
import json
import threading
from datetime import timedelta

from sqlalchemy import select

from docsvc import documents, upkeep
from docsvc.cli import cli_operator
from docsvc.metrics import ORPHAN_SWEPT
from docsvc.models import Agency, AuditEvent, DocumentFile
from tests.integration.test_metrics_and_logs import _one, _samples
from tests.integration.test_retention import Holds
from tests.pdfs import make_pdf, sample_paragraphs

NOW = timedelta(0)  # every orphan is old enough: nothing else is being uploaded in these tests
HOUR = timedelta(hours=1)
SETTLE = 2.0  # the tests' writers commit within it (the real one waits 30 s)


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
    result = backend.run("sweep", "--grace-hours", "1", "--json")
    assert result.returncode == 0 and json.loads(result.stdout)["removed"] == 0, result.stderr
    assert rt.store.exists(left)

    result = backend.run("check", "--repair", "--grace-hours", "0", "--json")
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
    # The worker's runtime, with a grace every orphan here is past (the task waits SETTLE_SECONDS).
    worker = Runtime(dataclasses.replace(rt.settings, orphan_grace_hours=0))
    monkeypatch.setattr(tasks, "_runtime", worker)
    try:
        report = tasks.sweep_orphans()
    finally:
        worker.close()
    assert report["removed_keys"] == [left]
    assert not rt.store.exists(left) and rt.store.exists(kept)
