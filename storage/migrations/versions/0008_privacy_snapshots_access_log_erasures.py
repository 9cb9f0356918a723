"""privacy: published snapshots, access log, erasures

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'publishedsnapshot',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('team', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('week', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('published_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('members', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('figures', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('team', 'week', name='uq_snapshot_team_week'),
    )
    op.create_table(
        'accesslog',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('surface', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('audience_kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('audience', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('platform', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column('team', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column('week', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column('members', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column('detail', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_accesslog_at', 'accesslog', ['at'], unique=False)
    op.create_index('ix_accesslog_team_week', 'accesslog', ['team', 'week'], unique=False)
    op.create_table(
        'erasure',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('identities', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('removed', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('requested_by', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_erasure_subject', 'erasure', ['subject'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_erasure_subject', table_name='erasure')
    op.drop_table('erasure')
    op.drop_index('ix_accesslog_team_week', table_name='accesslog')
    op.drop_index('ix_accesslog_at', table_name='accesslog')
    op.drop_table('accesslog')
    op.drop_table('publishedsnapshot')
