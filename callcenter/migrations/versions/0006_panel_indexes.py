"""Indexes that keep the agent's pages fast at a million customers even before
SQLite has statistics: an agent's follow-ups and retries in due order, and the
customers' last four mobile digits for search

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_work_agent_bucket_followup', 'work_items', ['agent_id', 'bucket', 'followup_at'])
    op.create_index('ix_work_agent_bucket_retry', 'work_items', ['agent_id', 'bucket', 'next_attempt_at'])
    # the last four digits: SQLite's substr(x, -4), PostgreSQL's right(x, 4) (callcenter.orm.last_four)
    last4 = 'right(mobile, 4)' if op.get_bind().dialect.name == 'postgresql' else 'substr(mobile, -4)'
    op.create_index('ix_customer_mobile_last4', 'customers', [sa.text(last4)])


def downgrade() -> None:
    op.drop_index('ix_customer_mobile_last4', 'customers')
    op.drop_index('ix_work_agent_bucket_retry', 'work_items')
    op.drop_index('ix_work_agent_bucket_followup', 'work_items')
