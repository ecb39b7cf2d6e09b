"""attempt answers: every answer saved as the learner moves through the assessment's pages

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 18:30:00
"""
from alembic import op
import sqlalchemy as sa
import app.db


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('attempt_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.String(length=200), nullable=False),
    sa.Column('option_ids', sa.JSON(), nullable=False),
    sa.Column('saved_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['quiz_attempts.id'], name=op.f('fk_attempt_answers_attempt_id_quiz_attempts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attempt_answers')),
    sa.UniqueConstraint('attempt_id', 'question_id', name=op.f('uq_attempt_answers_attempt_id_question_id'))
    )


def downgrade() -> None:
    op.drop_table('attempt_answers')
