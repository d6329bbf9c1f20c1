"""Alembic environment: runs on the connection the bot opened (see storage.db.upgrade).

That connection is already inside a transaction holding the migration lock (storage.db says why),
so alembic must not begin or commit one of its own: with a connection in a transaction,
``begin_transaction()`` nests nothing, and ``transaction_per_migration=False`` keeps it from
committing after each migration (which would let a waiting process in half-way through)."""

from alembic import context
from sqlmodel import SQLModel

# Importing the repositories imports every table module, registering them on SQLModel.metadata.
import storage.repos  # noqa: F401

target_metadata = SQLModel.metadata


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:  # the `alembic` command line, for writing new revisions
        from sqlalchemy import create_engine

        url = context.config.get_main_option("sqlalchemy.url") or "sqlite:///mentorbot.db"
        with create_engine(url).connect() as conn:
            _migrate(conn)
    else:
        _migrate(connection)


def _migrate(connection) -> None:  # noqa: ANN001
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode rebuilds the table
        compare_type=True,
        transaction_per_migration=False,  # one transaction for the whole upgrade, never one each
    )
    with context.begin_transaction():
        context.run_migrations()


run()
