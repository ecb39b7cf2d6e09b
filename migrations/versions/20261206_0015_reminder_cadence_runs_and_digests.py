"""reminder cadence, runs and digests: enrollments remember their last reminder

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 17:42:37.569779
"""
from alembic import op
import sqlalchemy as sa
import app.db


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reminder_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trigger', sa.Enum('schedule', 'command', 'browser', name='runtrigger', native_enum=False, length=16), nullable=False),
    sa.Column('started_by_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.Enum('queued', 'running', 'done', 'failed', name='runstate', native_enum=False, length=16), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('heartbeat_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('days_before', sa.JSON(), nullable=False),
    sa.Column('overdue_every_days', sa.Integer(), nullable=False),
    sa.Column('reminders', sa.Integer(), nullable=False),
    sa.Column('courses', sa.Integer(), nullable=False),
    sa.Column('digests', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('already_reminded', sa.Integer(), nullable=False),
    sa.Column('not_activated', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['started_by_id'], ['users.id'], name=op.f('fk_reminder_runs_started_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder_runs'))
    )
    with op.batch_alter_table('reminder_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reminder_runs_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_reminder_runs_state'), ['state'], unique=False)

    op.create_table('reminder_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('days_before', sa.JSON(), nullable=False),
    sa.Column('overdue_every_days', sa.Integer(), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_reminder_settings_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder_settings'))
    )
    op.create_table('reminder_digests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('manager_id', sa.Integer(), nullable=False),
    sa.Column('sent_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reports', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['manager_id'], ['users.id'], name=op.f('fk_reminder_digests_manager_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['reminder_runs.id'], name=op.f('fk_reminder_digests_run_id_reminder_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder_digests')),
    sa.UniqueConstraint('run_id', 'manager_id', name=op.f('uq_reminder_digests_run_id_manager_id'))
    )
    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminded_at', app.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reminded_deadline', app.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reminded_days_before', sa.Integer(), nullable=True))

    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('run_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('overdue', sa.Boolean(), server_default='0', nullable=False))
        batch_op.create_index(batch_op.f('ix_reminders_run_id'), ['run_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_reminders_run_id_reminder_runs'), 'reminder_runs', ['run_id'], ['id'], ondelete='SET NULL')



def downgrade() -> None:
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_reminders_run_id_reminder_runs'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_reminders_run_id'))
        batch_op.drop_column('overdue')
        batch_op.drop_column('run_id')

    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.drop_column('reminded_days_before')
        batch_op.drop_column('reminded_deadline')
        batch_op.drop_column('reminded_at')

    op.drop_table('reminder_digests')
    op.drop_table('reminder_settings')
    with op.batch_alter_table('reminder_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reminder_runs_state'))
        batch_op.drop_index(batch_op.f('ix_reminder_runs_created_at'))

    op.drop_table('reminder_runs')
