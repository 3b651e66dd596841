"""First start of an empty installation: one agency and one administrator, so
that the service is usable straight after the README's first command."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from sqlalchemy import func, select

from docsvc import accounts
from docsvc.models import Agency, Role, User
from docsvc.runtime import Runtime

DEFAULT_AGENCY = ("UBND-XA", "Ủy ban nhân dân xã (mặc định)", "commune")


def bootstrap(rt: Runtime) -> str | None:
    """Create the default agency and admin if there are none.

    Returns the new admin password (also written, readable by the owner only,
    to data_dir/admin-password.txt), or None if there was already an admin.
    """
    with rt.write() as session:
        if session.scalar(select(func.count()).select_from(Agency)) == 0:
            code, name, level = DEFAULT_AGENCY
            accounts.add_agency(session, code, name, level=level)
        if session.scalar(select(func.count()).select_from(User).where(User.role == Role.ADMIN)):
            return None
        password = secrets.token_urlsafe(12)
        agency = session.scalar(select(Agency).order_by(Agency.id))
        accounts.add_user(session, "admin", password, Role.ADMIN, agency_code=agency.code, full_name="Quản trị viên")
    path = Path(rt.settings.data_dir) / "admin-password.txt"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(password + "\n")
    return password
