"""outbox claims: who a message is for, how urgent it is, and which sender holds it

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-03 14:30:00
"""

from alembic import op
import sqlalchemy as sa
import storage.tables


revision = '0008'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recipient', sa.String(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('priority', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('claimed_by', sa.String(), nullable=True))
        batch_op.add_column(sa.Column('claimed_until', storage.tables.UTCDateTime(), nullable=True))
        batch_op.create_index('ix_outbox_platform_due', ['platform', 'status', 'next_attempt_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_platform_due')
        batch_op.drop_column('claimed_until')
        batch_op.drop_column('claimed_by')
        batch_op.drop_column('priority')
        batch_op.drop_column('recipient')
