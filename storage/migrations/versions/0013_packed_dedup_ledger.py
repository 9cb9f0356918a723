"""the dedup ledger packed: 16 bytes an event in sorted blobs per (day, bucket), not a row per event

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

CHUNK = 50_000


def upgrade() -> None:
    op.create_table(
        'eventledger',
        sa.Column('day', sa.Integer(), nullable=False),
        sa.Column('bucket', sa.Integer(), nullable=False),
        sa.Column('part', sa.Integer(), nullable=False),
        sa.Column('packed', sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint('day', 'bucket', 'part'),
        sqlite_with_rowid=False,
    )
    bind = op.get_bind()
    old = sa.table('usageeventkey', sa.column('day'), sa.column('key'))
    new = sa.table('eventledger', *(sa.column(name) for name in ('day', 'bucket', 'part', 'packed')))
    current: int | None = None
    blobs: dict[int, list[bytes]] = {}
    for day, key in bind.execute(sa.select(old.c.day, old.c.key).order_by(old.c.day)):  # a day at a time
        if day != current and blobs:
            _write(bind, new, current, blobs)
            blobs = {}
        current = int(day)
        blobs.setdefault(bytes(key)[0], []).append(bytes(key))
    if blobs:
        _write(bind, new, current, blobs)
    op.drop_table('usageeventkey')


def _write(bind: sa.Connection, new: sa.TableClause, day: int | None, blobs: dict[int, list[bytes]]) -> None:
    bind.execute(new.insert(), [{'day': day, 'bucket': bucket, 'part': 0, 'packed': b''.join(sorted(keys, key=_order))}
                                for bucket, keys in blobs.items()])


def _order(key: bytes) -> tuple[int, int]:
    """storage.ledger's order: the first, then the last, 8 bytes read little-endian."""
    return int.from_bytes(key[:8], 'little'), int.from_bytes(key[8:], 'little')


def downgrade() -> None:
    op.create_table(
        'usageeventkey',
        sa.Column('day', sa.Integer(), nullable=False),
        sa.Column('key', sa.LargeBinary(length=16), nullable=False),
        sa.PrimaryKeyConstraint('day', 'key'),
        sqlite_with_rowid=False,
    )
    bind = op.get_bind()
    new = sa.table('eventledger', sa.column('day'), sa.column('packed'))
    old = sa.table('usageeventkey', sa.column('day'), sa.column('key'))
    rows = [{'day': day, 'key': bytes(blob)[i : i + 16]}
            for day, blob in bind.execute(sa.select(new.c.day, new.c.packed)) for i in range(0, len(blob), 16)]
    for start in range(0, len(rows), CHUNK):
        bind.execute(old.insert(), rows[start : start + CHUNK])
    op.drop_table('eventledger')
