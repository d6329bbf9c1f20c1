"""an index for the channel's latest helps (a wait's estimate at every !q join)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-11 12:00:00
"""

from alembic import op


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_oh_entry_helped', 'oh_entry', ['outcome', 'ended_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_oh_entry_helped', table_name='oh_entry')
