"""Who may do what: the roles each action is open to, and the checks that
services and pages share.

A service calls `require_*` (Forbidden, saying who may); a page asks the
matching `may_*` to offer the button or not. Both read the same rule here,
so a page never offers what its service refuses. The rules of one room that
need that room's state (a document's workflow step, a register) stay with
it and use these for the "who".
"""
from __future__ import annotations

from docsvc.errors import Forbidden
from docsvc.models import STAFF_ROLES, Document, Role, User, Workflow

__all__ = [
    "ECOPY_ISSUERS", "ISSUERS", "ROUTERS", "SIGNERS", "STAFF_ROLES", "can_see_agency", "is_admin", "is_handler",
    "may_be_signer", "may_issue", "may_issue_ecopy", "may_move_handling", "may_route", "may_sign", "may_submit",
    "require_ecopy_issuer", "require_issuer", "require_router", "require_staff", "visible_agency_ids",
]

# Agency staff (STAFF_ROLES, beside the Role vocabulary in models): everyone
# but citizens.
# Who registers and routes incoming paperwork: the văn thư / one-stop clerk,
# leaders (who often re-assign) and administrators.
ROUTERS = (Role.CLERK, Role.OFFICIAL, Role.ADMIN)
# Who may be chosen to sign an outgoing draft: the agency's leaders.
SIGNERS = (Role.OFFICIAL, Role.ADMIN)
# Who numbers, seals and issues a signed outgoing document.
ISSUERS = (Role.CLERK, Role.SIGNER, Role.ADMIN)
# Who issues a citizen's e-copy: any staff member.
ECOPY_ISSUERS = STAFF_ROLES


def is_admin(user: User) -> bool:
    return user.role == Role.ADMIN


def require_staff(user: User) -> None:
    if user.role not in STAFF_ROLES:
        raise Forbidden("Only agency staff can do this.")


def visible_agency_ids(user: User) -> frozenset[int] | None:
    """The agencies whose documents the user may see; None means all of them.

    Staff see their own agency's documents; citizens see no agency documents
    (their e-copies are granted to them one by one).
    """
    if user.role == Role.ADMIN:
        return None
    if user.role in STAFF_ROLES and user.agency_id is not None:
        return frozenset({user.agency_id})
    return frozenset()


def can_see_agency(user: User, agency_id: int) -> bool:
    allowed = visible_agency_ids(user)
    return allowed is None or agency_id in allowed


# --- incoming ----------------------------------------------------------------------


def may_route(user: User) -> bool:
    return user.role in ROUTERS


def require_router(user: User) -> None:
    require_staff(user)
    if not may_route(user):
        raise Forbidden("Only clerks, leaders and administrators register and assign incoming documents.")


def is_handler(user: User, document: Document) -> bool:
    """The person the document is assigned to, or one of the department it is."""
    if document.assignee_id is not None and document.assignee_id == user.id:
        return True
    return bool(
        document.assignee_department
        and user.department
        and user.agency_id == document.agency_id
        and document.assignee_department.casefold() == user.department.casefold()
    )


def may_move_handling(user: User, document: Document) -> bool:
    # Leaders re-assign rather than report someone else's progress; an
    # administrator may correct a status left wrong.
    return is_handler(user, document) or is_admin(user)


# --- outgoing ----------------------------------------------------------------------


def may_submit(user: User, document: Document) -> bool:
    """The one rule: the drafter, and only the drafter, submits their draft."""
    return document.created_by_id is not None and document.created_by_id == user.id


def may_be_signer(user: User | None, document: Document) -> bool:
    """Whether this user may be the leader a draft is submitted to."""
    return user is not None and user.agency_id == document.agency_id and user.role in SIGNERS


def may_sign(user: User, document: Document) -> bool:
    """Only the leader it was submitted to signs a document, and only while it waits for them."""
    return document.workflow_status == Workflow.SUBMITTED and document.approver_id == user.id


def may_issue(user: User) -> bool:
    return user.role in ISSUERS


def require_issuer(user: User) -> None:
    require_staff(user)
    if not may_issue(user):
        raise Forbidden("The văn thư (clerk) or the agency's signer issues documents.")


# --- e-copies ----------------------------------------------------------------------


def may_issue_ecopy(user: User) -> bool:
    return user.role in ECOPY_ISSUERS


def require_ecopy_issuer(user: User) -> None:
    require_staff(user)  # ECOPY_ISSUERS are the staff
