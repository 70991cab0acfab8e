"""The head count pulled from the client's HR system (callcenter/hrsource):
the source's settings and the record of every fetch

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('hr_sources',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('list_url', sa.String(length=500), nullable=False),
    sa.Column('auth', sa.String(length=20), nullable=False),
    sa.Column('token_url', sa.String(length=500), nullable=False),
    sa.Column('token_body', sa.String(length=8), nullable=False),
    sa.Column('client_id', sa.String(length=200), nullable=False),
    sa.Column('scope', sa.String(length=200), nullable=False),
    sa.Column('client_secret_sealed', sa.Text(), nullable=False),
    sa.Column('static_token_sealed', sa.Text(), nullable=False),
    sa.Column('list_path', sa.String(length=200), nullable=False),
    sa.Column('mapping', sa.JSON(), nullable=False),
    sa.Column('active_statuses', sa.String(length=300), nullable=False),
    sa.Column('paging', sa.String(length=8), nullable=False),
    sa.Column('next_field', sa.String(length=200), nullable=False),
    sa.Column('page_param', sa.String(length=60), nullable=False),
    sa.Column('max_pages', sa.Integer(), nullable=False),
    sa.Column('timeout_seconds', sa.Integer(), nullable=False),
    sa.Column('daily_at', sa.String(length=5), nullable=False),
    sa.Column('auto_commit', sa.Boolean(), nullable=False),
    sa.Column('max_leavers_percent', sa.Integer(), nullable=False),
    sa.Column('updated_by', sa.String(length=60), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('hr_fetches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trigger', sa.String(length=10), nullable=False),
    sa.Column('requested_by', sa.String(length=60), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('employees', sa.Integer(), nullable=False),
    sa.Column('pages', sa.Integer(), nullable=False),
    sa.Column('upload_id', sa.Integer(), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['upload_id'], ['uploads.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_hr_fetches_upload_id'), 'hr_fetches', ['upload_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_hr_fetches_upload_id'), table_name='hr_fetches')
    op.drop_table('hr_fetches')
    op.drop_table('hr_sources')
