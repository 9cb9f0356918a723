"""usage rollups and the dedup ledger: work_ref, usageeventkey, ingestedfile; per-request rows folded

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

Existing rows of the event-grain sources (one per gateway request or usage event) are folded into
rollups with the same sums, and each folded event's key goes into the ledger, so re-ingesting a file
ingested before the upgrade still counts nothing twice.
"""
from datetime import date

import sqlalchemy as sa
import sqlmodel
from alembic import op

from storage.rollups import DIMENSIONS, ROLLUP_PREFIX, SUMS, event_key, rollup_key

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

EVENT_SOURCES = ("litellm", "cursor_events")
CHUNK = 5_000


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString
    with op.batch_alter_table('usage') as batch:
        batch.add_column(sa.Column('work_ref', text(), nullable=False, server_default=''))
    op.create_table(
        'usageeventkey',
        sa.Column('day', sa.Integer(), nullable=False),
        sa.Column('key', sa.LargeBinary(length=16), nullable=False),
        sa.PrimaryKeyConstraint('day', 'key'),
        sqlite_with_rowid=False,
    )
    op.create_table(
        'ingestedfile',
        sa.Column('digest', sa.LargeBinary(length=32), nullable=False),
        sa.Column('records', sa.Integer(), nullable=False),
        sa.Column('counted', sa.Integer(), nullable=False),
        sa.Column('skipped', sa.Integer(), nullable=False),
        sa.Column('ingested_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('digest'),
    )
    op.create_index('ix_ingestedfile_ingested_at', 'ingestedfile', ['ingested_at'], unique=False)
    _fold_event_rows(op.get_bind())


def _fold_event_rows(bind: sa.Connection) -> None:
    """Per-request rows become ledger keys and rollup sums; the rows themselves go."""
    usage = sa.table('usage', *(sa.column(name) for name in (*DIMENSIONS, *SUMS, 'id', 'record_key', 'cost_usd',
                                                             'observed_at')))
    ledger = sa.table('usageeventkey', sa.column('key'), sa.column('day'))
    events = usage.c.source.in_(EVENT_SOURCES) & ~usage.c.record_key.like(ROLLUP_PREFIX + '%')
    keys = bind.execute(sa.select(usage.c.source, usage.c.record_key, usage.c.day).where(events))
    while chunk := keys.fetchmany(CHUNK):
        rows = [{"key": event_key(source, key), "day": _ordinal(day)} for source, key, day in chunk]
        bind.execute(ledger.insert(), rows)
    cost_known = sa.case((usage.c.cost_usd.is_(None), 0), else_=1)
    grouped = [usage.c[name] for name in DIMENSIONS]
    query = sa.select(*grouped, cost_known, *(sa.func.sum(usage.c[name]) for name in (*SUMS, 'cost_usd'))).where(
        events).group_by(*grouped, cost_known)
    rollups = []
    for row in bind.execute(query):
        values = dict(zip(DIMENSIONS, row[: len(DIMENSIONS)], strict=True))
        values.update(zip((*SUMS, 'cost_usd'), row[len(DIMENSIONS) + 1 :], strict=True))
        values['work_ref'] = values['work_ref'] or ''
        values['record_key'] = rollup_key(values)
        rollups.append(values)
    bind.execute(sa.delete(usage).where(events))
    for start in range(0, len(rollups), CHUNK):
        bind.execute(usage.insert(), rollups[start : start + CHUNK])


def _ordinal(day: date | str) -> int:
    """The ledger's day: date.toordinal() (SQLite hands a Date back as its ISO text here)."""
    return (day if isinstance(day, date) else date.fromisoformat(day)).toordinal()


def downgrade() -> None:
    op.drop_index('ix_ingestedfile_ingested_at', table_name='ingestedfile')
    op.drop_table('ingestedfile')
    op.drop_table('usageeventkey')
    with op.batch_alter_table('usage') as batch:
        batch.drop_column('work_ref')
