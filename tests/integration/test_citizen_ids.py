"""A citizen's e-copies are matched on their citizen ID, so the ID is checked
(the 12 digits of a CCCD) wherever it enters, and one ID is one account: a
second account with the same ID would see the first citizen's e-copies."""
from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from docsvc import migrate
from docsvc.models import User
from docsvc.runtime import Runtime

CITIZEN = "001203004567"
PW = {"PW": "mat-khau-cong-dan-2026"}


@contextmanager
def _runtime(backend):
    rt = Runtime(backend.settings())
    try:
        yield rt
    finally:
        rt.close()


def _add_citizen(backend, username: str, citizen_id: str):
    return backend.run("user", "add", username, "--role", "citizen", "--citizen-id", citizen_id,
                       "--password-env", "PW", extra_env=PW)


def _one_line(result, code: str) -> None:
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("docsvc: error: ") and line.endswith(f"({code})"), line


def test_a_second_account_with_the_same_citizen_id_is_refused(backend):
    backend.run("db", "upgrade", check=True)
    assert _add_citizen(backend, "cong-dan", CITIZEN).returncode == 0
    _one_line(_add_citizen(backend, "ke-mao-danh", CITIZEN), "citizen_id_taken")
    # Written with the spaces of the card's groups, it is still the same ID.
    _one_line(_add_citizen(backend, "ke-mao-danh", "001 203 004 567"), "citizen_id_taken")
    with _runtime(backend) as rt, rt.read() as session:
        assert list(session.scalars(select(User.username).where(User.citizen_id == CITIZEN))) == ["cong-dan"]
        assert session.scalar(select(User).where(User.username == "ke-mao-danh")) is None


@pytest.mark.parametrize("citizen_id", [
    "123456789",  # a 9-digit CMND: no longer valid since 2025
    "00120300456",  # 11 digits
    "0012030045678",
    "00120300456A",
    "٠٠١٢٠٣٠٠٤٥٦٧",  # Arabic-Indic digits: Python's \d matched them
    "001203004567\x00",
])
def test_a_citizen_id_must_be_the_12_digits_of_a_cccd(backend, citizen_id):
    backend.run("db", "upgrade", check=True)
    if "\x00" in citizen_id:  # no command line can carry a NUL; the service is asked directly
        with _runtime(backend) as rt, pytest.raises(Exception) as raised, rt.write() as session:
            from docsvc import accounts

            accounts.add_user(session, "cong-dan", "mat-khau-cong-dan-2026", "citizen", citizen_id=citizen_id)
        assert getattr(raised.value, "code", None) == "invalid_citizen_id"
        return
    _one_line(_add_citizen(backend, "cong-dan", citizen_id), "invalid_citizen_id")


def test_staff_accounts_carry_no_citizen_id(backend):
    backend.run("db", "upgrade", check=True)
    result = backend.run("user", "add", "van-thu", "--role", "clerk", "--agency", "UBND-XA", "--citizen-id", CITIZEN,
                         "--password-env", "PW", extra_env=PW)
    _one_line(result, "invalid_input")


def test_an_ecopy_is_issued_only_to_a_valid_citizen_id(rt, clerk):
    for citizen_id in ("123456789", "abc", "", "0" * 13):
        response = clerk.post("/api/v1/ecopies", json={"document_id": "x", "citizen_id": citizen_id,
                                                        "passphrase": "docsvc-dev"})
        assert response.status_code == 400 and response.get_json()["code"] == "invalid_citizen_id", response.get_json()


def test_the_migration_keeps_the_oldest_account_of_a_duplicated_id(backend):
    """An installation from before the unique index, with two accounts sharing
    an ID: after the upgrade the first keeps it, the later one has none (and
    sees no e-copies), and the database itself refuses a new duplicate."""
    with _runtime(backend) as rt:
        migrate.upgrade(rt.engine, "0005")
        with rt.engine.begin() as connection:
            for username, citizen_id in [("cong-dan", CITIZEN), ("ke-mao-danh", CITIZEN), ("khac", "079099001122"),
                                         ("can-bo", ""), ("can-bo-2", "")]:
                connection.execute(text(
                    "INSERT INTO users (username, full_name, password_hash, role, citizen_id, department, active, "
                    "created_at) VALUES (:u, '', 'x', 'citizen', :c, '', :t, CURRENT_TIMESTAMP)"),
                    {"u": username, "c": citizen_id, "t": True})
        migrate.upgrade(rt.engine)
        with rt.read() as session:
            held = dict(session.execute(select(User.username, User.citizen_id)).all())
        assert held == {"cong-dan": CITIZEN, "ke-mao-danh": None, "khac": "079099001122", "can-bo": None,
                        "can-bo-2": None}
        with pytest.raises(IntegrityError), rt.engine.begin() as connection:
            connection.execute(text("UPDATE users SET citizen_id = :c WHERE username = 'ke-mao-danh'"), {"c": CITIZEN})
