"""roles granted ahead of time to platform accounts the bot has not met yet

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 23:00:00
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
import storage.tables


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'pending_role',
        sa.Column('platform', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('account', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('role', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('granted_by', sa.Integer(), nullable=True),
        sa.Column('granted_at', storage.tables.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['granted_by'], ['member.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('platform', 'account', 'role'),
    )


def downgrade() -> None:
    op.drop_table('pending_role')
