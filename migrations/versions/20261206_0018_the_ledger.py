"""the ledger: completions, certificates and audit events chained by hash

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 18:55:00

Every row written before is chained here, oldest first, by app.audit.ledger.backfill: the
hash of a row is the ledger's contract, so the migration uses the one function that makes it
rather than a copy that could drift.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.orm import Session
import app.db


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

APPEND_ONLY = {
    "sqlite": [
        "CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END",
        "CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION ledger_entries_append_only() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'ledger entries are append-only'; END; $$ LANGUAGE plpgsql",
        "CREATE TRIGGER ledger_entries_no_change BEFORE UPDATE OR DELETE ON ledger_entries FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only()",
    ],
}


def upgrade() -> None:
    op.create_table('ledger_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('row_id', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('entry_hash', sa.String(length=64), nullable=False),
    sa.Column('recorded_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entries')),
    sa.UniqueConstraint('kind', 'row_id', name=op.f('uq_ledger_entries_kind_row_id')),
    sa.UniqueConstraint('prev_hash', name=op.f('uq_ledger_entries_prev_hash')),
    sa.UniqueConstraint('seq', name=op.f('uq_ledger_entries_seq'))
    )
    for statement in APPEND_ONLY.get(op.get_bind().dialect.name, []):
        op.execute(statement)
    from app.audit.ledger import backfill

    session = Session(bind=op.get_bind())
    backfill(session)
    session.flush()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_no_change ON ledger_entries")
        op.execute("DROP FUNCTION IF EXISTS ledger_entries_append_only()")
    op.drop_table('ledger_entries')
