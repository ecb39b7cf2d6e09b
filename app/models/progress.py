"""Who takes which course, pinned to which version, and how far they have read."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, utcnow
from app.models.course import Course, CourseVersion, Module
from app.models.user import User


class Enrollment(Base):
    """A person on a course: assigned (with a due date) or taken up of their own accord."""

    __tablename__ = "enrollments"
    __table_args__ = (UniqueConstraint("user_id", "course_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="RESTRICT"))
    # The version the learner started; they stay on it when a newer one is published.
    version_id: Mapped[int | None] = mapped_column(
        ForeignKey("course_versions.id", ondelete="RESTRICT")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    assigned_at: Mapped[datetime | None]
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    due_at: Mapped[datetime | None]
    # The assignment that put the person on the course (None: they took it up themselves).
    assignment_id: Mapped[int | None] = mapped_column(
        ForeignKey("assignments.id", ondelete="SET NULL")
    )
    started_at: Mapped[datetime | None]
    # A cycle is one round of training: it ends with a completion, and a new one starts when
    # the learner must retrain (expiry, a material new version).
    cycle: Mapped[int] = mapped_column(default=1, server_default="1")
    completed_at: Mapped[datetime | None]
    # The facts of the current cycle that its status reads, kept on the row so that the status
    # is computed in SQL (app.training.status.status_case) over one table:
    # when the completion stops being valid (app.dates.expiry_of; None: never, or not completed),
    expires_at: Mapped[datetime | None]
    # when a revoked certificate reopened this cycle (None: it was not reopened that way),
    revoked_at: Mapped[datetime | None]
    # and attempts HR granted beyond the course's limit in this cycle.
    extra_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    # The last reminder about this cycle (app.training.cadence): when, for which deadline (the
    # due date, or the expiry of the completion), and at which step of the cadence (days
    # before the deadline; -1: late). A new deadline starts the cadence again.
    reminded_at: Mapped[datetime | None]
    reminded_deadline: Mapped[datetime | None]
    reminded_days_before: Mapped[int | None]

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    course: Mapped[Course] = relationship()
    version: Mapped[CourseVersion | None] = relationship()


class ModuleProgress(Base):
    __tablename__ = "module_progress"
    __table_args__ = (UniqueConstraint("user_id", "module_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id", ondelete="RESTRICT"))
    first_opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
    seconds_spent: Mapped[int] = mapped_column(default=0)

    module: Mapped[Module] = relationship()
