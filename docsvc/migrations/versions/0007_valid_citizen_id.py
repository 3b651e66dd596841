"""one account per citizen ID: a unique index on users.citizen_id

Citizens' e-copies are matched on users.citizen_id, so two accounts with the
same ID both saw that citizen's e-copies. Existing duplicates: the oldest
account (the lowest id, the first to be registered) keeps the ID; the later
ones lose it (NULL) and so see no e-copies until an administrator has
checked who they are. Their usernames are logged as a warning. Blank IDs
become NULL (staff have none; NULLs never collide in a unique index on
SQLite or PostgreSQL).

Revision ID: 0007_valid
Revises: 0006_auth
Create Date: 2026-12-01 08:30:00
"""
import logging

import sqlalchemy as sa
from alembic import op

revision = '0007_valid'
down_revision = '0006_auth'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    connection = op.get_bind()
    connection.execute(sa.text("UPDATE users SET citizen_id = NULL WHERE TRIM(citizen_id) = ''"))
    later = connection.execute(sa.text(
        "SELECT u.id, u.username, u.citizen_id FROM users AS u WHERE u.citizen_id IS NOT NULL AND EXISTS "
        "(SELECT 1 FROM users AS first WHERE first.citizen_id = u.citizen_id AND first.id < u.id) ORDER BY u.id"
    )).all()
    for user_id, _username, _citizen_id in later:
        connection.execute(sa.text("UPDATE users SET citizen_id = NULL WHERE id = :id"), {"id": user_id})
    if later:
        log.warning("citizen IDs held by more than one account: kept by the oldest account, removed from %s",
                    ", ".join(username for _, username, _ in later))
    with op.batch_alter_table('users') as batch:
        batch.create_index(batch.f('ix_users_citizen_id'), ['citizen_id'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.drop_index(batch.f('ix_users_citizen_id'))
