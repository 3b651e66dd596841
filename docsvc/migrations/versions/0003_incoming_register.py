"""incoming register and handling

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 16:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('department', sa.String(length=128), nullable=False, server_default=''))
    # batch mode: SQLite cannot add foreign keys or unique constraints in place.
    with op.batch_alter_table('documents') as batch:
        batch.add_column(sa.Column('doc_type', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('suggestions', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('register_book', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('register_year', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('register_number', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('registered_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('registered_by_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('handling_status', sa.String(length=16), nullable=True))
        batch.add_column(sa.Column('assignee_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('assignee_department', sa.String(length=128), nullable=True))
        batch.add_column(sa.Column('deadline', sa.Date(), nullable=True))
        batch.add_column(sa.Column('handled_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('handling_note', sa.Text(), nullable=False, server_default=''))
        batch.create_foreign_key('fk_documents_registered_by', 'users', ['registered_by_id'], ['id'])
        batch.create_foreign_key('fk_documents_assignee', 'users', ['assignee_id'], ['id'])
        batch.create_unique_constraint(
            'uq_document_register', ['agency_id', 'register_book', 'register_year', 'register_number']
        )
        batch.create_index('ix_documents_handling_status', ['handling_status'])
        batch.create_index('ix_documents_assignee_id', ['assignee_id'])


def downgrade() -> None:
    with op.batch_alter_table('documents') as batch:
        batch.drop_index('ix_documents_assignee_id')
        batch.drop_index('ix_documents_handling_status')
        batch.drop_constraint('uq_document_register', type_='unique')
        batch.drop_constraint('fk_documents_assignee', type_='foreignkey')
        batch.drop_constraint('fk_documents_registered_by', type_='foreignkey')
        for column in ('handling_note', 'handled_at', 'deadline', 'assignee_department', 'assignee_id',
                       'handling_status', 'registered_by_id', 'registered_at', 'register_number',
                       'register_year', 'register_book', 'suggestions', 'doc_type'):
            batch.drop_column(column)
    with op.batch_alter_table('users') as batch:
        batch.drop_column('department')
