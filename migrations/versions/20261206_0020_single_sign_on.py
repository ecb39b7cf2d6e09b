"""users.oidc_subject

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 19:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


# No batch mode: on SQLite it would copy the users table, and dropping the old one cascades
# to every row that refers to a user. ADD COLUMN and a unique index need no copy.
def upgrade() -> None:
    op.add_column('users', sa.Column('oidc_subject', sa.String(length=512), nullable=True))
    op.create_index(op.f('ix_users_oidc_subject'), 'users', ['oidc_subject'], unique=True)


def downgrade() -> None:
    op.drop_index(op.f('ix_users_oidc_subject'), table_name='users')
    op.drop_column('users', 'oidc_subject')  # SQLite 3.35+ drops a column in place
