"""Indexes for reports and reminders: calls and dispositions per agent by time,
non-contact retries by due time

Revision ID: 0004
Revises: 0003
"""
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_calls_agent_requested', 'calls', ['agent_id', 'requested_at'])
    op.create_index('ix_disposition_agent_created', 'dispositions', ['agent_id', 'created_at'])
    op.create_index('ix_work_bucket_retry', 'work_items', ['bucket', 'next_attempt_at'])


def downgrade() -> None:
    op.drop_index('ix_work_bucket_retry', 'work_items')
    op.drop_index('ix_disposition_agent_created', 'dispositions')
    op.drop_index('ix_calls_agent_requested', 'calls')
