"""e-copies, share links and their accesses

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 17:15:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'ecopies',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('document_id', sa.String(length=36), nullable=False),
        sa.Column('code', sa.String(length=32), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('citizen_id', sa.String(length=32), nullable=False),
        sa.Column('agency_id', sa.Integer(), nullable=False),
        sa.Column('source_document_id', sa.String(length=36), nullable=True),
        sa.Column('certification_number', sa.String(length=64), nullable=True),
        sa.Column('signed_sha256', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('status_reason', sa.Text(), nullable=False),
        sa.Column('superseded_by', sa.String(length=32), nullable=True),
        sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('issued_by_id', sa.Integer(), nullable=True),
        sa.Column('status_changed_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], ),
        sa.ForeignKeyConstraint(['document_id'], ['documents.id'], ),
        sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('code'),
        sa.UniqueConstraint('document_id'),
    )
    op.create_index('ix_ecopies_citizen_id', 'ecopies', ['citizen_id'])
    op.create_index('ix_ecopies_signed_sha256', 'ecopies', ['signed_sha256'])
    op.create_table(
        'share_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ecopy_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('recipient', sa.String(length=255), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('max_uses', sa.Integer(), nullable=False),
        sa.Column('uses', sa.Integer(), nullable=False),
        sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], ),
        sa.ForeignKeyConstraint(['ecopy_id'], ['ecopies.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    op.create_index('ix_share_links_ecopy_id', 'share_links', ['ecopy_id'])
    op.create_table(
        'share_accesses',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('share_id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('client', sa.String(length=64), nullable=False),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(['share_id'], ['share_links.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_share_accesses_share_id', 'share_accesses', ['share_id'])


def downgrade() -> None:
    op.drop_index('ix_share_accesses_share_id', table_name='share_accesses')
    op.drop_table('share_accesses')
    op.drop_index('ix_share_links_ecopy_id', table_name='share_links')
    op.drop_table('share_links')
    op.drop_index('ix_ecopies_signed_sha256', table_name='ecopies')
    op.drop_index('ix_ecopies_citizen_id', table_name='ecopies')
    op.drop_table('ecopies')
