"""timezones stored before names were canonicalised (``NZ``, ``US/Pacific``) become the canonical
IANA names (``Pacific/Auckland``, ``America/Los_Angeles``), in members and in check-in plans alike,
so a plan is not taken for one computed in another zone

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 17:30:00
"""

from alembic import op
import sqlalchemy as sa
from babel.core import get_global


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

UTC_NAMES = {"utc", "gmt", "z", "zulu", "etc/utc", "universal"}


def canonical(name: str) -> str:
    """The same rule as chatbot.features.zones.canonical, kept here as it was when this ran."""
    if name.lower() in UTC_NAMES:
        return "UTC"
    return get_global("zone_aliases").get(name, name)


def upgrade() -> None:
    conn = op.get_bind()
    for table, column in (("member", "timezone"), ("checkin_plan", "tz")):
        stored = [row[0] for row in conn.execute(sa.text(f"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL"))]
        for name in stored:
            if canonical(name) != name:
                conn.execute(sa.text(f"UPDATE {table} SET {column} = :new WHERE {column} = :old"), {"new": canonical(name), "old": name})


def downgrade() -> None:
    pass  # the old names meant the same zones; nothing to undo
