"""outgoing workflow and signing credentials

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 17:05:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('agencies') as batch:
        batch.add_column(sa.Column('symbol', sa.String(length=32), nullable=False, server_default=''))
    with op.batch_alter_table('documents') as batch:
        batch.add_column(sa.Column('workflow_status', sa.String(length=16), nullable=True))
        batch.add_column(sa.Column('approver_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('signature_position', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('recipients', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('workflow_note', sa.Text(), nullable=False, server_default=''))
        batch.add_column(sa.Column('signed_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('issued_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('source_document_id', sa.String(length=36), nullable=True))
        batch.add_column(sa.Column('archive_due_at', sa.DateTime(timezone=True), nullable=True))
        batch.create_index('ix_documents_archive_due_at', ['archive_due_at'])
        batch.create_foreign_key('fk_documents_approver', 'users', ['approver_id'], ['id'])
        batch.create_index('ix_documents_workflow_status', ['workflow_status'])
        batch.create_index('ix_documents_approver_id', ['approver_id'])
    op.create_table(
        'signing_credentials',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('owner_type', sa.String(length=16), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('location', sa.String(length=500), nullable=False),
        sa.Column('token_label', sa.String(length=128), nullable=False),
        sa.Column('key_label', sa.String(length=128), nullable=False),
        sa.Column('image_key', sa.String(length=128), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('owner_type', 'owner_id', name='uq_signing_credential_owner'),
    )
    op.create_table(
        'signing_jobs',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('done', sa.Integer(), nullable=False),
        sa.Column('failed', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('results', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade() -> None:
    op.drop_table('signing_jobs')
    op.drop_table('signing_credentials')
    with op.batch_alter_table('documents') as batch:
        batch.drop_index('ix_documents_archive_due_at')
        batch.drop_index('ix_documents_approver_id')
        batch.drop_index('ix_documents_workflow_status')
        batch.drop_constraint('fk_documents_approver', type_='foreignkey')
        for column in ('archive_due_at', 'source_document_id', 'issued_at', 'signed_at', 'workflow_note', 'recipients',
                       'signature_position', 'approver_id', 'workflow_status'):
            batch.drop_column(column)
    with op.batch_alter_table('agencies') as batch:
        batch.drop_column('symbol')
