"""person ids never reused (SQLite AUTOINCREMENT)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # PostgreSQL sequences never hand out an id twice; SQLite reuses the highest rowid unless told not to.
    if op.get_bind().dialect.name == 'sqlite':
        with op.batch_alter_table('person', recreate='always', table_kwargs={'sqlite_autoincrement': True}):
            pass


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        with op.batch_alter_table('person', recreate='always', table_kwargs={'sqlite_autoincrement': False}):
            pass
