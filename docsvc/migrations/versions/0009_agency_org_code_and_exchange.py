"""agencies' organization codes; edXML peers and the packages exchanged

Revision ID: 0009_exchange
Revises: 0008_records
Create Date: 2026-12-03 09:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0009_exchange'
down_revision = '0008_records'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('agencies') as batch:
        batch.add_column(sa.Column('org_code', sa.String(length=35), nullable=True))
        batch.add_column(sa.Column('address', sa.String(length=255), nullable=False, server_default=''))
        batch.add_column(sa.Column('email', sa.String(length=128), nullable=False, server_default=''))
        batch.add_column(sa.Column('telephone', sa.String(length=64), nullable=False, server_default=''))
        batch.add_column(sa.Column('place', sa.String(length=128), nullable=False, server_default=''))
        batch.create_unique_constraint('uq_agencies_org_code', ['org_code'])
    op.create_table(
        'exchange_peers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('org_code', sa.String(length=35), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('url', sa.String(length=500), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('org_code'),
        sa.UniqueConstraint('token_hash'),
    )
    op.create_table(
        'exchange_messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('direction', sa.String(length=16), nullable=False),
        sa.Column('document_id', sa.String(length=36), nullable=False),
        sa.Column('edxml_document_id', sa.String(length=255), nullable=False),
        sa.Column('from_org', sa.String(length=35), nullable=False),
        sa.Column('to_org', sa.String(length=35), nullable=False),
        sa.Column('business_type', sa.Integer(), nullable=False),
        sa.Column('status_code', sa.String(length=2), nullable=True),
        sa.Column('status_description', sa.Text(), nullable=False),
        sa.Column('status_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['document_id'], ['documents.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('direction', 'edxml_document_id', 'from_org', 'to_org', name='uq_exchange_message'),
    )
    op.create_index('ix_exchange_messages_document_id', 'exchange_messages', ['document_id'])
    op.create_index('ix_exchange_messages_edxml_document_id', 'exchange_messages', ['edxml_document_id'])


def downgrade() -> None:
    op.drop_index('ix_exchange_messages_edxml_document_id', table_name='exchange_messages')
    op.drop_index('ix_exchange_messages_document_id', table_name='exchange_messages')
    op.drop_table('exchange_messages')
    op.drop_table('exchange_peers')
    with op.batch_alter_table('agencies') as batch:
        batch.drop_constraint('uq_agencies_org_code', type_='unique')
        for column in ('place', 'telephone', 'email', 'address', 'org_code'):
            batch.drop_column(column)
