"""e-copies record what the certification book asks: requester, the original,
the book, the certifier, pages, copies, procedure dossier code, fee

Revision ID: 0010_ecopy_record
Revises: 0009_exchange
Create Date: 2026-12-02 09:00:00

E-copies issued before this revision keep NULL in these columns (nothing
was recorded then); the certification book shows them blank.
"""
import sqlalchemy as sa
from alembic import op

revision = '0010_ecopy_record'
down_revision = '0009_exchange'
branch_labels = None
depends_on = None

COLUMNS = (
    ('requester_name', sa.String(length=255)),
    ('original_title', sa.String(length=500)),
    ('original_issuer', sa.String(length=255)),
    ('original_number', sa.String(length=128)),
    ('original_date', sa.Date()),
    ('book_number', sa.Integer()),
    ('certifier_name', sa.String(length=255)),
    ('certifier_title', sa.String(length=255)),
    ('page_count', sa.Integer()),
    ('copies', sa.Integer()),
    ('dossier_code', sa.String(length=64)),
    ('fee', sa.Integer()),
)


def upgrade() -> None:
    with op.batch_alter_table('ecopies') as batch:
        for name, type_ in COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('ecopies') as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
