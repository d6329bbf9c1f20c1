"""office hours

Revision ID: 0003
Revises: 0005
Create Date: 2026-11-23 09:06:20.855128
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
import storage.tables


revision = '0003'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('oh_notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('platform', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', storage.tables.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('oh_notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oh_notice_member_id'), ['member_id'], unique=False)

    op.create_table('oh_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('topic', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('opened_by', sa.Integer(), nullable=True),
    sa.Column('opened_at', storage.tables.UTCDateTime(), nullable=False),
    sa.Column('closed_at', storage.tables.UTCDateTime(), nullable=True),
    sa.Column('close_reason', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.ForeignKeyConstraint(['opened_by'], ['member.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('oh_session', schema=None) as batch_op:
        batch_op.create_index('ix_oh_session_channel', ['platform', 'channel', 'closed_at'], unique=False)

    op.create_table('oh_duty',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('started_at', storage.tables.UTCDateTime(), nullable=False),
    sa.Column('ended_at', storage.tables.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['oh_session.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('oh_duty', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oh_duty_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_oh_duty_session_id'), ['session_id'], unique=False)

    op.create_table('oh_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('platform', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('account', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('nick', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('topic', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('skips', sa.Integer(), nullable=False),
    sa.Column('nearly_told', sa.Boolean(), nullable=False),
    sa.Column('joined_at', storage.tables.UTCDateTime(), nullable=False),
    sa.Column('called_at', storage.tables.UTCDateTime(), nullable=True),
    sa.Column('host_id', sa.Integer(), nullable=True),
    sa.Column('ended_at', storage.tables.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['host_id'], ['member.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['oh_session.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('oh_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oh_entry_member_id'), ['member_id'], unique=False)
        batch_op.create_index('ix_oh_entry_queue', ['session_id', 'status', 'seq'], unique=False)

    op.create_table('oh_schedule_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('schedule', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('starts_at', storage.tables.UTCDateTime(), nullable=False),
    sa.Column('announced_at', storage.tables.UTCDateTime(), nullable=True),
    sa.Column('hosts_reminded_at', storage.tables.UTCDateTime(), nullable=True),
    sa.Column('opened_at', storage.tables.UTCDateTime(), nullable=True),
    sa.Column('close_reminded_at', storage.tables.UTCDateTime(), nullable=True),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['session_id'], ['oh_session.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('schedule', 'starts_at')
    )


def downgrade() -> None:
    op.drop_table('oh_schedule_run')
    with op.batch_alter_table('oh_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_oh_entry_queue')
        batch_op.drop_index(batch_op.f('ix_oh_entry_member_id'))

    op.drop_table('oh_entry')
    with op.batch_alter_table('oh_duty', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oh_duty_session_id'))
        batch_op.drop_index(batch_op.f('ix_oh_duty_member_id'))

    op.drop_table('oh_duty')
    with op.batch_alter_table('oh_session', schema=None) as batch_op:
        batch_op.drop_index('ix_oh_session_channel')

    op.drop_table('oh_session')
    with op.batch_alter_table('oh_notice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oh_notice_member_id'))

    op.drop_table('oh_notice')
