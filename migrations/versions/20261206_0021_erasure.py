"""erasure: users.erased_at, certificates.erased_at, audit_events.redacted_at, and the guards
that let an erasure (only) replace a certificate's facts and drop its PDF, and replace an erased
person's name in an audit event's details, once

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 21:00:00

The guard statements are those of app.db.guarded_update_statements, written out so this
migration stays as it is; the downgrade puts back those of migration 0012.
"""
from alembic import op
import sqlalchemy as sa
import app.db


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

UPGRADE = {
    "sqlite": [
        "DROP TRIGGER IF EXISTS certificates_frozen",
        "DROP TRIGGER IF EXISTS certificates_final",
        "CREATE TRIGGER certificates_frozen BEFORE UPDATE OF id, code, completion_id, user_id, signature, key_id, issued_at, expires_at ON certificates BEGIN SELECT RAISE(ABORT, 'certificates: these columns never change'); END",
        "CREATE TRIGGER certificates_released BEFORE UPDATE OF facts, pdf, erased_at ON certificates WHEN NOT (OLD.erased_at IS NULL AND NEW.erased_at IS NOT NULL) BEGIN SELECT RAISE(ABORT, 'certificates: these columns change only by an erasure'); END",
        "CREATE TRIGGER certificates_final BEFORE UPDATE ON certificates WHEN (OLD.revoked_at IS NOT NULL) AND NOT (OLD.erased_at IS NULL AND NEW.erased_at IS NOT NULL) BEGIN SELECT RAISE(ABORT, 'certificates are final'); END",
        "DROP TRIGGER IF EXISTS audit_events_no_update",
        "DROP TRIGGER IF EXISTS audit_events_no_delete",
        "CREATE TRIGGER audit_events_frozen BEFORE UPDATE OF id, occurred_at, actor_id, action, subject_type, subject_id ON audit_events BEGIN SELECT RAISE(ABORT, 'audit events: these columns never change'); END",
        "CREATE TRIGGER audit_events_released BEFORE UPDATE OF details, redacted_at ON audit_events WHEN NOT (OLD.redacted_at IS NULL AND NEW.redacted_at IS NOT NULL) BEGIN SELECT RAISE(ABORT, 'audit events: these columns change only by an erasure'); END",
        "CREATE TRIGGER audit_events_final BEFORE UPDATE ON audit_events WHEN (1 = 1) AND NOT (OLD.redacted_at IS NULL AND NEW.redacted_at IS NOT NULL) BEGIN SELECT RAISE(ABORT, 'audit events are final'); END",
        "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events BEGIN SELECT RAISE(ABORT, 'audit events are never deleted'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION certificates_guard() RETURNS trigger AS $$ BEGIN IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'certificates are never deleted'; END IF; IF NEW.id::text IS DISTINCT FROM OLD.id::text OR NEW.code::text IS DISTINCT FROM OLD.code::text OR NEW.completion_id::text IS DISTINCT FROM OLD.completion_id::text OR NEW.user_id::text IS DISTINCT FROM OLD.user_id::text OR NEW.signature::text IS DISTINCT FROM OLD.signature::text OR NEW.key_id::text IS DISTINCT FROM OLD.key_id::text OR NEW.issued_at::text IS DISTINCT FROM OLD.issued_at::text OR NEW.expires_at::text IS DISTINCT FROM OLD.expires_at::text THEN RAISE EXCEPTION 'certificates: these columns never change'; END IF; IF (OLD.erased_at IS NULL AND NEW.erased_at IS NOT NULL) THEN RETURN NEW; END IF; IF NEW.facts::text IS DISTINCT FROM OLD.facts::text OR NEW.pdf::text IS DISTINCT FROM OLD.pdf::text OR NEW.erased_at::text IS DISTINCT FROM OLD.erased_at::text THEN RAISE EXCEPTION 'certificates: these columns change only by an erasure'; END IF; IF OLD.revoked_at IS NOT NULL THEN RAISE EXCEPTION 'certificates are final'; END IF; RETURN NEW; END; $$ LANGUAGE plpgsql",
        "DROP TRIGGER IF EXISTS audit_events_no_change ON audit_events",
        "DROP FUNCTION IF EXISTS audit_events_append_only()",
        "CREATE OR REPLACE FUNCTION audit_events_guard() RETURNS trigger AS $$ BEGIN IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'audit events are never deleted'; END IF; IF NEW.id::text IS DISTINCT FROM OLD.id::text OR NEW.occurred_at::text IS DISTINCT FROM OLD.occurred_at::text OR NEW.actor_id::text IS DISTINCT FROM OLD.actor_id::text OR NEW.action::text IS DISTINCT FROM OLD.action::text OR NEW.subject_type::text IS DISTINCT FROM OLD.subject_type::text OR NEW.subject_id::text IS DISTINCT FROM OLD.subject_id::text THEN RAISE EXCEPTION 'audit events: these columns never change'; END IF; IF (OLD.redacted_at IS NULL AND NEW.redacted_at IS NOT NULL) THEN RETURN NEW; END IF; IF NEW.details::text IS DISTINCT FROM OLD.details::text OR NEW.redacted_at::text IS DISTINCT FROM OLD.redacted_at::text THEN RAISE EXCEPTION 'audit events: these columns change only by an erasure'; END IF; IF 1 = 1 THEN RAISE EXCEPTION 'audit events are final'; END IF; RETURN NEW; END; $$ LANGUAGE plpgsql",
        "CREATE TRIGGER audit_events_guard BEFORE UPDATE OR DELETE ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_events_guard()",
    ],
}
DOWNGRADE = {
    "sqlite": [
        "DROP TRIGGER IF EXISTS certificates_frozen",
        "DROP TRIGGER IF EXISTS certificates_released",
        "DROP TRIGGER IF EXISTS certificates_final",
        "CREATE TRIGGER certificates_frozen BEFORE UPDATE OF id, code, completion_id, user_id, facts, signature, key_id, issued_at, expires_at, pdf ON certificates BEGIN SELECT RAISE(ABORT, 'certificates: these columns never change'); END",
        "CREATE TRIGGER certificates_final BEFORE UPDATE ON certificates WHEN OLD.revoked_at IS NOT NULL BEGIN SELECT RAISE(ABORT, 'certificates are final'); END",
        "DROP TRIGGER IF EXISTS audit_events_frozen",
        "DROP TRIGGER IF EXISTS audit_events_released",
        "DROP TRIGGER IF EXISTS audit_events_final",
        "DROP TRIGGER IF EXISTS audit_events_no_delete",
        "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END",
        "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION certificates_guard() RETURNS trigger AS $$ BEGIN IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'certificates are never deleted'; END IF; IF NEW.id::text IS DISTINCT FROM OLD.id::text OR NEW.code::text IS DISTINCT FROM OLD.code::text OR NEW.completion_id::text IS DISTINCT FROM OLD.completion_id::text OR NEW.user_id::text IS DISTINCT FROM OLD.user_id::text OR NEW.facts::text IS DISTINCT FROM OLD.facts::text OR NEW.signature::text IS DISTINCT FROM OLD.signature::text OR NEW.key_id::text IS DISTINCT FROM OLD.key_id::text OR NEW.issued_at::text IS DISTINCT FROM OLD.issued_at::text OR NEW.expires_at::text IS DISTINCT FROM OLD.expires_at::text OR NEW.pdf::text IS DISTINCT FROM OLD.pdf::text THEN RAISE EXCEPTION 'certificates: these columns never change'; END IF; IF OLD.revoked_at IS NOT NULL THEN RAISE EXCEPTION 'certificates are final'; END IF; RETURN NEW; END; $$ LANGUAGE plpgsql",
        "DROP TRIGGER IF EXISTS audit_events_guard ON audit_events",
        "DROP FUNCTION IF EXISTS audit_events_guard()",
        "CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'audit events are append-only'; END; $$ LANGUAGE plpgsql",
        "CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()",
    ],
}


# No batch mode: on SQLite it would copy the tables (and drop their triggers); ADD COLUMN
# needs no copy.
def upgrade() -> None:
    op.add_column('users', sa.Column('erased_at', app.db.UTCDateTime(timezone=True), nullable=True))
    op.add_column('certificates', sa.Column('erased_at', app.db.UTCDateTime(timezone=True), nullable=True))
    op.add_column('audit_events', sa.Column('redacted_at', app.db.UTCDateTime(timezone=True), nullable=True))
    for statement in UPGRADE.get(op.get_bind().dialect.name, []):
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE.get(op.get_bind().dialect.name, []):
        op.execute(statement)
    op.drop_column('audit_events', 'redacted_at')  # SQLite 3.35+ drops a column in place
    op.drop_column('certificates', 'erased_at')
    op.drop_column('users', 'erased_at')
