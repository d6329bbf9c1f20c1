"""feedback rounds: requests to mentors and mentees, and their answers

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 22:30:00
"""

from alembic import op
import sqlalchemy as sa
import storage.tables


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

KEY = ('round_id', 'window', 'respondent_id', 'pair_id')


def upgrade() -> None:
    op.create_table(
        'feedback_request',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('window', sa.String(), nullable=False),
        sa.Column('respondent_id', sa.Integer(), nullable=False),
        sa.Column('pair_id', sa.Integer(), nullable=False),
        sa.Column('side', sa.String(), nullable=False),
        sa.Column('due_at', storage.tables.UTCDateTime(), nullable=False),
        sa.Column('deadline_at', storage.tables.UTCDateTime(), nullable=False),
        sa.Column('asked_at', storage.tables.UTCDateTime(), nullable=True),
        sa.Column('reminded_at', storage.tables.UTCDateTime(), nullable=True),
        sa.Column('answered_at', storage.tables.UTCDateTime(), nullable=True),
        sa.Column('missing_alerted_at', storage.tables.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['round_id'], ['round.id']),
        sa.ForeignKeyConstraint(['respondent_id'], ['member.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['pair_id'], ['pair.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint(*KEY),
    )
    with op.batch_alter_table('feedback_request', schema=None) as batch_op:
        batch_op.create_index('ix_feedback_request_open', ['answered_at', 'deadline_at'], unique=False)
        for column in ('round_id', 'respondent_id', 'pair_id', 'due_at'):
            batch_op.create_index(batch_op.f(f'ix_feedback_request_{column}'), [column], unique=False)
    op.create_table(
        'feedback_answer',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('window', sa.String(), nullable=False),
        sa.Column('respondent_id', sa.Integer(), nullable=False),
        sa.Column('pair_id', sa.Integer(), nullable=False),
        sa.Column('last_contact', sa.Date(), nullable=True),
        sa.Column('contact_said', sa.String(), nullable=True),
        sa.Column('frequency', sa.String(), nullable=False),
        sa.Column('progress', sa.Integer(), nullable=False),
        sa.Column('risk', sa.String(), nullable=True),
        sa.Column('notes', sa.String(), nullable=True),
        sa.Column('answered_at', storage.tables.UTCDateTime(), nullable=False),
        sa.Column('flagged', sa.Boolean(), nullable=False),
        sa.Column('flag_alerted_at', storage.tables.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['request_id'], ['feedback_request.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['round_id'], ['round.id']),
        sa.ForeignKeyConstraint(['respondent_id'], ['member.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['pair_id'], ['pair.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('request_id'),
        sa.UniqueConstraint(*KEY),
    )
    with op.batch_alter_table('feedback_answer', schema=None) as batch_op:
        for column in ('round_id', 'respondent_id', 'pair_id'):
            batch_op.create_index(batch_op.f(f'ix_feedback_answer_{column}'), [column], unique=False)


def downgrade() -> None:
    op.drop_table('feedback_answer')
    op.drop_table('feedback_request')
