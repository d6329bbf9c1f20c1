"""round states: each round's sign-up dates, apart from its running dates

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 22:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('round', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signups_from', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('signups_until', sa.Date(), nullable=True))
    # rounds so far took sign-ups from the day they were opened until they were closed
    opened_day = "date(opened_at)" if op.get_bind().dialect.name == "sqlite" else "CAST(opened_at AS DATE)"
    op.execute(f'UPDATE "round" SET signups_from = {opened_day}, signups_until = ends_on')


def downgrade() -> None:
    with op.batch_alter_table('round', schema=None) as batch_op:
        batch_op.drop_column('signups_until')
        batch_op.drop_column('signups_from')
