"""signing key history: every key certificates were signed with, and when

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 18:10:00

The key in use is recorded the first time it signs after this migration (it has no row
before: its public key is configuration, not data), valid from the first certificate it
signed. The guard statements are those of app.db.guarded_update_statements, written out so
this migration stays as it is.
"""
from alembic import op
import sqlalchemy as sa
import app.db


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

STATEMENTS = {
    "sqlite": [
        "CREATE TRIGGER signing_keys_frozen BEFORE UPDATE OF id, kid, public_key, pdf_certificate, valid_from ON signing_keys BEGIN SELECT RAISE(ABORT, 'signing keys: these columns never change'); END",
        "CREATE TRIGGER signing_keys_final BEFORE UPDATE ON signing_keys WHEN OLD.valid_until IS NOT NULL BEGIN SELECT RAISE(ABORT, 'signing keys are final'); END",
        "CREATE TRIGGER signing_keys_no_delete BEFORE DELETE ON signing_keys BEGIN SELECT RAISE(ABORT, 'signing keys are never deleted'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION signing_keys_guard() RETURNS trigger AS $$ BEGIN IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'signing keys are never deleted'; END IF; IF NEW.id::text IS DISTINCT FROM OLD.id::text OR NEW.kid::text IS DISTINCT FROM OLD.kid::text OR NEW.public_key::text IS DISTINCT FROM OLD.public_key::text OR NEW.pdf_certificate::text IS DISTINCT FROM OLD.pdf_certificate::text OR NEW.valid_from::text IS DISTINCT FROM OLD.valid_from::text THEN RAISE EXCEPTION 'signing keys: these columns never change'; END IF; IF OLD.valid_until IS NOT NULL THEN RAISE EXCEPTION 'signing keys are final'; END IF; RETURN NEW; END; $$ LANGUAGE plpgsql",
        "CREATE TRIGGER signing_keys_guard BEFORE UPDATE OR DELETE ON signing_keys FOR EACH ROW EXECUTE FUNCTION signing_keys_guard()",
    ],
}


def upgrade() -> None:
    op.create_table('signing_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kid', sa.String(length=32), nullable=False),
    sa.Column('public_key', sa.String(length=64), nullable=False),
    sa.Column('pdf_certificate', sa.LargeBinary(), nullable=False),
    sa.Column('valid_from', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('valid_until', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signing_keys')),
    sa.UniqueConstraint('kid', name=op.f('uq_signing_keys_kid'))
    )
    for statement in STATEMENTS.get(op.get_bind().dialect.name, []):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS signing_keys_guard ON signing_keys")
        op.execute("DROP FUNCTION IF EXISTS signing_keys_guard()")
    op.drop_table('signing_keys')
