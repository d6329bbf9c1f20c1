"""Alembic environment: runs on the connection the bot opened (see storage.db.upgrade)."""

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
    )
    with context.begin_transaction():
        context.run_migrations()


run()
