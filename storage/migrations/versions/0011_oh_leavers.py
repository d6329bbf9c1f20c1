"""office hours: when and how a person in line left (their place is kept for a grace period)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 17:40:00
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
import storage.tables


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('oh_entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('left_at', storage.tables.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('left_how', sqlmodel.sql.sqltypes.AutoString(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('oh_entry', schema=None) as batch_op:
        batch_op.drop_column('left_how')
        batch_op.drop_column('left_at')
