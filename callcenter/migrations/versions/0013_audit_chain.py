"""The audit trail's hash chain: audit_log.hash and audit_log.request_id, an
index on the object (entity, entity_id), and audit_chain (the head row). The
rows already there are hashed in id order, so a later change shows; their
order in time and their gaps are not checked (legacy_through_id).

Revision ID: 0013
Revises: 0012
"""
import datetime as dt

from alembic import op
import sqlalchemy as sa

from callcenter.audit_chain import GENESIS, row_hash


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

CHUNK = 5000


def _hash_existing_rows(conn) -> tuple[int, str, dt.datetime | None]:
    """Hash the rows already written, in id order; (newest id, its hash, its time)."""
    log = sa.table('audit_log', sa.column('id', sa.Integer), sa.column('at', sa.DateTime(timezone=True)),
                   sa.column('actor', sa.String), sa.column('action', sa.String),
                   sa.column('entity', sa.String), sa.column('entity_id', sa.String),
                   sa.column('details', sa.JSON), sa.column('request_id', sa.String),
                   sa.column('hash', sa.String))
    last_id, previous, last_at = 0, GENESIS, None
    while True:
        rows = conn.execute(sa.select(log).where(log.c.id > last_id).order_by(log.c.id).limit(CHUNK)).all()
        if not rows:
            return last_id, previous, last_at
        hashes = []
        for row in rows:
            previous = row_hash(previous, row)
            hashes.append({'b_id': row.id, 'b_hash': previous})
        conn.execute(log.update().where(log.c.id == sa.bindparam('b_id')).values(hash=sa.bindparam('b_hash')),
                     hashes)
        last_id, last_at = rows[-1].id, rows[-1].at


def upgrade() -> None:
    with op.batch_alter_table('audit_log') as batch:
        batch.add_column(sa.Column('request_id', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
        batch.create_index('ix_audit_log_request_id', ['request_id'], unique=False)
        batch.create_index('ix_audit_log_object', ['entity', 'entity_id'], unique=False)
    chain = op.create_table('audit_chain',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_id', sa.Integer(), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.Column('last_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('pruned_through_id', sa.Integer(), nullable=False),
    sa.Column('pruned_hash', sa.String(length=64), nullable=False),
    sa.Column('legacy_through_id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    last_id, last_hash, last_at = _hash_existing_rows(op.get_bind())
    op.bulk_insert(chain, [{'id': 1, 'last_id': last_id, 'last_hash': last_hash, 'last_at': last_at,
                            'pruned_through_id': 0, 'pruned_hash': GENESIS, 'legacy_through_id': last_id}])


def downgrade() -> None:
    op.drop_table('audit_chain')
    with op.batch_alter_table('audit_log') as batch:
        batch.drop_index('ix_audit_log_object')
        batch.drop_index('ix_audit_log_request_id')
        batch.drop_column('hash')
        batch.drop_column('request_id')
