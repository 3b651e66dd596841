"""Who may do what, as docsvc.permissions says it to services and pages: each
`may_*` a page asks agrees with the `require_*` its service enforces, and the
roles are the ones the agencies work with (the văn thư routes and issues, a
leader routes and signs, a citizen does none of the staff's work)."""
from __future__ import annotations

import pytest

from docsvc import permissions
from docsvc.errors import Forbidden
from docsvc.models import Document, Role, User, Workflow

PAIRS = [
    (permissions.may_route, permissions.require_router),
    (permissions.may_issue, permissions.require_issuer),
    (permissions.may_issue_ecopy, permissions.require_ecopy_issuer),
]


def person(role: Role, user_id: int = 7, agency_id: int | None = 1) -> User:
    return User(id=user_id, username=f"{role}-{user_id}", role=role, agency_id=agency_id)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize(("may", "require"), PAIRS, ids=lambda f: f.__name__)
def test_a_page_offers_exactly_what_the_service_allows(role, may, require):
    user = person(role)
    if may(user):
        require(user)
    else:
        with pytest.raises(Forbidden):
            require(user)


def test_the_roles_of_the_agencies():
    clerk, leader, signer, citizen = (person(r) for r in (Role.CLERK, Role.OFFICIAL, Role.SIGNER, Role.CITIZEN))
    draft = Document(agency_id=1, created_by_id=clerk.id)
    assert permissions.may_route(clerk) and permissions.may_issue(clerk)
    assert permissions.may_route(leader) and not permissions.may_issue(leader)
    assert permissions.may_be_signer(leader, draft) and not permissions.may_be_signer(clerk, draft)
    assert not permissions.may_be_signer(person(Role.OFFICIAL, agency_id=2), draft)  # another agency's leader
    assert permissions.may_issue(signer) and not permissions.may_route(signer)
    assert not any(may(citizen) for may, _ in PAIRS)
    assert permissions.visible_agency_ids(citizen) == frozenset()


def test_only_the_drafter_submits_and_only_the_chosen_leader_signs():
    drafter, leader, other_leader = person(Role.CLERK, 1), person(Role.OFFICIAL, 2), person(Role.OFFICIAL, 3)
    document = Document(agency_id=1, created_by_id=drafter.id, approver_id=leader.id, workflow_status=Workflow.SUBMITTED)
    assert permissions.may_submit(drafter, document) and not permissions.may_submit(leader, document)
    assert permissions.may_sign(leader, document) and not permissions.may_sign(other_leader, document)
    document.workflow_status = Workflow.SIGNED
    assert not permissions.may_sign(leader, document)  # signed once, not twice
