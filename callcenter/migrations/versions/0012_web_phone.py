"""The web phone: browser_phones (per-login SIP credentials of browser-mode
agents), call quality on calls (mos, jitter_ms, loss_pct, rtt_ms, quality_samples)

Revision ID: 0012
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('browser_phones',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('endpoint', sa.String(length=40), nullable=False),
    sa.Column('md5_cred', sa.String(length=32), nullable=False),
    sa.Column('nonce', sa.String(length=43), nullable=False),
    sa.Column('session_digest', sa.String(length=64), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('user_id'),
    sa.UniqueConstraint('endpoint')
    )
    op.create_index(op.f('ix_browser_phones_session_digest'), 'browser_phones', ['session_digest'], unique=False)
    with op.batch_alter_table('calls') as batch:
        batch.add_column(sa.Column('mos', sa.Float(), nullable=True))
        batch.add_column(sa.Column('jitter_ms', sa.Float(), nullable=True))
        batch.add_column(sa.Column('loss_pct', sa.Float(), nullable=True))
        batch.add_column(sa.Column('rtt_ms', sa.Float(), nullable=True))
        batch.add_column(sa.Column('quality_samples', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('calls') as batch:
        for column in ('quality_samples', 'rtt_ms', 'loss_pct', 'jitter_ms', 'mos'):
            batch.drop_column(column)
    op.drop_index(op.f('ix_browser_phones_session_digest'), table_name='browser_phones')
    op.drop_table('browser_phones')
