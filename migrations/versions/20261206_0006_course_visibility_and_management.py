"""course visibility (hidden, listed, retired) and where a course is managed

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 15:00:00

Courses that exist already were shown to every learner, so they become ``listed``; a course
created from now on starts ``hidden``. Every existing course was published from files.
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('courses') as batch:
        batch.add_column(sa.Column('visibility', sa.Enum('hidden', 'listed', 'retired', name='visibility', native_enum=False, length=16), nullable=False, server_default='listed'))
        batch.add_column(sa.Column('managed_by', sa.Enum('files', 'studio', name='management', native_enum=False, length=16), nullable=False, server_default='files'))


def downgrade() -> None:
    with op.batch_alter_table('courses') as batch:
        batch.drop_column('managed_by')
        batch.drop_column('visibility')
