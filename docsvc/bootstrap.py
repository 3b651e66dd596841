"""First start of an empty installation: one agency and one administrator, so
that the service is usable straight after the README's first command."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from sqlalchemy import func, select

from docsvc import accounts
from docsvc.config import Settings
from docsvc.models import Agency, Role, User
from docsvc.runtime import Runtime

DEFAULT_AGENCY = ("UBND-XA", "Ủy ban nhân dân xã (mặc định)", "commune")
PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600


def secure_data_dir(settings: Settings) -> None:
    """The data folder holds citizens' files, the database, the secret key and
    the development keys: only the service's own account may enter it, also
    when it was made earlier with a looser mode."""
    path = Path(settings.data_dir)
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    if path.stat().st_uid == os.getuid():  # never take over someone else's folder
        path.chmod(PRIVATE_DIR)


def bootstrap(rt: Runtime) -> str | None:
    """Create the default agency and admin if there are none.

    Returns the new admin password (also written, readable by the owner only,
    to data_dir/admin-password.txt), or None if there was already an admin.
    """
    secure_data_dir(rt.settings)
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
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    os.fchmod(fd, PRIVATE_FILE)  # an older file keeps its mode through O_TRUNC
    with os.fdopen(fd, "w") as handle:
        handle.write(password + "\n")
    return password
