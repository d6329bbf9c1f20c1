"""interviews put aside with !later, kept with their answers until resumed

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-10 12:00:00
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
import storage.tables


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'aside_interview',
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('flow', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('step', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('platform', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('put_aside_at', storage.tables.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['member_id'], ['member.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('member_id', 'flow'),
    )


def downgrade() -> None:
    op.drop_table('aside_interview')
