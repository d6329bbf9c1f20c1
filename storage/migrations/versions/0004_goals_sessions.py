"""goal steps, comments and completion; session logs; away periods

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-23 09:02:49.794283
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
import storage.tables


revision = '0004'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('away_period',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('until', sa.Date(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('created_at', storage.tables.UTCDateTime(), nullable=False),
    sa.Column('reassign_notified_at', storage.tables.UTCDateTime(), nullable=True),
    sa.Column('ended_at', storage.tables.UTCDateTime(), nullable=True),
    sa.Column('ended_how', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('away_period', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_away_period_member_id'), ['member_id'], unique=False)

    op.create_table('session_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('mentor_id', sa.Integer(), nullable=False),
    sa.Column('mentee_id', sa.Integer(), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('topic', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('notes', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('logged_at', storage.tables.UTCDateTime(), nullable=False),
    sa.Column('edited_at', storage.tables.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['mentee_id'], ['member.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['mentor_id'], ['member.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['round_id'], ['round.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('session_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_session_log_mentee_id'), ['mentee_id'], unique=False)
        batch_op.create_index('ix_session_log_round_mentor', ['round_id', 'mentor_id'], unique=False)

    op.create_table('goal_comment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('signup_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', storage.tables.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['member.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['signup_id'], ['signup.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('goal_comment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_goal_comment_signup_id'), ['signup_id'], unique=False)

    op.create_table('goal_completion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('signup_id', sa.Integer(), nullable=False),
    sa.Column('goal', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('done_at', storage.tables.UTCDateTime(), nullable=False),
    sa.Column('reopened_at', storage.tables.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['signup_id'], ['signup.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('goal_completion', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_goal_completion_signup_id'), ['signup_id'], unique=False)

    op.create_table('goal_step',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('signup_id', sa.Integer(), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', storage.tables.UTCDateTime(), nullable=False),
    sa.Column('done_at', storage.tables.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['signup_id'], ['signup.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('goal_step', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_goal_step_signup_id'), ['signup_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('goal_step', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_goal_step_signup_id'))

    op.drop_table('goal_step')
    with op.batch_alter_table('goal_completion', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_goal_completion_signup_id'))

    op.drop_table('goal_completion')
    with op.batch_alter_table('goal_comment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_goal_comment_signup_id'))

    op.drop_table('goal_comment')
    with op.batch_alter_table('session_log', schema=None) as batch_op:
        batch_op.drop_index('ix_session_log_round_mentor')
        batch_op.drop_index(batch_op.f('ix_session_log_mentee_id'))

    op.drop_table('session_log')
    with op.batch_alter_table('away_period', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_away_period_member_id'))

    op.drop_table('away_period')
