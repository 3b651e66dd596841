"""edXML exchange: packages sent through the outbox, the statuses each
recipient reports, the token this installation presents to each peer

Revision ID: 0011_exchange_status
Revises: 0010_ecopy_record
Create Date: 2026-12-02 16:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0011_exchange_status'
down_revision = '0010_ecopy_record'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('exchange_peers') as batch:
        batch.add_column(sa.Column('send_token', sa.Text(), nullable=True))
    with op.batch_alter_table('exchange_messages') as batch:
        batch.add_column(sa.Column('package_key', sa.String(length=255), nullable=True))
        batch.add_column(sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('delivery_error', sa.Text(), nullable=False, server_default=''))
    op.create_table(
        'exchange_statuses',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=2), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('staff', sa.String(length=255), nullable=False),
        sa.Column('stated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['message_id'], ['exchange_messages.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_exchange_statuses_message_id', 'exchange_statuses', ['message_id'])


def downgrade() -> None:
    op.drop_index('ix_exchange_statuses_message_id', table_name='exchange_statuses')
    op.drop_table('exchange_statuses')
    with op.batch_alter_table('exchange_messages') as batch:
        for column in ('delivery_error', 'delivered_at', 'package_key'):
            batch.drop_column(column)
    with op.batch_alter_table('exchange_peers') as batch:
        batch.drop_column('send_token')
