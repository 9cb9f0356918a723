"""digest post: members shown

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('digestpost', schema=None) as batch_op:
        batch_op.add_column(sa.Column('members', sqlmodel.sql.sqltypes.AutoString(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('digestpost', schema=None) as batch_op:
        batch_op.drop_column('members')

