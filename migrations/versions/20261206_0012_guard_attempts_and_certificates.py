"""guard quiz attempts and certificates: only their rules change them

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 15:35:00

A submitted quiz attempt and a revoked certificate are final; what an attempt or a
certificate is (whose, which version, what it states) never changes; neither is deleted.
The statements are those of app.db.guarded_update_statements, written out so this migration
stays as it is.
"""
from alembic import op


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

STATEMENTS = {
    "sqlite": [
        "CREATE TRIGGER quiz_attempts_frozen BEFORE UPDATE OF id, enrollment_id, user_id, version_id, cycle, number, seed, plan, started_at ON quiz_attempts BEGIN SELECT RAISE(ABORT, 'quiz attempts: these columns never change'); END",
        "CREATE TRIGGER quiz_attempts_final BEFORE UPDATE ON quiz_attempts WHEN OLD.status = 'submitted' BEGIN SELECT RAISE(ABORT, 'quiz attempts are final'); END",
        "CREATE TRIGGER quiz_attempts_no_delete BEFORE DELETE ON quiz_attempts BEGIN SELECT RAISE(ABORT, 'quiz attempts are never deleted'); END",
        "CREATE TRIGGER certificates_frozen BEFORE UPDATE OF id, code, completion_id, user_id, facts, signature, key_id, issued_at, expires_at, pdf ON certificates BEGIN SELECT RAISE(ABORT, 'certificates: these columns never change'); END",
        "CREATE TRIGGER certificates_final BEFORE UPDATE ON certificates WHEN OLD.revoked_at IS NOT NULL BEGIN SELECT RAISE(ABORT, 'certificates are final'); END",
        "CREATE TRIGGER certificates_no_delete BEFORE DELETE ON certificates BEGIN SELECT RAISE(ABORT, 'certificates are never deleted'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION quiz_attempts_guard() RETURNS trigger AS $$ BEGIN IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'quiz attempts are never deleted'; END IF; IF NEW.id::text IS DISTINCT FROM OLD.id::text OR NEW.enrollment_id::text IS DISTINCT FROM OLD.enrollment_id::text OR NEW.user_id::text IS DISTINCT FROM OLD.user_id::text OR NEW.version_id::text IS DISTINCT FROM OLD.version_id::text OR NEW.cycle::text IS DISTINCT FROM OLD.cycle::text OR NEW.number::text IS DISTINCT FROM OLD.number::text OR NEW.seed::text IS DISTINCT FROM OLD.seed::text OR NEW.plan::text IS DISTINCT FROM OLD.plan::text OR NEW.started_at::text IS DISTINCT FROM OLD.started_at::text THEN RAISE EXCEPTION 'quiz attempts: these columns never change'; END IF; IF OLD.status = 'submitted' THEN RAISE EXCEPTION 'quiz attempts are final'; END IF; RETURN NEW; END; $$ LANGUAGE plpgsql",
        'CREATE TRIGGER quiz_attempts_guard BEFORE UPDATE OR DELETE ON quiz_attempts FOR EACH ROW EXECUTE FUNCTION quiz_attempts_guard()',
        "CREATE OR REPLACE FUNCTION certificates_guard() RETURNS trigger AS $$ BEGIN IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'certificates are never deleted'; END IF; IF NEW.id::text IS DISTINCT FROM OLD.id::text OR NEW.code::text IS DISTINCT FROM OLD.code::text OR NEW.completion_id::text IS DISTINCT FROM OLD.completion_id::text OR NEW.user_id::text IS DISTINCT FROM OLD.user_id::text OR NEW.facts::text IS DISTINCT FROM OLD.facts::text OR NEW.signature::text IS DISTINCT FROM OLD.signature::text OR NEW.key_id::text IS DISTINCT FROM OLD.key_id::text OR NEW.issued_at::text IS DISTINCT FROM OLD.issued_at::text OR NEW.expires_at::text IS DISTINCT FROM OLD.expires_at::text OR NEW.pdf::text IS DISTINCT FROM OLD.pdf::text THEN RAISE EXCEPTION 'certificates: these columns never change'; END IF; IF OLD.revoked_at IS NOT NULL THEN RAISE EXCEPTION 'certificates are final'; END IF; RETURN NEW; END; $$ LANGUAGE plpgsql",
        'CREATE TRIGGER certificates_guard BEFORE UPDATE OR DELETE ON certificates FOR EACH ROW EXECUTE FUNCTION certificates_guard()',
    ],
}
DROPS = {
    "sqlite": [
        "DROP TRIGGER IF EXISTS quiz_attempts_frozen",
        "DROP TRIGGER IF EXISTS quiz_attempts_final",
        "DROP TRIGGER IF EXISTS quiz_attempts_no_delete",
        "DROP TRIGGER IF EXISTS certificates_frozen",
        "DROP TRIGGER IF EXISTS certificates_final",
        "DROP TRIGGER IF EXISTS certificates_no_delete",
    ],
    "postgresql": [
        "DROP TRIGGER IF EXISTS quiz_attempts_guard ON quiz_attempts",
        "DROP FUNCTION IF EXISTS quiz_attempts_guard()",
        "DROP TRIGGER IF EXISTS certificates_guard ON certificates",
        "DROP FUNCTION IF EXISTS certificates_guard()",
    ],
}


def upgrade() -> None:
    for statement in STATEMENTS.get(op.get_bind().dialect.name, []):
        op.execute(statement)


def downgrade() -> None:
    for statement in DROPS.get(op.get_bind().dialect.name, []):
        op.execute(statement)
