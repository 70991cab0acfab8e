"""Trunks and agents' phones homed on a PBX node (issue 13, two Asterisks):
a trunk's calls go out through the node that hosts it, and a phone is
rendered into (and rung by) the node it lives on. ``main`` is the name a
single-node system gives its one Asterisk (``[pbx] node``).

Revision ID: 0019
Revises: 0018
"""
import sqlalchemy as sa
from alembic import op


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('trunks') as batch:
        batch.add_column(sa.Column('pbx_node', sa.String(length=40), nullable=False, server_default='main'))
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('pbx_node', sa.String(length=40), nullable=False, server_default='main'))


def downgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.drop_column('pbx_node')
    with op.batch_alter_table('trunks') as batch:
        batch.drop_column('pbx_node')
