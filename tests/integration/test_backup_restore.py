"""The restore drill, on both profiles: an installation with an incoming
letter in its book, an outgoing decision signed and issued to the district,
and a citizen's e-copy shared with an agency is backed up with `docsvc
backup`, restored with `docsvc restore` into a new, empty installation,
and there every row, register number, share link, e-copy and signature is
what it was, search finds the documents again and the audit log verifies.
A damaged backup and a non-empty target are refused, and write nothing.

The source is built and backed up once per profile for the module (signing
is slow); each test restores into a new target of its own."""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from docsvc import accounts, ecopies, signatures
from docsvc.ecopies import service
from docsvc.models import Base, Document, DocumentFile, FileRole, User
from docsvc.runtime import Runtime
from search import SearchQuery
from storage import read_object
from tests.conftest import make_installation
from tests.integration.records import CITIZEN, Populated


@dataclass
class Backup:
    source: Populated  # the installation backed up, with a citizen's share link besides its records
    share: str  # the share link's token
    folder: Path  # what `docsvc backup` wrote
    summary: dict  # what it printed
    rows: dict[str, list[tuple]]  # every row of the source when it was backed up


@pytest.fixture(scope="module")
def backup(populated, tmp_path_factory) -> Backup:
    """The source installation backed up once for the module: each test restores it into a target of its own."""
    rt = populated.rt
    with rt.write() as session:
        accounts.add_user(session, "cong-dan", "mat-khau-cong-dan-2026", "citizen", citizen_id=CITIZEN)
    with rt.read() as session:
        citizen = session.scalar(select(User).where(User.username == "cong-dan"))
    share = service.create_share(rt, citizen, populated.ecopy["code"], recipient="Sở Tư pháp", days=30, max_uses=5)
    folder = tmp_path_factory.mktemp(f"backup-{populated.installation.profile}") / "sao-luu"
    saved = populated.installation.run("backup", str(folder), "--json")
    assert saved.returncode == 0, saved.stderr
    return Backup(populated, share.token, folder, json.loads(saved.stdout), _all_rows(rt))


def _all_rows(rt) -> dict[str, list[tuple]]:
    with rt.engine.connect() as conn:
        return {table.name: [tuple(row) for row in conn.execute(select(table).order_by(*table.primary_key.columns))]
                for table in Base.metadata.sorted_tables}


def _signed_bytes(rt, document_id: str) -> bytes:
    with rt.read() as session:
        document = session.get(Document, document_id)
        return read_object(rt.store, document.latest(FileRole.SIGNED).storage_key)


def _verdicts(settings, pdf: bytes) -> list[tuple]:
    import io

    report = signatures.verify(settings, io.BytesIO(pdf))
    return [report.verdict, *[(s.signer, s.verdict, s.level) for s in report.signatures]]


@pytest.fixture
def target(populated, tmp_path):
    """A new, empty installation on the source's profile."""
    yield from make_installation(populated.installation.profile, tmp_path / "target")


def test_an_installation_restored_from_its_backup_is_what_it_was(backup, target):
    rt, summary = backup.source.rt, backup.summary
    assert summary["tables"]["documents"] >= 4 and summary["objects"] >= 6  # letter, draft, decision's versions, e-copy
    manifest = json.loads((backup.folder / "manifest.json").read_text())
    assert manifest["tables"]["documents"]["rows"] == summary["tables"]["documents"]
    assert not backup.folder.with_name("sao-luu.partial").exists()

    restored = target.run("restore", str(backup.folder), "--json")
    assert restored.returncode == 0, restored.stderr
    assert json.loads(restored.stdout)["tables"] == summary["tables"]

    again = Runtime(target.settings())
    try:
        # Every row: documents, files, register counters and entries, e-copies, shares, audit events.
        assert _all_rows(again) == backup.rows
        # The signed decision and the e-copy verify as before, on the restored trust store.
        for document_id in (backup.source.decision, backup.source.ecopy["document_id"]):
            assert _signed_bytes(again, document_id) == _signed_bytes(rt, document_id)
            assert _verdicts(again.settings, _signed_bytes(again, document_id)) == \
                _verdicts(rt.settings, _signed_bytes(rt, document_id))
        code = backup.source.ecopy["code"]
        before, after = ecopies.lookup(rt, code), ecopies.lookup(again, code)
        assert after["status"] == before["status"] == "active"
        assert after["signatures"]["verdict"] == before["signatures"]["verdict"]
        # The citizen's share link opens the same file.
        assert service.open_share(again, backup.share)[0] == service.open_share(rt, backup.share)[0]
        # Retention locks came back with the objects.
        with again.read() as session:
            keys = session.scalars(select(DocumentFile.storage_key).where(DocumentFile.role == FileRole.SIGNED)).all()
        assert keys and all(again.store.retained_until(k) == rt.store.retained_until(k) for k in keys)
        # The index was rebuilt: the letter is found again, without diacritics.
        again.index.refresh()
        hits = again.index.search(SearchQuery(text="cai cach hanh chinh", per_page=50))
        assert backup.source.letter["id"] in {h.id for h in hits.hits}
    finally:
        again.close()
    verified = target.run("audit", "verify", "--json")
    assert verified.returncode == 0 and json.loads(verified.stdout)["ok"], verified.stderr


def test_a_damaged_backup_is_refused_and_nothing_is_written(backup, target, tmp_path):
    damaged = shutil.copytree(backup.folder, tmp_path / "sao-luu")  # the module's backup stays whole
    table = damaged / "database" / "documents.jsonl"
    table.write_text(table.read_text().replace("thu-tinh", "thu-gia", 1))

    refused = target.run("restore", str(damaged))
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines()[-1].endswith("(damaged_backup)")
    assert "documents.jsonl" in refused.stderr
    # Refused before anything was stored: no schema, no row, no object.
    again = Runtime(target.settings())
    try:
        assert "documents" not in inspect(again.engine).get_table_names()
        assert not Path(again.settings.storage_path).exists() if target.profile == "embedded" \
            else not again.store.client.bucket_exists(again.store.bucket)
    finally:
        again.close()


def test_a_restore_into_an_installation_in_use_is_refused(backup, target):
    started = Runtime(target.settings())
    from docsvc.cli import prepare

    prepare(started)  # its own agency and administrator
    rows = _all_rows(started)
    started.close()

    refused = target.run("restore", str(backup.folder))
    assert refused.returncode == 2 and refused.stderr.strip().endswith("(backup_refused)")
    assert "not empty" in refused.stderr
    check = Runtime(target.settings())
    try:
        assert _all_rows(check) == rows
    finally:
        check.close()


def test_a_backup_never_overwrites_a_folder(populated, tmp_path):
    (tmp_path / "sao-luu").mkdir()
    (tmp_path / "sao-luu" / "keep.txt").write_text("do not touch")
    refused = populated.installation.run("backup", str(tmp_path / "sao-luu"))
    assert refused.returncode == 2 and refused.stderr.strip().endswith("(backup_refused)")
    assert [p.name for p in Path(tmp_path / "sao-luu").iterdir()] == ["keep.txt"]
