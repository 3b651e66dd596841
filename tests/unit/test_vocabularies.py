"""States and kinds are enums whose values are what the database already
holds: renaming a value would orphan every row written before, so each
vocabulary's values are pinned here. A value outside its vocabulary is
refused on write and, from outside, answered as invalid input."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from docsvc import validation
from docsvc.errors import InvalidInput
from docsvc.models import (
    OPEN_HANDLING,
    STAFF_ROLES,
    Agency,
    AgencyLevel,
    Base,
    CredentialOwner,
    CredentialSource,
    Document,
    DocumentKind,
    DocumentStatus,
    EcopyKind,
    EcopyStatus,
    FileRole,
    Handling,
    ProgressStep,
    RegisterBook,
    Role,
    ShareState,
    SigningJobStatus,
    Workflow,
)
from docsvc.signatures.retention import RetentionCategory

STORED_VALUES = {
    AgencyLevel: ["commune", "district", "province", "other"],
    Role: ["clerk", "official", "signer", "citizen", "admin"],
    DocumentKind: ["upload", "incoming", "outgoing", "ecopy"],
    DocumentStatus: ["received", "processing", "ready", "failed"],
    ProgressStep: ["", "converting", "ocr", "extracting_text", "indexing", "done", "failed"],
    RegisterBook: ["incoming", "outgoing", "certification"],
    Handling: ["received", "assigned", "in_progress", "done", "recalled"],
    FileRole: ["original", "text", "derived", "signed", "prepared", "thumbnail", "package"],
    Workflow: ["draft", "submitted", "returned", "signed", "issued"],
    EcopyKind: ["certified_copy", "procedure_result"],
    EcopyStatus: ["active", "revoked", "superseded"],
    ShareState: ["granted", "expired", "withdrawn", "used_up", "revoked"],
    SigningJobStatus: ["running", "finished", "failed", "interrupted"],
    CredentialOwner: ["user", "agency"],
    CredentialSource: ["pkcs12", "pkcs11"],
    RetentionCategory: ["outgoing", "procedure_result", "ecopy"],
}


@pytest.mark.parametrize("vocabulary", STORED_VALUES, ids=lambda v: v.__name__)
def test_each_vocabulary_keeps_the_values_stored_before(vocabulary):
    assert [member.value for member in vocabulary] == STORED_VALUES[vocabulary]


def test_members_are_their_strings_in_comparisons_and_json():
    assert DocumentStatus.READY == "ready" and DocumentStatus.READY == "ready"
    assert f"{Workflow.ISSUED}" == str(Workflow.ISSUED) == "issued"
    assert json.dumps({"status": EcopyStatus.ACTIVE, "role": Role.ADMIN}) == '{"status": "active", "role": "admin"}'


def test_the_groups_callers_use():
    assert STAFF_ROLES == (Role.CLERK, Role.OFFICIAL, Role.SIGNER, Role.ADMIN)
    assert Role.CITIZEN not in STAFF_ROLES and "clerk" in STAFF_ROLES
    assert OPEN_HANDLING == (Handling.RECEIVED, Handling.ASSIGNED, Handling.IN_PROGRESS)
    assert Handling.DONE not in OPEN_HANDLING and Handling.RECALLED not in OPEN_HANDLING


def test_a_value_from_outside_becomes_its_member_or_invalid_input():
    assert validation.one_of("in_progress", Handling, "status") is Handling.IN_PROGRESS
    for wrong in ("IN_PROGRESS", "finished", "", None, 3, ["done"]):
        with pytest.raises(InvalidInput, match="status must be one of received, assigned, in_progress, done") as refused:
            validation.one_of(wrong, Handling, "status")
        assert (refused.value.code, refused.value.http_status) == ("invalid_input", 400)


@pytest.fixture
def session():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        yield session
    engine.dispose()


def test_the_database_gives_back_members_and_refuses_strangers(session):
    agency = Agency(code="UBND-XA", name="UBND xã")
    session.add(agency)
    session.flush()
    session.add(Document(agency_id=agency.id, title="Công văn", status="ready", handling_status=Handling.ASSIGNED))
    session.commit()
    session.expire_all()

    document = session.scalar(select(Document))
    assert document.status is DocumentStatus.READY and document.handling_status is Handling.ASSIGNED
    assert document.kind is DocumentKind.UPLOAD and document.workflow_status is None
    assert agency.level is AgencyLevel.OTHER
    assert session.scalars(select(Document.title).where(Document.status.in_(["ready", DocumentStatus.FAILED]))).all() \
        == ["Công văn"]

    document.status = "done"  # a Handling value, not a DocumentStatus
    with pytest.raises(StatementError, match="'done' is not a valid DocumentStatus"):
        session.flush()
    session.rollback()
    # Code that would look up a state no row can hold is a fault too, not an empty answer.
    with pytest.raises(StatementError, match="'finished' is not a valid DocumentStatus"):
        session.scalar(select(Document).where(Document.status == "finished"))
