"""identity undeliverable

Revision ID: 0007
Revises: 0003
Create Date: 2026-11-23 09:40:00
"""

from alembic import op
import sqlalchemy as sa
import storage.tables


revision = '0007'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('identity', schema=None) as batch_op:
        batch_op.add_column(sa.Column('undeliverable_since', storage.tables.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('identity', schema=None) as batch_op:
        batch_op.drop_column('undeliverable_since')
