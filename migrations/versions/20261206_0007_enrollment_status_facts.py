"""enrollment status facts: expires_at, revoked_at, extra_attempts

The status of a person's current cycle is computed in SQL over the enrollments table, so the
facts it reads live on the row. ``expires_at`` is filled from the certificate of each
current-cycle completion (issued with ``app.dates.expiry_of``, the same rule).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 15:00:00
"""
from datetime import UTC, datetime, time

from alembic import op
import sqlalchemy as sa
import app.db


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('enrollments') as batch:
        batch.add_column(sa.Column('expires_at', app.db.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('revoked_at', app.db.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('extra_attempts', sa.Integer(), server_default='0', nullable=False))
    # Each current-cycle completion's expiry, from its certificate (issued by the same
    # rule, app.dates.expiry_of), brought to the start of its UTC day as the rule reads it:
    # certificates issued before that rule was one may carry a time of day.
    bind = op.get_bind()
    enrollments = sa.table(
        'enrollments',
        sa.column('id', sa.Integer()),
        sa.column('expires_at', app.db.UTCDateTime(timezone=True)),
    )
    rows = bind.execute(
        sa.text(
            "SELECT enrollments.id, certificates.expires_at FROM enrollments"
            " JOIN completions ON completions.enrollment_id = enrollments.id"
            " AND completions.cycle = enrollments.cycle"
            " JOIN certificates ON certificates.completion_id = completions.id"
            " WHERE enrollments.completed_at IS NOT NULL"
            " AND certificates.expires_at IS NOT NULL"
            " ORDER BY completions.id"
        ).columns(sa.column('id', sa.Integer()), sa.column('expires_at', app.db.UTCDateTime(timezone=True)))
    ).all()
    latest = {row.id: _start_of_day(row.expires_at) for row in rows}  # the last completion wins
    if latest:
        bind.execute(
            enrollments.update()
            .where(enrollments.c.id == sa.bindparam('eid'))
            .values(expires_at=sa.bindparam('expiry')),
            [{'eid': eid, 'expiry': expiry} for eid, expiry in latest.items()],
        )


def downgrade() -> None:
    with op.batch_alter_table('enrollments') as batch:
        batch.drop_column('extra_attempts')
        batch.drop_column('revoked_at')
        batch.drop_column('expires_at')


def _start_of_day(moment):
    """00:00 UTC on the moment's UTC date: the rule as this migration was written, kept here so
    that a later change to app.dates cannot change what the migration did."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return datetime.combine(moment.astimezone(UTC).date(), time.min, tzinfo=UTC)
