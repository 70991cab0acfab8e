"""Notifications by event: templates per event, channel and language; events
switched on or off; timed notices made once (notice_marks); each message's
event, customer and language; a customer's opt-out of promotional messages.

Revision ID: 0014
Revises: 0013
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notification_templates',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event', sa.String(length=40), nullable=False),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.Column('body', sa.String(length=4000), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by', sa.String(length=60), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('event', 'channel', 'language', name='uq_notification_template'))
    op.create_table('notification_event_settings',
        sa.Column('event', sa.String(length=40), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('channels', sa.JSON(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by', sa.String(length=60), nullable=False),
        sa.PrimaryKeyConstraint('event'))
    op.create_table('notice_marks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event', sa.String(length=40), nullable=False),
        sa.Column('entity', sa.String(length=40), nullable=False),
        sa.Column('entity_id', sa.String(length=64), nullable=False),
        sa.Column('for_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('outcome', sa.String(length=20), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('event', 'entity', 'entity_id', 'for_at', name='uq_notice_mark'))
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('event', sa.String(length=40), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('customer_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('resent_from_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_notifications_customer_id'), ['customer_id'], unique=False)
        batch_op.create_foreign_key('fk_notification_customer', 'customers', ['customer_id'], ['id'])
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('messages_opt_out_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('messages_opt_out_source', sa.String(length=10), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_column('messages_opt_out_source')
        batch_op.drop_column('messages_opt_out_at')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_constraint('fk_notification_customer', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_notifications_customer_id'))
        batch_op.drop_column('resent_from_id')
        batch_op.drop_column('language')
        batch_op.drop_column('customer_id')
        batch_op.drop_column('event')
    op.drop_table('notice_marks')
    op.drop_table('notification_event_settings')
    op.drop_table('notification_templates')
