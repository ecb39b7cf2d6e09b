"""certificates.pdf: NULL until rendered, then written once

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 21:15:00

A certificate exists as soon as a learner passes (its code and signed facts); its PDF is
rendered afterwards, by a job or at the first download, and kept. The column may be NULL, and
the guard lets it be written once, from NULL, and changed after only by an erasure (migration
0021's rule, which empties it). The statements are
those of app.db.guarded_update_statements, written out so this migration stays as it is.
"""
from alembic import op
import sqlalchemy as sa


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

GUARD = {
    'sqlite': [
        "CREATE TRIGGER certificates_frozen BEFORE UPDATE OF id, code, completion_id, user_id, signature, key_id, issued_at, expires_at ON certificates BEGIN SELECT RAISE(ABORT, 'certificates: these columns never change'); END",
        "CREATE TRIGGER certificates_released BEFORE UPDATE OF facts, erased_at ON certificates WHEN NOT (OLD.erased_at IS NULL AND NEW.erased_at IS NOT NULL) BEGIN SELECT RAISE(ABORT, 'certificates: these columns change only by an erasure'); END",
        "CREATE TRIGGER certificates_pdf_once BEFORE UPDATE OF pdf ON certificates WHEN OLD.pdf IS NOT NULL AND NEW.pdf IS NOT OLD.pdf AND NOT (OLD.erased_at IS NULL AND NEW.erased_at IS NOT NULL) BEGIN SELECT RAISE(ABORT, 'certificates: pdf is written once'); END",
        "CREATE TRIGGER certificates_final BEFORE UPDATE ON certificates WHEN (OLD.revoked_at IS NOT NULL) AND NOT (OLD.erased_at IS NULL AND NEW.erased_at IS NOT NULL) BEGIN SELECT RAISE(ABORT, 'certificates are final'); END",
        "CREATE TRIGGER certificates_no_delete BEFORE DELETE ON certificates BEGIN SELECT RAISE(ABORT, 'certificates are never deleted'); END",
    ],
    'postgresql': [
        "CREATE OR REPLACE FUNCTION certificates_guard() RETURNS trigger AS $$ BEGIN IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'certificates are never deleted'; END IF; IF NEW.id::text IS DISTINCT FROM OLD.id::text OR NEW.code::text IS DISTINCT FROM OLD.code::text OR NEW.completion_id::text IS DISTINCT FROM OLD.completion_id::text OR NEW.user_id::text IS DISTINCT FROM OLD.user_id::text OR NEW.signature::text IS DISTINCT FROM OLD.signature::text OR NEW.key_id::text IS DISTINCT FROM OLD.key_id::text OR NEW.issued_at::text IS DISTINCT FROM OLD.issued_at::text OR NEW.expires_at::text IS DISTINCT FROM OLD.expires_at::text THEN RAISE EXCEPTION 'certificates: these columns never change'; END IF; IF (OLD.erased_at IS NULL AND NEW.erased_at IS NOT NULL) THEN RETURN NEW; END IF; IF NEW.facts::text IS DISTINCT FROM OLD.facts::text OR NEW.erased_at::text IS DISTINCT FROM OLD.erased_at::text THEN RAISE EXCEPTION 'certificates: these columns change only by an erasure'; END IF; IF OLD.pdf IS NOT NULL AND NEW.pdf IS DISTINCT FROM OLD.pdf THEN RAISE EXCEPTION 'certificates: pdf is written once'; END IF; IF OLD.revoked_at IS NOT NULL THEN RAISE EXCEPTION 'certificates are final'; END IF; RETURN NEW; END; $$ LANGUAGE plpgsql",
        'CREATE TRIGGER certificates_guard BEFORE UPDATE OR DELETE ON certificates FOR EACH ROW EXECUTE FUNCTION certificates_guard()',
    ],
}
OLD_GUARD = {
    'sqlite': [
        "CREATE TRIGGER certificates_frozen BEFORE UPDATE OF id, code, completion_id, user_id, signature, key_id, issued_at, expires_at ON certificates BEGIN SELECT RAISE(ABORT, 'certificates: these columns never change'); END",
        "CREATE TRIGGER certificates_released BEFORE UPDATE OF facts, pdf, erased_at ON certificates WHEN NOT (OLD.erased_at IS NULL AND NEW.erased_at IS NOT NULL) BEGIN SELECT RAISE(ABORT, 'certificates: these columns change only by an erasure'); END",
        "CREATE TRIGGER certificates_final BEFORE UPDATE ON certificates WHEN (OLD.revoked_at IS NOT NULL) AND NOT (OLD.erased_at IS NULL AND NEW.erased_at IS NOT NULL) BEGIN SELECT RAISE(ABORT, 'certificates are final'); END",
        "CREATE TRIGGER certificates_no_delete BEFORE DELETE ON certificates BEGIN SELECT RAISE(ABORT, 'certificates are never deleted'); END",
    ],
    'postgresql': [
        "CREATE OR REPLACE FUNCTION certificates_guard() RETURNS trigger AS $$ BEGIN IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'certificates are never deleted'; END IF; IF NEW.id::text IS DISTINCT FROM OLD.id::text OR NEW.code::text IS DISTINCT FROM OLD.code::text OR NEW.completion_id::text IS DISTINCT FROM OLD.completion_id::text OR NEW.user_id::text IS DISTINCT FROM OLD.user_id::text OR NEW.signature::text IS DISTINCT FROM OLD.signature::text OR NEW.key_id::text IS DISTINCT FROM OLD.key_id::text OR NEW.issued_at::text IS DISTINCT FROM OLD.issued_at::text OR NEW.expires_at::text IS DISTINCT FROM OLD.expires_at::text THEN RAISE EXCEPTION 'certificates: these columns never change'; END IF; IF (OLD.erased_at IS NULL AND NEW.erased_at IS NOT NULL) THEN RETURN NEW; END IF; IF NEW.facts::text IS DISTINCT FROM OLD.facts::text OR NEW.pdf::text IS DISTINCT FROM OLD.pdf::text OR NEW.erased_at::text IS DISTINCT FROM OLD.erased_at::text THEN RAISE EXCEPTION 'certificates: these columns change only by an erasure'; END IF; IF OLD.revoked_at IS NOT NULL THEN RAISE EXCEPTION 'certificates are final'; END IF; RETURN NEW; END; $$ LANGUAGE plpgsql",
        'CREATE TRIGGER certificates_guard BEFORE UPDATE OR DELETE ON certificates FOR EACH ROW EXECUTE FUNCTION certificates_guard()',
    ],
}
SQLITE_TRIGGERS = (
    "certificates_frozen",
    "certificates_released",
    "certificates_pdf_once",
    "certificates_final",
    "certificates_no_delete",
)


def _set_nullable(nullable: bool) -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # Batch mode copies the table; nothing refers to certificates, and its triggers are
        # dropped first and made again after.
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        with op.batch_alter_table("certificates", schema=None) as batch_op:
            batch_op.alter_column("pdf", existing_type=sa.LargeBinary(), nullable=nullable)
    else:
        op.alter_column("certificates", "pdf", existing_type=sa.LargeBinary(), nullable=nullable)


def upgrade() -> None:
    _set_nullable(True)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS certificates_guard ON certificates")
    for statement in GUARD.get(op.get_bind().dialect.name, []):
        op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    certificates = sa.table("certificates", sa.column("pdf"))
    pending = bind.execute(
        sa.select(sa.func.count()).select_from(certificates).where(certificates.c.pdf.is_(None))
    ).scalar()
    if pending:
        raise RuntimeError(
            f"{pending} certificate(s) have no PDF yet: run `flask certificates render-pending` "
            "before going back to a schema where every certificate holds its PDF."
        )
    _set_nullable(False)
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS certificates_guard ON certificates")
    for statement in OLD_GUARD.get(bind.dialect.name, []):
        op.execute(statement)
