"""Indexes for the audit trail's filters by who and by what (``actor``,
``action``): without them a filter that matches few rows reads the whole
audit_log (bench/audit_trail.py, docs/benchmarks.md).

Revision ID: 0016
Revises: 0015
"""
from alembic import op


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_actor', ['actor'], unique=False)
        batch_op.create_index('ix_audit_log_action', ['action'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_action')
        batch_op.drop_index('ix_audit_log_actor')
