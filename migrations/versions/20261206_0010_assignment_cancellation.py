"""assignments: cancelled_at, cancelled_by_id

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 16:00:00
"""
from alembic import op
import sqlalchemy as sa
import app.db


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('assignments') as batch:
        batch.add_column(sa.Column('cancelled_at', app.db.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('cancelled_by_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f('fk_assignments_cancelled_by_id_users'), 'users', ['cancelled_by_id'], ['id'],
            ondelete='SET NULL',
        )


def downgrade() -> None:
    with op.batch_alter_table('assignments') as batch:
        batch.drop_constraint(batch.f('fk_assignments_cancelled_by_id_users'), type_='foreignkey')
        batch.drop_column('cancelled_by_id')
        batch.drop_column('cancelled_at')
