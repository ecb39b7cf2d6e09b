"""users.search_key: name, e-mail and employee id folded (no accents, no case), backfilled

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 18:08:39.238846
"""
from alembic import op
import sqlalchemy as sa
import app.db

from app.fields import search_key


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_key', sa.Text(), nullable=True))
    # Every existing account gets its key, by the rule the app keeps it with, in batches.
    users = sa.table(
        'users',
        sa.column('id', sa.Integer()),
        sa.column('name', sa.String()),
        sa.column('email', sa.String()),
        sa.column('employee_id', sa.String()),
        sa.column('search_key', sa.Text()),
    )
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(
            sa.select(users.c.id, users.c.name, users.c.email, users.c.employee_id)
            .where(users.c.id > last)
            .order_by(users.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        connection.execute(
            users.update().where(users.c.id == sa.bindparam('uid')).values(
                search_key=sa.bindparam('key')
            ),
            [{'uid': r.id, 'key': search_key(r.name, r.email, r.employee_id)} for r in rows],
        )
        last = rows[-1].id


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('search_key')
