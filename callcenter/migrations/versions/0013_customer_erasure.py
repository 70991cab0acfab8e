"""Erasing a customer (callcenter/customers/erasure.py): customers.erased_at
marks the tombstone; owed_deletions lists the recordings still to delete

Revision ID: 0013
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('customers', sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table('owed_deletions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(length=200), nullable=False),
    sa.Column('owed_since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=300), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    op.drop_table('owed_deletions')
    with op.batch_alter_table('customers') as batch:
        batch.drop_column('erased_at')
