"""The owner of each Asterisk's call work and its lease's fencing token
(callcenter/ownership/fencing.py): one row per PBX node.

Revision ID: 0017
Revises: 0016
"""
import sqlalchemy as sa
from alembic import op


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('pbx_owners',
                    sa.Column('node', sa.String(length=64), nullable=False),
                    sa.Column('token', sa.BigInteger(), nullable=False),
                    sa.Column('holder', sa.String(length=200), nullable=True),
                    sa.Column('since', sa.DateTime(timezone=True), nullable=True),
                    sa.PrimaryKeyConstraint('node'))


def downgrade() -> None:
    op.drop_table('pbx_owners')
