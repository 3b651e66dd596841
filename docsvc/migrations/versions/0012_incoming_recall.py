"""The incoming register: a received document its sender recalled, and the
receiver agreed to give back, is kept in the book as recalled (who, when,
the sender's reason)

Revision ID: 0012_incoming_recall
Revises: 0011_exchange_status
Create Date: 2026-12-03 09:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0012_incoming_recall'
down_revision = '0011_exchange_status'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('documents') as batch:
        batch.add_column(sa.Column('recalled_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('recalled_by_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('recall_reason', sa.Text(), nullable=False, server_default=''))
        batch.create_foreign_key('fk_documents_recalled_by', 'users', ['recalled_by_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('documents') as batch:
        batch.drop_constraint('fk_documents_recalled_by', type_='foreignkey')
        for column in ('recall_reason', 'recalled_by_id', 'recalled_at'):
            batch.drop_column(column)
