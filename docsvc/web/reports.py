"""What the report pages and their API routes share (the incoming report,
the reform figures): the agency a query string asks for, the agencies an
administrator may choose from, and an export's format checked against the
ones a report offers. Who may read which agency is `accounts.reported_agency`."""
from __future__ import annotations

from collections.abc import Collection

from flask import request
from sqlalchemy import select

from docsvc import permissions, validation
from docsvc.errors import DocsvcError, InvalidInput
from docsvc.models import Agency, User
from docsvc.web.context import runtime


def agency_arg() -> int | None:
    """?agency_id=, checked; None asks for the user's own agency."""
    return validation.whole_number(request.args.get("agency_id"), "agency_id", 1, validation.MAX_ID)


def safe_agency_arg() -> int | None:
    """The agency a page's form shows as chosen, when the report itself was refused."""
    try:
        return agency_arg()
    except DocsvcError:
        return None


def agency_choices(user: User) -> list[tuple[int, str]]:
    """(id, name) of every agency for an administrator; staff report on their own, so none to choose."""
    if not permissions.is_admin(user):
        return []
    with runtime().read() as db:
        return [(a.id, a.name) for a in db.scalars(select(Agency).order_by(Agency.name))]


def export_format(formats: Collection[str]) -> str:
    """?format=: json (the default) or one of a report's export formats."""
    extension = request.args.get("format", "json")
    if extension != "json" and extension not in formats:
        raise InvalidInput(f"format must be json, {', '.join(formats)}.")
    return extension
