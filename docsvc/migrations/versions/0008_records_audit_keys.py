"""audit log: a sequence number and a keyed MAC per event, the head's MAC

Revision ID: 0008_records
Revises: 0007_valid
Create Date: 2026-12-01 08:15:00

Events written before this revision have no MAC (the key did not exist):
`docsvc audit verify` says so until an administrator, who holds the key,
runs `docsvc audit seal` once. Never automatic: a seal applied at start
would also bless events someone rewrote in the database meanwhile.
"""
import sqlalchemy as sa
from alembic import op

revision = '0008_records'
down_revision = '0007_valid'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_events') as batch:
        batch.add_column(sa.Column('seq', sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column('mac', sa.String(length=64), nullable=True))
    with op.batch_alter_table('audit_head') as batch:
        batch.add_column(sa.Column('seq', sa.BigInteger(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('mac', sa.String(length=64), nullable=True))
    # Number the existing events in their order (UPDATE … FROM: PostgreSQL,
    # and SQLite since 3.33), in one statement rather than one per row.
    op.execute(
        "UPDATE audit_events SET seq = numbered.n FROM "
        "(SELECT id, row_number() OVER (ORDER BY id) AS n FROM audit_events) AS numbered "
        "WHERE audit_events.id = numbered.id"
    )
    op.execute("UPDATE audit_head SET seq = (SELECT COUNT(*) FROM audit_events)")
    op.create_index('ix_audit_events_seq', 'audit_events', ['seq'], unique=True)


def downgrade() -> None:
    op.drop_index('ix_audit_events_seq', table_name='audit_events')
    with op.batch_alter_table('audit_head') as batch:
        batch.drop_column('mac')
        batch.drop_column('seq')
    with op.batch_alter_table('audit_events') as batch:
        batch.drop_column('mac')
        batch.drop_column('seq')
