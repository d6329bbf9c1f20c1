"""assessments: self, mentor and final skill ratings, one row per answer

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 09:03:03.751300
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
import storage.tables


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('assessment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('assessor_id', sa.Integer(), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=True),
    sa.Column('role_focus', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('skills', sa.JSON(), nullable=False),
    sa.Column('started_at', storage.tables.UTCDateTime(), nullable=False),
    sa.Column('completed_at', storage.tables.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['assessor_id'], ['member.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['round_id'], ['round.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.create_index('ix_assessment_subject', ['member_id', 'kind', 'round_id'], unique=False)

    op.create_table('assessment_answer',
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('skill', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('answered_at', storage.tables.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessment.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('assessment_id', 'skill')
    )


def downgrade() -> None:
    op.drop_table('assessment_answer')
    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.drop_index('ix_assessment_subject')

    op.drop_table('assessment')
