"""attachments on outbox messages; sign-in links for the web dashboard

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 17:00:00
"""

from alembic import op
import sqlalchemy as sa
import storage.tables


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attachment_data', sa.LargeBinary(), nullable=True))
    op.create_table(
        'dashboard_link',
        sa.Column('token_hash', sa.String(), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('created_at', storage.tables.UTCDateTime(), nullable=False),
        sa.Column('expires_at', storage.tables.UTCDateTime(), nullable=False),
        sa.Column('used_at', storage.tables.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['member_id'], ['member.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('token_hash'),
    )
    with op.batch_alter_table('dashboard_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dashboard_link_member_id'), ['member_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('dashboard_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dashboard_link_member_id'))
    op.drop_table('dashboard_link')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('attachment_data')
