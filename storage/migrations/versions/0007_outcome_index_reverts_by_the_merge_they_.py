"""outcome: index reverts by the merge they point at

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outcome', schema=None) as batch_op:
        batch_op.create_index('ix_outcome_ref', ['ref'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('outcome', schema=None) as batch_op:
        batch_op.drop_index('ix_outcome_ref')

