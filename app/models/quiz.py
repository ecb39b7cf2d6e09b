"""Quiz attempts and completions: the training record.

An attempt is pinned to a course version and keeps the plan it was shown (question order,
draws), so its review shows what the learner saw. A completion names the exact version the
learner was trained on; like audit events it is append-only, enforced by the database.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, guard_updates, make_append_only, utcnow
from app.fields import QUIZ_ID_MAX
from app.models.course import CourseVersion
from app.models.progress import Enrollment
from app.models.user import _enum_values


class AttemptStatus(enum.StrEnum):
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"


class QuizAttempt(Base):
    __tablename__ = "quiz_attempts"
    # One number per attempt within an enrollment's cycle: two attempts started at once cannot
    # both take the last one allowed.
    __table_args__ = (UniqueConstraint("enrollment_id", "cycle", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id", ondelete="RESTRICT"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("course_versions.id", ondelete="RESTRICT"))
    cycle: Mapped[int]
    number: Mapped[int]
    seed: Mapped[int] = mapped_column(BigInteger)
    plan: Mapped[dict]
    # Choices made so far in each conversation, in order: {conversation id: [option ids]}.
    paths: Mapped[dict] = mapped_column(default=dict)
    status: Mapped[AttemptStatus] = mapped_column(
        Enum(
            AttemptStatus,
            values_callable=_enum_values,
            native_enum=False,
            length=16,
            validate_strings=True,
        ),
        default=AttemptStatus.IN_PROGRESS,
    )
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    answers: Mapped[dict | None]
    percent: Mapped[int | None]
    passed: Mapped[bool | None]
    # Must-pass items this attempt failed (it fails whatever its score); None before grading.
    must_pass_failed: Mapped[int | None]
    # Grade.to_dict(): per question what was chosen, right or not, feedback, explanation.
    result: Mapped[dict | None]

    version: Mapped[CourseVersion] = relationship()
    enrollment: Mapped[Enrollment] = relationship()


class AttemptAnswer(Base):
    """An answer saved as the learner moves through an attempt's pages; graded only when the
    whole attempt is submitted (then kept in ``QuizAttempt.answers``)."""

    __tablename__ = "attempt_answers"
    __table_args__ = (UniqueConstraint("attempt_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("quiz_attempts.id", ondelete="CASCADE"))
    question_id: Mapped[str] = mapped_column(String(QUIZ_ID_MAX))
    option_ids: Mapped[list]  # the options chosen, in the order shown
    saved_at: Mapped[datetime] = mapped_column(default=utcnow)


class Completion(Base):
    """A learner completed a course version. Never updated: a correction is a new record."""

    __tablename__ = "completions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="RESTRICT"))
    version_id: Mapped[int] = mapped_column(ForeignKey("course_versions.id", ondelete="RESTRICT"))
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id", ondelete="RESTRICT"))
    cycle: Mapped[int]
    attempt_id: Mapped[int | None] = mapped_column(
        ForeignKey("quiz_attempts.id", ondelete="RESTRICT"), unique=True
    )
    completed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Percent of the quiz; None for a course without one.
    score: Mapped[int | None]

    version: Mapped[CourseVersion] = relationship()
    attempt: Mapped[QuizAttempt | None] = relationship()


make_append_only(Completion.__table__, "completions")
# An attempt changes only while in progress (conversation steps, then its one submission);
# what it is (whose, which version, which draw) never changes, and a submitted one is final.
ATTEMPT_FROZEN = [
    "id",
    "enrollment_id",
    "user_id",
    "version_id",
    "cycle",
    "number",
    "seed",
    "plan",
    "started_at",
]
guard_updates(QuizAttempt.__table__, "quiz attempts", ATTEMPT_FROZEN, "OLD.status = 'submitted'")
