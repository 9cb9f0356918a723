"""rollup keys by MD5: a rollup's record_key is now the hash DuckDB computes too, so large files' rollups are
keyed where they are summed

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from storage.rollups import ROLLUP_PREFIX, key_of

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

CHUNK = 5_000
COLUMNS = ('id', 'identity_id', 'day', 'provider', 'tool', 'model', 'billing', 'work_ref', 'cost_usd', 'record_key')


def upgrade() -> None:
    bind = op.get_bind()
    usage = sa.table('usage', *(sa.column(name) for name in COLUMNS))
    rows = bind.execute(sa.select(*(usage.c[name] for name in COLUMNS)).where(
        usage.c.record_key.like(ROLLUP_PREFIX + '%'))).fetchall()
    keyed = [{'row': row.id, 'key': key_of(row.identity_id, row.day, row.provider, row.tool, row.model,
                                              row.billing or '', row.work_ref or '', row.cost_usd is not None)}
             for row in rows]
    statement = sa.update(usage).where(usage.c.id == sa.bindparam('row')).values(record_key=sa.bindparam('key'))
    for start in range(0, len(keyed), CHUNK):
        bind.execute(statement, keyed[start : start + CHUNK])


def downgrade() -> None:
    """Keys stay as they are: the earlier code would start a second row for the same rollup, and every read
    sums rows by their values, never by key, so figures stay the same."""
