"""checkins

Revision ID: 0006
Revises: 0007
Create Date: 2026-11-23 09:05:33.015791
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
import storage.tables


revision = '0006'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('checkin',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mentee_id', sa.Integer(), nullable=False),
    sa.Column('due_at', storage.tables.UTCDateTime(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('questions', sa.JSON(), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('blocker', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('original', sa.JSON(), nullable=True),
    sa.Column('prompted_at', storage.tables.UTCDateTime(), nullable=True),
    sa.Column('reminded_at', storage.tables.UTCDateTime(), nullable=True),
    sa.Column('answered_at', storage.tables.UTCDateTime(), nullable=True),
    sa.Column('edited_at', storage.tables.UTCDateTime(), nullable=True),
    sa.Column('closed_at', storage.tables.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['mentee_id'], ['member.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('mentee_id', 'due_at')
    )
    with op.batch_alter_table('checkin', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkin_answered_at'), ['answered_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_checkin_mentee_id'), ['mentee_id'], unique=False)
        batch_op.create_index('ix_checkin_reminder', ['status', 'reminded_at', 'prompted_at'], unique=False)

    op.create_table('checkin_digest',
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('next_at', storage.tables.UTCDateTime(), nullable=False),
    sa.Column('since', storage.tables.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('member_id')
    )
    with op.batch_alter_table('checkin_digest', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkin_digest_next_at'), ['next_at'], unique=False)

    op.create_table('checkin_plan',
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('schedule', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('basis', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('tz', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('next_due_at', storage.tables.UTCDateTime(), nullable=False),
    sa.Column('misses_in_row', sa.Integer(), nullable=False),
    sa.Column('created_at', storage.tables.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('member_id')
    )
    with op.batch_alter_table('checkin_plan', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkin_plan_next_due_at'), ['next_due_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('checkin_plan', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkin_plan_next_due_at'))

    op.drop_table('checkin_plan')
    with op.batch_alter_table('checkin_digest', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkin_digest_next_at'))

    op.drop_table('checkin_digest')
    with op.batch_alter_table('checkin', schema=None) as batch_op:
        batch_op.drop_index('ix_checkin_reminder')
        batch_op.drop_index(batch_op.f('ix_checkin_mentee_id'))
        batch_op.drop_index(batch_op.f('ix_checkin_answered_at'))

    op.drop_table('checkin')
