"""Indexes PostgreSQL's planner needs for the panel (docs/benchmarks.md, "The
panel on PostgreSQL"):

- ``ix_work_agent_bucket`` gains ``id``: a team lead's whole-team list picks
  its page's ids by an index-only scan per agent (callcenter/work/buckets.py
  ``list_items``, two steps), where PostgreSQL read all of ``work_items``;
- ``ix_calls_owed``: the calls owing a disposition (the probe's count every
  15 s, the boards), a partial index so the count reads those calls only,
  not every call ever made.

Revision ID: 0018
Revises: 0017
"""
import sqlalchemy as sa
from alembic import op


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

OWED = sa.text("disposed_at IS NULL AND work_item_id IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table('work_items') as batch_op:
        batch_op.drop_index('ix_work_agent_bucket')
        batch_op.create_index('ix_work_agent_bucket', ['agent_id', 'bucket', 'campaign_id', 'id'], unique=False)
    op.create_index('ix_calls_owed', 'calls', ['ended_at'], unique=False,
                    sqlite_where=OWED, postgresql_where=OWED)


def downgrade() -> None:
    op.drop_index('ix_calls_owed', 'calls')
    with op.batch_alter_table('work_items') as batch_op:
        batch_op.drop_index('ix_work_agent_bucket')
        batch_op.create_index('ix_work_agent_bucket', ['agent_id', 'bucket', 'campaign_id'], unique=False)
