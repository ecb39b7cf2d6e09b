"""organisation_logos.removed_at: removing the logo keeps its history

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 00:45:00

Removing the organisation's logo deleted every logo kept, so the online check of a
certificate printed with one of them (which compares its image with the logos kept) called
it altered. A removed logo is now marked, not deleted: none is printed until another is
uploaded, and every logo ever printed stays available to the check.
"""
from alembic import op
import sqlalchemy as sa

import app.db


revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "organisation_logos",
        sa.Column("removed_at", app.db.UTCDateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    # The schema before kept only logos in use: the removed ones go, as removing did then.
    op.execute("DELETE FROM organisation_logos WHERE removed_at IS NOT NULL")
    with op.batch_alter_table("organisation_logos", schema=None) as batch_op:
        batch_op.drop_column("removed_at")
