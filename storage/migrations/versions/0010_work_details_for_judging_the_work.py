"""work details for judging the work: labels, sizes, files, times, fixes of each outcome

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString
    moment = sqlmodel.sql.sqltypes.UTCDateTime
    op.create_table(
        'workdetail',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source', text(), nullable=False),
        sa.Column('key', text(), nullable=False),
        sa.Column('identity_id', sa.Integer(), nullable=False),
        sa.Column('finished_at', moment(), nullable=False),
        sa.Column('ref', text(), nullable=True),
        sa.Column('title', text(), nullable=True),
        sa.Column('labels', text(), nullable=False),
        sa.Column('issue_type', text(), nullable=True),
        sa.Column('additions', sa.Integer(), nullable=True),
        sa.Column('deletions', sa.Integer(), nullable=True),
        sa.Column('files', text(), nullable=False),
        sa.Column('repo', text(), nullable=True),
        sa.Column('points', sa.Float(), nullable=True),
        sa.Column('opened_at', moment(), nullable=True),
        sa.Column('merged_at', moment(), nullable=True),
        sa.Column('closed_at', moment(), nullable=True),
        sa.Column('reopened_at', text(), nullable=False),
        sa.Column('reverts', text(), nullable=True),
        sa.Column('fixes', text(), nullable=False),
        sa.Column('branch', text(), nullable=True),
        sa.ForeignKeyConstraint(['identity_id'], ['identity.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('source', 'key', name='uq_workdetail_source_key'),
    )
    op.create_index('ix_workdetail_finished_at', 'workdetail', ['finished_at'], unique=False)
    op.create_index('ix_workdetail_identity_finished', 'workdetail', ['identity_id', 'finished_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_workdetail_identity_finished', table_name='workdetail')
    op.drop_index('ix_workdetail_finished_at', table_name='workdetail')
    op.drop_table('workdetail')
