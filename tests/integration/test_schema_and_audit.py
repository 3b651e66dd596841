"""The schema that migrations build is the one the models describe, on SQLite
and PostgreSQL; the audit log is append-only and shows tampering."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, update

from docsvc import accounts, audit
from docsvc.models import AuditEvent, Base


def test_migrations_build_exactly_the_models_schema(rt):
    with rt.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    assert differences == []


def test_upgrade_twice_is_harmless(backend):
    backend.run("db", "upgrade", check=True)
    again = backend.run("db", "upgrade", check=True)
    # The administrator is created once; the second run has nothing to create.
    assert "Created administrator" not in again.stdout


def test_every_change_is_audited_and_tampering_shows(rt, backend):
    with rt.write() as session:
        accounts.add_agency(session, "UBND-HUYEN", "UBND huyện Quảng Trạch", level="district")
        accounts.add_user(session, "van-thu", "mat-khau-an-toan", "clerk", agency_code="UBND-HUYEN")
    with rt.read() as session:
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions[-2:] == ["agency.add", "user.add"]
        assert audit.verify_chain(session).ok
    assert "audit log intact" in backend.run("audit", "verify", check=True).stdout

    with rt.write() as session:
        session.execute(update(AuditEvent).where(AuditEvent.action == "agency.add").values(actor_label="someone-else"))
    with rt.read() as session:
        check = audit.verify_chain(session)
    assert not check.ok
    result = backend.run("audit", "verify")
    assert result.returncode == 2 and "altered" in result.stderr
