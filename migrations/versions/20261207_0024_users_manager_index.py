"""users.manager_id indexed

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 00:50:00

Every learner's dashboard asks how many people name them as manager (the link to their
team), and the team view and HR's manager filter select by it: without an index each was a
scan of every person, at 10,000 people on every dashboard.
"""
from alembic import op


revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_users_manager_id", "users", ["manager_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_users_manager_id", table_name="users")
