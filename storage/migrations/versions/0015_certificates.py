"""certificates for mentees who completed a round

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 22:30:00
"""

from alembic import op
import sqlalchemy as sa
import storage.tables


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'certificate',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('issued_at', storage.tables.UTCDateTime(), nullable=False),
        sa.Column('issued_by', sa.Integer(), nullable=True),
        sa.Column('details', sa.JSON(), nullable=False),
        sa.Column('revoked_at', storage.tables.UTCDateTime(), nullable=True),
        sa.Column('revoked_by', sa.Integer(), nullable=True),
        sa.Column('revoke_reason', sa.String(), nullable=True),
        sa.ForeignKeyConstraint(['member_id'], ['member.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['round_id'], ['round.id']),
        sa.ForeignKeyConstraint(['issued_by'], ['member.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['revoked_by'], ['member.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('code'),
    )
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificate_round_id'), ['round_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_round_id'))
        batch_op.drop_index(batch_op.f('ix_certificate_member_id'))
    op.drop_table('certificate')
