"""Alembic environment: the database URL comes from the caller (docsvc db upgrade)."""
from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from docsvc.column_types import UtcDateTime, Vocabulary
from docsvc.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _render_item(kind: str, obj, autogen_context):
    """A generated migration names the stored type (VARCHAR, TIMESTAMP WITH
    TIME ZONE), not docsvc's column types, so it never imports docsvc."""
    if kind == "type" and isinstance(obj, (UtcDateTime, Vocabulary)):
        return f"sa.{obj.impl!r}"
    return False


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place: batch mode copies tables.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
