"""pairs and away mode

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 08:59:23.078813
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
import storage.tables


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('pair',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('mentee_id', sa.Integer(), nullable=False),
    sa.Column('mentor_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', storage.tables.UTCDateTime(), nullable=False),
    sa.Column('ended_at', storage.tables.UTCDateTime(), nullable=True),
    sa.Column('end_reason', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['member.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['mentee_id'], ['member.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['mentor_id'], ['member.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['round_id'], ['round.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('pair', schema=None) as batch_op:
        batch_op.create_index('ix_pair_active', ['round_id', 'ended_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_pair_mentee_id'), ['mentee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pair_mentor_id'), ['mentor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pair_round_id'), ['round_id'], unique=False)

    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.add_column(sa.Column('away_until', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('away_reason', sqlmodel.sql.sqltypes.AutoString(), nullable=True))

    with op.batch_alter_table('signup', schema=None) as batch_op:
        batch_op.add_column(sa.Column('accepting', sa.Boolean(), nullable=False, server_default=sa.true()))

    


def downgrade() -> None:
    
    with op.batch_alter_table('signup', schema=None) as batch_op:
        batch_op.drop_column('accepting')

    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_column('away_reason')
        batch_op.drop_column('away_until')

    with op.batch_alter_table('pair', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pair_round_id'))
        batch_op.drop_index(batch_op.f('ix_pair_mentor_id'))
        batch_op.drop_index(batch_op.f('ix_pair_mentee_id'))
        batch_op.drop_index('ix_pair_active')

    op.drop_table('pair')
    
